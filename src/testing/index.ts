/**
 * Test helpers, for vitest, node:test or any runner: run a pipeline (or one component) in-process
 * on the embedded defaults in a throw-away workspace, read what it produced, and compare metrics
 * against a stored baseline within a tolerance.
 *
 *   const run = await runPipeline(pipeline, { params: { rows: 200 } });
 *   try {
 *     expect(run.status).toBe('succeeded');
 *     expectMetricsNear(await run.artifactJson('evaluate', 'metrics'), 'test/baselines/eval.json', {
 *       tolerance: 0.01,
 *     });
 *   } finally {
 *     await run.close();
 *   }
 *
 * or, with explicit resource management: `await using run = await runPipeline(...)`.
 *
 * The run goes through the same wiring as `lathe run` (compile, workspace, engine); nothing is
 * printed: log lines are kept on each task instead.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  Artifact,
  type ArtifactType,
  Dataset,
  DriftReport,
  isArtifactType,
  Metrics,
  Model,
  Schema,
  Statistics,
  ValidationReport,
} from '../dsl/artifacts.js';
import { type AnyComponent, component } from '../dsl/component.js';
import {
  isPipeline,
  type Pipeline,
  type PipelineParamShape,
  parallelFor,
  pipeline,
} from '../dsl/pipeline.js';
import { collect, type Ref } from '../dsl/refs.js';
import type { ArtifactTypeName } from '../dsl/vocabulary.js';
import type { RunReporter, RunSummary } from '../engine/ports.js';
import { startRun } from '../engine/run-engine.js';
import { loadTarget } from '../runtime/load-target.js';
import { openWorkspace } from '../runtime/workspace.js';
import { compilePipeline } from '../spec/compile.js';
import type { RunStatus, TaskStatus } from '../store/metadata-store.js';

export interface RunPipelineOptions<P extends PipelineParamShape = PipelineParamShape> {
  /** Pipeline params, as `--param` would give them (already typed: no string coercion). */
  params?: { [K in keyof P]?: z.input<P[K]> };
  /** Workspace directory. Default: a fresh temp directory, removed by `close()`. */
  home?: string;
  /** Reuse cached results. Default false: every task runs. */
  cache?: boolean;
  /** At most this many tasks at once. Default: the number of cores. */
  concurrency?: number;
  /**
   * The module that defines the pipeline (absolute or relative to the cwd). Needed only for
   * components with `isolation: 'process'`; it also sets the working directory of command
   * components. Default: none, and the working directory is `process.cwd()`.
   */
  source?: string;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
}

export interface TestTaskResult {
  status: TaskStatus;
  attempts: number;
  /** Scalar outputs by name; artifact outputs as `{ id, type, hash, uri }`. */
  outputs: Record<string, unknown>;
  error?: string;
  /** Why the task was skipped. */
  reason?: string;
  /** Every log line the task wrote (log(), console, stdout/stderr), in order. */
  logs: string[];
}

