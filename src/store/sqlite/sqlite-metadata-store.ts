/**
 * The embedded metadata store: one SQLite file (`.lathe/lathe.db` by default) in WAL mode, so
 * a CLI or server can read while a runner writes.
 *
 * Write path: the engine pushes tens of thousands of ops per second through `commit`, so every
 * statement is prepared once and each op is a bound `run()` on it inside one transaction. Only
 * `updateRun`/`updateTask` need SQL per patch shape; those statements are cached by key set.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ArtifactTypeName } from '../../spec/schema.js';
import type {
  ArtifactRecord,
  AttemptRecord,
  CacheEntry,
  EventRecord,
  LineageNode,
  LogRecord,
  MetadataStore,
  PipelineRecord,
  RunFilter,
  RunRecord,
  RunStatus,
  StoreOp,
  TaskRecord,
  TaskStatus,
} from '../metadata-store.js';
import { RunClaimedError } from '../metadata-store.js';
import type { ModelRegistry } from '../registry.js';
import { type LatestMetrics, type MetricPoint, ParamConflictError, type ParamRecord } from '../tracking.js';
import { migrate } from './migrations.js';
import { SqliteModelRegistry } from './sqlite-registry.js';
import { SqliteTracking } from './sqlite-tracking.js';

type SqlValue = string | number | bigint | Buffer | null;

// Row shapes as SQLite returns them: snake_case, JSON as text, booleans as 0/1.
interface PipelineRow {
  digest: string;
  name: string;
  spec: string;
  created_at: number;
}

interface RunRow {
  id: string;
  pipeline_digest: string;
  pipeline_name: string;
  params: string;
  status: string;
  source: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  runner_pid: number | null;
  runner_host: string | null;
}

interface TaskRow {
  id: string;
  run_id: string;
  name: string;
  spec_task: string;
  component: string;
  status: string;
  attempts: number;
  cache_key: string | null;
  cached_from: string | null;
  params: string | null;
  outputs: string | null;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  error: string | null;
  error_stack: string | null;
  reason: string | null;
}

interface AttemptRow {
  task_id: string;
  attempt: number;
  status: string;
  started_at: number;
  finished_at: number | null;
  exit_code: number | null;
  error: string | null;
  error_stack: string | null;
  pid: number | null;
}

interface LogRow {
  task_id: string;
  attempt: number;
  seq: number;
  ts: number;
  stream: string;
  line: string;
}

interface ArtifactRow {
  id: string;
  type: string;
  uri: string;
  hash: string;
  size: number;
  metadata: string;
  created_at: number;
}

interface EventRow {
  run_id: string;
  task_id: string;
  artifact_id: string;
  kind: string;
  name: string;
  cached: number;
  created_at: number;
}

interface CacheRow {
  key: string;
  task_id: string;
  artifacts: string;
  scalars: string;
  created_at: number;
}

/** How a record field maps onto a column, for the patch ops. */
interface PatchColumn {
  column: string;
  encode: (value: unknown) => SqlValue;
}

const plain = (column: string): PatchColumn => ({ column, encode: (v) => (v ?? null) as SqlValue });
const json = (column: string): PatchColumn => ({
  column,
  encode: (v) => (v == null ? null : JSON.stringify(v)),
});

// Typed as a Record over the patchable keys so that a field added to RunRecord/TaskRecord without
// a column here fails to compile rather than failing at runtime.
const RUN_PATCH_COLUMNS: Record<keyof Omit<RunRecord, 'id'>, PatchColumn> = {
  pipelineDigest: plain('pipeline_digest'),
  pipelineName: plain('pipeline_name'),
  params: json('params'),
  status: plain('status'),
  source: plain('source'),
  createdAt: plain('created_at'),
  startedAt: plain('started_at'),
  finishedAt: plain('finished_at'),
  error: plain('error'),
  runnerPid: plain('runner_pid'),
  runnerHost: plain('runner_host'),
};

