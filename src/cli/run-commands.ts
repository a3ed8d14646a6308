/** `lathe run`, `lathe resume`, `lathe compile`. */
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { digestFallbackReason, digestMode } from '../dsl/function-digest.js';
import type { RunSummary, TaskExecutor } from '../engine/ports.js';
import { resumeRun, startRun } from '../engine/run-engine.js';
import { LatheError, RunNotFoundError, UsageError } from '../errors.js';
import { routeUncaughtErrors } from '../executors/task-context.js';
import { loadTarget, refreshComponents } from '../runtime/load-target.js';
import { openWorkspace } from '../runtime/workspace.js';
import { specDigest } from '../spec/compile.js';
import { coerceCliValue } from '../spec/params.js';
import { PipelineSpec } from '../spec/schema.js';
import { emptyTaskCounts, type MetadataStore, type RunRecord } from '../store/metadata-store.js';
import type { CommandSpec } from './args.js';
import { TerminalReporter } from './reporter.js';

const RUN_OPTIONS = {
  'no-cache': { type: 'boolean', description: 'do not reuse cached results (results are still recorded)' },
  concurrency: {
    type: 'string',
    description: 'most tasks running at once (default: number of cores)',
    placeholder: 'n',
  },
  json: { type: 'boolean', description: 'print a machine-readable summary on stdout instead of progress' },
} as const;

function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--concurrency: '${value}' must be an integer >= 1`);
  return n;
}

function reporterFor(json: boolean): TerminalReporter {
  const out = process.stdout;
  return new TerminalReporter({
    out,
    tty: Boolean(out.isTTY),
    color: Boolean(out.isTTY) && !process.env.NO_COLOR,
    quiet: json,
  });
}

/** Runs with Ctrl-C mapped to a clean cancel (a second Ctrl-C exits at once). */
async function withInterrupt<T>(
  executor: TaskExecutor,
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  // A component's stray async error fails its task instead of crashing the run.
  routeUncaughtErrors();
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) {
      // Exit now, but do not leave commands running behind us.
      void Promise.resolve(executor.close?.()).finally(() => process.exit(130));
      return;
    }
    process.stderr.write('\ncanceling the run (Ctrl-C again to exit now)...\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

function finishRun(summary: RunSummary, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return summary.status === 'succeeded' ? 0 : 1;
}

export const runCommand: CommandSpec = {
  name: 'run',
  args: '<pipeline.ts|spec.yaml>',
  summary: 'Run a pipeline from its TypeScript module or its compiled spec, on the embedded defaults.',
  details:
    'Exit code: 0 when the run succeeded, 1 when it failed, 2 for bad usage or an invalid pipeline.\nExample: lathe run examples/quickstart/pipeline.ts --param rows=5000',
  options: {
    param: {
      type: 'string',
      short: 'p',
      multiple: true,
      description: 'a pipeline param',
      placeholder: 'name=value',
    },
    pipeline: {
      type: 'string',
      description: 'which pipeline, when the module exports several',
      placeholder: 'name',
    },
    ...RUN_OPTIONS,
  },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const target = await loadTarget(args[0]!, { pipeline: values.pipeline });
    warnIfDigestsDegraded();
    const params: Record<string, unknown> = {};
    for (const pair of (values.param as string[] | undefined) ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--param '${pair}': expected name=value`);
      const name = pair.slice(0, eq);
      if (name in params) throw new UsageError(`--param ${name} is given twice`);
      params[name] = coerceCliValue(pair.slice(eq + 1), target.spec.params[name], name);
    }
    const concurrency = parseConcurrency(values.concurrency);
    const workspace = openWorkspace({ home: values.home });
    try {
      const summary = await withInterrupt(workspace.executor, (signal) =>
        startRun(
          {
            spec: target.spec,
            store: workspace.store,
            artifacts: workspace.artifacts,
            executor: workspace.executor,
            baseDir: target.baseDir,
            runSource: target.path,
            concurrency,
            cache: !values['no-cache'],
            reporter: reporterFor(Boolean(values.json)),
            signal,
          },
          params,
        ),
      );
      return finishRun(summary, Boolean(values.json));
    } finally {
      await workspace.close();
    }
  },
};

/** Cache keys then cover component source text only, not captured values: say so. */
function warnIfDigestsDegraded(): void {
  if (digestMode() === 'source-only') {
    process.stderr.write(
      `warning: component digests cover source text only (${digestFallbackReason() ?? 'inspector unavailable'}); edits to captured constants or helpers will not invalidate the cache\n`,
    );
  }
}

