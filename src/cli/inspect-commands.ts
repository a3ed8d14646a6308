/** `lathe runs list|show`, `lathe logs`, `lathe lineage`: read-only views of the metadata store. */
import { UsageError } from '../errors.js';
import type {
  ArtifactRecord,
  AttemptRecord,
  MetadataStore,
  RunRecord,
  RunStatus,
  TaskRecord,
} from '../store/metadata-store.js';
import { RUN_STATUSES } from '../store/metadata-store.js';
import { parseRunFilter } from '../tracking/filter.js';
import type { CommandSpec } from './args.js';
import { formatDuration } from './reporter.js';
import { findRun, runnerAlive } from './run-commands.js';
import { resolveArtifact, withStore } from './store-access.js';
import { table } from './table.js';
import { filterRuns } from './tracking-commands.js';

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON' } } as const;

function when(ms: number | null): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-';
}

/** A `running` run whose runner is gone (killed, crashed) is shown as interrupted. */
function displayStatus(run: RunRecord): string {
  if (run.status === 'running' && !runnerAlive(run) && run.runnerHost) return 'interrupted';
  return run.status;
}

export const runsListCommand: CommandSpec = {
  name: 'runs list',
  args: '',
  summary: 'List runs, newest first.',
  options: {
    pipeline: { type: 'string', description: 'only runs of this pipeline', placeholder: 'name' },
    status: {
      type: 'string',
      description: `only runs with this status (${RUN_STATUSES.join(', ')}, interrupted)`,
      placeholder: 'status',
    },
    limit: { type: 'string', description: 'at most this many (default 20)', placeholder: 'n' },
    filter: {
      type: 'string',
      description:
        'only runs matching, e.g. "metrics.accuracy > 0.9 and params.lr = 0.1" (see docs/tracking.md)',
      placeholder: 'expr',
    },
    ...JSON_OPTION,
  },
  minArgs: 0,
  maxArgs: 0,
  async handler({ values }) {
    const clauses = values.filter === undefined ? undefined : parseRunFilter(values.filter);
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit: '${values.limit}' must be an integer >= 1`);
    const statuses = [...RUN_STATUSES, 'interrupted'];
    if (values.status && !statuses.includes(values.status)) {
      throw new UsageError(`--status: '${values.status}' is not one of ${statuses.join(', ')}`);
    }
    // 'interrupted' is shown, not stored: it is a 'running' run whose runner is gone.
    const interrupted = values.status === 'interrupted';
    return withStore(values.home, async (store) => {
      const listed = await store.listRuns({
        pipelineName: values.pipeline,
        status: (interrupted ? 'running' : values.status) as RunStatus | undefined,
        // With a filter, the limit applies to the matches: look through every run.
        limit: clauses ? Number.MAX_SAFE_INTEGER : limit,
      });
      let runs = listed.filter((run) => !values.status || displayStatus(run) === values.status);
      // The metrics a filter names are shown as columns.
      const metricColumns = [
        ...new Set((clauses ?? []).flatMap((c) => (c.field.kind === 'metrics' ? [c.field.key] : []))),
      ];
      const metricValues = new Map<string, Record<string, number>>();
      if (clauses) {
        const matches = (await filterRuns(store, runs, clauses)).slice(0, limit);
        runs = matches.map((m) => m.run);
        for (const m of matches) metricValues.set(m.run.id, m.values.metrics);
      }
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(
            runs.map((r) => ({
              ...r,
              status: displayStatus(r),
              // The metrics a filter names, as the table shows them.
              ...(metricColumns.length > 0
                ? {
                    metrics: Object.fromEntries(
                      metricColumns.map((key) => [key, metricValues.get(r.id)?.[key] ?? null]),
                    ),
                  }
                : {}),
            })),
            null,
            2,
          )}\n`,
        );
        return 0;
      }
      if (runs.length === 0) {
        process.stdout.write(
          values.pipeline || values.status || clauses ? 'no runs match\n' : 'no runs yet\n',
        );
        return 0;
      }
      const rows = [['RUN', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', ...metricColumns]];
      for (const run of runs) {
        rows.push([
          run.id,
          run.pipelineName,
          displayStatus(run),
          when(run.startedAt),
          run.finishedAt && run.startedAt ? formatDuration(run.finishedAt - run.startedAt) : '-',
          ...metricColumns.map((key) => String(metricValues.get(run.id)?.[key] ?? '-')),
        ]);
      }
      process.stdout.write(table(rows));
      return 0;
    });
  },
};

