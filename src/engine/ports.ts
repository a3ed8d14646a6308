/**
 * The engine's ports: how it runs a task attempt somewhere (TaskExecutor) and tells the outside
 * what happens (RunReporter). Stores are in ../store. A remote executor (BullMQ workers, Argo)
 * gets exactly an AttemptRequest: the component's spec entry, resolved values, and the source
 * module's path; nothing else from the runner's memory.
 */
import type { ArtifactTypeName, ComponentSpec } from '../spec/schema.js';
import type { ArtifactRecord, RunStatus, TaskStatus } from '../store/metadata-store.js';

/** An input artifact as an executor receives it: the stored record, without store bookkeeping. */
export type InputArtifactRef = Omit<ArtifactRecord, 'createdAt'>;

export interface AttemptRequest {
  runId: string;
  pipeline: string;
  /** Task instance name, e.g. `train[2]`. */
  task: string;
  attempt: number;
  component: ComponentSpec;
  /** Absolute path of the module that defines the pipeline's TS components. */
  source: string | undefined;
  /** Working directory for command components: the pipeline's own directory. */
  baseDir: string;
  params: Record<string, unknown>;
  inputs: Record<string, InputArtifactRef | InputArtifactRef[]>;
  /** The task's timeout; the engine enforces it through the signal, executors may use it too. */
  timeoutMs?: number;
}

export interface ProducedArtifact {
  type: ArtifactTypeName;
  uri: string;
  hash: string;
  size: number;
  metadata: Record<string, unknown>;
}

export interface AttemptResult {
  artifacts: Record<string, ProducedArtifact>;
  scalars: Record<string, unknown>;
  exitCode?: number;
}

/** What a task logs for experiment tracking (`log.metric`, `log.param`, `log.tag`). */
export type TrackingEvent =
  | { kind: 'metric'; key: string; value: number; step?: number; timestamp?: number }
  | { kind: 'param'; key: string; value: unknown }
  | { kind: 'tag'; key: string; value: string };

export interface AttemptHooks {
  /** Aborted on timeout or cancel; the executor must stop the attempt and reject promptly. */
  signal: AbortSignal;
  log(stream: 'stdout' | 'stderr' | 'log', line: string): void;
  /**
   * Records a metric point, param or tag for the run. Throws on a bad name or value, or a param
   * already logged with another value (params are immutable).
   */
  track?(event: TrackingEvent): void;
  /** The attempt got a process of its own; recorded so a resume can stop it if the runner dies. */
  spawned?(pid: number): void;
}

/** An attempt whose runner died while it ran. */
export interface OrphanedAttempt {
  runId: string;
  task: string;
  attempt: number;
  pid: number;
}

export interface TaskExecutor {
  execute(request: AttemptRequest, hooks: AttemptHooks): Promise<AttemptResult>;
  /**
   * Stops what is left of an attempt whose runner died (a command still running), before resume
   * runs the task again. Resolves to true if something was stopped.
   */
  stopOrphan?(attempt: OrphanedAttempt): Promise<boolean>;
  close?(): Promise<void>;
}

export interface TaskEndInfo {
  status: TaskStatus;
  attempts: number;
  durationMs: number;
  error?: string;
  reason?: string;
}

/** What the CLI (or a server) shows while a run goes on. Every method is optional. */
export interface RunReporter {
  runStarted?(run: { id: string; pipeline: string; resumed: boolean }): void;
  /** The number of task instances known so far (it grows as loops expand). */
  tasksKnown?(total: number): void;
  taskStarted?(task: string, attempt: number): void;
  taskRetrying?(task: string, attempt: number, delayMs: number, error: string): void;
  taskEnded?(task: string, info: TaskEndInfo): void;
  log?(task: string, stream: 'stdout' | 'stderr' | 'log', line: string): void;
  runEnded?(summary: RunSummary): void;
}

export interface RunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus;
  durationMs: number;
  counts: Record<TaskStatus, number>;
  tasks: Array<{
    name: string;
    status: TaskStatus;
    attempts: number;
    durationMs: number | null;
    error?: string;
    reason?: string;
    outputs?: Record<string, unknown>;
  }>;
  error?: string;
}
