/**
 * Experiment tracking end to end: components of every kind logging through the real engine and
 * CLI, Metrics outputs tracked (also from the cache), params across resume, `runs list --filter`,
 * `runs compare`, and `lathe/tracking`'s trackRun.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component } from '../../src/dsl/component.js';
import { pipeline } from '../../src/dsl/pipeline.js';
import { z } from '../../src/index.js';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { SqliteMetadataStore } from '../../src/store/sqlite/sqlite-metadata-store.js';
import { ParamConflictError } from '../../src/store/tracking.js';
import { runPipeline } from '../../src/testing/index.js';
import { trackRun } from '../../src/tracking/index.js';
import {
  type CliResult,
  fixture,
  makeTempDir,
  parseJson,
  type RunSummary,
  removeDir,
  runCli,
  runJson,
  task,
} from './cli.js';

const FIXTURE = fixture('tracking.ts');
const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir('lathe-tracking-');
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

async function withStore<T>(home: string, body: (store: MetadataStore) => Promise<T>): Promise<T> {
  const store = SqliteMetadataStore.open(join(home, 'lathe.db'));
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** Logged params of a run as { key: value }. */
async function paramsOf(store: MetadataStore, runId: string): Promise<Record<string, unknown>> {
  return Object.fromEntries((await store.listParams(runId)).map((p) => [p.key, p.value]));
}

async function latestOf(store: MetadataStore, runId: string): Promise<Record<string, number>> {
  return (await store.latestMetrics([runId])).get(runId)!;
}

