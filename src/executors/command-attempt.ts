/**
 * Runs one attempt of a command component as a child process: argv placeholders become paths
 * (inputs, outputs) and values (params); scalar outputs are read back from files the command
 * writes. On abort (timeout, cancel) the process group gets SIGTERM, then SIGKILL after a grace.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  AttemptHooks,
  AttemptRequest,
  AttemptResult,
  InputArtifactRef,
  ProducedArtifact,
} from '../engine/ports.js';
import { LatheError, TaskFailedError } from '../errors.js';
import { validateParams } from '../spec/params.js';
import { PLACEHOLDER_PATTERN } from '../spec/validate.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import { checkInputsUnchanged, fingerprintInputs } from './input-guard.js';
import { LineSplitter } from './line-splitter.js';
import { storeOutput } from './ts-attempt.js';
import { makeWorkDir } from './work-dirs.js';

export interface CommandOptions {
  /** Time between SIGTERM and SIGKILL when an attempt is aborted. */
  killGraceMs: number;
  /** Where attempt scratch directories go (default: the OS temp directory). */
  workRoot?: string;
}

export async function runCommandAttempt(
  request: AttemptRequest,
  hooks: AttemptHooks,
  artifacts: ArtifactStore,
  options: CommandOptions,
): Promise<AttemptResult> {
  const component = request.component;
  const argvTemplate = component.command;
  if (!argvTemplate || argvTemplate.length === 0) {
    throw new LatheError('COMPONENT_INVALID', `component '${component.name}' has no command`);
  }
  const workDir = makeWorkDir(options.workRoot, 'cmd');
  try {
    const outputsDir = join(workDir, 'outputs');
    await mkdir(outputsDir);
    const outputPaths: Record<string, string> = {};
    for (const [name, output] of Object.entries(component.outputs)) {
      outputPaths[name] = join(outputsDir, 'artifact' in output ? name : `${name}.json`);
    }
    const inputPaths: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(request.inputs)) {
      const list: InputArtifactRef[] = Array.isArray(value) ? value : [value];
      inputPaths[name] = await Promise.all(list.map((ref) => artifacts.localPath(ref.uri)));
    }
    const params = validateParams(component.params, request.params, request.task);
    const argv = expandArgv(argvTemplate, { params, inputPaths, outputPaths, workDir, request });
    // The command appends tracking events here, one JSON object a line (see readTrackingFile).
    const trackingFile = join(workDir, 'tracking.jsonl');
    const env = {
      ...process.env,
      ...component.env,
      LATHE_RUN_ID: request.runId,
      LATHE_TASK: request.task,
      LATHE_ATTEMPT: String(request.attempt),
      LATHE_WORK_DIR: workDir,
      LATHE_OUTPUTS_DIR: outputsDir,
      LATHE_TRACKING_FILE: trackingFile,
    };
    const inputPrints = await fingerprintInputs(inputPaths);
    let exitCode: number;
    try {
      exitCode = await spawnAndWait(argv, { cwd: request.baseDir, env }, hooks, options, request.task);
    } catch (error) {
      // What a failed command logged for tracking (a loss curve up to the crash) is still kept.
      await readTrackingFile(trackingFile, request.task, hooks).catch(() => {});
      throw error;
    }
    await checkInputsUnchanged(inputPrints, request.task);
    await readTrackingFile(trackingFile, request.task, hooks);

    const produced: Record<string, ProducedArtifact> = {};
    const scalars: Record<string, unknown> = {};
    for (const [name, output] of Object.entries(component.outputs)) {
      const path = outputPaths[name]!;
      if ('artifact' in output) {
        produced[name] = await storeOutput(
          request.task,
          name,
          { type: output.artifact, path, metadata: {} },
          artifacts,
        );
        continue;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        throw new LatheError(
          'OUTPUT_INVALID',
          `task '${request.task}' did not write its output '${name}' (expected a JSON value in ${path}, the file {{outputs.${name}}} names)`,
        );
      }
      scalars[name] = parseScalar(text, output.scalar, request.task, name);
    }
    return { artifacts: produced, scalars, exitCode };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Replays what a command logged for tracking: lines of `{"metric": name, "value": v, "step"?: s,
 * "timestamp"?: ms}`, `{"param": name, "value": v}` or `{"tag": name, "value": "text"}`. A line
 * that is none of these fails the attempt, naming the line.
 */
async function readTrackingFile(path: string, task: string, hooks: AttemptHooks): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const fail = (why: string): never => {
      throw new LatheError(
        'TRACKING_INVALID',
        `task '${task}': line ${i + 1} of $LATHE_TRACKING_FILE: ${why}: ${line.slice(0, 200)}`,
      );
    };
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return fail('not JSON');
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('not a JSON object');
    try {
      if (typeof entry.metric === 'string') {
        hooks.track?.({
          kind: 'metric',
          key: entry.metric,
          value: entry.value as number,
          ...(entry.step !== undefined ? { step: entry.step as number } : {}),
          ...(entry.timestamp !== undefined ? { timestamp: entry.timestamp as number } : {}),
        });
      } else if (typeof entry.param === 'string') {
        hooks.track?.({ kind: 'param', key: entry.param, value: entry.value });
      } else if (typeof entry.tag === 'string') {
        hooks.track?.({ kind: 'tag', key: entry.tag, value: entry.value as string });
      } else fail('expected a "metric", "param" or "tag" name');
    } catch (error) {
      if (error instanceof LatheError && error.code === 'TRACKING_INVALID') throw error;
      fail((error as Error).message);
    }
  }
}

