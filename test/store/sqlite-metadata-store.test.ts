import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreOp } from '../../src/store/metadata-store.js';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteMetadataStore } from '../../src/store/sqlite/sqlite-metadata-store.js';
import { metadataStoreCases } from './metadata-store.cases.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-sqlite-store-'));
let counter = 0;
const freshPath = () => path.join(tmp, `db-${++counter}`, 'metadata.db');

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

metadataStoreCases('sqlite', async () => SqliteMetadataStore.open(freshPath()));

const seed: StoreOp[] = [
  { op: 'putPipeline', pipeline: { digest: 'd1', name: 'p', spec: {}, createdAt: 1 } },
  {
    op: 'putRun',
    run: {
      id: 'r_1',
      pipelineDigest: 'd1',
      pipelineName: 'p',
      params: {},
      status: 'running',
      source: null,
      createdAt: 1,
      startedAt: 1,
      finishedAt: null,
      error: null,
      runnerPid: process.pid,
      runnerHost: 'here',
    },
  },
];

/**
 * Runs `body` in a separate Node process with `store` bound to a SqliteMetadataStore on `file`
 * (TypeScript via tsx, as the CLI runs in development).
 */
function runChild(
  body: string,
  file: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const storeModule = fileURLToPath(
    new URL('../../src/store/sqlite/sqlite-metadata-store.ts', import.meta.url),
  );
  const script = path.join(tmp, `child-${++counter}.mts`);
  fs.writeFileSync(
    script,
    `import { SqliteMetadataStore } from ${JSON.stringify(storeModule)};
const store = SqliteMetadataStore.open(process.argv[2]);
${body}
await store.close();
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('SqliteMetadataStore (SQLite specifics)', () => {
  it('creates missing parent directories and turns on WAL', async () => {
    const file = path.join(tmp, 'nested', 'deeper', 'metadata.db');
    const store = SqliteMetadataStore.open(file);
    try {
      // journal_mode=WAL is a property of the file, so a separate connection sees it.
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    } finally {
      await store.close();
    }
  });

  it('records migrations and does not re-apply them on reopen', async () => {
    const file = freshPath();
    await SqliteMetadataStore.open(file).close();
    const read = () => {
      const db = new Database(file, { readonly: true });
      const rows = db
        .prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
        .all();
      db.close();
      return rows as { version: number; name: string; applied_at: number }[];
    };
    const first = read();
    expect(first.map((r) => [r.version, r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));

    const again = SqliteMetadataStore.open(file);
    await again.close();
    expect(read()).toEqual(first);

    const db = new Database(file);
    expect(migrate(db)).toEqual([]);
    db.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const file = freshPath();
    await SqliteMetadataStore.open(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      999,
      'future',
      1,
    );
    db.close();
    expect(() => SqliteMetadataStore.open(file)).toThrow(/schema version 999/);
  });

  it('applies migrations all or nothing', () => {
    const db = new Database(':memory:');
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE (' }];
    expect(() => migrate(db, broken)).toThrow(/migration \d+ \(broken\) failed/);
    // Nothing from the earlier, valid migrations in the same call survived either.
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual([]);
    db.close();
  });

  it('rejects a migration list with gaps or reordering', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 2, name: 'skipped one', sql: '' }])).toThrow(
      /version 2, expected 1/,
    );
    db.close();
  });

  it('keeps the SQLite error as cause and explains foreign key failures', async () => {
    const store = SqliteMetadataStore.open(freshPath());
    try {
      const err = await store
        .commit([
          seed[0]!,
          {
            op: 'putEvent',
            event: {
              runId: 'r_x',
              taskId: 'r_x/t',
              artifactId: 'a_x',
              kind: 'input',
              name: 'data',
              cached: false,
              createdAt: 1,
            },
          },
        ])
        .catch((e: unknown) => e as Error);
      if (!(err instanceof Error)) throw new Error('commit should have failed');
      expect(err.message).toMatch(/op 2 of 2 \(putEvent r_x\/t input data -> a_x\)/);
      expect(err.message).toMatch(/must be stored first/);
      expect((err.cause as { code?: string }).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    } finally {
      await store.close();
    }
  });

  it('shares one file between two open connections', async () => {
    const file = freshPath();
    const a = SqliteMetadataStore.open(file);
    const b = SqliteMetadataStore.open(file);
    try {
      await a.commit(seed);
      expect((await b.getRun('r_1'))?.status).toBe('running');
      await b.commit([{ op: 'updateRun', id: 'r_1', patch: { status: 'succeeded', finishedAt: 2 } }]);
      expect(await a.getRun('r_1')).toMatchObject({ status: 'succeeded', finishedAt: 2 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('shares one file with another process while open', async () => {
    const file = freshPath();
    const store = SqliteMetadataStore.open(file);
    try {
      await store.commit(seed);
      const child = await runChild(
        `const before = await store.getRun('r_1');
await store.commit([{ op: 'updateRun', id: 'r_1', patch: { status: 'canceled', runnerPid: process.pid } }]);
process.stdout.write(JSON.stringify({ before: before?.status, pid: process.pid }));`,
        file,
      );
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      const out = JSON.parse(child.stdout) as { before: string; pid: number };
      expect(out.before).toBe('running');
      expect(await store.getRun('r_1')).toMatchObject({ status: 'canceled', runnerPid: out.pid });
    } finally {
      await store.close();
    }
  });

  it('lets two processes commit to one file at the same time', async () => {
    const file = freshPath();
    const store = SqliteMetadataStore.open(file);
    try {
      await store.commit(seed);
      // Each child commits 200 batches of tasks; without busy_timeout one of them fails with
      // SQLITE_BUSY ('database is locked') as soon as the other holds the write lock.
      const body = (tag: string) => `for (let b = 0; b < 200; b++) {
  const ops = [];
  for (let i = 0; i < 20; i++) {
    const name = '${tag}' + (b * 20 + i);
    ops.push({ op: 'putTask', task: { id: 'r_1/' + name, runId: 'r_1', name, specTask: '${tag}', component: 'c',
      status: 'pending', attempts: 0, cacheKey: null, cachedFrom: null, params: null, outputs: null,
      startedAt: null, finishedAt: null, exitCode: null, error: null, errorStack: null, reason: null } });
  }
  await store.commit(ops);
}`;
      const children = await Promise.all([runChild(body('x'), file), runChild(body('y'), file)]);
      for (const child of children) {
        expect(child.stderr).toBe('');
        expect(child.code).toBe(0);
      }
      expect(await store.listTasks('r_1')).toHaveLength(8000);
    } finally {
      await store.close();
    }
  });

  it('commits tens of thousands of ops per second', async () => {
    // A loose floor, to catch a regression such as a lost transaction or per-op prepares; the real
    // number is in the bench.
    const store = SqliteMetadataStore.open(freshPath());
    try {
      await store.commit(seed);
      const ops: StoreOp[] = [];
      for (let i = 0; i < 3000; i++) {
        const id = `r_1/t[${i}]`;
        ops.push(
          {
            op: 'putTask',
            task: {
              id,
              runId: 'r_1',
              name: `t[${i}]`,
              specTask: 't',
              component: 'c',
              status: 'pending',
              attempts: 0,
              cacheKey: null,
              cachedFrom: null,
              params: { i },
              outputs: null,
              startedAt: null,
              finishedAt: null,
              exitCode: null,
              error: null,
              errorStack: null,
              reason: null,
            },
          },
          { op: 'updateTask', id, patch: { status: 'running', startedAt: i, attempts: 1 } },
          {
            op: 'putAttempt',
            attempt: {
              taskId: id,
              attempt: 1,
              status: 'running',
              startedAt: i,
              finishedAt: null,
              exitCode: null,
              error: null,
              errorStack: null,
            },
          },
          { op: 'putLogs', logs: [{ taskId: id, attempt: 1, seq: 0, ts: i, stream: 'log', line: 'hello' }] },
          {
            op: 'putArtifact',
            artifact: {
              id: `a_${i}`,
              type: 'Dataset',
              uri: `file:///x/${i}`,
              hash: `sha256:${i}`,
              size: 1,
              metadata: {},
              createdAt: i,
            },
          },
          {
            op: 'putEvent',
            event: {
              runId: 'r_1',
              taskId: id,
              artifactId: `a_${i}`,
              kind: 'output',
              name: 'out',
              cached: false,
              createdAt: i,
            },
          },
          { op: 'updateTask', id, patch: { status: 'succeeded', finishedAt: i, outputs: { x: 1 } } },
        );
      }
      const start = performance.now();
      for (let i = 0; i < ops.length; i += 1000) await store.commit(ops.slice(i, i + 1000));
      const perSecond = ops.length / ((performance.now() - start) / 1000);
      expect(perSecond).toBeGreaterThan(30_000);
      expect(await store.listTasks('r_1')).toHaveLength(3000);
    } finally {
      await store.close();
    }
  });
});