export const runsShowCommand: CommandSpec = {
  name: 'runs show',
  args: '<run>',
  summary: 'Show a run: params, status, and every task with its attempts, outputs and errors.',
  options: { ...JSON_OPTION },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    return withStore(values.home, async (store) => {
      const run = await findRun(store, args[0]!);
      const tasks = await store.listTasks(run.id);
      const tracked = {
        loggedParams: Object.fromEntries((await store.listParams(run.id)).map((p) => [p.key, p.value])),
        metrics: (await store.latestMetrics([run.id])).get(run.id) ?? {},
        tags: await store.listTags(run.id),
      };
      const outputs = new Map<string, Record<string, ArtifactRecord>>();
      const attempts = new Map<string, AttemptRecord[]>();
      for (const task of tasks) {
        if (task.attempts > 0) attempts.set(task.id, await store.listAttempts(task.id));
        const produced: Record<string, ArtifactRecord> = {};
        for (const event of await store.listEvents({ taskId: task.id })) {
          if (event.kind !== 'output') continue;
          const artifact = await store.getArtifact(event.artifactId);
          if (artifact) produced[event.name] = artifact;
        }
        outputs.set(task.id, produced);
      }
      if (values.json) {
        const body = {
          ...run,
          status: displayStatus(run),
          tracking: tracked,
          tasks: tasks.map((t) => ({
            ...t,
            artifacts: outputs.get(t.id),
            attemptHistory: attempts.get(t.id) ?? [],
          })),
        };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return 0;
      }
      const lines = [
        `run       ${run.id}`,
        `pipeline  ${run.pipelineName}  (${run.pipelineDigest})`,
        `status    ${displayStatus(run)}`,
        `params    ${JSON.stringify(run.params)}`,
        `started   ${when(run.startedAt)}${run.finishedAt && run.startedAt ? `  (${formatDuration(run.finishedAt - run.startedAt)})` : ''}`,
        `source    ${run.source ?? '-'}`,
      ];
      if (run.error) lines.push(`error     ${run.error}`);
      process.stdout.write(`${lines.join('\n')}\n\n`);
      // Tracking: logged params, the latest value of each metric, tags.
      const tracking: string[][] = [];
      for (const [key, value] of Object.entries(tracked.loggedParams))
        tracking.push([`param ${key}`, JSON.stringify(value)]);
      for (const [key, value] of Object.entries(tracked.metrics))
        tracking.push([`metric ${key}`, String(value)]);
      for (const [key, value] of Object.entries(tracked.tags)) tracking.push([`tag ${key}`, value]);
      if (tracking.length > 0) process.stdout.write(`${table([['TRACKED', 'VALUE'], ...tracking])}\n`);
      if (tasks.length === 0) return 0;
      const rows = [['TASK', 'STATUS', 'ATTEMPTS', 'DURATION', 'DETAIL']];
      for (const task of tasks) rows.push(taskRow(task, outputs.get(task.id) ?? {}));
      process.stdout.write(table(rows));
      // Earlier attempts' failures, which the task's own error no longer shows.
      const history: string[] = [];
      for (const task of tasks) {
        for (const attempt of attempts.get(task.id) ?? []) {
          if (attempt.status !== 'failed' || attempt.attempt === task.attempts) continue;
          const exit = attempt.exitCode !== null ? ` (exit ${attempt.exitCode})` : '';
          history.push(
            `  ${task.name} attempt ${attempt.attempt} failed${exit}: ${(attempt.error ?? '').split('\n')[0]}`,
          );
        }
      }
      if (history.length) process.stdout.write(`\nearlier attempts:\n${history.join('\n')}\n`);
      return 0;
    });
  },
};

