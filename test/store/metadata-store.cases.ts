/**
 * Conformance suite for MetadataStore. Every implementation (SQLite now, Postgres later) runs it:
 *
 *   metadataStoreCases('sqlite', async () => SqliteMetadataStore.open(freshPath()));
 *
 * `open` must return a new, empty store each time it is called; each test opens its own and the
 * suite closes it afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ArtifactRecord,
  AttemptRecord,
  CacheEntry,
  EventRecord,
  LogRecord,
  MetadataStore,
  PipelineRecord,
  RunRecord,
  TaskRecord,
} from '../../src/store/metadata-store.js';
import { ParamConflictError } from '../../src/store/tracking.js';

const DIGEST = 'sha256:pipeline0001';

function pipeline(overrides: Partial<PipelineRecord> = {}): PipelineRecord {
  return {
    digest: DIGEST,
    name: 'train-eval',
    spec: { apiVersion: 'lathe/v1', tasks: { train: { component: 'train', inputs: [1, 'two', null] } } },
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

function run(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    pipelineDigest: DIGEST,
    pipelineName: 'train-eval',
    params: { lr: 0.01, layers: [64, 32], name: 'ünïcode ✓' },
    status: 'running',
    source: '/home/me/pipeline.ts',
    createdAt: 1_700_000_000_000,
    startedAt: 1_700_000_000_100,
    finishedAt: null,
    error: null,
    runnerPid: 4242,
    runnerHost: 'box.local',
    ...overrides,
  };
}

function task(runId: string, name: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: `${runId}/${name}`,
    runId,
    name,
    specTask: name.replace(/\[\d+\]$/, ''),
    component: 'train',
    status: 'pending',
    attempts: 0,
    cacheKey: null,
    cachedFrom: null,
    params: null,
    outputs: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    error: null,
    errorStack: null,
    reason: null,
    ...overrides,
  };
}

function artifact(id: string, overrides: Partial<ArtifactRecord> = {}): ArtifactRecord {
  return {
    id,
    type: 'Dataset',
    uri: `file:///store/${id}`,
    hash: `sha256:${'0'.repeat(60)}beef`,
    size: 1234,
    metadata: { rows: 10, columns: ['a', 'b'] },
    createdAt: 1_700_000_000_500,
    ...overrides,
  };
}

function event(t: TaskRecord, artifactId: string, overrides: Partial<EventRecord> = {}): EventRecord {
  return {
    runId: t.runId,
    taskId: t.id,
    artifactId,
    kind: 'output',
    name: 'out',
    cached: false,
    createdAt: 1_700_000_000_600,
    ...overrides,
  };
}

function log(taskId: string, attempt: number, seq: number, ts: number, line = `line ${seq}`): LogRecord {
  return { taskId, attempt, seq, ts, stream: 'stdout', line };
}

export function metadataStoreCases(name: string, open: () => Promise<MetadataStore>): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    /** Pipeline + one run, the parents most records need. */
    async function seedRun(id = 'r_01', overrides: Partial<RunRecord> = {}): Promise<RunRecord> {
      const r = run(id, overrides);
      await store.commit([
        { op: 'putPipeline', pipeline: pipeline() },
        { op: 'putRun', run: r },
      ]);
      return r;
    }

    describe('round trips', () => {
      it('stores and returns every record type unchanged', async () => {
        const p = pipeline();
        const r = run('r_01');
        const t = task('r_01', 'train[2]', {
          status: 'failed',
          attempts: 2,
          cacheKey: 'ck_1',
          cachedFrom: 'r_00/train[2]',
          params: { epochs: 3, nested: { deep: [true, false] } },
          outputs: { accuracy: 0.93, note: null },
          startedAt: 10,
          finishedAt: 20,
          exitCode: 1,
          error: 'boom',
          errorStack: 'Error: boom\n    at x',
          reason: 'because',
        });
        const bare = task('r_01', 'eval');
        const att: AttemptRecord = {
          taskId: t.id,
          attempt: 1,
          status: 'failed',
          startedAt: 10,
          finishedAt: 15,
          exitCode: 137,
          error: 'killed',
          errorStack: 'stack',
          pid: 4242,
        };
        const a = artifact('a_01');
        const e = event(t, 'a_01', { cached: true });
        const logs = [
          log(t.id, 1, 0, 11, 'hello'),
          { ...log(t.id, 1, 1, 12, ''), stream: 'stderr' as const },
        ];
        const c: CacheEntry = {
          key: 'ck_1',
          taskId: t.id,
          artifacts: { model: 'a_01' },
          scalars: { accuracy: 0.93, tags: ['x'] },
          createdAt: 30,
        };
        await store.commit([
          { op: 'putPipeline', pipeline: p },
          { op: 'putRun', run: r },
          { op: 'putTask', task: t },
          { op: 'putTask', task: bare },
          { op: 'putAttempt', attempt: att },
          { op: 'putArtifact', artifact: a },
          { op: 'putEvent', event: e },
          { op: 'putLogs', logs },
          { op: 'putCacheEntry', entry: c },
        ]);

        expect(await store.getPipeline(p.digest)).toEqual(p);
        expect(await store.getRun(r.id)).toEqual(r);
        expect(await store.getTask(t.id)).toEqual(t);
        expect(await store.getTask(bare.id)).toEqual(bare);
        expect(await store.listAttempts(t.id)).toEqual([att]);
        expect(await store.getArtifact(a.id)).toEqual(a);
        expect(await store.listEvents({ taskId: t.id })).toEqual([e]);
        expect(await store.listLogs('r_01', 'train[2]')).toEqual(logs);
        expect(await store.getCacheEntry('ck_1')).toEqual(c);
      });

      it('returns undefined or empty lists for things that are not there', async () => {
        expect(await store.getPipeline('nope')).toBeUndefined();
        expect(await store.getRun('nope')).toBeUndefined();
        expect(await store.getTask('nope/x')).toBeUndefined();
        expect(await store.getArtifact('nope')).toBeUndefined();
        expect(await store.getCacheEntry('nope')).toBeUndefined();
        expect(await store.lineage('nope')).toBeUndefined();
        expect(await store.listRuns()).toEqual([]);
        expect(await store.findRuns('r')).toEqual([]);
        expect(await store.listTasks('nope')).toEqual([]);
        expect(await store.listAttempts('nope/x')).toEqual([]);
        expect(await store.listLogs('nope')).toEqual([]);
        expect(await store.findArtifacts('a')).toEqual([]);
        expect(await store.listEvents({ runId: 'nope' })).toEqual([]);
      });

      it('accepts an empty commit', async () => {
        await store.commit([]);
        expect(await store.listRuns()).toEqual([]);
      });

      it('keeps the first pipeline record for a digest', async () => {
        await store.commit([{ op: 'putPipeline', pipeline: pipeline() }]);
        await store.commit([{ op: 'putPipeline', pipeline: pipeline({ name: 'renamed', createdAt: 1 }) }]);
        expect(await store.getPipeline(DIGEST)).toEqual(pipeline());
      });

      it('keeps the first artifact record for an id', async () => {
        await store.commit([{ op: 'putArtifact', artifact: artifact('a_01') }]);
        await store.commit([
          { op: 'putArtifact', artifact: artifact('a_01', { uri: 'file:///other', size: 1 }) },
        ]);
        expect(await store.getArtifact('a_01')).toEqual(artifact('a_01'));
      });

      it('replaces a task put again under the same id (resume)', async () => {
        await seedRun();
        const failed = task('r_01', 'train', { status: 'failed', attempts: 1, error: 'x', exitCode: 1 });
        await store.commit([{ op: 'putTask', task: failed }]);
        const fresh = task('r_01', 'train');
        await store.commit([{ op: 'putTask', task: fresh }]);
        expect(await store.getTask(fresh.id)).toEqual(fresh);
        expect(await store.listTasks('r_01')).toEqual([fresh]);
      });

      it('replaces an attempt put again (start, then finish)', async () => {
        await seedRun();
        const t = task('r_01', 'train');
        const started: AttemptRecord = {
          taskId: t.id,
          attempt: 1,
          status: 'running',
          startedAt: 10,
          finishedAt: null,
          exitCode: null,
          error: null,
          errorStack: null,
          pid: null,
        };
        const second: AttemptRecord = { ...started, attempt: 2, startedAt: 30 };
        await store.commit([
          { op: 'putTask', task: t },
          { op: 'putAttempt', attempt: second },
          { op: 'putAttempt', attempt: started },
        ]);
        const done: AttemptRecord = { ...started, status: 'succeeded', finishedAt: 20, exitCode: 0 };
        await store.commit([{ op: 'putAttempt', attempt: done }]);
        expect(await store.listAttempts(t.id)).toEqual([done, second]);
      });

      it('claims a run only from the runner it expects, atomically', async () => {
        await seedRun('r_01');
        const before = await store.getRun('r_01');
        const expected = { pid: before!.runnerPid, host: before!.runnerHost };
        await store.commit([{ op: 'claimRun', id: 'r_01', expected, runner: { pid: 4242, host: 'h1' } }]);
        expect(await store.getRun('r_01')).toMatchObject({ runnerPid: 4242, runnerHost: 'h1' });
        // A second claimant still expecting the old runner loses, and nothing of its commit applies.
        await expect(
          store.commit([
            { op: 'updateRun', id: 'r_01', patch: { status: 'failed' } },
            { op: 'claimRun', id: 'r_01', expected, runner: { pid: 5353, host: 'h2' } },
          ]),
        ).rejects.toMatchObject({ code: 'RUN_CLAIMED' });
        expect(await store.getRun('r_01')).toMatchObject({
          runnerPid: 4242,
          runnerHost: 'h1',
          status: 'running',
        });
      });

      it('replaces a run put again under the same id', async () => {
        await seedRun('r_01');
        const again = run('r_01', { status: 'pending', runnerPid: null, runnerHost: null });
        await store.commit([{ op: 'putRun', run: again }]);
        expect(await store.getRun('r_01')).toEqual(again);
      });
    });

    describe('commit atomicity', () => {
      it('leaves no trace of earlier ops when an unknown patch key fails the batch', async () => {
        const t = task('r_01', 'train');
        const err = await store
          .commit([
            { op: 'putPipeline', pipeline: pipeline() },
            { op: 'putRun', run: run('r_01') },
            { op: 'putTask', task: t },
            { op: 'updateTask', id: t.id, patch: { status: 'running', bogusField: 1 } as never },
          ])
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toContain('bogusField');
        expect((err as Error).message).toContain('updateTask');
        expect((err as Error).message).toContain(t.id);
        expect(await store.getPipeline(DIGEST)).toBeUndefined();
        expect(await store.getRun('r_01')).toBeUndefined();
        expect(await store.getTask(t.id)).toBeUndefined();
      });

      it('leaves no trace of earlier ops when a record references a missing parent', async () => {
        const orphan = task('r_missing', 'train');
        const err = await store
          .commit([
            { op: 'putPipeline', pipeline: pipeline() },
            { op: 'putRun', run: run('r_01') },
            { op: 'putTask', task: orphan },
            { op: 'putArtifact', artifact: artifact('a_01') },
          ])
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toContain('putTask');
        expect((err as Error).message).toContain(orphan.id);
        expect(await store.getPipeline(DIGEST)).toBeUndefined();
        expect(await store.getRun('r_01')).toBeUndefined();
        expect(await store.getTask(orphan.id)).toBeUndefined();
        expect(await store.getArtifact('a_01')).toBeUndefined();
      });

      it('rolls back updates and deletes too, and stays usable after a failed commit', async () => {
        await seedRun('r_01');
        const entry: CacheEntry = { key: 'k', taskId: 'r_01/t', artifacts: {}, scalars: {}, createdAt: 1 };
        await store.commit([{ op: 'putCacheEntry', entry }]);
        await expect(
          store.commit([
            { op: 'updateRun', id: 'r_01', patch: { status: 'failed', error: 'x' } },
            { op: 'deleteCacheEntry', key: 'k' },
            { op: 'updateRun', id: 'r_does_not_exist', patch: { status: 'failed' } },
          ]),
        ).rejects.toThrow(/r_does_not_exist/);
        expect((await store.getRun('r_01'))?.status).toBe('running');
        expect(await store.getCacheEntry('k')).toEqual(entry);

        await store.commit([{ op: 'updateRun', id: 'r_01', patch: { status: 'succeeded' } }]);
        expect((await store.getRun('r_01'))?.status).toBe('succeeded');
      });

      it('applies ops in order within a batch', async () => {
        const t = task('r_01', 'train');
        await store.commit([
          { op: 'putPipeline', pipeline: pipeline() },
          { op: 'putRun', run: run('r_01') },
          { op: 'putTask', task: t },
          { op: 'updateTask', id: t.id, patch: { status: 'running' } },
          { op: 'updateTask', id: t.id, patch: { status: 'succeeded' } },
        ]);
        expect((await store.getTask(t.id))?.status).toBe('succeeded');
      });
    });

    describe('patches', () => {
      it('updateRun changes only the patched fields', async () => {
        const r = await seedRun('r_01');
        await store.commit([
          {
            op: 'updateRun',
            id: 'r_01',
            patch: { status: 'failed', finishedAt: 99, error: 'it broke', params: { lr: 1 } },
          },
        ]);
        expect(await store.getRun('r_01')).toEqual({
          ...r,
          status: 'failed',
          finishedAt: 99,
          error: 'it broke',
          params: { lr: 1 },
        });
        // Set back to null, and a different key set (exercises a second cached statement).
        await store.commit([{ op: 'updateRun', id: 'r_01', patch: { runnerPid: null, runnerHost: null } }]);
        expect(await store.getRun('r_01')).toMatchObject({
          runnerPid: null,
          runnerHost: null,
          status: 'failed',
        });
      });

      it('updateTask changes only the patched fields, including JSON and nulls', async () => {
        await seedRun('r_01');
        const t = task('r_01', 'train', { cacheKey: 'ck', params: { a: 1 } });
        await store.commit([{ op: 'putTask', task: t }]);
        await store.commit([
          { op: 'updateTask', id: t.id, patch: { status: 'running', attempts: 1, startedAt: 5 } },
          {
            op: 'updateTask',
            id: t.id,
            patch: { status: 'succeeded', finishedAt: 9, exitCode: 0, outputs: { acc: 0.5 }, cacheKey: null },
          },
        ]);
        expect(await store.getTask(t.id)).toEqual({
          ...t,
          status: 'succeeded',
          attempts: 1,
          startedAt: 5,
          finishedAt: 9,
          exitCode: 0,
          outputs: { acc: 0.5 },
          cacheKey: null,
        });
      });

      it('treats undefined patch values as absent and accepts an empty patch', async () => {
        await seedRun('r_01');
        const t = task('r_01', 'train', { error: 'keep me' });
        await store.commit([{ op: 'putTask', task: t }]);
        await store.commit([
          { op: 'updateTask', id: t.id, patch: { status: 'running', error: undefined } },
          { op: 'updateTask', id: t.id, patch: {} },
        ]);
        expect(await store.getTask(t.id)).toEqual({ ...t, status: 'running' });
      });

      it('rejects an unknown run patch key and names it', async () => {
        await seedRun('r_01');
        await expect(
          store.commit([{ op: 'updateRun', id: 'r_01', patch: { nope: 1 } as never }]),
        ).rejects.toThrow(/nope/);
        await expect(
          store.commit([{ op: 'updateRun', id: 'r_01', patch: { id: 'x' } as never }]),
        ).rejects.toThrow(/'id'/);
      });

      it('rejects updating a task that does not exist', async () => {
        await seedRun('r_01');
        await expect(
          store.commit([{ op: 'updateTask', id: 'r_01/ghost', patch: { status: 'running' } }]),
        ).rejects.toThrow(/r_01\/ghost/);
      });
    });

    describe('runs', () => {
      it('lists runs newest first, with filters and a limit', async () => {
        await store.commit([
          { op: 'putPipeline', pipeline: pipeline() },
          { op: 'putPipeline', pipeline: pipeline({ digest: 'sha256:other', name: 'other' }) },
          { op: 'putRun', run: run('r_a', { createdAt: 100, status: 'succeeded' }) },
          { op: 'putRun', run: run('r_c', { createdAt: 300, status: 'failed' }) },
          {
            op: 'putRun',
            run: run('r_b', {
              createdAt: 200,
              status: 'failed',
              pipelineDigest: 'sha256:other',
              pipelineName: 'other',
            }),
          },
          { op: 'putRun', run: run('r_d', { createdAt: 400, status: 'running' }) },
        ]);
        const ids = (rs: RunRecord[]) => rs.map((r) => r.id);
        expect(ids(await store.listRuns())).toEqual(['r_d', 'r_c', 'r_b', 'r_a']);
        expect(ids(await store.listRuns({ status: 'failed' }))).toEqual(['r_c', 'r_b']);
        expect(ids(await store.listRuns({ pipelineName: 'train-eval' }))).toEqual(['r_d', 'r_c', 'r_a']);
        expect(ids(await store.listRuns({ pipelineName: 'train-eval', status: 'failed' }))).toEqual(['r_c']);
        expect(ids(await store.listRuns({ limit: 2 }))).toEqual(['r_d', 'r_c']);
        expect(ids(await store.listRuns({ status: 'canceled' }))).toEqual([]);
      });

      it('returns at most 50 runs by default', async () => {
        await store.commit([
          { op: 'putPipeline', pipeline: pipeline() },
          ...Array.from({ length: 55 }, (_, i) => ({
            op: 'putRun' as const,
            run: run(`r_${String(i).padStart(3, '0')}`, { createdAt: i }),
          })),
        ]);
        const runs = await store.listRuns();
        expect(runs).toHaveLength(50);
        expect(runs[0]?.id).toBe('r_054');
        expect(runs[49]?.id).toBe('r_005');
      });

      it('finds runs by id prefix, newest first, treating % and _ literally', async () => {
        await store.commit([
          { op: 'putPipeline', pipeline: pipeline() },
          { op: 'putRun', run: run('r_01JAB1', { createdAt: 1 }) },
          { op: 'putRun', run: run('r_01JAB2', { createdAt: 3 }) },
          { op: 'putRun', run: run('r_01JAC', { createdAt: 2 }) },
          { op: 'putRun', run: run('rx01JAB', { createdAt: 4 }) },
          { op: 'putRun', run: run('r%odd', { createdAt: 5 }) },
        ]);
        const ids = (rs: RunRecord[]) => rs.map((r) => r.id);
        expect(ids(await store.findRuns('r_01JAB'))).toEqual(['r_01JAB2', 'r_01JAB1']);
        expect(ids(await store.findRuns('r_01JA'))).toEqual(['r_01JAB2', 'r_01JAC', 'r_01JAB1']);
        // `_` must not act as a wildcard matching the `x` of `rx01JAB`.
        expect(ids(await store.findRuns('r_'))).toEqual(['r_01JAB2', 'r_01JAC', 'r_01JAB1']);
        expect(ids(await store.findRuns('r%'))).toEqual(['r%odd']);
        expect(ids(await store.findRuns('r_01JAB2'))).toEqual(['r_01JAB2']);
        expect(await store.findRuns('zz')).toEqual([]);
      });
    });

    describe('tasks', () => {
      it('lists the tasks of one run only', async () => {
        await seedRun('r_1');
        await store.commit([{ op: 'putRun', run: run('r_10') }]);
        const mine = [task('r_1', 'prep'), task('r_1', 'train[0]'), task('r_1', 'train[1]')];
        await store.commit([
          ...mine.map((t) => ({ op: 'putTask' as const, task: t })),
          { op: 'putTask', task: task('r_10', 'prep') },
        ]);
        const listed = await store.listTasks('r_1');
        expect([...listed].sort((a, b) => a.id.localeCompare(b.id))).toEqual(mine);
      });
    });

    describe('logs', () => {
      it('lists a run’s logs in time order across tasks, and one task’s logs on request', async () => {
        await seedRun('r_1');
        // r_10/a shares a textual prefix with r_1's tasks and must not leak into r_1's logs.
        await store.commit([{ op: 'putRun', run: run('r_10') }]);
        const a = task('r_1', 'a');
        const b = task('r_1', 'b');
        const other = task('r_10', 'a');
        await store.commit([
          { op: 'putTask', task: a },
          { op: 'putTask', task: b },
          { op: 'putTask', task: other },
        ]);
        // Written out of order, in several batches, as a concurrent runner would.
        await store.commit([{ op: 'putLogs', logs: [log(b.id, 1, 0, 15), log(b.id, 1, 1, 30)] }]);
        await store.commit([
          { op: 'putLogs', logs: [log(a.id, 1, 0, 10), log(a.id, 1, 1, 20), log(a.id, 1, 2, 40)] },
          { op: 'putLogs', logs: [log(other.id, 1, 0, 5)] },
          { op: 'putLogs', logs: [] },
        ]);
        // A retry: attempt 2 of a, its clock tied with attempt 1's last line.
        await store.commit([{ op: 'putLogs', logs: [log(a.id, 2, 0, 40), log(a.id, 2, 1, 50)] }]);

        const key = (l: LogRecord) => `${l.taskId}#${l.attempt}:${l.seq}`;
        expect((await store.listLogs('r_1')).map(key)).toEqual([
          'r_1/a#1:0',
          'r_1/b#1:0',
          'r_1/a#1:1',
          'r_1/b#1:1',
          'r_1/a#1:2',
          'r_1/a#2:0',
          'r_1/a#2:1',
        ]);
        expect((await store.listLogs('r_1', 'a')).map(key)).toEqual([
          'r_1/a#1:0',
          'r_1/a#1:1',
          'r_1/a#1:2',
          'r_1/a#2:0',
          'r_1/a#2:1',
        ]);
        expect((await store.listLogs('r_1', 'b')).map(key)).toEqual(['r_1/b#1:0', 'r_1/b#1:1']);
        expect((await store.listLogs('r_10')).map(key)).toEqual(['r_10/a#1:0']);
        expect(await store.listLogs('r_1', 'missing')).toEqual([]);
      });
    });

    describe('events and lineage', () => {
      async function seedGraph() {
        await seedRun('r_1');
        await store.commit([{ op: 'putRun', run: run('r_2', { createdAt: 2 }) }]);
        const prep = task('r_1', 'prep');
        const train = task('r_1', 'train');
        const evalT = task('r_1', 'eval');
        const prep2 = task('r_2', 'prep', { status: 'cached', cachedFrom: prep.id });
        const train2 = task('r_2', 'train');
        await store.commit([
          ...[prep, train, evalT, prep2, train2].map((t) => ({ op: 'putTask' as const, task: t })),
          { op: 'putArtifact', artifact: artifact('a_data') },
          { op: 'putArtifact', artifact: artifact('a_model', { type: 'Model' }) },
          { op: 'putEvent', event: event(prep, 'a_data', { createdAt: 1 }) },
          { op: 'putEvent', event: event(train, 'a_data', { kind: 'input', name: 'data', createdAt: 2 }) },
          // A list input taking the same artifact twice: still one consumer.
          { op: 'putEvent', event: event(evalT, 'a_data', { kind: 'input', name: 'sets[0]', createdAt: 3 }) },
          { op: 'putEvent', event: event(evalT, 'a_data', { kind: 'input', name: 'sets[1]', createdAt: 3 }) },
          { op: 'putEvent', event: event(train, 'a_model', { name: 'model', createdAt: 4 }) },
          { op: 'putEvent', event: event(evalT, 'a_model', { kind: 'input', name: 'model', createdAt: 5 }) },
          // Run 2 reuses prep's output from the cache and feeds it to its own train.
          { op: 'putEvent', event: event(prep2, 'a_data', { cached: true, createdAt: 6 }) },
          { op: 'putEvent', event: event(train2, 'a_data', { kind: 'input', name: 'data', createdAt: 7 }) },
        ]);
        return { prep, train, evalT, prep2, train2 };
      }

      it('lists events by run, by task and by artifact', async () => {
        const { train, evalT, prep2 } = await seedGraph();
        const edge = (e: EventRecord) =>
          `${e.taskId} ${e.kind} ${e.name} ${e.artifactId}${e.cached ? ' cached' : ''}`;

        expect((await store.listEvents({ taskId: train.id })).map(edge)).toEqual([
          'r_1/train input data a_data',
          'r_1/train output model a_model',
        ]);
        expect((await store.listEvents({ artifactId: 'a_model' })).map(edge)).toEqual([
          'r_1/train output model a_model',
          'r_1/eval input model a_model',
        ]);
        expect((await store.listEvents({ runId: 'r_2' })).map(edge)).toEqual([
          'r_2/prep output out a_data cached',
          'r_2/train input data a_data',
        ]);
        expect((await store.listEvents({ runId: 'r_1' })).length).toBe(6);
        expect((await store.listEvents({ runId: 'r_1', artifactId: 'a_data' })).map(edge)).toEqual([
          'r_1/prep output out a_data',
          'r_1/train input data a_data',
          'r_1/eval input sets[0] a_data',
          'r_1/eval input sets[1] a_data',
        ]);
        expect((await store.listEvents({ taskId: evalT.id, artifactId: 'a_model' })).map(edge)).toEqual([
          'r_1/eval input model a_model',
        ]);
        expect(await store.listEvents({ taskId: prep2.id })).toEqual([
          event(prep2, 'a_data', { cached: true, createdAt: 6 }),
        ]);
      });

      it('returns producers and consumers of an artifact, deduplicated', async () => {
        const { prep, train, evalT, prep2, train2 } = await seedGraph();
        const data = await store.lineage('a_data');
        expect(data?.artifact).toEqual(artifact('a_data'));
        expect(data?.producers).toEqual([prep, prep2]);
        expect(data?.consumers).toEqual([train, evalT, train2]);

        const model = await store.lineage('a_model');
        expect(model?.producers).toEqual([train]);
        expect(model?.consumers).toEqual([evalT]);
      });

      it('returns an artifact nobody produced or consumed with empty lists', async () => {
        await store.commit([{ op: 'putArtifact', artifact: artifact('a_lonely') }]);
        expect(await store.lineage('a_lonely')).toEqual({
          artifact: artifact('a_lonely'),
          producers: [],
          consumers: [],
        });
      });

      it('keeps one edge per task, kind and name when an event is recorded again', async () => {
        const { train } = await seedGraph();
        await store.commit([
          { op: 'putArtifact', artifact: artifact('a_model2') },
          { op: 'putEvent', event: event(train, 'a_model2', { name: 'model', createdAt: 9 }) },
        ]);
        const outputs = (await store.listEvents({ taskId: train.id })).filter((e) => e.kind === 'output');
        expect(outputs.map((e) => e.artifactId)).toEqual(['a_model2']);
      });
    });

    describe('tracking', () => {
      const point = (runId: string, key: string, value: number, step: number, timestamp: number) => ({
        runId,
        taskId: null,
        key,
        value,
        step,
        timestamp,
      });

      it('stores params and lists them by key; the same value again is a no-op', async () => {
        await seedRun('r_01');
        await seedRun('r_02');
        const t = task('r_01', 'train');
        await store.commit([
          { op: 'putTask', task: t },
          {
            op: 'putParams',
            runId: 'r_01',
            taskId: t.id,
            params: { lr: 0.1, layers: [64, 32], opt: 'adam', nothing: null, 'train.depth': 6 },
          },
          { op: 'putParams', runId: 'r_02', taskId: null, params: { lr: 0.2 } },
        ]);
        const expected = [
          { runId: 'r_01', key: 'layers', value: [64, 32], taskId: t.id },
          { runId: 'r_01', key: 'lr', value: 0.1, taskId: t.id },
          { runId: 'r_01', key: 'nothing', value: null, taskId: t.id },
          { runId: 'r_01', key: 'opt', value: 'adam', taskId: t.id },
          { runId: 'r_01', key: 'train.depth', value: 6, taskId: t.id },
        ];
        expect(await store.listParams('r_01')).toEqual(expected);
        expect(await store.listParams('r_02')).toEqual([
          { runId: 'r_02', key: 'lr', value: 0.2, taskId: null },
        ]);

        // Logged again with the same values (even by another task): nothing changes, no error.
        await store.commit([
          { op: 'putParams', runId: 'r_01', taskId: null, params: { lr: 0.1, layers: [64, 32] } },
        ]);
        expect(await store.listParams('r_01')).toEqual(expected);
        expect(await store.listParams('r_nope')).toEqual([]);
      });

      it('refuses another value for a param, and applies nothing else of that commit', async () => {
        await seedRun('r_01');
        await store.commit([{ op: 'putParams', runId: 'r_01', taskId: null, params: { lr: 0.1 } }]);
        const err = await store
          .commit([
            { op: 'setTags', runId: 'r_01', tags: { stage: 'x' } },
            { op: 'putMetrics', points: [point('r_01', 'loss', 1, 0, 1)] },
            { op: 'putParams', runId: 'r_01', taskId: null, params: { depth: 3, lr: 0.2 } },
            { op: 'putTask', task: task('r_01', 'after') },
          ])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ParamConflictError);
        expect(err).toMatchObject({ code: 'PARAM_CONFLICT' });
        expect((err as Error).message).toContain("'lr'");
        expect((err as Error).message).toContain('0.1');
        expect((err as Error).message).toContain('0.2');
        // The commit is atomic: not the tag, the metric, the other param nor the task.
        expect(await store.listParams('r_01')).toEqual([
          { runId: 'r_01', key: 'lr', value: 0.1, taskId: null },
        ]);
        expect(await store.listTags('r_01')).toEqual({});
        expect(await store.listMetrics('r_01')).toEqual([]);
        expect(await store.getTask('r_01/after')).toBeUndefined();
        // A value of another type is another value too.
        await expect(
          store.commit([{ op: 'putParams', runId: 'r_01', taskId: null, params: { lr: '0.1' } }]),
        ).rejects.toBeInstanceOf(ParamConflictError);
      });

      it('appends metric points and lists them by key, step and time, or one key', async () => {
        await seedRun('r_01');
        await store.commit([
          {
            op: 'putMetrics',
            points: [
              point('r_01', 'loss', 0.5, 1, 20),
              point('r_01', 'acc', 0.7, 0, 10),
              point('r_01', 'loss', 0.9, 0, 30),
            ],
          },
        ]);
        // Appended, never replaced: the same key, step and time again is another point.
        await store.commit([
          {
            op: 'putMetrics',
            points: [point('r_01', 'loss', 0.4, 1, 15), point('r_01', 'loss', 0.45, 1, 20)],
          },
        ]);
        const all = await store.listMetrics('r_01');
        expect(all.map((p) => [p.key, p.step, p.timestamp, p.value])).toEqual([
          ['acc', 0, 10, 0.7],
          ['loss', 0, 30, 0.9],
          ['loss', 1, 15, 0.4],
          // Same step and time: in the order written.
          ['loss', 1, 20, 0.5],
          ['loss', 1, 20, 0.45],
        ]);
        expect(all[0]).toEqual({
          runId: 'r_01',
          taskId: null,
          key: 'acc',
          value: 0.7,
          step: 0,
          timestamp: 10,
        });
        const loss = await store.listMetrics('r_01', 'loss');
        expect(loss.map((p) => p.value)).toEqual([0.9, 0.4, 0.5, 0.45]);
        expect(await store.listMetrics('r_01', 'nope')).toEqual([]);
        expect(await store.listMetrics('r_nope')).toEqual([]);
      });

      it('keeps the task that logged a point and large steps and values exactly', async () => {
        await seedRun('r_01');
        const t = task('r_01', 'train');
        await store.commit([
          { op: 'putTask', task: t },
          {
            op: 'putMetrics',
            points: [
              {
                runId: 'r_01',
                taskId: t.id,
                key: 'x',
                value: -1.5e-300,
                step: 2 ** 40,
                timestamp: 1_700_000_000_123,
              },
            ],
          },
        ]);
        expect(await store.listMetrics('r_01', 'x')).toEqual([
          {
            runId: 'r_01',
            taskId: t.id,
            key: 'x',
            value: -1.5e-300,
            step: 2 ** 40,
            timestamp: 1_700_000_000_123,
          },
        ]);
      });

      it('gives the latest value of each metric: highest step, then latest time, across runs', async () => {
        await seedRun('r_01');
        await seedRun('r_02');
        await seedRun('r_03');
        await store.commit([
          {
            op: 'putMetrics',
            points: [
              // r_01 loss: step 5 wins over later timestamps at lower steps.
              point('r_01', 'loss', 0.2, 5, 100),
              point('r_01', 'loss', 0.9, 1, 900),
              point('r_01', 'loss', 0.1, 4, 1000),
              // r_01 acc: same step, the latest timestamp wins (whatever the write order).
              point('r_01', 'acc', 0.8, 0, 300),
              point('r_01', 'acc', 0.6, 0, 100),
              point('r_02', 'loss', 0.3, 0, 1),
              point('r_02', 'loss', 0.25, 0, 2),
              point('r_02', 'auc', 0.5, 3, 5),
            ],
          },
        ]);
        const latest = await store.latestMetrics(['r_01', 'r_02', 'r_03']);
        expect(latest).toBeInstanceOf(Map);
        expect(latest.get('r_01')).toEqual({ loss: 0.2, acc: 0.8 });
        expect(latest.get('r_02')).toEqual({ loss: 0.25, auc: 0.5 });
        // A run without metrics (and one that does not exist) maps to {}.
        expect(latest.get('r_03')).toEqual({});
        expect((await store.latestMetrics(['r_ghost'])).get('r_ghost')).toEqual({});
        expect((await store.latestMetrics([])).size).toBe(0);
        // Only the runs asked for.
        expect([...(await store.latestMetrics(['r_02'])).keys()]).toEqual(['r_02']);
      });

      it('sets, overwrites and deletes tags', async () => {
        await seedRun('r_01');
        await seedRun('r_02');
        await store.commit([
          { op: 'setTags', runId: 'r_01', tags: { owner: 'ana', stage: 'dev', note: 'ünïcode ✓' } },
          { op: 'setTags', runId: 'r_02', tags: { owner: 'bo' } },
        ]);
        expect(await store.listTags('r_01')).toEqual({ note: 'ünïcode ✓', owner: 'ana', stage: 'dev' });
        await store.commit([
          { op: 'setTags', runId: 'r_01', tags: { stage: 'prod', note: null } },
          // Deleting a tag that is not there is not an error.
          { op: 'setTags', runId: 'r_01', tags: { ghost: null } },
        ]);
        expect(await store.listTags('r_01')).toEqual({ owner: 'ana', stage: 'prod' });
        expect(Object.keys(await store.listTags('r_01'))).toEqual(['owner', 'stage']);
        expect(await store.listTags('r_02')).toEqual({ owner: 'bo' });
        expect(await store.listTags('r_nope')).toEqual({});
      });

      it('refuses tracking records of an unknown run, saying the run must be stored first', async () => {
        await seedRun('r_01');
        const ops = [
          { op: 'putParams' as const, runId: 'r_ghost', taskId: null, params: { lr: 1 } },
          { op: 'putMetrics' as const, points: [point('r_ghost', 'loss', 1, 0, 1)] },
          { op: 'setTags' as const, runId: 'r_ghost', tags: { a: 'b' } },
        ];
        for (const op of ops) {
          const err = await store
            .commit([{ op: 'setTags', runId: 'r_01', tags: { kept: 'no' } }, op])
            .catch((e: unknown) => e as Error);
          expect(err, op.op).toBeInstanceOf(Error);
          expect((err as Error).message).toContain('r_ghost');
          expect((err as Error).message).toMatch(/run must be stored first/);
        }
        expect(await store.listTags('r_01')).toEqual({});
        expect(await store.listParams('r_ghost')).toEqual([]);
        expect(await store.listMetrics('r_ghost')).toEqual([]);
      });
    });

    describe('cache entries', () => {
      it('puts, replaces and deletes', async () => {
        const first: CacheEntry = {
          key: 'ck',
          taskId: 'r_1/train',
          artifacts: { model: 'a_1' },
          scalars: { acc: 0.5 },
          createdAt: 1,
        };
        await store.commit([{ op: 'putCacheEntry', entry: first }]);
        expect(await store.getCacheEntry('ck')).toEqual(first);

        const second: CacheEntry = {
          ...first,
          taskId: 'r_2/train',
          artifacts: { model: 'a_2' },
          scalars: {},
        };
        await store.commit([{ op: 'putCacheEntry', entry: second }]);
        expect(await store.getCacheEntry('ck')).toEqual(second);

        await store.commit([{ op: 'deleteCacheEntry', key: 'ck' }]);
        expect(await store.getCacheEntry('ck')).toBeUndefined();
        // Deleting what is not there is not an error (two runners may evict the same entry).
        await store.commit([{ op: 'deleteCacheEntry', key: 'ck' }]);
      });
    });

    describe('artifacts', () => {
      it('finds artifacts by id prefix and by hash prefix, with or without sha256:', async () => {
        const hex1 = `abc123${'0'.repeat(58)}`;
        const hex2 = `abc999${'1'.repeat(58)}`;
        const hex3 = `ff${'2'.repeat(62)}`;
        const a1 = artifact('a_01JX1', { hash: `sha256:${hex1}`, createdAt: 1 });
        const a2 = artifact('a_01JX2', { hash: `sha256:${hex2}`, createdAt: 2 });
        // Same bytes as a1, different record.
        const a3 = artifact('a_01JY', { hash: `sha256:${hex1}`, createdAt: 3 });
        const a4 = artifact('b_other', { hash: `sha256:${hex3}`, createdAt: 4 });
        await store.commit([a1, a2, a3, a4].map((a) => ({ op: 'putArtifact' as const, artifact: a })));

        const ids = async (prefix: string) => (await store.findArtifacts(prefix)).map((a) => a.id).sort();
        expect(await ids('a_01JX')).toEqual(['a_01JX1', 'a_01JX2']);
        expect(await ids('a_01J')).toEqual(['a_01JX1', 'a_01JX2', 'a_01JY']);
        expect(await ids('abc1')).toEqual(['a_01JX1', 'a_01JY']);
        expect(await ids('sha256:abc1')).toEqual(['a_01JX1', 'a_01JY']);
        expect(await ids('sha256:abc')).toEqual(['a_01JX1', 'a_01JX2', 'a_01JY']);
        expect(await ids('ff22')).toEqual(['b_other']);
        expect(await ids('b_')).toEqual(['b_other']);
        expect(await ids('a%')).toEqual([]);
        expect(await ids('zzz')).toEqual([]);
        expect(await store.findArtifacts('a_01JY')).toEqual([a3]);
      });
    });
  });
}