const TASK_PATCH_COLUMNS: Record<keyof Omit<TaskRecord, 'id' | 'runId'>, PatchColumn> = {
  name: plain('name'),
  specTask: plain('spec_task'),
  component: plain('component'),
  status: plain('status'),
  attempts: plain('attempts'),
  cacheKey: plain('cache_key'),
  cachedFrom: plain('cached_from'),
  params: json('params'),
  outputs: json('outputs'),
  startedAt: plain('started_at'),
  finishedAt: plain('finished_at'),
  exitCode: plain('exit_code'),
  error: plain('error'),
  errorStack: plain('error_stack'),
  reason: plain('reason'),
};

const RUN_COLUMNS = [
  'id',
  'pipeline_digest',
  'pipeline_name',
  'params',
  'status',
  'source',
  'created_at',
  'started_at',
  'finished_at',
  'error',
  'runner_pid',
  'runner_host',
];

const TASK_COLUMNS = [
  'id',
  'run_id',
  'name',
  'spec_task',
  'component',
  'status',
  'attempts',
  'cache_key',
  'cached_from',
  'params',
  'outputs',
  'started_at',
  'finished_at',
  'exit_code',
  'error',
  'error_stack',
  'reason',
];

const ATTEMPT_COLUMNS = [
  'task_id',
  'attempt',
  'status',
  'started_at',
  'finished_at',
  'exit_code',
  'error',
  'error_stack',
  'pid',
];

const EVENT_COLUMNS = ['run_id', 'task_id', 'artifact_id', 'kind', 'name', 'cached', 'created_at'];

/**
 * `INSERT ... ON CONFLICT DO UPDATE` rather than `INSERT OR REPLACE`: REPLACE deletes the old row
 * first, which would trip foreign keys from child rows (a task's attempts and logs) and would
 * also silently swallow NOT NULL violations on some columns.
 */
function upsertSql(table: string, columns: string[], conflict: string[]): string {
  const updates = columns.filter((c) => !conflict.includes(c)).map((c) => `${c} = excluded.${c}`);
  return (
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
    `ON CONFLICT (${conflict.join(', ')}) DO UPDATE SET ${updates.join(', ')}`
  );
}

