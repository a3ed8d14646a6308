/**
 * The metadata store contract. The engine, CLI and server talk to metadata only through this
 * interface; SQLite (embedded default) implements it now, Postgres later, and both must pass the
 * shared conformance suite in test/store/metadata-store.cases.ts.
 *
 * What is in it: pipelines (spec + digest), runs, task executions and their attempts, logs,
 * artifacts (type, URI, content hash, size, metadata), lineage events (input/output edges
 * between task executions and artifacts) and the cache index.
 * What is not: artifact bytes (see ArtifactStore) and anything about scheduling decisions,
 * which live in the engine's memory and are rebuilt from this store on resume.
 *
 * Writes go through `commit(ops)`: one call is one transaction, applied in order, all or nothing.
 * The engine batches its writes this way, so a runner killed at any moment leaves the store
 * at a consistent point.
 */
import { LatheError } from '../errors.js';
import type { ArtifactTypeName } from '../spec/schema.js';
import type { ModelRegistry } from './registry.js';
import type { LatestMetrics, MetricPoint, ParamRecord } from './tracking.js';

export const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TASK_STATUSES = ['pending', 'running', 'succeeded', 'cached', 'failed', 'skipped'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A count per task status, all zero. */
export function emptyTaskCounts(): Record<TaskStatus, number> {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
}

export interface PipelineRecord {
  digest: string;
  name: string;
  spec: unknown;
  createdAt: number;
}

export interface RunRecord {
  id: string;
  pipelineDigest: string;
  pipelineName: string;
  params: Record<string, unknown>;
  status: RunStatus;
  /** Absolute path of the pipeline module or spec file the run was started from. */
  source: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Process id and host of the runner, so a dead runner can be told apart from a live one. */
  runnerPid: number | null;
  runnerHost: string | null;
}

export interface TaskRecord {
  /** `${runId}/${name}` */
  id: string;
  runId: string;
  /** Instance name, e.g. `train[2]` for the third iteration of a loop. */
  name: string;
  /** Name of the task in the spec. */
  specTask: string;
  component: string;
  status: TaskStatus;
  attempts: number;
  cacheKey: string | null;
  /** For a cached task: the task execution whose outputs were reused. */
  cachedFrom: string | null;
  params: Record<string, unknown> | null;
  /** Scalar outputs. Artifact outputs are lineage events. */
  outputs: Record<string, unknown> | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  error: string | null;
  errorStack: string | null;
  /** Why a task was skipped (condition false, upstream failed). */
  reason: string | null;
}

export interface AttemptRecord {
  taskId: string;
  attempt: number;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: number;
  finishedAt: number | null;
  exitCode: number | null;
  error: string | null;
  errorStack: string | null;
  /** The process the attempt ran in, when it had its own (commands, isolated TS components). */
  pid?: number | null;
}

export interface ArtifactRecord {
  /** One record per produced output (e.g. `a_01J...`); several records may share bytes (same hash). */
  id: string;
  type: ArtifactTypeName;
  uri: string;
  /** `sha256:<hex>` of the file, or of a directory's sorted (path, file hash) listing. */
  hash: string;
  size: number;
  metadata: Record<string, unknown>;
  createdAt: number;
}

export interface EventRecord {
  runId: string;
  taskId: string;
  artifactId: string;
  kind: 'input' | 'output';
  /** The input or output name on the task; `name[i]` for an element of a list input. */
  name: string;
  /** True when the output was reused from the cache instead of computed. */
  cached: boolean;
  createdAt: number;
}

export interface LogRecord {
  taskId: string;
  attempt: number;
  seq: number;
  ts: number;
  stream: 'stdout' | 'stderr' | 'log';
  line: string;
}

export interface CacheEntry {
  key: string;
  taskId: string;
  /** Artifact ids by output name, and scalar outputs. */
  artifacts: Record<string, string>;
  scalars: Record<string, unknown>;
  createdAt: number;
}

/** One write. A `commit` applies a list of these in one transaction. */
export type StoreOp =
  | { op: 'putPipeline'; pipeline: PipelineRecord }
  | { op: 'putRun'; run: RunRecord }
  | { op: 'updateRun'; id: string; patch: Partial<Omit<RunRecord, 'id'>> }
  /**
   * Takes over a run for a new runner, only if its recorded runner is still `expected` (the dead
   * one): the commit fails with RunClaimedError otherwise, so two resumes cannot both take it.
   */
  | {
      op: 'claimRun';
      id: string;
      expected: { pid: number | null; host: string | null };
      runner: { pid: number; host: string };
    }
  | { op: 'putTask'; task: TaskRecord }
  | { op: 'updateTask'; id: string; patch: Partial<Omit<TaskRecord, 'id' | 'runId'>> }
  | { op: 'putAttempt'; attempt: AttemptRecord }
  | { op: 'putArtifact'; artifact: ArtifactRecord }
  | { op: 'putEvent'; event: EventRecord }
  | { op: 'putLogs'; logs: LogRecord[] }
  | { op: 'putCacheEntry'; entry: CacheEntry }
  | { op: 'deleteCacheEntry'; key: string }
  /** Params are immutable: a key logged again with another value fails the commit (ParamConflictError). */
  | { op: 'putParams'; runId: string; taskId: string | null; params: Record<string, unknown> }
  /** Metric points are appended. */
  | { op: 'putMetrics'; points: MetricPoint[] }
  /** Sets tags; a null value removes the tag. */
  | { op: 'setTags'; runId: string; tags: Record<string, string | null> };

export type { LatestMetrics, MetricPoint, ParamRecord } from './tracking.js';

/** A claimRun lost: another runner took the run first. */
export class RunClaimedError extends LatheError {
  constructor(runId: string) {
    super('RUN_CLAIMED', `run ${runId} was taken over by another runner (another 'lathe resume'?)`);
  }
}

export interface RunFilter {
  pipelineName?: string;
  status?: RunStatus;
  limit?: number;
}

export interface LineageNode {
  artifact: ArtifactRecord;
  /** Task executions that wrote this artifact (more than one when reused from cache). */
  producers: TaskRecord[];
  consumers: TaskRecord[];
}

export interface MetadataStore {
  /** Applies the ops in one transaction, in order. */
  commit(ops: StoreOp[]): Promise<void>;

  /** The model registry, in the same database. */
  readonly registry: ModelRegistry;

  getPipeline(digest: string): Promise<PipelineRecord | undefined>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Runs whose id starts with the prefix, newest first (for short ids on the CLI). */
  findRuns(idPrefix: string): Promise<RunRecord[]>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  listTasks(runId: string): Promise<TaskRecord[]>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  listAttempts(taskId: string): Promise<AttemptRecord[]>;
  /** Logs of a run, or of one task, in order. */
  listLogs(runId: string, taskName?: string): Promise<LogRecord[]>;
  getArtifact(id: string): Promise<ArtifactRecord | undefined>;
  /** Artifacts whose id or hash starts with the prefix. */
  findArtifacts(prefix: string): Promise<ArtifactRecord[]>;
  listEvents(query: { runId?: string; taskId?: string; artifactId?: string }): Promise<EventRecord[]>;
  getCacheEntry(key: string): Promise<CacheEntry | undefined>;
  /** One step of lineage around an artifact: who produced it, who consumed it. */
  lineage(artifactId: string): Promise<LineageNode | undefined>;

  /** Params logged in a run (not its pipeline params, which are on the run record), by key. */
  listParams(runId: string): Promise<ParamRecord[]>;
  /** A run's metric points, by key, then step and time; or one metric's history. */
  listMetrics(runId: string, key?: string): Promise<MetricPoint[]>;
  /** The last value of each metric of each run (highest step, then latest). */
  latestMetrics(runIds: readonly string[]): Promise<Map<string, LatestMetrics>>;
  listTags(runId: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}
