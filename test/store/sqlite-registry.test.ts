/**
 * The SQLite model registry on real database files: versions and their lineage links, aliases,
 * compare-and-set, the alias history, rollback, patches, errors, and promotions racing from
 * several processes at once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AliasConflictError, type AliasEvent, RegistryError } from '../../src/store/registry.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteModelRegistry } from '../../src/store/sqlite/sqlite-registry.js';

const require = createRequire(import.meta.url);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-sqlite-registry-'));
let counter = 0;
const freshPath = () => path.join(tmp, `db-${++counter}.db`);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens a database the way SqliteMetadataStore.open does. */
function openDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/** The rows a registered version links to: one pipeline, run r_1 with task r_1/train, artifacts. */
function seed(db: Database.Database): void {
  db.prepare("INSERT INTO pipelines (digest, name, spec, created_at) VALUES ('d1', 'p', '{}', 1)").run();
  db.prepare(
    "INSERT INTO runs (id, pipeline_digest, pipeline_name, params, status, created_at) VALUES ('r_1', 'd1', 'p', '{}', 'succeeded', 1)",
  ).run();
  db.prepare(
    "INSERT INTO tasks (id, run_id, name, spec_task, component, status, attempts) VALUES ('r_1/train', 'r_1', 'train', 'train', 'ml.train', 'succeeded', 1)",
  ).run();
  const artifact = db.prepare(
    "INSERT INTO artifacts (id, type, uri, hash, size, metadata, created_at) VALUES (?, 'Model', ?, ?, 10, '{}', 1)",
  );
  for (let i = 1; i <= 5; i++) artifact.run(`a_${i}`, `file:///a/${i}`, `sha256:${String(i).repeat(64)}`);
}