/** Escapes LIKE wildcards so a user-typed prefix matches literally (ESCAPE '\'). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
}

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function parseJsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function stringifyOrNull(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}

const toPipeline = (r: PipelineRow): PipelineRecord => ({
  digest: r.digest,
  name: r.name,
  spec: parseJson<unknown>(r.spec),
  createdAt: r.created_at,
});

const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  pipelineDigest: r.pipeline_digest,
  pipelineName: r.pipeline_name,
  params: parseJson<Record<string, unknown>>(r.params),
  status: r.status as RunStatus,
  source: r.source,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  error: r.error,
  runnerPid: r.runner_pid,
  runnerHost: r.runner_host,
});

const toTask = (r: TaskRow): TaskRecord => ({
  id: r.id,
  runId: r.run_id,
  name: r.name,
  specTask: r.spec_task,
  component: r.component,
  status: r.status as TaskStatus,
  attempts: r.attempts,
  cacheKey: r.cache_key,
  cachedFrom: r.cached_from,
  params: parseJsonOrNull<Record<string, unknown>>(r.params),
  outputs: parseJsonOrNull<Record<string, unknown>>(r.outputs),
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  exitCode: r.exit_code,
  error: r.error,
  errorStack: r.error_stack,
  reason: r.reason,
});

const toAttempt = (r: AttemptRow): AttemptRecord => ({
  taskId: r.task_id,
  attempt: r.attempt,
  status: r.status as AttemptRecord['status'],
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  exitCode: r.exit_code,
  error: r.error,
  errorStack: r.error_stack,
  pid: r.pid,
});

const toLog = (r: LogRow): LogRecord => ({
  taskId: r.task_id,
  attempt: r.attempt,
  seq: r.seq,
  ts: r.ts,
  stream: r.stream as LogRecord['stream'],
  line: r.line,
});

const toArtifact = (r: ArtifactRow): ArtifactRecord => ({
  id: r.id,
  type: r.type as ArtifactTypeName,
  uri: r.uri,
  hash: r.hash,
  size: r.size,
  metadata: parseJson<Record<string, unknown>>(r.metadata),
  createdAt: r.created_at,
});

const toEvent = (r: EventRow): EventRecord => ({
  runId: r.run_id,
  taskId: r.task_id,
  artifactId: r.artifact_id,
  kind: r.kind as EventRecord['kind'],
  name: r.name,
  cached: r.cached === 1,
  createdAt: r.created_at,
});

const toCacheEntry = (r: CacheRow): CacheEntry => ({
  key: r.key,
  taskId: r.task_id,
  artifacts: parseJson<Record<string, string>>(r.artifacts),
  scalars: parseJson<Record<string, unknown>>(r.scalars),
  createdAt: r.created_at,
});

/** The id an op is about, for error messages. */
function describeOp(op: StoreOp): string {
  switch (op.op) {
    case 'putPipeline':
      return `putPipeline ${op.pipeline?.digest}`;
    case 'putRun':
      return `putRun ${op.run?.id}`;
    case 'updateRun':
      return `updateRun ${op.id}`;
    case 'claimRun':
      return `claimRun ${op.id}`;
    case 'putTask':
      return `putTask ${op.task?.id}`;
    case 'updateTask':
      return `updateTask ${op.id}`;
    case 'putAttempt':
      return `putAttempt ${op.attempt?.taskId}#${op.attempt?.attempt}`;
    case 'putArtifact':
      return `putArtifact ${op.artifact?.id}`;
    case 'putEvent':
      return `putEvent ${op.event?.taskId} ${op.event?.kind} ${op.event?.name} -> ${op.event?.artifactId}`;
    case 'putLogs':
      return `putLogs ${op.logs?.[0]?.taskId} (${op.logs?.length} lines)`;
    case 'putCacheEntry':
      return `putCacheEntry ${op.entry?.key}`;
    case 'deleteCacheEntry':
      return `deleteCacheEntry ${op.key}`;
    case 'putParams':
      return `putParams ${op.runId} (${Object.keys(op.params ?? {}).join(', ')})`;
    case 'putMetrics':
      return `putMetrics ${op.points?.[0]?.runId} (${op.points?.length} points)`;
    case 'setTags':
      return `setTags ${op.runId}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

/** What a foreign key failure most likely means for each op, since SQLite does not say which key. */
function foreignKeyHint(op: StoreOp): string {
  switch (op.op) {
    case 'putRun':
      return ` (pipeline ${op.run.pipelineDigest} must be stored first)`;
    case 'putTask':
      return ` (run ${op.task.runId} must be stored first)`;
    case 'putAttempt':
      return ` (task ${op.attempt.taskId} must be stored first)`;
    case 'putEvent':
      return ` (run ${op.event.runId}, task ${op.event.taskId} and artifact ${op.event.artifactId} must be stored first)`;
    case 'putLogs':
      return ' (the task must be stored first)';
    case 'putParams':
    case 'putMetrics':
    case 'setTags':
      return ' (the run must be stored first)';
    default:
      return '';
  }
}

export class SqliteMetadataStore implements MetadataStore {
  /** Opens (creating if needed) the database file and brings its schema up to date. */
  static open(file: string): SqliteMetadataStore {
    const inMemory = file === ':memory:' || file === '';
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may briefly hold.
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      // NORMAL is durable across application crashes in WAL mode; only an OS crash or power loss
      // can drop the last commits, and the engine's resume handles that.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteMetadataStore(db);
  }

  private readonly db: Database.Database;
  private readonly tracking: SqliteTracking;
  readonly registry: ModelRegistry;
  private readonly patchStatements = new Map<string, Database.Statement>();
  private readonly eventQueries = new Map<string, Database.Statement<Record<string, string>, EventRow>>();
  private readonly applyOps: Database.Transaction<(ops: StoreOp[]) => void>;
  private readonly readLineage: Database.Transaction<(artifactId: string) => LineageNode | undefined>;

  private readonly insertPipeline: Database.Statement;
  private readonly upsertRun: Database.Statement;
  private readonly upsertTask: Database.Statement;
  private readonly upsertAttempt: Database.Statement;
  private readonly claimRunStatement: Database.Statement;
  private readonly insertArtifact: Database.Statement;
  private readonly upsertEvent: Database.Statement;
  private readonly insertLog: Database.Statement;
  private readonly replaceCacheEntry: Database.Statement;
  private readonly deleteCacheEntryStmt: Database.Statement;

  private readonly selectPipeline: Database.Statement<[string], PipelineRow>;
  private readonly selectRun: Database.Statement<[string], RunRow>;
  private readonly selectRunsByPrefix: Database.Statement<[string], RunRow>;
  private readonly selectRuns: Database.Statement<
    { pipelineName: string | null; status: string | null; limit: number },
    RunRow
  >;
  private readonly selectTasksByRun: Database.Statement<[string], TaskRow>;
  private readonly selectTask: Database.Statement<[string], TaskRow>;
  private readonly selectAttempts: Database.Statement<[string], AttemptRow>;
  private readonly selectRunLogs: Database.Statement<[string], LogRow>;
  private readonly selectTaskLogs: Database.Statement<[string], LogRow>;
  private readonly selectArtifact: Database.Statement<[string], ArtifactRow>;
  private readonly selectArtifactsByPrefix: Database.Statement<[string, string, string], ArtifactRow>;
  private readonly selectCacheEntry: Database.Statement<[string], CacheRow>;
  private readonly selectLineageTasks: Database.Statement<[string, string], TaskRow>;

  private constructor(db: Database.Database) {
    this.db = db;
    this.tracking = new SqliteTracking(db);
    this.registry = new SqliteModelRegistry(db);

    this.insertPipeline = db.prepare(
      'INSERT INTO pipelines (digest, name, spec, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING',
    );
    this.upsertRun = db.prepare(upsertSql('runs', RUN_COLUMNS, ['id']));
    // Resume re-creates pending tasks under the same id; an upsert keeps the row (and its rowid,
    // which listTasks orders by) while replacing every field.
    this.upsertTask = db.prepare(upsertSql('tasks', TASK_COLUMNS, ['id']));
    // There is no updateAttempt op: an attempt is put when it starts and put again when it ends.
    this.upsertAttempt = db.prepare(upsertSql('attempts', ATTEMPT_COLUMNS, ['task_id', 'attempt']));
    this.claimRunStatement = db.prepare(
      'UPDATE runs SET runner_pid = ?, runner_host = ? WHERE id = ? AND runner_pid IS ? AND runner_host IS ?',
    );
    // Artifact records are immutable once written; re-putting one (e.g. a replayed batch) is a no-op.
    this.insertArtifact = db.prepare(
      'INSERT INTO artifacts (id, type, uri, hash, size, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (id) DO NOTHING',
    );
    this.upsertEvent = db.prepare(upsertSql('events', EVENT_COLUMNS, ['task_id', 'kind', 'name']));
    this.insertLog = db.prepare(
      'INSERT INTO logs (task_id, attempt, seq, ts, stream, line) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.replaceCacheEntry = db.prepare(
      'INSERT OR REPLACE INTO cache_entries (key, task_id, artifacts, scalars, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.deleteCacheEntryStmt = db.prepare('DELETE FROM cache_entries WHERE key = ?');

    this.selectPipeline = db.prepare('SELECT * FROM pipelines WHERE digest = ?');
    this.selectRun = db.prepare('SELECT * FROM runs WHERE id = ?');
    this.selectRunsByPrefix = db.prepare(
      "SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at DESC, id DESC",
    );
    this.selectRuns = db.prepare(
      'SELECT * FROM runs WHERE (@pipelineName IS NULL OR pipeline_name = @pipelineName) ' +
        'AND (@status IS NULL OR status = @status) ORDER BY created_at DESC, id DESC LIMIT @limit',
    );
    this.selectTasksByRun = db.prepare('SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid');
    this.selectTask = db.prepare('SELECT * FROM tasks WHERE id = ?');
    this.selectAttempts = db.prepare('SELECT * FROM attempts WHERE task_id = ? ORDER BY attempt');
    // Time order across tasks. Ties on ts (millisecond clocks) fall back to each stream's own
    // order, so lines of one task attempt never swap places.
    this.selectRunLogs = db.prepare(
      'SELECT task_id, attempt, seq, ts, stream, line FROM logs ' +
        'WHERE task_id IN (SELECT id FROM tasks WHERE run_id = ?) ORDER BY ts, task_id, attempt, seq',
    );
    // One task: its attempts run one after another, so emission order is exact and needs no clock.
    this.selectTaskLogs = db.prepare(
      'SELECT task_id, attempt, seq, ts, stream, line FROM logs WHERE task_id = ? ORDER BY attempt, seq',
    );
    this.selectArtifact = db.prepare('SELECT * FROM artifacts WHERE id = ?');
    // Three LIKEs rather than `'sha256:' || ?`: the LIKE index optimization needs a bare parameter.
    this.selectArtifactsByPrefix = db.prepare(
      "SELECT * FROM artifacts WHERE id LIKE ? ESCAPE '\\' OR hash LIKE ? ESCAPE '\\' OR hash LIKE ? ESCAPE '\\' " +
        'ORDER BY created_at DESC, id',
    );
    this.selectCacheEntry = db.prepare('SELECT * FROM cache_entries WHERE key = ?');
    // Grouping by task both deduplicates (a task may consume one artifact under several names) and
    // orders tasks by their first edge to the artifact.
    this.selectLineageTasks = db.prepare(
      'SELECT t.* FROM tasks t JOIN (SELECT task_id, MIN(created_at) AS first_at FROM events ' +
        'WHERE artifact_id = ? AND kind = ? GROUP BY task_id) e ON e.task_id = t.id ORDER BY e.first_at, t.id',
    );

    // A read transaction, so the artifact and both task lists come from one snapshot even while a
    // runner is writing.
    this.readLineage = db.transaction((artifactId: string): LineageNode | undefined => {
      const row = this.selectArtifact.get(artifactId);
      if (!row) return undefined;
      return {
        artifact: toArtifact(row),
        producers: this.selectLineageTasks.all(artifactId, 'output').map(toTask),
        consumers: this.selectLineageTasks.all(artifactId, 'input').map(toTask),
      };
    });

    this.applyOps = db.transaction((ops: StoreOp[]) => {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        try {
          this.apply(op);
        } catch (err) {
          // A lost claim or a param conflict is an answer, not a storage failure: it keeps its type.
          if (err instanceof RunClaimedError || err instanceof ParamConflictError) throw err;
          const cause = err as Error & { code?: string };
          const hint = cause.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ? foreignKeyHint(op) : '';
          throw new Error(
            `metadata commit failed at op ${i + 1} of ${ops.length} (${describeOp(op)}): ${cause.message}${hint}`,
            { cause: err },
          );
        }
      }
    });
  }

  async commit(ops: StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    // IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so two runners sharing
    // a file queue up instead of one failing with SQLITE_BUSY when it upgrades from a read.
    this.applyOps.immediate(ops);
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'putPipeline': {
        const p = op.pipeline;
        this.insertPipeline.run(p.digest, p.name, JSON.stringify(p.spec), p.createdAt);
        return;
      }
      case 'putRun': {
        const r = op.run;
        this.upsertRun.run(
          r.id,
          r.pipelineDigest,
          r.pipelineName,
          JSON.stringify(r.params),
          r.status,
          r.source ?? null,
          r.createdAt,
          r.startedAt ?? null,
          r.finishedAt ?? null,
          r.error ?? null,
          r.runnerPid ?? null,
          r.runnerHost ?? null,
        );
        return;
      }
      case 'updateRun':
        this.update('runs', 'run', RUN_PATCH_COLUMNS, op.id, op.patch);
        return;
      case 'claimRun': {
        // Compare-and-set on the recorded runner: IS compares NULLs as equal.
        const changed = this.claimRunStatement.run(
          op.runner.pid,
          op.runner.host,
          op.id,
          op.expected.pid,
          op.expected.host,
        ).changes;
        if (changed === 0) throw new RunClaimedError(op.id);
        return;
      }
      case 'putTask': {
        const t = op.task;
        this.upsertTask.run(
          t.id,
          t.runId,
          t.name,
          t.specTask,
          t.component,
          t.status,
          t.attempts,
          t.cacheKey ?? null,
          t.cachedFrom ?? null,
          stringifyOrNull(t.params),
          stringifyOrNull(t.outputs),
          t.startedAt ?? null,
          t.finishedAt ?? null,
          t.exitCode ?? null,
          t.error ?? null,
          t.errorStack ?? null,
          t.reason ?? null,
        );
        return;
      }
      case 'updateTask':
        this.update('tasks', 'task', TASK_PATCH_COLUMNS, op.id, op.patch);
        return;
      case 'putAttempt': {
        const a = op.attempt;
        this.upsertAttempt.run(
          a.taskId,
          a.attempt,
          a.status,
          a.startedAt,
          a.finishedAt ?? null,
          a.exitCode ?? null,
          a.error ?? null,
          a.errorStack ?? null,
          a.pid ?? null,
        );
        return;
      }
      case 'putArtifact': {
        const a = op.artifact;
        this.insertArtifact.run(a.id, a.type, a.uri, a.hash, a.size, JSON.stringify(a.metadata), a.createdAt);
        return;
      }
      case 'putEvent': {
        const e = op.event;
        this.upsertEvent.run(e.runId, e.taskId, e.artifactId, e.kind, e.name, e.cached ? 1 : 0, e.createdAt);
        return;
      }
      case 'putLogs': {
        const insert = this.insertLog;
        for (const l of op.logs) insert.run(l.taskId, l.attempt, l.seq, l.ts, l.stream, l.line);
        return;
      }
      case 'putCacheEntry': {
        const c = op.entry;
        this.replaceCacheEntry.run(
          c.key,
          c.taskId,
          JSON.stringify(c.artifacts),
          JSON.stringify(c.scalars),
          c.createdAt,
        );
        return;
      }
      case 'deleteCacheEntry':
        this.deleteCacheEntryStmt.run(op.key);
        return;
      case 'putParams':
      case 'putMetrics':
      case 'setTags':
        this.tracking.apply(op);
        return;
      default:
        throw new Error(`unknown store op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  /**
   * Applies a partial update. Keys whose value is `undefined` are treated as absent (as they
   * would be after a JSON round trip). Updating a row that does not exist is an error: it means
   * the engine's view and the store have diverged, and silently doing nothing would hide that.
   */
  private update(
    table: 'runs' | 'tasks',
    what: string,
    columns: Record<string, PatchColumn>,
    id: string,
    patch: Record<string, unknown>,
  ): void {
    const keys: string[] = [];
    for (const key of Object.keys(patch)) {
      if (!Object.hasOwn(columns, key)) {
        throw new Error(
          `unknown ${what} field '${key}' in patch (allowed: ${Object.keys(columns).join(', ')})`,
        );
      }
      if (patch[key] !== undefined) keys.push(key);
    }
    if (keys.length === 0) return;
    keys.sort();
    const cacheKey = `${table}:${keys.join(',')}`;
    let stmt = this.patchStatements.get(cacheKey);
    if (stmt === undefined) {
      const sets = keys.map((k) => `${columns[k]!.column} = ?`).join(', ');
      stmt = this.db.prepare(`UPDATE ${table} SET ${sets} WHERE id = ?`);
      this.patchStatements.set(cacheKey, stmt);
    }
    const values: SqlValue[] = keys.map((k) => columns[k]!.encode(patch[k]));
    values.push(id);
    if (stmt.run(...values).changes === 0) throw new Error(`no ${what} with id '${id}'`);
  }

  async getPipeline(digest: string): Promise<PipelineRecord | undefined> {
    const row = this.selectPipeline.get(digest);
    return row && toPipeline(row);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.selectRun.get(id);
    return row && toRun(row);
  }

  async findRuns(idPrefix: string): Promise<RunRecord[]> {
    return this.selectRunsByPrefix.all(likePrefix(idPrefix)).map(toRun);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.selectRuns
      .all({
        pipelineName: filter.pipelineName ?? null,
        status: filter.status ?? null,
        limit: filter.limit ?? 50,
      })
      .map(toRun);
  }

  async listTasks(runId: string): Promise<TaskRecord[]> {
    return this.selectTasksByRun.all(runId).map(toTask);
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = this.selectTask.get(id);
    return row && toTask(row);
  }

  async listAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.selectAttempts.all(taskId).map(toAttempt);
  }

  async listLogs(runId: string, taskName?: string): Promise<LogRecord[]> {
    const rows =
      taskName === undefined
        ? this.selectRunLogs.all(runId)
        : this.selectTaskLogs.all(`${runId}/${taskName}`);
    return rows.map(toLog);
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    const row = this.selectArtifact.get(id);
    return row && toArtifact(row);
  }

  async findArtifacts(prefix: string): Promise<ArtifactRecord[]> {
    const like = likePrefix(prefix);
    return this.selectArtifactsByPrefix.all(like, like, `sha256:${like}`).map(toArtifact);
  }

  async listEvents(query: { runId?: string; taskId?: string; artifactId?: string }): Promise<EventRecord[]> {
    const params: Record<string, string> = {};
    const where: string[] = [];
    // One statement per combination of filters, so each can use its own index.
    if (query.runId !== undefined) {
      params.runId = query.runId;
      where.push('run_id = @runId');
    }
    if (query.taskId !== undefined) {
      params.taskId = query.taskId;
      where.push('task_id = @taskId');
    }
    if (query.artifactId !== undefined) {
      params.artifactId = query.artifactId;
      where.push('artifact_id = @artifactId');
    }
    const key = where.join(' AND ');
    let stmt = this.eventQueries.get(key);
    if (stmt === undefined) {
      stmt = this.db.prepare<Record<string, string>, EventRow>(
        `SELECT * FROM events ${key ? `WHERE ${key}` : ''} ORDER BY created_at, rowid`,
      );
      this.eventQueries.set(key, stmt);
    }
    return stmt.all(params).map(toEvent);
  }

  async getCacheEntry(key: string): Promise<CacheEntry | undefined> {
    const row = this.selectCacheEntry.get(key);
    return row && toCacheEntry(row);
  }

  async lineage(artifactId: string): Promise<LineageNode | undefined> {
    return this.readLineage(artifactId);
  }

  async listParams(runId: string): Promise<ParamRecord[]> {
    return this.tracking.listParams(runId);
  }

  async listMetrics(runId: string, key?: string): Promise<MetricPoint[]> {
    return this.tracking.listMetrics(runId, key);
  }

  async latestMetrics(runIds: readonly string[]): Promise<Map<string, LatestMetrics>> {
    return this.tracking.latestMetrics(runIds);
  }

  async listTags(runId: string): Promise<Record<string, string>> {
    return this.tracking.listTags(runId);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
