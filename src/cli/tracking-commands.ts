/** `lathe runs compare` and the tracking side of `lathe runs list --filter`. */
import { UsageError } from '../errors.js';
import type { MetadataStore, RunRecord } from '../store/metadata-store.js';
import { type FilterClause, type FilterSubject, matchesRunFilter } from '../tracking/filter.js';
import type { CommandSpec } from './args.js';
import { formatDuration } from './reporter.js';
import { findRun } from './run-commands.js';
import { withStore } from './store-access.js';
import { table } from './table.js';

/** A run's tracked values: latest metrics, params (pipeline params, then logged ones) and tags. */
export async function trackedValues(
  store: MetadataStore,
  runs: readonly RunRecord[],
  need: { metrics: boolean; params: boolean; tags: boolean } = { metrics: true, params: true, tags: true },
): Promise<FilterSubject[]> {
  const latest = need.metrics ? await store.latestMetrics(runs.map((r) => r.id)) : new Map();
  const out: FilterSubject[] = [];
  for (const run of runs) {
    const params: Record<string, unknown> = { ...run.params };
    if (need.params) for (const p of await store.listParams(run.id)) params[p.key] = p.value;
    out.push({
      id: run.id,
      status: run.status,
      pipeline: run.pipelineName,
      metrics: latest.get(run.id) ?? {},
      params,
      tags: need.tags ? await store.listTags(run.id) : {},
    });
  }
  return out;
}

/** The runs among `runs` that match, in order. */
export async function filterRuns(
  store: MetadataStore,
  runs: readonly RunRecord[],
  clauses: readonly FilterClause[],
): Promise<{ run: RunRecord; values: FilterSubject }[]> {
  const kinds = new Set(clauses.map((c) => c.field.kind));
  const values = await trackedValues(store, runs, {
    metrics: kinds.has('metrics'),
    params: kinds.has('params'),
    tags: kinds.has('tags'),
  });
  return runs
    .map((run, i) => ({ run, values: values[i]! }))
    .filter(({ values: v }) => matchesRunFilter(clauses, v));
}

function show(value: unknown): string {
  if (value === undefined) return '-';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export const runsCompareCommand: CommandSpec = {
  name: 'runs compare',
  args: '<run> <run>...',
  summary: 'Compare runs side by side: params, latest metrics and tags (* marks rows that differ).',
  options: {
    diff: { type: 'boolean', description: 'only the rows that differ' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  minArgs: 2,
  maxArgs: 20,
  async handler({ args, values }) {
    return withStore(values.home, async (store) => {
      const runs: RunRecord[] = [];
      for (const arg of args) {
        const run = await findRun(store, arg);
        if (runs.some((r) => r.id === run.id)) throw new UsageError(`run ${run.id} is listed twice`);
        runs.push(run);
      }
      const tracked = await trackedValues(store, runs);
      if (values.json) {
        const body = runs.map((run, i) => ({
          id: run.id,
          pipeline: run.pipelineName,
          status: run.status,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
          params: tracked[i]!.params,
          metrics: tracked[i]!.metrics,
          tags: tracked[i]!.tags,
        }));
        process.stdout.write(`${JSON.stringify({ runs: body }, null, 2)}\n`);
        return 0;
      }
      const rows: string[][] = [['', ...runs.map((r) => r.id), '']];
      const add = (label: string, cells: string[]) => {
        const differs = cells.some((c) => c !== cells[0]);
        if (values.diff && !differs) return;
        rows.push([label, ...cells, differs ? '*' : '']);
      };
      add(
        'pipeline',
        runs.map((r) => r.pipelineName),
      );
      add(
        'status',
        runs.map((r) => r.status),
      );
      add(
        'duration',
        runs.map((r) => (r.finishedAt && r.startedAt ? formatDuration(r.finishedAt - r.startedAt) : '-')),
      );
      for (const kind of ['params', 'metrics', 'tags'] as const) {
        const keys = [...new Set(tracked.flatMap((t) => Object.keys(t[kind])))].sort();
        for (const key of keys)
          add(
            `${kind}.${key}`,
            tracked.map((t) => show((t[kind] as Record<string, unknown>)[key])),
          );
      }
      process.stdout.write(table(rows));
      return 0;
    });
  },
};