function parseScalar(text: string, schema: Record<string, unknown>, task: string, name: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A bare word is accepted for string outputs, so `echo ok > {{outputs.status}}` works.
    if (schema.type === 'string') value = text.trim();
    else
      throw new LatheError('OUTPUT_INVALID', `task '${task}' output '${name}': '${text.trim()}' is not JSON`);
  }
  try {
    return validateParams({ [name]: { schema, optional: false } }, { [name]: value }, task)[name];
  } catch (error) {
    throw new LatheError('OUTPUT_INVALID', `task '${task}' output '${name}': ${(error as Error).message}`);
  }
}

interface ExpandContext {
  params: Record<string, unknown>;
  inputPaths: Record<string, string[]>;
  outputPaths: Record<string, string>;
  workDir: string;
  request: AttemptRequest;
}

/** Substitutes placeholders. An argument that is exactly `{{inputs.X}}` of a list input expands to one argument per artifact. */
export function expandArgv(template: string[], ctx: ExpandContext): string[] {
  const argv: string[] = [];
  for (const arg of template) {
    const whole = /^\{\{\s*inputs\.([^}\s]+)\s*\}\}$/.exec(arg);
    if (whole && Array.isArray(ctx.request.inputs[whole[1]!])) {
      argv.push(...(ctx.inputPaths[whole[1]!] ?? []));
      continue;
    }
    argv.push(arg.replace(PLACEHOLDER_PATTERN, (_m, placeholder: string) => expandOne(placeholder, ctx)));
  }
  return argv;
}

function expandOne(placeholder: string, ctx: ExpandContext): string {
  const [root, ...rest] = placeholder.split('.');
  const key = rest.join('.');
  switch (root) {
    case 'params': {
      if (!(key in ctx.params)) {
        if (key in ctx.request.component.params) return '';
        throw new LatheError('PLACEHOLDER', `unknown param in {{${placeholder}}}`);
      }
      const value = ctx.params[key];
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
    case 'inputs': {
      const paths = ctx.inputPaths[key];
      if (!paths) {
        if (key in ctx.request.component.inputs) return '';
        throw new LatheError('PLACEHOLDER', `unknown input in {{${placeholder}}}`);
      }
      return paths.join(',');
    }
    case 'outputs': {
      const path = ctx.outputPaths[key];
      if (!path) throw new LatheError('PLACEHOLDER', `unknown output in {{${placeholder}}}`);
      return path;
    }
    case 'workDir':
      return ctx.workDir;
    case 'run':
      if (key === 'id') return ctx.request.runId;
      if (key === 'pipeline') return ctx.request.pipeline;
      break;
    case 'task':
      if (key === 'name') return ctx.request.task;
      if (key === 'attempt') return String(ctx.request.attempt);
      break;
  }
  throw new LatheError('PLACEHOLDER', `unknown placeholder {{${placeholder}}}`);
}

/** Spawns the process in its own group and streams its output lines to the task log. */
export function spawnAndWait(
  argv: string[],
  spawnOptions: { cwd: string; env: NodeJS.ProcessEnv },
  hooks: AttemptHooks,
  options: CommandOptions,
  task: string,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (hooks.signal.aborted) return reject(hooks.signal.reason);
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: spawnOptions.cwd,
      env: spawnOptions.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid) hooks.spawned?.(child.pid);
    const tail: string[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killGraceMs);
    };
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    let pendingStreams = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (pendingStreams > 0 || !exit) return;
      hooks.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (hooks.signal.aborted) return reject(hooks.signal.reason);
      if (exit.code === 0) return resolve(0);
      const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
      const detail = tail.length ? `: ${tail.join(' | ')}` : '';
      reject(
        new TaskFailedError(`task '${task}': command '${argv[0]}' ${how}${detail}`, {
          exitCode: exit.code ?? 128,
        }),
      );
    };
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const lines = new LineSplitter((line) => {
        hooks.log(name, line);
        if (name === 'stderr') {
          tail.push(line);
          if (tail.length > 5) tail.shift();
        }
      });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.push(chunk));
      stream.on('end', () => {
        lines.end();
        pendingStreams--;
        finish();
      });
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      hooks.signal.removeEventListener('abort', onAbort);
      const message =
        error.code === 'ENOENT'
          ? `task '${task}': command '${argv[0]}' was not found (cwd ${spawnOptions.cwd})`
          : `task '${task}': cannot start '${argv[0]}': ${error.message}`;
      reject(new TaskFailedError(message, { cause: error, exitCode: 127 }));
    });
    child.on('close', (code, signal) => {
      exit = { code, signal };
      pendingStreams = 0;
      finish();
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
