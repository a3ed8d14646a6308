/**
 * Runs one attempt of a TypeScript component: parse params with the component's own zod
 * schemas, hand it its inputs and output paths, validate what it returns, store its artifacts.
 * Used in-process by the local executor and inside child processes (isolation: 'process').
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format } from 'node:util';
import type { z } from 'zod';
import type { InputArtifact, OutputArtifact } from '../dsl/artifacts.js';
import { isArtifactType } from '../dsl/artifacts.js';
import type { AnyComponent, RunContext, TaskLogger } from '../dsl/component.js';
import type {
  AttemptHooks,
  AttemptRequest,
  AttemptResult,
  InputArtifactRef,
  ProducedArtifact,
  TrackingEvent,
} from '../engine/ports.js';
import { LatheError, ParamValidationError, TaskFailedError, TaskTimeoutError } from '../errors.js';
import type { ArtifactTypeName } from '../spec/schema.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { ModelRegistry } from '../store/registry.js';
import { checkInputsUnchanged, fingerprintInputs } from './input-guard.js';
import { outsideTask, withTaskContext } from './task-context.js';
import { makeWorkDir } from './work-dirs.js';

export async function runTsAttempt(
  component: AnyComponent,
  request: AttemptRequest,
  hooks: AttemptHooks,
  artifacts: ArtifactStore,
  workRoot?: string,
  registry?: () => ModelRegistry,
): Promise<AttemptResult> {
  // Canceled before it started (e.g. during a retry backoff): the component must not run at all.
  if (hooks.signal.aborted) throw hooks.signal.reason;
  const params: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(component.params)) {
    const parsed = (schema as z.ZodType).safeParse(request.params[name]);
    if (!parsed.success) {
      throw new ParamValidationError(
        request.task,
        name,
        `${JSON.stringify(request.params[name])} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    params[name] = parsed.data;
  }

  const inputs: Record<string, InputArtifact | InputArtifact[]> = {};
  for (const [name, value] of Object.entries(request.inputs)) {
    inputs[name] = Array.isArray(value)
      ? await Promise.all(value.map((ref) => inputArtifact(name, ref, artifacts)))
      : await inputArtifact(name, value, artifacts);
  }
  const inputPrints = await fingerprintInputs(
    Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [
        name,
        (Array.isArray(value) ? value : [value]).map((a) => a.path),
      ]),
    ),
  );

  // A scratch directory only when something needs one: most tiny tasks never touch disk.
  let workDir: string | undefined;
  const ensureWorkDir = (): string => {
    workDir ??= makeWorkDir(workRoot, 'task');
    return workDir;
  };
  const artifactOutputs = Object.entries(component.outputs).filter(([, type]) => isArtifactType(type));
  const outputs: Record<string, OutputArtifact & { metadata: Record<string, unknown> }> = {};
  if (artifactOutputs.length > 0) {
    const dir = join(ensureWorkDir(), 'outputs');
    await mkdir(dir, { recursive: true });
    for (const [name, type] of artifactOutputs) {
      outputs[name] = outputArtifact(name, (type as { type: ArtifactTypeName }).type, join(dir, name));
    }
  }

  const log = makeLogger(hooks);
  try {
    const context: RunContext<any, any, any> = {
      params,
      inputs,
      outputs,
      log,
      signal: hooks.signal,
      run: { id: request.runId, pipeline: request.pipeline },
      task: { name: request.task, attempt: request.attempt },
      get registry(): ModelRegistry {
        if (!registry) {
          throw new LatheError(
            'NO_REGISTRY',
            `task '${request.task}': this executor gives components no model registry`,
          );
        }
        return registry();
      },
      get workDir(): string {
        return ensureWorkDir();
      },
    };
    // An error the component's code raises outside its awaited chain (a throw in a timer, an
    // unhandled rejection) fails this attempt, when the runner routes uncaught errors.
    let failAttempt: (error: Error) => void = () => {};
    let finished = false;
    const strayError = new Promise<never>((_, reject) => {
      failAttempt = reject;
    });
    strayError.catch(() => {});
    const onStray = (error: Error) => {
      // After the attempt is over there is nothing left to fail: keep the error in its log.
      if (finished)
        outsideTask(() =>
          hooks.log('stderr', `error after the task finished: ${error.stack ?? error.message}`),
        );
      else failAttempt(error);
    };
    let returned: unknown;
    try {
      returned = await abortable(
        Promise.race([
          withTaskContext(hooks.log, onStray, () => {
            // A synchronous run that outlasts the timeout held the event loop, so no timer could
            // stop it: measured here, it fails as a timeout. (Only this task's own time counts.)
            const started = performance.now();
            const result = component.run!(context);
            const syncMs = performance.now() - started;
            if (request.timeoutMs !== undefined && syncMs > request.timeoutMs) {
              throw new TaskTimeoutError(request.task, request.timeoutMs);
            }
            return Promise.resolve(result);
          }),
          strayError,
        ]),
        hooks.signal,
      );
    } finally {
      finished = true;
    }
    await checkInputsUnchanged(inputPrints, request.task);
    const scalars = checkScalars(component, request.task, returned);
    const produced: Record<string, ProducedArtifact> = {};
    for (const [name, output] of Object.entries(outputs)) {
      produced[name] = await storeOutput(request.task, name, output, artifacts);
    }
    return { artifacts: produced, scalars };
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }
}

async function inputArtifact(
  name: string,
  ref: InputArtifactRef,
  artifacts: ArtifactStore,
): Promise<InputArtifact> {
  const path = await artifacts.localPath(ref.uri);
  return {
    name,
    type: ref.type,
    id: ref.id,
    uri: ref.uri,
    hash: ref.hash,
    size: ref.size,
    path,
    metadata: ref.metadata,
    readText: () => readFile(path, 'utf8'),
    readJson: async () => JSON.parse(await readFile(path, 'utf8')),
  };
}

function outputArtifact(
  name: string,
  type: ArtifactTypeName,
  path: string,
): OutputArtifact & { metadata: Record<string, unknown> } {
  const output = {
    name,
    type,
    path,
    metadata: {} as Record<string, unknown>,
    setMetadata(metadata: Record<string, unknown>) {
      output.metadata = { ...output.metadata, ...metadata };
    },
    writeText: (text: string) => writeFile(path, text),
    writeJson: (value: unknown) => writeFile(path, `${JSON.stringify(value, null, 2)}\n`),
  };
  return output;
}

export async function storeOutput(
  task: string,
  name: string,
  output: { type: ArtifactTypeName; path: string; metadata: Record<string, unknown> },
  artifacts: ArtifactStore,
): Promise<ProducedArtifact> {
  try {
    await stat(output.path);
  } catch {
    throw new LatheError(
      'OUTPUT_INVALID',
      `task '${task}' did not write its output '${name}' (expected a file or directory at ${output.path})`,
    );
  }
  let metadata = output.metadata;
  if (output.type === 'Metrics') {
    // Metrics are a JSON object; keep the numbers in metadata so lists and UIs need no file read.
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(output.path, 'utf8'));
    } catch (error) {
      throw new LatheError(
        'OUTPUT_INVALID',
        `task '${task}': Metrics output '${name}' is not JSON: ${error}`,
      );
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new LatheError(
        'OUTPUT_INVALID',
        `task '${task}': Metrics output '${name}' must be a JSON object`,
      );
    }
    metadata = { metrics: parsed, ...metadata };
  }
  const stored = await artifacts.put(output.path, { move: true });
  return { type: output.type, uri: stored.uri, hash: stored.hash, size: stored.size, metadata };
}

function checkScalars(component: AnyComponent, task: string, returned: unknown): Record<string, unknown> {
  const scalarOutputs = Object.entries(component.outputs).filter(([, type]) => !isArtifactType(type));
  const out: Record<string, unknown> = {};
  if (scalarOutputs.length === 0) return out;
  if (!returned || typeof returned !== 'object') {
    throw new LatheError(
      'OUTPUT_INVALID',
      `task '${task}' must return an object with its outputs ${scalarOutputs.map(([n]) => `'${n}'`).join(', ')}`,
    );
  }
  for (const [name, schema] of scalarOutputs) {
    const parsed = (schema as z.ZodType).safeParse((returned as Record<string, unknown>)[name]);
    if (!parsed.success) {
      throw new LatheError(
        'OUTPUT_INVALID',
        `task '${task}' output '${name}': ${JSON.stringify((returned as Record<string, unknown>)[name])} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    out[name] = parsed.data;
  }
  return out;
}

function makeLogger(hooks: AttemptHooks): TaskLogger {
  const write = (stream: 'log' | 'stderr', values: unknown[]) => {
    outsideTask(() => {
      for (const line of format(...values).split('\n')) hooks.log(stream, line);
    });
  };
  const logger = ((...values: unknown[]) => write('log', values)) as TaskLogger;
  logger.info = (...values) => write('log', values);
  logger.warn = (...values) => write('stderr', values);
  logger.error = (...values) => write('stderr', values);
  // Without a tracking hook (a harness that does not record runs) tracking calls are dropped.
  const track = (event: TrackingEvent) => hooks.track?.(event);
  logger.metric = (key, value, options = {}) => track({ kind: 'metric', key, value, ...options });
  logger.param = (key, value) => track({ kind: 'param', key, value });
  logger.tag = (key, value) => track({ kind: 'tag', key, value });
  return logger;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new TaskFailedError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