describe('SqliteModelRegistry', () => {
  let db: Database.Database;
  let registry: SqliteModelRegistry;

  beforeEach(() => {
    db = openDb(freshPath());
    seed(db);
    registry = new SqliteModelRegistry(db);
  });
  afterEach(() => {
    db.close();
  });

  /** Registers versions 1..n of `name` on artifacts a_1..a_n. */
  async function versions(name: string, n: number): Promise<void> {
    for (let i = 1; i <= n; i++) await registry.registerModelVersion({ name, artifactId: `a_${i}` });
  }

  describe('versions', () => {
    it('creates the model on first use and numbers versions from 1, linked to run, task and artifact', async () => {
      const before = Date.now();
      const v1 = await registry.registerModelVersion({
        name: 'churn',
        artifactId: 'a_1',
        runId: 'r_1',
        taskId: 'r_1/train',
        description: 'first cut',
        tags: { framework: 'lathe-gbdt', owner: 'ml' },
      });
      expect(v1).toEqual({
        name: 'churn',
        version: 1,
        artifactId: 'a_1',
        artifactUri: 'file:///a/1',
        artifactHash: expect.stringMatching(/^sha256:/),
        runId: 'r_1',
        taskId: 'r_1/train',
        description: 'first cut',
        tags: { framework: 'lathe-gbdt', owner: 'ml' },
        createdAt: expect.any(Number),
      });
      expect(v1.createdAt).toBeGreaterThanOrEqual(before);
      const v2 = await registry.registerModelVersion({ name: 'churn', artifactId: 'a_2' });
      expect(v2).toMatchObject({ version: 2, runId: null, taskId: null, description: null, tags: {} });

      const model = await registry.getRegisteredModel('churn');
      expect(model).toEqual({
        name: 'churn',
        description: null,
        tags: {},
        createdAt: v1.createdAt,
        updatedAt: expect.any(Number),
        latestVersion: 2,
        aliases: {},
      });
      expect(model!.updatedAt).toBeGreaterThan(v1.createdAt);
      expect(await registry.listModelVersions('churn')).toEqual([v1, v2]);
      expect(await registry.getModelVersion('churn', 2)).toEqual(v2);
      expect(await registry.getModelVersion('churn', 3)).toBeUndefined();
      expect(await registry.getRegisteredModel('nope')).toBeUndefined();
    });

    it('takes the run from the task when only the task is given', async () => {
      const v = await registry.registerModelVersion({ name: 'm', artifactId: 'a_1', taskId: 'r_1/train' });
      expect(v.runId).toBe('r_1');
    });

    it('numbers each model on its own, and lists models by name with their latest version and aliases', async () => {
      await versions('zeta', 2);
      await versions('alpha', 3);
      await registry.setAlias({ name: 'alpha', alias: 'champion', version: 2 });
      const models = await registry.listRegisteredModels();
      expect(models.map((m) => [m.name, m.latestVersion, m.aliases])).toEqual([
        ['alpha', 3, { champion: 2 }],
        ['zeta', 2, {}],
      ]);
    });

    it('keeps one artifact registrable under several models and versions', async () => {
      await registry.registerModelVersion({ name: 'a', artifactId: 'a_1' });
      await registry.registerModelVersion({ name: 'b', artifactId: 'a_1' });
      const again = await registry.registerModelVersion({ name: 'a', artifactId: 'a_1' });
      expect(again.version).toBe(2);
    });

    it('refuses an unknown artifact, run or task by name, and registers nothing', async () => {
      await expect(registry.registerModelVersion({ name: 'churn', artifactId: 'a_missing' })).rejects.toThrow(
        /cannot register model 'churn': no artifact 'a_missing'/,
      );
      await expect(
        registry.registerModelVersion({ name: 'churn', artifactId: 'a_1', runId: 'r_nope' }),
      ).rejects.toThrow(/no run 'r_nope'/);
      await expect(
        registry.registerModelVersion({ name: 'churn', artifactId: 'a_1', taskId: 'r_1/nope' }),
      ).rejects.toThrow(/no task 'r_1\/nope'/);
      await expect(
        registry.registerModelVersion({
          name: 'churn',
          artifactId: 'a_1',
          runId: 'r_2',
          taskId: 'r_1/train',
        }),
      ).rejects.toThrow(/belongs to run 'r_1', not 'r_2'/);
      // A failed registration leaves no half-created model behind.
      expect(await registry.getRegisteredModel('churn')).toBeUndefined();
      expect(await registry.listRegisteredModels()).toEqual([]);
    });

    it('checks names and tags', async () => {
      for (const name of ['', 'has space', '-dash-first', 'x'.repeat(129), 'a/b']) {
        await expect(registry.registerModelVersion({ name, artifactId: 'a_1' })).rejects.toBeInstanceOf(
          RegistryError,
        );
      }
      await expect(
        registry.registerModelVersion({ name: 'm', artifactId: 'a_1', tags: { k: 1 as unknown as string } }),
      ).rejects.toThrow(/tag 'k': the value must be a string/);
      await expect(
        registry.registerModelVersion({ name: 'm', artifactId: 'a_1', tags: { '': 'v' } }),
      ).rejects.toThrow(/tag name "" is not valid/);
      await versions('m', 1);
      for (const alias of ['12', 'bad alias', '']) {
        await expect(registry.setAlias({ name: 'm', alias, version: 1 })).rejects.toBeInstanceOf(
          RegistryError,
        );
      }
      await expect(registry.setAlias({ name: 'm', alias: 'a', version: 0 })).rejects.toThrow(
        /version 0 is not valid/,
      );
    });
  });

  describe('aliases', () => {
    it('points an alias at a version, moves it, and resolves versions by number or alias', async () => {
      await versions('churn', 3);
      const created = await registry.setAlias({
        name: 'churn',
        alias: 'champion',
        version: 1,
        reason: 'first',
      });
      expect(created).toEqual({
        name: 'churn',
        alias: 'champion',
        fromVersion: null,
        toVersion: 1,
        kind: 'promote',
        reason: 'first',
        at: expect.any(Number),
      });
      const moved = await registry.setAlias({ name: 'churn', alias: 'champion', version: 3 });
      expect(moved).toMatchObject({ fromVersion: 1, toVersion: 3, kind: 'promote', reason: null });
      await registry.setAlias({ name: 'churn', alias: 'challenger', version: 2 });

      expect((await registry.getRegisteredModel('churn'))!.aliases).toEqual({ champion: 3, challenger: 2 });
      expect((await registry.resolveModelVersion('churn', 'champion'))!.version).toBe(3);
      expect((await registry.resolveModelVersion('churn', 'challenger'))!.artifactId).toBe('a_2');
      expect((await registry.resolveModelVersion('churn', 1))!.version).toBe(1);
      expect((await registry.resolveModelVersion('churn', '2'))!.version).toBe(2);
      expect(await registry.resolveModelVersion('churn', 'staging')).toBeUndefined();
      expect(await registry.resolveModelVersion('churn', 9)).toBeUndefined();
      expect(await registry.resolveModelVersion('nope', 'champion')).toBeUndefined();
      // One row per alias, whatever happened.
      expect(db.prepare("SELECT COUNT(*) FROM model_aliases WHERE name = 'churn'").pluck().get()).toBe(2);
    });

    it('refuses an alias on an unknown model or version with a clear error, and records nothing', async () => {
      await versions('churn', 2);
      await expect(registry.setAlias({ name: 'nope', alias: 'champion', version: 1 })).rejects.toThrow(
        "no registered model 'nope' (registered: churn)",
      );
      await expect(registry.setAlias({ name: 'churn', alias: 'champion', version: 7 })).rejects.toThrow(
        "model 'churn' has no version 7 (versions are 1 to 2)",
      );
      expect(await registry.aliasHistory('churn')).toEqual([]);
    });

    it('compare-and-set: moves only from the expected version, and otherwise says where the alias is', async () => {
      await versions('churn', 3);
      // null: the alias must not exist yet.
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1, expectedVersion: null });
      const conflict = registry.setAlias({
        name: 'churn',
        alias: 'champion',
        version: 2,
        expectedVersion: null,
      });
      await expect(conflict).rejects.toBeInstanceOf(AliasConflictError);
      await expect(conflict).rejects.toThrow("alias 'champion' points to version 1, not nothing");
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 2, expectedVersion: 1 });
      const stale = registry.setAlias({ name: 'churn', alias: 'champion', version: 3, expectedVersion: 1 });
      await expect(stale).rejects.toMatchObject({ code: 'ALIAS_CONFLICT' });
      await expect(stale).rejects.toThrow('points to version 2, not version 1');
      await expect(
        registry.setAlias({ name: 'churn', alias: 'challenger', version: 3, expectedVersion: 2 }),
      ).rejects.toThrow("alias 'challenger' points to nothing, not version 2");
      expect((await registry.getRegisteredModel('churn'))!.aliases).toEqual({ champion: 2 });
      expect((await registry.aliasHistory('churn')).map((e) => e.toVersion)).toEqual([1, 2]);
    });

    it('records every move with from, to, kind, reason and time, oldest first, per model or per alias', async () => {
      await versions('churn', 3);
      await versions('other', 1);
      const t0 = Date.now();
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1, reason: 'baseline' });
      await registry.setAlias({ name: 'churn', alias: 'challenger', version: 3 });
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 2, reason: 'better AUC' });
      await registry.setAlias({ name: 'other', alias: 'champion', version: 1 });
      await registry.rollbackAlias({ name: 'churn', alias: 'champion', reason: 'regression in prod' });
      await registry.deleteAlias({ name: 'churn', alias: 'challenger', reason: 'experiment over' });
      const history = await registry.aliasHistory('churn');
      expect(history.map(({ at: _at, ...rest }) => rest)).toEqual([
        {
          name: 'churn',
          alias: 'champion',
          fromVersion: null,
          toVersion: 1,
          kind: 'promote',
          reason: 'baseline',
        },
        {
          name: 'churn',
          alias: 'challenger',
          fromVersion: null,
          toVersion: 3,
          kind: 'promote',
          reason: null,
        },
        {
          name: 'churn',
          alias: 'champion',
          fromVersion: 1,
          toVersion: 2,
          kind: 'promote',
          reason: 'better AUC',
        },
        {
          name: 'churn',
          alias: 'champion',
          fromVersion: 2,
          toVersion: 1,
          kind: 'rollback',
          reason: 'regression in prod',
        },
        {
          name: 'churn',
          alias: 'challenger',
          fromVersion: 3,
          toVersion: null,
          kind: 'delete',
          reason: 'experiment over',
        },
      ]);
      for (let i = 0; i < history.length; i++) {
        expect(history[i]!.at).toBeGreaterThanOrEqual(i === 0 ? t0 : history[i - 1]!.at);
      }
      expect((await registry.aliasHistory('churn', 'champion')).map((e) => e.kind)).toEqual([
        'promote',
        'promote',
        'rollback',
      ]);
      expect(await registry.aliasHistory('churn', 'never-set')).toEqual([]);
      await expect(registry.aliasHistory('nope')).rejects.toThrow("no registered model 'nope'");
    });

    it('deletes an alias, which a later promotion creates afresh', async () => {
      await versions('churn', 2);
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1 });
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 2 });
      const deleted = await registry.deleteAlias({ name: 'churn', alias: 'champion' });
      expect(deleted).toMatchObject({ fromVersion: 2, toVersion: null, kind: 'delete' });
      expect((await registry.getRegisteredModel('churn'))!.aliases).toEqual({});
      expect(await registry.resolveModelVersion('churn', 'champion')).toBeUndefined();
      await expect(registry.deleteAlias({ name: 'churn', alias: 'champion' })).rejects.toThrow(
        "model 'churn' has no alias 'champion' (it has no aliases)",
      );
      // Deleted means no way back: a rollback has nothing to return to.
      await expect(registry.rollbackAlias({ name: 'churn', alias: 'champion' })).rejects.toThrow(
        /has no alias 'champion'/,
      );
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1, expectedVersion: null });
      await expect(registry.rollbackAlias({ name: 'churn', alias: 'champion' })).rejects.toThrow(
        /no earlier version to roll back to/,
      );
    });
  });

  describe('rollback', () => {
    it('walks back through the promotions one at a time, then fails clearly', async () => {
      await versions('churn', 3);
      for (const version of [1, 2, 3]) await registry.setAlias({ name: 'churn', alias: 'champion', version });
      const first = await registry.rollbackAlias({ name: 'churn', alias: 'champion', reason: 'bad p99' });
      expect(first).toMatchObject({ fromVersion: 3, toVersion: 2, kind: 'rollback', reason: 'bad p99' });
      expect((await registry.resolveModelVersion('churn', 'champion'))!.version).toBe(2);
      const second = await registry.rollbackAlias({ name: 'churn', alias: 'champion' });
      expect(second).toMatchObject({ fromVersion: 2, toVersion: 1, kind: 'rollback', reason: null });
      expect((await registry.resolveModelVersion('churn', 'champion'))!.version).toBe(1);
      const third = registry.rollbackAlias({ name: 'churn', alias: 'champion' });
      await expect(third).rejects.toBeInstanceOf(RegistryError);
      await expect(third).rejects.toThrow(
        "model 'churn': alias 'champion' has no earlier version to roll back to (it points to version 1, its first)",
      );
      expect((await registry.resolveModelVersion('churn', 'champion'))!.version).toBe(1);
      expect(await registry.aliasHistory('churn', 'champion')).toHaveLength(5);
    });

    it('does not ping-pong when a version was promoted twice, and a new promotion after a rollback is undone first', async () => {
      await versions('churn', 3);
      for (const version of [1, 2, 1]) await registry.setAlias({ name: 'churn', alias: 'champion', version });
      const rollback = async () =>
        (await registry.rollbackAlias({ name: 'churn', alias: 'champion' })).toVersion;
      expect(await rollback()).toBe(2);
      expect(await rollback()).toBe(1);
      await expect(rollback()).rejects.toThrow(/no earlier version/);

      // 1 -> 2, roll back to 1, promote 3: rolling back undoes 3 (to 1), not the old 2.
      await registry.deleteAlias({ name: 'churn', alias: 'champion' });
      for (const version of [1, 2]) await registry.setAlias({ name: 'churn', alias: 'champion', version });
      expect(await rollback()).toBe(1);
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 3 });
      expect(await rollback()).toBe(1);
      await expect(rollback()).rejects.toThrow(/no earlier version/);
    });

    it('treats re-promoting the current version as a recorded no-op for rollback', async () => {
      await versions('churn', 2);
      for (const version of [1, 2, 2]) await registry.setAlias({ name: 'churn', alias: 'champion', version });
      const event = await registry.rollbackAlias({ name: 'churn', alias: 'champion' });
      expect(event).toMatchObject({ fromVersion: 2, toVersion: 1 });
    });

    it('keeps each alias its own history', async () => {
      await versions('churn', 3);
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1 });
      await registry.setAlias({ name: 'churn', alias: 'challenger', version: 2 });
      await registry.setAlias({ name: 'churn', alias: 'challenger', version: 3 });
      await expect(registry.rollbackAlias({ name: 'churn', alias: 'champion' })).rejects.toThrow(
        /no earlier version/,
      );
      expect((await registry.rollbackAlias({ name: 'churn', alias: 'challenger' })).toVersion).toBe(2);
    });

    it('fails clearly for an unknown model or alias', async () => {
      await versions('churn', 1);
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1 });
      await expect(registry.rollbackAlias({ name: 'nope', alias: 'champion' })).rejects.toThrow(
        "no registered model 'nope'",
      );
      await expect(registry.rollbackAlias({ name: 'churn', alias: 'staging' })).rejects.toThrow(
        "model 'churn' has no alias 'staging' (aliases: champion)",
      );
    });
  });

  describe('descriptions and tags', () => {
    it('patches a model: description set or cleared, tags set, replaced or removed with null', async () => {
      await versions('churn', 1);
      const created = (await registry.getRegisteredModel('churn'))!;
      const a = await registry.updateRegisteredModel('churn', {
        description: 'churn classifier',
        tags: { team: 'growth', tier: 'gold' },
      });
      expect(a).toMatchObject({ description: 'churn classifier', tags: { team: 'growth', tier: 'gold' } });
      expect(a.updatedAt).toBeGreaterThan(created.updatedAt);
      const b = await registry.updateRegisteredModel('churn', { tags: { tier: null, region: 'eu' } });
      expect(b).toMatchObject({ description: 'churn classifier', tags: { region: 'eu', team: 'growth' } });
      expect(b.updatedAt).toBeGreaterThan(a.updatedAt);
      const c = await registry.updateRegisteredModel('churn', { description: null });
      expect(c).toMatchObject({ description: null, tags: { region: 'eu', team: 'growth' } });
      expect(await registry.getRegisteredModel('churn')).toEqual(c);
    });

    it('patches a version, leaving its lineage alone, and marks the model changed', async () => {
      await registry.registerModelVersion({
        name: 'churn',
        artifactId: 'a_1',
        taskId: 'r_1/train',
        tags: { a: '1' },
      });
      const before = (await registry.getRegisteredModel('churn'))!.updatedAt;
      const v = await registry.updateModelVersion('churn', 1, {
        description: 'gated',
        tags: { a: null, b: '2' },
      });
      expect(v).toMatchObject({
        version: 1,
        artifactId: 'a_1',
        runId: 'r_1',
        taskId: 'r_1/train',
        description: 'gated',
        tags: { b: '2' },
      });
      expect(await registry.getModelVersion('churn', 1)).toEqual(v);
      expect((await registry.getRegisteredModel('churn'))!.updatedAt).toBeGreaterThan(before);
    });

    it('moves updatedAt on every change of the model, even within one millisecond', async () => {
      await versions('churn', 2);
      const stamps = [(await registry.getRegisteredModel('churn'))!.updatedAt];
      const changes = [
        () => registry.setAlias({ name: 'churn', alias: 'champion', version: 1 }),
        () => registry.setAlias({ name: 'churn', alias: 'champion', version: 2 }),
        () => registry.rollbackAlias({ name: 'churn', alias: 'champion' }),
        () => registry.deleteAlias({ name: 'churn', alias: 'champion' }),
        () => registry.registerModelVersion({ name: 'churn', artifactId: 'a_3' }),
        () => registry.updateRegisteredModel('churn', { tags: { x: 'y' } }),
        () => registry.updateModelVersion('churn', 3, { description: 'd' }),
      ];
      for (const change of changes) {
        await change();
        stamps.push((await registry.getRegisteredModel('churn'))!.updatedAt);
      }
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]!);
    });

    it('refuses bad patches and unknown models or versions', async () => {
      await versions('churn', 1);
      await expect(registry.updateRegisteredModel('nope', { description: 'x' })).rejects.toThrow(
        "no registered model 'nope'",
      );
      await expect(registry.updateModelVersion('churn', 4, { description: 'x' })).rejects.toThrow(
        "model 'churn' has no version 4 (versions are 1 to 1)",
      );
      await expect(
        registry.updateRegisteredModel('churn', { name: 'other' } as unknown as { description: string }),
      ).rejects.toThrow("unknown field 'name' in patch");
      await expect(
        registry.updateRegisteredModel('churn', { tags: { a: 5 as unknown as string } }),
      ).rejects.toThrow(/tag 'a': the value must be a string/);
      await expect(
        registry.updateModelVersion('churn', 1, { description: 5 as unknown as string }),
      ).rejects.toThrow(/description must be a string or null/);
      expect(await registry.listModelVersions('churn')).toMatchObject([{ description: null, tags: {} }]);
      await expect(registry.listModelVersions('nope')).rejects.toThrow("no registered model 'nope'");
    });
  });
});