export interface PipelineTestRun extends AsyncDisposable {
  runId: string;
  status: RunStatus;
  /** The engine's summary, as `lathe run --json` prints it. */
  summary: RunSummary;
  /** The workspace the run was recorded in. */
  home: string;
  /** By task instance name (`train`, `train[1]`, `ml.gate`). */
  tasks: Record<string, TestTaskResult>;
  /** Local path of an artifact output (read-only: stored artifacts are immutable). */
  artifactPath(task: string, output: string): Promise<string>;
  artifactText(task: string, output: string): Promise<string>;
  artifactJson<T = unknown>(task: string, output: string): Promise<T>;
  /** Removes the temp workspace (not a `home` you passed). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Runs a pipeline in-process, in a fresh temp workspace (or `home`), quietly. `target` is a
 * pipeline object or the path of a pipeline module / compiled spec (loaded like `lathe run`).
 * Resolves once the run has finished, whatever its status: a failed run does not throw.
 */
export async function runPipeline<P extends PipelineParamShape>(
  target: Pipeline<P> | string,
  options: RunPipelineOptions<P> = {},
): Promise<PipelineTestRun> {
  let spec: ReturnType<typeof compilePipeline>;
  let baseDir: string;
  let runSource: string | null;
  if (typeof target === 'string') {
    const loaded = await loadTarget(target);
    spec = loaded.spec;
    baseDir = loaded.baseDir;
    runSource = loaded.path;
  } else {
    if (!isPipeline(target)) throw new TypeError('runPipeline: expected a pipeline or a module path');
    const source = options.source === undefined ? undefined : resolve(options.source);
    spec = compilePipeline(target, { source });
    baseDir = source ? dirname(source) : process.cwd();
    runSource = source ?? null;
  }

  const temporary = options.home === undefined;
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'lathe-test-')));
  const logs = new Map<string, string[]>();
  const reporter: RunReporter = {
    log(task, _stream, line) {
      const lines = logs.get(task);
      if (lines) lines.push(line);
      else logs.set(task, [line]);
    },
  };
  let workspace: ReturnType<typeof openWorkspace>;
  try {
    workspace = openWorkspace({ home });
  } catch (error) {
    if (temporary) await rm(home, { recursive: true, force: true });
    throw error;
  }
  let summary: RunSummary;
  try {
    summary = await startRun(
      {
        spec,
        store: workspace.store,
        artifacts: workspace.artifacts,
        executor: workspace.executor,
        baseDir,
        runSource,
        concurrency: options.concurrency,
        cache: options.cache ?? false,
        reporter,
        signal: options.signal,
      },
      (options.params ?? {}) as Record<string, unknown>,
    );
  } catch (error) {
    await workspace.close();
    if (temporary) await rm(home, { recursive: true, force: true });
    throw error;
  } finally {
    await workspace.executor.close?.();
  }
  // Artifacts are files under the workspace: the metadata store is not needed to read them.
  await workspace.close();
  const artifacts = workspace.artifacts;

  const tasks: Record<string, TestTaskResult> = {};
  for (const task of summary.tasks) {
    tasks[task.name] = {
      status: task.status,
      attempts: task.attempts,
      outputs: task.outputs ?? {},
      ...(task.error ? { error: task.error } : {}),
      ...(task.reason ? { reason: task.reason } : {}),
      logs: logs.get(task.name) ?? [],
    };
  }

  let closed = false;
  const artifactPath = async (task: string, output: string): Promise<string> => {
    const found = tasks[task];
    if (!found) {
      throw new Error(
        `run ${summary.runId}: no task '${task}' (tasks: ${Object.keys(tasks).join(', ') || 'none'})`,
      );
    }
    if (found.status !== 'succeeded' && found.status !== 'cached') {
      throw new Error(
        `run ${summary.runId}: task '${task}' ${found.status}${found.error ? `: ${found.error}` : found.reason ? ` (${found.reason})` : ''}; it has no outputs`,
      );
    }
    const value = found.outputs[output];
    if (!isArtifactSummary(value)) {
      const names = Object.keys(found.outputs).filter((name) => isArtifactSummary(found.outputs[name]));
      throw new Error(
        `task '${task}' has no artifact output '${output}' (artifact outputs: ${names.join(', ') || 'none'})`,
      );
    }
    if (closed) throw new Error(`run ${summary.runId}: the test workspace was closed`);
    return artifacts.localPath(value.uri);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    if (temporary) await rm(home, { recursive: true, force: true });
  };
  return {
    runId: summary.runId,
    status: summary.status,
    summary,
    home,
    tasks,
    artifactPath,
    artifactText: async (task, output) => readFile(await artifactPath(task, output), 'utf8'),
    artifactJson: async <T>(task: string, output: string) =>
      JSON.parse(await readFile(await artifactPath(task, output), 'utf8')) as T,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function isArtifactSummary(value: unknown): value is { id: string; type: string; uri: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { uri?: unknown }).uri === 'string' &&
    typeof (value as { id?: unknown }).id === 'string'
  );
}

export interface RunComponentOptions extends Omit<RunPipelineOptions, 'params'> {
  /** The component's params (defaults apply to the ones left out). */
  params?: Record<string, unknown>;
  /**
   * Artifact inputs by name: a local file or directory path, copied in as the artifact. A list
   * input takes an array of paths.
   */
  inputs?: Record<string, string | string[]>;
}

const fileComponents = new Map<ArtifactTypeName, AnyComponent>();
const ARTIFACT_TYPES: Record<ArtifactTypeName, ArtifactType> = {
  Artifact,
  Dataset,
  Model,
  Metrics,
  Statistics,
  Schema,
  ValidationReport,
  DriftReport,
};

/** One component per artifact type that stores a local file or directory as its output. */
function fileComponent(type: ArtifactTypeName): AnyComponent {
  let found = fileComponents.get(type);
  if (!found) {
    const output = ARTIFACT_TYPES[type];
    found = component({
      name: `lathe.testing.file-${type}`,
      description: 'Stores a local file or directory as an artifact (lathe/testing runComponent).',
      params: { path: z.string() },
      outputs: { file: output },
      // Keyed on the path only, not the contents: never reuse.
      cache: false,
      async run({ params, outputs }) {
        await cp(params.path, outputs.file.path, { recursive: true });
      },
    }) as unknown as AnyComponent;
    fileComponents.set(type, found);
  }
  return found;
}

/**
 * Runs one component as a one-task pipeline (its task is named after it), its artifact inputs
 * stored from local paths by upstream `input.NAME` tasks. Returns what `runPipeline` returns.
 */