function taskRow(task: TaskRecord, artifacts: Record<string, ArtifactRecord>): string[] {
  const detail: string[] = [];
  if (task.error) detail.push(`error: ${task.error.split('\n')[0]}`);
  if (task.reason) detail.push(task.reason);
  if (task.outputs && Object.keys(task.outputs).length) detail.push(JSON.stringify(task.outputs));
  for (const [name, a] of Object.entries(artifacts)) detail.push(`${name}=${a.type}:${a.id}`);
  if (task.cachedFrom) detail.push(`from ${task.cachedFrom}`);
  return [
    task.name,
    task.status,
    String(task.attempts),
    task.finishedAt && task.startedAt ? formatDuration(task.finishedAt - task.startedAt) : '-',
    detail.join('  '),
  ];
}

export const logsCommand: CommandSpec = {
  name: 'logs',
  args: '<run> [task]',
  summary:
    "Print a run's stored logs, each line prefixed with its task (and attempt, from the 2nd). Given a task, only its lines, unprefixed; a loop task's name (e.g. 'train') selects all its iterations.",
  options: { ...JSON_OPTION },
  minArgs: 1,
  maxArgs: 2,
  async handler({ args, values }) {
    return withStore(values.home, async (store) => {
      const run = await findRun(store, args[0]!);
      const taskName = args[1];
      let taskNames: string[] | undefined;
      if (taskName) {
        const names = (await store.listTasks(run.id)).map((t) => t.name);
        // A loop task's spec name stands for all its iterations: train -> train[0], train[1]...
        taskNames = names.filter((n) => n === taskName || (n.startsWith(`${taskName}[`) && n.endsWith(']')));
        if (taskNames.length === 0) {
          throw new UsageError(
            `run ${run.id} has no task '${taskName}' (tasks: ${names.slice(0, 20).join(', ')})`,
          );
        }
      }
      const logs = taskNames
        ? (await Promise.all(taskNames.map((name) => store.listLogs(run.id, name)))).flat()
        : await store.listLogs(run.id);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(logs, null, 2)}\n`);
        return 0;
      }
      const prefix = run.id.length + 1;
      const single = taskNames?.length === 1;
      for (const log of logs) {
        const name = log.taskId.slice(prefix);
        const label = `${name}${log.attempt > 1 ? ` attempt ${log.attempt}` : ''}`;
        const shown = single ? (log.attempt > 1 ? `[attempt ${log.attempt}] ` : '') : `[${label}] `;
        process.stdout.write(`${shown}${log.line}\n`);
      }
      return 0;
    });
  },
};

interface LineageNode {
  artifact: ArtifactRecord;
  producedBy: UpstreamStep[];
  consumedBy: DownstreamStep[];
  /** Already shown elsewhere in this answer: not expanded again. */
  seenAbove?: true;
}

interface UpstreamStep {
  /** The task execution that computed the artifact (not one that reused it from the cache). */
  task: TaskRecord;
  reusedByCachedRuns: number;
  inputs: LineageNode[];
}

interface DownstreamStep {
  /** The latest execution of this consumer; `runs` counts them all. */
  task: TaskRecord;
  runs: number;
  outputs: LineageNode[];
}

/**
 * Lineage is a graph walk with every artifact expanded once, and repeated executions collapsed:
 * an artifact reused from the cache by many runs has one producer (with a count), and a consumer
 * that ran in many runs is one step (the latest, with a count). So the answer grows with the
 * pipeline, not with how often it ran.
 */
async function lineageNode(
  store: MetadataStore,
  artifact: ArtifactRecord,
  direction: 'up' | 'down',
  depth: number,
  seen: Set<string>,
): Promise<LineageNode> {
  if (seen.has(artifact.id)) return { artifact, producedBy: [], consumedBy: [], seenAbove: true };
  seen.add(artifact.id);
  const node: LineageNode = { artifact, producedBy: [], consumedBy: [] };
  if (depth <= 0) return node;
  const events = await store.listEvents({ artifactId: artifact.id });
  const related = async (taskId: string, kind: 'input' | 'output') => {
    const nodes: LineageNode[] = [];
    for (const event of await store.listEvents({ taskId })) {
      if (event.kind !== kind) continue;
      const next = await store.getArtifact(event.artifactId);
      if (next) nodes.push(await lineageNode(store, next, direction, depth - 1, seen));
    }
    return nodes;
  };
  if (direction === 'up') {
    const outputs = events.filter((e) => e.kind === 'output');
    const original = outputs.find((e) => !e.cached) ?? outputs[0];
    const task = original && (await store.getTask(original.taskId));
    if (task) {
      node.producedBy.push({
        task,
        reusedByCachedRuns: outputs.filter((e) => e.cached).length,
        inputs: await related(task.id, 'input'),
      });
    }
  } else {
    const byName = new Map<string, string[]>();
    for (const event of events) {
      if (event.kind !== 'input') continue;
      const name = event.taskId.slice(event.taskId.indexOf('/') + 1);
      byName.set(name, [...(byName.get(name) ?? []), event.taskId]);
    }
    for (const taskIds of byName.values()) {
      // Run ids are time-ordered, so the greatest task id is the latest execution.
      const latest = await store.getTask(taskIds.sort().at(-1)!);
      if (latest) {
        node.consumedBy.push({
          task: latest,
          runs: taskIds.length,
          outputs: await related(latest.id, 'output'),
        });
      }
    }
  }
  return node;
}

function describeArtifact(a: ArtifactRecord): string {
  return `${a.type} ${a.id} ${a.hash.slice(0, 19)} ${a.size} B`;
}

function printLineage(node: LineageNode, direction: 'up' | 'down', indent: string, out: string[]): void {
  if (direction === 'up') {
    for (const step of node.producedBy) {
      const reuse = step.reusedByCachedRuns
        ? `; reused from the cache by ${step.reusedByCachedRuns} more`
        : '';
      out.push(`${indent}<- produced by ${step.task.name} (run ${step.task.runId}${reuse})`);
      for (const input of step.inputs) {
        out.push(
          `${indent}   input ${describeArtifact(input.artifact)}${input.seenAbove ? ' (shown above)' : ''}`,
        );
        printLineage(input, direction, `${indent}      `, out);
      }
    }
    return;
  }
  for (const step of node.consumedBy) {
    const runs = step.runs > 1 ? `; ${step.runs} runs, latest shown` : '';
    out.push(
      `${indent}-> consumed by ${step.task.name} (run ${step.task.runId}, ${step.task.status}${runs})`,
    );
    for (const output of step.outputs) {
      out.push(
        `${indent}   output ${describeArtifact(output.artifact)}${output.seenAbove ? ' (shown above)' : ''}`,
      );
      printLineage(output, direction, `${indent}      `, out);
    }
  }
}

export const lineageCommand: CommandSpec = {
  name: 'lineage',
  args: '<artifact>',
  summary:
    'Show where an artifact came from (the tasks and inputs upstream) and where it went (the tasks that consumed it, and their outputs). The artifact is named by id or hash prefix.',
  options: {
    depth: {
      type: 'string',
      description: 'how many steps to follow each way (default 10)',
      placeholder: 'n',
    },
    ...JSON_OPTION,
  },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const depth = values.depth === undefined ? 10 : Number(values.depth);
    if (!Number.isInteger(depth) || depth < 0)
      throw new UsageError(`--depth: '${values.depth}' must be an integer >= 0`);
    return withStore(values.home, async (store) => {
      const query = args[0]!;
      const artifact = await resolveArtifact(store, query);
      const upstream = await lineageNode(store, artifact, 'up', depth, new Set());
      const downstream = await lineageNode(store, artifact, 'down', depth, new Set());
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify({ artifact, upstream: upstream.producedBy, downstream: downstream.consumedBy }, null, 2)}\n`,
        );
        return 0;
      }
      const out = [`${describeArtifact(artifact)}`, `  uri ${artifact.uri}`];
      if (Object.keys(artifact.metadata).length) out.push(`  metadata ${JSON.stringify(artifact.metadata)}`);
      out.push('upstream:');
      printLineage(upstream, 'up', '  ', out);
      out.push('downstream:');
      printLineage(downstream, 'down', '  ', out);
      process.stdout.write(`${out.join('\n')}\n`);
      return 0;
    });
  },
};