/**
 * Runs `body` in a separate Node process (TypeScript via tsx) with `registry` bound to a
 * SqliteModelRegistry on `file`. The child prints `ready`, then waits for `go` to exist, so that
 * several children start their work together.
 */
function runChild(
  body: string,
  file: string,
  go: string,
  onReady: () => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const module = (p: string) => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)));
  const script = path.join(tmp, `child-${++counter}.mts`);
  fs.writeFileSync(
    script,
    `import fs from 'node:fs';
import Database from ${JSON.stringify(require.resolve('better-sqlite3'))};
import { migrate } from ${module('../../src/store/sqlite/migrations.ts')};
import { SqliteModelRegistry } from ${module('../../src/store/sqlite/sqlite-registry.ts')};
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
migrate(db);
const registry = new SqliteModelRegistry(db);
process.stdout.write('ready\\n');
while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1));
${body}
db.close();
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!stdout.includes('ready') && (stdout + d).includes('ready')) onReady();
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the children, lets them go together, and waits for all of them. */
async function race(bodies: string[], file: string) {
  const go = path.join(tmp, `go-${++counter}`);
  let ready = 0;
  return Promise.all(
    bodies.map((body) =>
      runChild(body, file, go, () => {
        if (++ready === bodies.length) fs.writeFileSync(go, '');
      }),
    ),
  );
}

/** Each event starts where the previous one ended: no lost or interleaved moves. */
function expectChained(history: AliasEvent[]): void {
  expect(history[0]!.fromVersion).toBeNull();
  for (let i = 1; i < history.length; i++) {
    if (history[i]!.fromVersion !== history[i - 1]!.toVersion) {
      throw new Error(
        `event ${i} moves from ${history[i]!.fromVersion}, but event ${i - 1} left the alias at ${history[i - 1]!.toVersion}`,
      );
    }
  }
}

describe('SqliteModelRegistry across processes', () => {
  it('serializes concurrent promotions: one champion, and a history where every move starts where the last ended', async () => {
    const file = freshPath();
    const db = openDb(file);
    try {
      seed(db);
      const registry = new SqliteModelRegistry(db);
      for (let i = 1; i <= 3; i++)
        await registry.registerModelVersion({ name: 'churn', artifactId: `a_${i}` });
      const perChild = 300;
      const body = (version: number) => `for (let i = 0; i < ${perChild}; i++) {
  await registry.setAlias({ name: 'churn', alias: 'champion', version: ${version}, reason: 'p${version}-' + i });
}`;
      const children = await race([body(1), body(2), body(3)], file);
      for (const child of children) {
        expect(child.stderr).toBe('');
        expect(child.code).toBe(0);
      }
      expect(db.prepare("SELECT COUNT(*) FROM model_aliases WHERE name = 'churn'").pluck().get()).toBe(1);
      const history = await registry.aliasHistory('churn', 'champion');
      expect(history).toHaveLength(3 * perChild);
      expectChained(history);
      // Every promotion is there once, each process's in its own order.
      for (const version of [1, 2, 3]) {
        const reasons = history.filter((e) => e.toVersion === version).map((e) => e.reason);
        expect(reasons).toEqual(Array.from({ length: perChild }, (_, i) => `p${version}-${i}`));
      }
      const model = (await registry.getRegisteredModel('churn'))!;
      expect(model.aliases.champion).toBe(history.at(-1)!.toVersion);
    } finally {
      db.close();
    }
  });

  it('compare-and-set promotions from several processes: conflicts are reported, none is lost', async () => {
    const file = freshPath();
    const db = openDb(file);
    try {
      seed(db);
      const registry = new SqliteModelRegistry(db);
      for (let i = 1; i <= 2; i++)
        await registry.registerModelVersion({ name: 'churn', artifactId: `a_${i}` });
      await registry.setAlias({ name: 'churn', alias: 'champion', version: 1 });
      // Each child reads the champion and moves it with compare-and-set, retrying when another
      // process moved it in between; it prints how many conflicts it saw.
      const perChild = 150;
      const body = (tag: string) => `let conflicts = 0;
for (let i = 0; i < ${perChild}; ) {
  const current = (await registry.getRegisteredModel('churn')).aliases.champion;
  try {
    await registry.setAlias({ name: 'churn', alias: 'champion', version: current === 1 ? 2 : 1, expectedVersion: current, reason: '${tag}' });
    i++;
  } catch (error) {
    if (error.code !== 'ALIAS_CONFLICT') throw error;
    conflicts++;
  }
}
process.stdout.write('conflicts ' + conflicts + '\\n');`;
      const children = await race([body('x'), body('y')], file);
      for (const child of children) {
        expect(child.stderr).toBe('');
        expect(child.code).toBe(0);
      }
      const history = await registry.aliasHistory('churn', 'champion');
      expect(history).toHaveLength(1 + 2 * perChild);
      expectChained(history);
      // Compare-and-set never records a move onto the version the alias already had.
      for (const event of history.slice(1)) expect(event.toVersion).not.toBe(event.fromVersion);
    } finally {
      db.close();
    }
  });
});