export async function runComponent(
  target: AnyComponent,
  options: RunComponentOptions = {},
): Promise<PipelineTestRun> {
  const { inputs = {}, params = {}, ...rest } = options;
  for (const name of Object.keys(inputs)) {
    if (!(name in target.inputs)) {
      throw new TypeError(
        `runComponent: component '${target.name}' has no input '${name}' (inputs: ${Object.keys(target.inputs).join(', ') || 'none'})`,
      );
    }
  }
  for (const [name, type] of Object.entries(target.inputs)) {
    if (inputs[name] === undefined && !type.isOptional) {
      throw new TypeError(`runComponent: component '${target.name}' needs input '${name}' (a file path)`);
    }
  }
  for (const name of Object.keys(params)) {
    if (!(name in target.params)) {
      throw new TypeError(
        `runComponent: component '${target.name}' has no param '${name}' (params: ${Object.keys(target.params).join(', ') || 'none'})`,
      );
    }
  }
  // The component's params become the pipeline's, so the engine validates them and applies
  // defaults exactly as it does for a real run.
  const definition = pipelineOf(target, inputs);
  return runPipeline(definition, { ...rest, params });
}

function pipelineOf(target: AnyComponent, inputs: Record<string, string | string[]>): Pipeline {
  // The input paths are literals, not pipeline params: they never clash with the component's
  // own param names.
  return pipeline({ name: `${target.name}.test`, params: target.params }, ({ params }) => {
    const args: Record<string, unknown> = { ...params };
    for (const [name, given] of Object.entries(inputs)) {
      const type = target.inputs[name]!;
      if (!isArtifactType(type)) continue;
      const store = fileComponent(type.type) as unknown as (args: Record<string, unknown>) => {
        named(name: string): { outputs: { file: Ref } };
      };
      if (type.isList) {
        const paths = (Array.isArray(given) ? given : [given]).map((p) => resolve(p));
        const loop = parallelFor(paths, (path) => ({
          file: store({ path }).named(`input.${name}`).outputs.file,
        }));
        args[name] = collect(loop.outputs.file as Ref);
      } else {
        if (Array.isArray(given)) {
          throw new TypeError(`runComponent: input '${name}' takes one path, not a list`);
        }
        args[name] = store({ path: resolve(given) }).named(`input.${name}`).outputs.file;
      }
    }
    (target as unknown as (args: Record<string, unknown>) => { named(name: string): unknown })(args).named(
      target.name,
    );
  }) as unknown as Pipeline;
}

export interface ExpectMetricsOptions {
  /**
   * Absolute tolerance: one for every metric, or per metric name (the others get 1e-6).
   * Default 1e-6.
   */
  tolerance?: number | Record<string, number>;
  /** Rewrite the baseline with these metrics. Default: `LATHE_UPDATE_BASELINES=1` in the environment. */
  update?: boolean;
}

const DEFAULT_TOLERANCE = 1e-6;

/**
 * Compares metrics with a stored baseline (a JSON object of numbers). When the baseline file is
 * missing, or `update` is set, writes it and returns. Otherwise throws one Error listing every
 * metric outside its tolerance and every metric missing on either side, with both values.
 */
export function expectMetricsNear(
  metrics: Record<string, number>,
  baselinePath: string,
  options: ExpectMetricsOptions = {},
): void {
  const update = options.update ?? process.env.LATHE_UPDATE_BASELINES === '1';
  const path = resolve(baselinePath);
  if (update || !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const sorted = Object.fromEntries(
      Object.keys(metrics)
        .sort()
        .map((k) => [k, metrics[k]]),
    );
    writeFileSync(path, `${JSON.stringify(sorted, null, 2)}\n`);
    return;
  }
  let baseline: Record<string, unknown>;
  try {
    baseline = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`metrics baseline ${baselinePath} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof baseline !== 'object' || baseline === null || Array.isArray(baseline)) {
    throw new Error(`metrics baseline ${baselinePath} must be a JSON object of numbers`);
  }
  const toleranceOf = (name: string): number => {
    const t = options.tolerance;
    if (t === undefined) return DEFAULT_TOLERANCE;
    if (typeof t === 'number') return t;
    return t[name] ?? DEFAULT_TOLERANCE;
  };
  const problems: string[] = [];
  const names = [...new Set([...Object.keys(baseline), ...Object.keys(metrics)])].sort();
  for (const name of names) {
    const expected = baseline[name];
    const actual = metrics[name];
    if (!(name in metrics)) {
      problems.push(`  ${name}: missing from the metrics (baseline ${format(expected)})`);
      continue;
    }
    if (!(name in baseline)) {
      problems.push(`  ${name}: not in the baseline (got ${format(actual)})`);
      continue;
    }
    if (typeof expected !== 'number') {
      problems.push(`  ${name}: baseline value ${format(expected)} is not a number (got ${format(actual)})`);
      continue;
    }
    if (typeof actual !== 'number') {
      problems.push(`  ${name}: got ${format(actual)}, not a number (baseline ${format(expected)})`);
      continue;
    }
    const tolerance = toleranceOf(name);
    const diff = Math.abs(actual - expected);
    const same = Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected));
    if (!same && !(diff <= tolerance)) {
      problems.push(
        `  ${name}: got ${format(actual)}, baseline ${format(expected)} (difference ${format(Number(diff.toPrecision(6)))} > tolerance ${format(tolerance)})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `metrics differ from the baseline ${baselinePath} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.join('\n')}\nrerun with LATHE_UPDATE_BASELINES=1 to accept the new values`,
    );
  }
}

function format(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}
