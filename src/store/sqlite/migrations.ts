/**
 * Schema migrations for the SQLite metadata store.
 *
 * Append-only: a migration that has shipped is never edited or removed, because databases in the
 * field have already recorded it as applied and would never see the change. To change the schema,
 * add a new entry with the next version number. SQLite cannot alter most column definitions in
 * place, so larger changes follow the documented rebuild recipe (create new table, copy, drop,
 * rename) inside the migration.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** Strictly increasing, starting at 1, no gaps. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE pipelines (
        digest TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        pipeline_digest TEXT NOT NULL REFERENCES pipelines (digest),
        pipeline_name TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        error TEXT,
        runner_pid INTEGER,
        runner_host TEXT
      );
      -- listRuns: newest first, id as the tie-break so equal timestamps still order stably.
      CREATE INDEX runs_created_at ON runs (created_at DESC, id DESC);
      -- findRuns uses LIKE, which is case-insensitive and can only use a NOCASE index.
      CREATE INDEX runs_id_nocase ON runs (id COLLATE NOCASE);

      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        name TEXT NOT NULL,
        spec_task TEXT NOT NULL,
        component TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        cache_key TEXT,
        cached_from TEXT,
        params TEXT,
        outputs TEXT,
        started_at INTEGER,
        finished_at INTEGER,
        exit_code INTEGER,
        error TEXT,
        error_stack TEXT,
        reason TEXT
      );
      -- The index carries the rowid, so listTasks gets insertion order without a sort.
      CREATE INDEX tasks_run_id ON tasks (run_id);

      CREATE TABLE attempts (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        exit_code INTEGER,
        error TEXT,
        error_stack TEXT,
        PRIMARY KEY (task_id, attempt)
      ) WITHOUT ROWID;

      -- A rowid table rather than WITHOUT ROWID: log lines can be long, and appends to a rowid
      -- table stay at the end of the b-tree.
      CREATE TABLE logs (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        attempt INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL
      );
      CREATE UNIQUE INDEX logs_task_seq ON logs (task_id, attempt, seq);

      CREATE TABLE artifacts (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        uri TEXT NOT NULL,
        hash TEXT NOT NULL,
        size INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- findArtifacts matches id or hash prefixes with LIKE; NOCASE indexes let both use a range scan.
      CREATE INDEX artifacts_hash_nocase ON artifacts (hash COLLATE NOCASE);
      CREATE INDEX artifacts_id_nocase ON artifacts (id COLLATE NOCASE);

      CREATE TABLE events (
        run_id TEXT NOT NULL REFERENCES runs (id),
        task_id TEXT NOT NULL REFERENCES tasks (id),
        artifact_id TEXT NOT NULL REFERENCES artifacts (id),
        kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
        name TEXT NOT NULL,
        cached INTEGER NOT NULL CHECK (cached IN (0, 1)),
        created_at INTEGER NOT NULL,
        -- One edge per task input/output name (list elements are named \`name[i]\`); a resumed
        -- task re-records its edges, which replace the old ones. Also serves events by task.
        UNIQUE (task_id, kind, name)
      );
      CREATE INDEX events_artifact ON events (artifact_id, kind);
      CREATE INDEX events_run ON events (run_id);

      -- No foreign keys: the cache index may outlive the run that filled it.
      CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        artifacts TEXT NOT NULL,
        scalars TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'attempt process id',
    // The process an attempt runs in (commands, isolated TS), so a resume after a crash can stop
    // one the dead runner left behind before running the task again.
    sql: 'ALTER TABLE attempts ADD COLUMN pid INTEGER;',
  },
  {
    version: 3,
    name: 'experiment tracking',
    sql: `
      -- A param keeps its first value (the store refuses another); task_id says who logged it.
      CREATE TABLE run_params (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        task_id TEXT,
        PRIMARY KEY (run_id, key)
      );
      -- Append-only points. Reading a metric's history and the latest point per key both use
      -- (run_id, key, step, ts).
      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value REAL NOT NULL,
        step INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        task_id TEXT
      );
      CREATE INDEX run_metrics_key ON run_metrics (run_id, key, step, ts);
      CREATE TABLE run_tags (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      );
    `,
  },
  {
    version: 4,
    name: 'model registry',
    sql: `
      CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        description TEXT,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- Versions are immutable but for description and tags. No foreign key to runs: a version
      -- may come from outside a pipeline (lathe models register).
      CREATE TABLE model_versions (
        name TEXT NOT NULL REFERENCES registered_models (name),
        version INTEGER NOT NULL,
        artifact_id TEXT NOT NULL REFERENCES artifacts (id),
        run_id TEXT,
        task_id TEXT,
        description TEXT,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (name, version)
      );
      -- One row per alias: an alias is in one place at a time by construction.
      CREATE TABLE model_aliases (
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
      );
      CREATE TABLE model_alias_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER,
        kind TEXT NOT NULL,
        reason TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX model_alias_events_alias ON model_alias_events (name, alias, seq);
    `,
  },
];

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in one transaction, and returns
 * the versions it applied. Safe to call on every open, and from several processes at once: the
 * transaction is IMMEDIATE, so the second opener waits for the first and then finds nothing to do.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkMigrationList(migrations);
  const run = db.transaction((): number[] => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      )
    `);
    const applied = new Set(
      db
        .prepare('SELECT version FROM schema_migrations')
        .pluck()
        .all()
        .map((v) => Number(v)),
    );
    const latest = migrations.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latest) {
      // Written by a newer Lathe; running old code against it could corrupt it.
      throw new Error(
        `metadata database is at schema version ${newest}, newer than this version of Lathe supports (${latest}); upgrade Lathe`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      record.run(m.version, m.name, Date.now());
      done.push(m.version);
    }
    return done;
  });
  return run.immediate();
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration list is broken: entry ${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
}