/** The summary of a finished run, rebuilt from the store (the same shape `lathe run --json` prints). */
async function storedSummary(store: MetadataStore, run: RunRecord): Promise<RunSummary> {
  const counts = emptyTaskCounts();
  const tasks = (await store.listTasks(run.id)).map((task) => {
    counts[task.status]++;
    return {
      name: task.name,
      status: task.status,
      attempts: task.attempts,
      durationMs: task.finishedAt && task.startedAt ? task.finishedAt - task.startedAt : null,
      ...(task.error ? { error: task.error } : {}),
      ...(task.reason ? { reason: task.reason } : {}),
      ...(task.outputs ? { outputs: task.outputs } : {}),
    };
  });
  return {
    runId: run.id,
    pipeline: run.pipelineName,
    status: run.status,
    durationMs: run.finishedAt && run.startedAt ? run.finishedAt - run.startedAt : 0,
    counts,
    tasks,
    ...(run.error ? { error: run.error } : {}),
  };
}

/** A run by id or unique id prefix. */
export async function findRun(store: MetadataStore, id: string): Promise<RunRecord> {
  const exact = await store.getRun(id);
  if (exact) return exact;
  const matches = await store.findRuns(id);
  if (matches.length === 0) throw new RunNotFoundError(id);
  if (matches.length > 1) {
    const shown = matches.slice(0, 5).map((r) => r.id);
    throw new LatheError(
      'RUN_AMBIGUOUS',
      `'${id}' matches several runs (${shown.join(', ')}${matches.length > 5 ? ', ...' : ''}); give more of the id`,
    );
  }
  return matches[0]!;
}

/** True when the run's runner process is still alive on this machine. */
export function runnerAlive(run: RunRecord): boolean {
  if (run.status !== 'running' || !run.runnerPid || run.runnerHost !== hostname()) return false;
  if (run.runnerPid === process.pid) return true;
  try {
    process.kill(run.runnerPid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const resumeCommand: CommandSpec = {
  name: 'resume',
  args: '<run>',
  summary:
    'Re-run what did not succeed in a run: failed, skipped, and tasks left running by a killed runner. Succeeded tasks keep their outputs; changed component code is picked up.',
  options: { ...RUN_OPTIONS },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const concurrency = parseConcurrency(values.concurrency);
    const workspace = openWorkspace({ home: values.home, existing: true });
    try {
      const run = await findRun(workspace.store, args[0]!);
      if (runnerAlive(run)) {
        throw new LatheError(
          'RUN_ACTIVE',
          `run ${run.id} is still running (pid ${run.runnerPid}); wait for it or stop it first`,
        );
      }
      if (run.status === 'succeeded') {
        process.stderr.write(`run ${run.id} already succeeded; nothing to resume\n`);
        return finishRun(await storedSummary(workspace.store, run), Boolean(values.json));
      }
      const pipeline = await workspace.store.getPipeline(run.pipelineDigest);
      if (!pipeline)
        throw new LatheError('PIPELINE_NOT_FOUND', `the spec of run ${run.id} is not in the store`);
      const spec = PipelineSpec.parse(pipeline.spec);
      const baseDir = spec.source ? dirname(spec.source) : run.source ? dirname(run.source) : process.cwd();
      await refreshComponents(spec, baseDir);
      warnIfDigestsDegraded();
      const summary = await withInterrupt(workspace.executor, (signal) =>
        resumeRun(
          {
            spec,
            store: workspace.store,
            artifacts: workspace.artifacts,
            executor: workspace.executor,
            baseDir,
            runSource: run.source,
            concurrency,
            cache: !values['no-cache'],
            reporter: reporterFor(Boolean(values.json)),
            signal,
          },
          run.id,
          run,
        ),
      );
      return finishRun(summary, Boolean(values.json));
    } finally {
      await workspace.close();
    }
  },
};

export const compileCommand: CommandSpec = {
  name: 'compile',
  args: '<pipeline.ts>',
  summary: 'Compile a pipeline module to a PipelineSpec (YAML, or JSON with --json) and print its digest.',
  options: {
    output: {
      type: 'string',
      short: 'o',
      description: 'write the spec to this file (default: stdout)',
      placeholder: 'file',
    },
    pipeline: {
      type: 'string',
      description: 'which pipeline, when the module exports several',
      placeholder: 'name',
    },
    json: { type: 'boolean', description: 'write JSON instead of YAML' },
  },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const target = await loadTarget(args[0]!, { pipeline: values.pipeline });
    const output = values.output as string | undefined;
    if (output && /\.(c|m)?[jt]sx?$/.test(output)) {
      throw new UsageError(
        `-o ${output}: refusing to write a spec over a source module; use a .yaml or .json file`,
      );
    }
    const json = Boolean(values.json) || Boolean(output?.endsWith('.json'));
    const { specToJson, specToYaml } = await import('../spec/load.js');
    const text = json ? specToJson(target.spec, output) : specToYaml(target.spec, output);
    if (output) {
      writeFileSync(output, text);
      process.stderr.write(`wrote ${output} (${specDigest(target.spec)})\n`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
};