function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) {
    throw new Error(
      `exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

describe('tracking from the components of a pipeline run (real CLI)', () => {
  let dir: string;
  let home: string;
  /** First run: every task ran. */
  let first: RunSummary;
  /** Second run, same params: every task from the cache. */
  let cached: RunSummary;
  /** Third run, label=other: ts-logger ran again (accuracy 0.8), the rest from the cache. */
  let other: RunSummary;

  beforeAll(async () => {
    dir = tempDir();
    home = join(dir, '.lathe');
    first = await runJson<RunSummary>(['run', FIXTURE, '--pipeline', 'tracking'], { cwd: dir });
    cached = await runJson<RunSummary>(['run', FIXTURE, '--pipeline', 'tracking'], { cwd: dir });
    other = await runJson<RunSummary>(['run', FIXTURE, '--pipeline', 'tracking', '--param', 'label=other'], {
      cwd: dir,
    });
  });

  it('records what an inline TS component logs: metric points with steps, params, tags', async () => {
    expect(first.status).toBe('succeeded');
    await withStore(home, async (store) => {
      const loss = await store.listMetrics(first.runId, 'loss');
      expect(loss.map((p) => [p.step, p.value])).toEqual([
        [0, 1],
        [1, 0.5],
        [2, 1 / 3],
        [3, 0.25],
        [4, 0.2],
        [4, 0.15],
      ]);
      expect(loss.every((p) => p.taskId === `${first.runId}/ts-logger`)).toBe(true);
      expect(loss[5]!.timestamp).toBeGreaterThan(loss[4]!.timestamp);
      const params = await store.listParams(first.runId);
      expect(params.find((p) => p.key === 'optimizer')).toEqual({
        runId: first.runId,
        key: 'optimizer',
        value: 'adam',
        taskId: `${first.runId}/ts-logger`,
      });
      expect((await paramsOf(store, first.runId))['ts.layers']).toEqual([64, 32]);
      const tags = await store.listTags(first.runId);
      expect(tags).toMatchObject({ data: 'v2', label: 'base' });
      // "The" loss is the later point of step 4.
      expect((await latestOf(store, first.runId)).loss).toBe(0.15);
    });
  });

  it("records what an isolation: 'process' component logs", async () => {
    expect(task(first, 'proc-logger').outputs?.pid).not.toBe(undefined);
    await withStore(home, async (store) => {
      expect((await store.listMetrics(first.runId, 'proc.score')).map((p) => [p.step, p.value])).toEqual([
        [1, 0.25],
        [2, 0.5],
      ]);
      expect((await paramsOf(store, first.runId))['proc.depth']).toBe(6);
      expect((await store.listTags(first.runId)).proc).toBe('yes');
      const [param] = (await store.listParams(first.runId)).filter((p) => p.key === 'proc.depth');
      expect(param!.taskId).toBe(`${first.runId}/proc-logger`);
    });
  });

  it('records the JSON lines a shell command and a Python step (lathe_step) write', async () => {
    await withStore(home, async (store) => {
      // A line without a step is step 0; an empty line is skipped.
      expect((await store.listMetrics(first.runId, 'sh.loss')).map((p) => [p.step, p.value])).toEqual([
        [0, 0.7],
        [4, 0.3],
      ]);
      expect((await store.listMetrics(first.runId, 'py.loss')).map((p) => [p.step, p.value])).toEqual([
        [0, 1],
        [1, 0.9],
        [2, 0.8],
      ]);
      const params = await paramsOf(store, first.runId);
      expect(params).toMatchObject({ 'sh.depth': 6, 'py.alpha': 0.5 });
      expect(await store.listTags(first.runId)).toMatchObject({ sh: 'yes', py: 'yes' });
    });
  });

  it('tracks the top-level numbers of Metrics outputs as TASK.NAME, also from the cache', async () => {
    expect(Object.values(cached.counts)).toContain(4);
    expect(cached.tasks.every((t) => t.status === 'cached')).toBe(true);
    await withStore(home, async (store) => {
      const latest = await latestOf(store, first.runId);
      expect(latest).toMatchObject({
        'ts-logger.accuracy': 0.9,
        'ts-logger.f1': 0.75,
        'py-logger.rmse': 1.25,
      });
      // Text and nested values are not metrics.
      expect(
        Object.keys(latest)
          .filter((k) => k.startsWith('ts-logger.'))
          .sort(),
      ).toEqual(['ts-logger.accuracy', 'ts-logger.f1']);
      const point = (await store.listMetrics(first.runId, 'ts-logger.accuracy'))[0]!;
      expect(point).toMatchObject({ step: 0, taskId: `${first.runId}/ts-logger` });

      // The fully cached run has the same Metrics-output metrics; log.metric calls are not replayed.
      expect(await latestOf(store, cached.runId)).toEqual({
        'ts-logger.accuracy': 0.9,
        'ts-logger.f1': 0.75,
        'py-logger.rmse': 1.25,
      });
      expect(await store.listParams(cached.runId)).toEqual([]);
      expect(await store.listTags(cached.runId)).toEqual({});

      expect((await latestOf(store, other.runId))['ts-logger.accuracy']).toBe(0.8);
    });
  });

  it('runs list --filter: matches, metric columns, --limit counts matches, --json', async () => {
    const list = (filter: string, ...more: string[]) =>
      runJson<Array<{ id: string; status: string }>>(['runs', 'list', '--filter', filter, ...more], {
        cwd: dir,
      });
    const ids = async (filter: string, ...more: string[]) => (await list(filter, ...more)).map((r) => r.id);
    // Newest first.
    expect(await ids('metrics.ts-logger.accuracy > 0.85')).toEqual([cached.runId, first.runId]);
    expect(await ids('metrics.ts-logger.accuracy>0.85 AND status = succeeded')).toEqual([
      cached.runId,
      first.runId,
    ]);
    expect(await ids('metrics.ts-logger.accuracy <= 0.8')).toEqual([other.runId]);
    // Logged metrics exist only where the task ran.
    expect(await ids('metrics.loss < 0.2')).toEqual([other.runId, first.runId]);
    // Pipeline params and logged params alike.
    expect(await ids("params.label = 'other' and params.rows >= 3000")).toEqual([other.runId]);
    expect(await ids('params.optimizer = adam')).toEqual([other.runId, first.runId]);
    expect(await ids('tags.label != base')).toEqual([other.runId]);
    expect(await ids(`pipeline = tracking and id = ${first.runId}`)).toEqual([first.runId]);
    expect(await ids('metrics.nope > 0')).toEqual([]);
    // --limit counts matches, not the runs looked at.
    expect(await ids('params.optimizer = adam', '--limit', '1')).toEqual([other.runId]);
    const [row] = await list(`id = ${first.runId}`);
    expect(row).toMatchObject({ id: first.runId, status: 'succeeded', pipelineName: 'tracking' });
    // The metrics a filter names come with each run in --json, as the table's columns.
    const [withMetrics] = await list(`id = ${first.runId} and metrics.loss < 1`);
    expect(withMetrics).toMatchObject({ metrics: { loss: expect.any(Number) } });
    expect(row).not.toHaveProperty('metrics');

    const table = await runCli(['runs', 'list', '--filter', 'metrics.ts-logger.accuracy > 0.85'], {
      cwd: dir,
    });
    expectExit(table, 0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/RUN\s+PIPELINE\s+STATUS\s+STARTED\s+DURATION\s+ts-logger\.accuracy/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/0\.9\s*$/);
    const none = await runCli(['runs', 'list', '--filter', 'metrics.nope > 0'], { cwd: dir });
    expectExit(none, 0);
    expect(none.stdout).toBe('no runs match\n');
  });

  it('runs list --filter: a malformed filter exits 2 and points at the column', async () => {
    const bad = await runCli(['runs', 'list', '--filter', 'metrics.acc > 0.9 metrics.f1 > 1'], {
      cwd: dir,
    });
    expectExit(bad, 2);
    expect(bad.stderr).toContain("expected 'and' between clauses");
    expect(bad.stderr).toContain('column 19');
    const json = await runCli(['runs', 'list', '--filter', 'metrics.acc >', '--json'], { cwd: dir });
    expectExit(json, 2);
    expect(parseJson(json)).toEqual({
      error: { code: 'USAGE', message: expect.stringContaining('column 14') },
    });
  });

  it('runs compare: side by side with * on differing rows, --diff, --json', async () => {
    const plain = await runCli(['runs', 'compare', first.runId, other.runId], { cwd: dir });
    expectExit(plain, 0);
    const row = (label: string) => plain.stdout.split('\n').find((l) => l.startsWith(`${label} `));
    expect(plain.stdout.split('\n')[0]).toContain(`${first.runId}  ${other.runId}`);
    expect(row('pipeline')).toMatch(/tracking\s+tracking\s*$/);
    expect(row('params.label')).toMatch(/base\s+other\s+\*$/);
    expect(row('params.rows')).toMatch(/3000\s+3000\s*$/);
    expect(row('metrics.ts-logger.accuracy')).toMatch(/0\.9\s+0\.8\s+\*$/);
    // ts-logger ran in both; the other tasks came from the cache in the second.
    expect(row('metrics.loss')).toMatch(/0\.15\s+0\.15\s*$/);
    expect(row('metrics.proc.score')).toMatch(/0\.5\s+-\s+\*$/);
    expect(row('params.ts.layers')).toMatch(/\[64,32\]\s+\[64,32\]\s*$/);
    expect(row('tags.label')).toMatch(/base\s+other\s+\*$/);

    const diff = await runCli(['runs', 'compare', first.runId, other.runId, '--diff'], { cwd: dir });
    expectExit(diff, 0);
    const labels = diff.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);
    expect(labels).toContain('params.label');
    expect(labels).toContain('metrics.ts-logger.accuracy');
    expect(labels).not.toContain('pipeline');
    expect(labels).not.toContain('params.rows');
    expect(labels).not.toContain('metrics.loss');
    expect(
      diff.stdout
        .trim()
        .split('\n')
        .slice(1)
        .every((l) => l.trimEnd().endsWith('*')),
    ).toBe(true);

    const json = await runJson<{ runs: any[] }>(['runs', 'compare', first.runId, cached.runId], {
      cwd: dir,
    });
    expect(json.runs).toHaveLength(2);
    expect(Object.keys(json.runs[0]).sort()).toEqual(
      ['finishedAt', 'id', 'metrics', 'params', 'pipeline', 'startedAt', 'status', 'tags'].sort(),
    );
    expect(json.runs[0]).toMatchObject({
      id: first.runId,
      pipeline: 'tracking',
      status: 'succeeded',
      params: { rows: 3000, label: 'base', optimizer: 'adam', 'proc.depth': 6, 'ts.layers': [64, 32] },
      metrics: { loss: 0.15, 'ts-logger.accuracy': 0.9, 'sh.loss': 0.3 },
      tags: { data: 'v2', label: 'base', proc: 'yes' },
    });
    expect(json.runs[1]).toMatchObject({ id: cached.runId, params: { rows: 3000, label: 'base' }, tags: {} });
    expect(json.runs[1].params).not.toHaveProperty('optimizer');

    // Short ids work; fewer than two runs, an unknown run and the same run twice are errors.
    const short = await runJson<{ runs: any[] }>(['runs', 'compare', first.runId.slice(0, 10), other.runId], {
      cwd: dir,
    });
    expect(short.runs[0].id).toBe(first.runId);
    expectExit(await runCli(['runs', 'compare', first.runId], { cwd: dir }), 2);
    const unknown = await runCli(['runs', 'compare', first.runId, 'zz_nope'], { cwd: dir });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('zz_nope');
    const twice = await runCli(['runs', 'compare', first.runId, first.runId], { cwd: dir });
    expectExit(twice, 2);
    expect(twice.stderr).toContain('listed twice');
  });
});

describe('tracking failures in a pipeline run (real CLI)', () => {
  it('fails a command task whose tracking file has a malformed line, naming the line', async () => {
    const dir = tempDir();
    const result = await runCli(['run', FIXTURE, '--pipeline', 'tracking-badline', '--json'], { cwd: dir });
    expect(result.code).not.toBe(0);
    const summary = parseJson<RunSummary>(result);
    expect(summary.status).toBe('failed');
    const failed = task(summary, 'bad-line');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('line 3 of $LATHE_TRACKING_FILE');
    expect(failed.error).toContain('"metrc": "typo"');
  });

  it('fails the second task logging a param with another value (PARAM_CONFLICT), naming both values', async () => {
    const dir = tempDir();
    const result = await runCli(['run', FIXTURE, '--pipeline', 'tracking-conflict', '--json'], { cwd: dir });
    expect(result.code).not.toBe(0);
    const summary = parseJson<RunSummary>(result);
    expect(task(summary, 'first').status).toBe('succeeded');
    const second = task(summary, 'second');
    expect(second.status).toBe('failed');
    expect(second.error).toMatch(/param 'shared' is already 1; it cannot become 2/);
    // From a child process the refusal arrives after the call returned: it fails the attempt.
    const third = task(summary, 'third');
    expect(third.status).toBe('failed');
    expect(third.error).toMatch(/param 'shared' is already 1; it cannot become 3/);
    await withStore(join(dir, '.lathe'), async (store) => {
      expect(await store.listParams(summary.runId)).toEqual([
        { runId: summary.runId, key: 'shared', value: 1, taskId: `${summary.runId}/first` },
      ]);
      const attempts = await store.getTask(`${summary.runId}/second`);
      expect(attempts?.error).toContain('cannot become 2');
    });
  });

  it('keeps the params of a run across resume: a resumed task cannot change one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fail'), '');
    const run = await runCli(
      ['run', FIXTURE, '--pipeline', 'tracking-resumable', '--param', `dir=${dir}`, '--json'],
      { cwd: dir },
    );
    const failed = parseJson<RunSummary>(run);
    expect(task(failed, 'resumable-first').status).toBe('succeeded');
    expect(task(failed, 'resumable-second').error).toContain('failing on purpose');

    // Resumed: `first` keeps its result (and its param); `second` now logs another value.
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'fail'));
    writeFileSync(join(dir, 'value'), '2');
    const refused = parseJson<RunSummary>(await runCli(['resume', failed.runId, '--json'], { cwd: dir }));
    expect(refused.runId).toBe(failed.runId);
    expect(refused.status).toBe('failed');
    expect(task(refused, 'resumable-second').error).toMatch(
      /param 'shared' is already 1; it cannot become 2/,
    );

    // With the same value the resume succeeds; the param is still the one `first` logged.
    writeFileSync(join(dir, 'value'), '1');
    const resumed = parseJson<RunSummary>(await runCli(['resume', failed.runId, '--json'], { cwd: dir }));
    expect(resumed.status).toBe('succeeded');
    expect(task(resumed, 'resumable-first').status).toBe('succeeded');
    await withStore(join(dir, '.lathe'), async (store) => {
      expect(await store.listParams(failed.runId)).toEqual([
        { runId: failed.runId, key: 'shared', value: 1, taskId: `${failed.runId}/resumable-first` },
      ]);
    });
  });
});

describe('tracking through runPipeline (lathe/testing)', () => {
  it('records log.metric/param/tag of an in-process component, and refuses bad names at the call', async () => {
    const home = tempDir();
    const seen: string[] = [];
    const logs = component({
      name: 'tracking-it.logs',
      params: { n: z.number() },
      outputs: { ok: z.boolean() },
      run({ params, log }) {
        for (let step = 0; step < params.n; step++) log.metric('acc', step / 10, { step });
        // The same value as the pipeline param n: fine.
        log.param('n', params.n);
        log.param('logged', 'yes');
        log.tag('owner', 'ana');
        for (const bad of [
          () => log.metric('bad name!', 1),
          () => log.metric('x', Number.NaN),
          () => log.metric('x', 1, { step: -1 }),
          () => log.metric('x', 1, { step: 1.5 }),
          () => log.param('', 1),
          () => log.tag('t', 3 as unknown as string),
          () => log.param('logged', 'no'),
          // A pipeline param is a param of the run too.
          () => log.param('n', 99),
        ]) {
          try {
            bad();
            seen.push('no error');
          } catch (error) {
            seen.push((error as { code?: string }).code ?? String(error));
          }
        }
        return { ok: true };
      },
    });
    const run = await runPipeline(
      pipeline({ name: 'tracking-it', params: { n: z.number().default(4) } }, ({ params }) => {
        logs({ n: params.n });
      }),
      { home },
    );
    try {
      expect(run.status).toBe('succeeded');
      expect(seen).toEqual([
        'BAD_TRACKING_KEY',
        'BAD_METRIC',
        'BAD_METRIC',
        'BAD_METRIC',
        'BAD_TRACKING_KEY',
        'BAD_TAG',
        'PARAM_CONFLICT',
        'PARAM_CONFLICT',
      ]);
      await withStore(home, async (store) => {
        expect((await store.listMetrics(run.runId, 'acc')).map((p) => p.step)).toEqual([0, 1, 2, 3]);
        expect(await latestOf(store, run.runId)).toEqual({ acc: 0.3 });
        // n is the run's (pipeline) param: logging the same value again stores nothing.
        expect(await paramsOf(store, run.runId)).toEqual({ logged: 'yes' });
        expect((await store.getRun(run.runId))?.params).toEqual({ n: 4 });
        expect(await store.listTags(run.runId)).toEqual({ owner: 'ana' });
      });
    } finally {
      await run.close();
    }
  });
});

describe('trackRun (lathe/tracking)', () => {
  it('stores params, metrics and tags of a run tracked from outside a pipeline', async () => {
    const home = tempDir();
    const run = await trackRun({
      experiment: 'churn-notebook',
      home,
      params: { lr: 0.1, layers: [8, 4] },
      tags: { owner: 'ana' },
    });
    run.logParam('optimizer', 'sgd');
    run.logParams({ lr: 0.1, seed: 7 });
    run.logMetric('loss', 0.9, 0);
    run.logMetric('loss', 0.5, 1);
    run.logMetrics({ accuracy: 0.91, auc: 0.95 }, 3);
    run.setTag('stage', 'baseline');
    run.setTag('owner', 'bo');
    await run.flush();
    await withStore(home, async (store) => {
      // Visible to another connection once flushed, while the run is still going.
      expect((await store.getRun(run.id))?.status).toBe('running');
      expect(await store.listMetrics(run.id, 'loss')).toHaveLength(2);
    });
    await run.end();
    await withStore(home, async (store) => {
      const record = await store.getRun(run.id);
      expect(record).toMatchObject({
        pipelineName: 'churn-notebook',
        status: 'succeeded',
        params: { lr: 0.1, layers: [8, 4] },
      });
      expect(record!.finishedAt).not.toBeNull();
      expect(await paramsOf(store, run.id)).toEqual({ lr: 0.1, layers: [8, 4], optimizer: 'sgd', seed: 7 });
      expect((await store.listParams(run.id)).every((p) => p.taskId === null)).toBe(true);
      expect(await latestOf(store, run.id)).toEqual({ loss: 0.5, accuracy: 0.91, auc: 0.95 });
      expect((await store.listMetrics(run.id, 'auc'))[0]).toMatchObject({ step: 3, taskId: null });
      expect(await store.listTags(run.id)).toEqual({ owner: 'bo', stage: 'baseline' });
    });

    const listed = await runJson<Array<{ id: string; pipelineName: string }>>(
      ['runs', 'list', '--home', home, '--pipeline', 'churn-notebook'],
      { cwd: home },
    );
    expect(listed.map((r) => r.id)).toEqual([run.id]);
    const filtered = await runJson<Array<{ id: string }>>(
      ['runs', 'list', '--home', home, '--filter', 'metrics.loss < 0.6 and params.optimizer = sgd'],
      { cwd: home },
    );
    expect(filtered.map((r) => r.id)).toEqual([run.id]);
  });

  it('stores 100,000 points with their steps, and refuses logging after end()', async () => {
    const home = tempDir();
    const run = await trackRun({ experiment: 'big', home });
    const started = performance.now();
    for (let step = 0; step < 100_000; step++) run.logMetric('loss', 1 / (step + 1), step);
    await run.end();
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeLessThan(10);
    await withStore(home, async (store) => {
      const points = await store.listMetrics(run.id, 'loss');
      expect(points).toHaveLength(100_000);
      expect(points.every((p, i) => p.step === i && p.value === 1 / (i + 1))).toBe(true);
      expect(await latestOf(store, run.id)).toEqual({ loss: 1 / 100_000 });
    });
    for (const late of [
      () => run.logMetric('loss', 1, 100_000),
      () => run.logParam('x', 1),
      () => run.setTag('x', 'y'),
    ]) {
      expect(late).toThrow(/has ended/);
    }
    // end() twice is harmless.
    await run.end();
  });

  it('throws ParamConflictError and refuses bad names and values at the call', async () => {
    const home = tempDir();
    const run = await trackRun({ experiment: 'strict', home, params: { lr: 0.1 } });
    try {
      expect(() => run.logParam('lr', 0.2)).toThrow(ParamConflictError);
      expect(() => run.logParam('lr', 0.2)).toThrow(/already 0\.1; it cannot become 0\.2/);
      run.logParam('lr', 0.1);
      expect(() => run.logMetric('bad name!', 1)).toThrow(/metric name "bad name!" is not valid/);
      expect(() => run.logMetric('x'.repeat(251), 1)).toThrow(/not valid/);
      expect(() => run.logMetric('ok', Number.POSITIVE_INFINITY)).toThrow(/finite/);
      expect(() => run.logMetric('ok', '1' as unknown as number)).toThrow(/finite/);
      expect(() => run.logMetric('ok', 1, -1)).toThrow(/step -1/);
      expect(() => run.logMetric('ok', 1, 0.5)).toThrow(/step 0.5/);
      expect(() => run.setTag('t', 1 as unknown as string)).toThrow(/must be a string/);
      expect(() => run.setTag('', 'x')).toThrow(/tag name/);
      run.logMetric('ok', 1);
    } finally {
      await run.end('failed', 'gave up');
    }
    await withStore(home, async (store) => {
      expect(await store.getRun(run.id)).toMatchObject({ status: 'failed', error: 'gave up' });
      expect(await latestOf(store, run.id)).toEqual({ ok: 1 });
    });
    await expect(trackRun({ experiment: '', home })).rejects.toThrow(/experiment name/);
    await expect(trackRun({ experiment: 'a/b', home })).rejects.toThrow(/experiment name/);
  });

  it('keeps a write error of a background flush for the next flush() and end()', async () => {
    const home = tempDir();
    const run = await trackRun({ experiment: 'broken', home });
    // The store fails every write from now on (a full disk, say).
    const store = (run as unknown as { workspace: { store: MetadataStore } }).workspace.store;
    store.commit = () => Promise.reject(new Error('disk full'));
    // 10,000 points start a flush nobody awaits: its error must not be an unhandled rejection.
    for (let step = 0; step < 10_000; step++) run.logMetric('loss', 1, step);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(run.flush()).rejects.toThrow('disk full');
    await expect(run.end()).rejects.toThrow('disk full');
  });

  it('writes buffered points within about a second without flush()', async () => {
    const home = tempDir();
    const run = await trackRun({ experiment: 'timer', home });
    try {
      run.logMetric('loss', 0.5, 1);
      await new Promise((resolve) => setTimeout(resolve, 1300));
      await withStore(home, async (store) => {
        expect(await store.listMetrics(run.id)).toHaveLength(1);
      });
    } finally {
      await run.end();
    }
  });
});
