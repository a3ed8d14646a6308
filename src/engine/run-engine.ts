/**
 * The run state machine. It decides what runs next (readiness, conditions, fan-out and fan-in,
 * retries with backoff, timeouts, caching, resume) and talks to the world only through ports:
 * MetadataStore, ArtifactStore, TaskExecutor and RunReporter.
 *
 * Scheduling is event-driven: every node counts the dependencies it still waits for, and a
 * finishing node notifies its dependents, so each task costs O(its edges) however large the
 * run. Metadata writes are buffered and committed in one transaction per tick, in order: a runner
 * killed at any moment leaves the store at a consistent point, and resume redoes the rest.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { availableParallelism, hostname } from 'node:os';
import { LatheError, RunNotFoundError, TaskFailedError, TaskTimeoutError } from '../errors.js';
import { specDigest } from '../spec/compile.js';
import { validateParams } from '../spec/params.js';
import type { ComponentSpec, LoopSpec, PipelineSpec, TaskSpec, ValueRef } from '../spec/schema.js';
import { forEachConditionRef, loopChain } from '../spec/validate.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type {
  ArtifactRecord,
  LogRecord,
  MetadataStore,
  MetricPoint,
  RunRecord,
  RunStatus,
  StoreOp,
  TaskRecord,
  TaskStatus,
} from '../store/metadata-store.js';
import { emptyTaskCounts } from '../store/metadata-store.js';
import { checkTrackingKey, ParamConflictError } from '../store/tracking.js';
import { cacheKey, evaluateCondition, itemAt, renderTemplate, retryDelayMs } from './decisions.js';
import type {
  AttemptRequest,
  AttemptResult,
  InputArtifactRef,
  RunReporter,
  RunSummary,
  TaskExecutor,
  TrackingEvent,
} from './ports.js';

export interface EngineOptions {
  spec: PipelineSpec;
  store: MetadataStore;
  artifacts: ArtifactStore;
  executor: TaskExecutor;
  /** Working directory for command components. */
  baseDir: string;
  /** The file the run was started from, recorded for `lathe resume`. */
  runSource?: string | null;
  /** At most this many tasks run at once. Default: the number of cores. */
  concurrency?: number;
  /** Set false for `--no-cache`: nothing is read from the cache (results are still written). */
  cache?: boolean;
  reporter?: RunReporter;
  /** Aborting it cancels the run: running attempts are stopped, exit handlers still run. */
  signal?: AbortSignal;
}

/** Longest log line kept; longer ones are cut, with a note of how much was cut. */
const MAX_LOG_LINE_CHARS = 16 * 1024;
/** Log lines stored per task in one run (the terminal still shows every line). */
const MAX_STORED_LOG_LINES = 100_000;

/** How long an aborted attempt may take to stop before the engine stops waiting for it. */
const ABANDON_AFTER_MS = 10_000;

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['succeeded', 'cached', 'failed', 'skipped']);
const DONE_OK: ReadonlySet<TaskStatus> = new Set(['succeeded', 'cached']);

interface TaskOutputs {
  artifacts: Record<string, ArtifactRecord>;
  scalars: Record<string, unknown>;
}

interface NodeBase {
  name: string;
  scope: number[];
  status: TaskStatus;
  /** Dependencies not yet finished. */
  waiting: number;
  /** Set when a dependency failed or was skipped: the node will be skipped. */
  blocked: string | undefined;
  dependents: GraphNode[];
  /** Enclosing loop instances, outermost first. */
  loops: LoopInstance[];
  exitHandler: boolean;
  /** A dependency failed, or was skipped because one of its own did (not a false condition). */
  failedUpstream: boolean;
}

interface TaskInstance extends NodeBase {
  kind: 'task';
  spec: TaskSpec;
  attempts: number;
  outputs: TaskOutputs | undefined;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | undefined;
  reason: string | undefined;
  /** The buffered putTask of this task's start, amended in place while not yet committed. */
  startOp: PendingOp<Extract<StoreOp, { op: 'putTask' }>> | undefined;
  /** Resolved once, before the first attempt; retries reuse it. */
  prepared: PreparedTask | undefined;
}

interface PreparedTask {
  component: ComponentSpec;
  params: Record<string, unknown>;
  inputs: Record<string, InputArtifactRef | InputArtifactRef[]>;
  key: string | null;
  firstAttempt: number;
  lastAttempt: number;
}

/** A written op and the flush generation it was buffered in: amendable until that flush. */
interface PendingOp<T extends StoreOp> {
  op: T;
  generation: number;
}

interface LoopInstance extends NodeBase {
  kind: 'loop';
  spec: LoopSpec;
  items: unknown[] | undefined;
  /** Body nodes not yet finished. */
  remaining: number;
  anyFailed: boolean;
  running: number;
  parked: TaskInstance[];
}

type GraphNode = TaskInstance | LoopInstance;

function suffix(scope: readonly number[]): string {
  let out = '';
  for (const i of scope) out += `[${i}]`;
  return out;
}

export function newRunId(): string {
  // Time-ordered and unique: base36 milliseconds then random bytes.
  return `${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

function newArtifactId(): string {
  return `a_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

/** Starts a new run of `spec` with `params` (validated here) and returns when it has finished. */
export async function startRun(options: EngineOptions, params: Record<string, unknown>): Promise<RunSummary> {
  const resolved = validateParams(options.spec.params, params, undefined);
  const run = new RunExecution(options, newRunId(), resolved, false);
  return run.execute(new Map());
}

/** Re-runs what did not succeed in an earlier run, under the same run id. */
export async function resumeRun(
  options: EngineOptions,
  runId: string,
  /** The run as the caller saw it when it decided its runner was dead: the claim expects that runner. */
  checked?: RunRecord,
): Promise<RunSummary> {
  const record = await options.store.getRun(runId);
  if (!record) throw new RunNotFoundError(runId);
  const expected = checked ?? record;
  // Take the run over from its dead runner, atomically: a second resume started at the same
  // moment loses here instead of running the same tasks twice.
  await options.store.commit([
    {
      op: 'claimRun',
      id: runId,
      expected: { pid: expected.runnerPid, host: expected.runnerHost },
      runner: { pid: process.pid, host: hostname() },
    },
  ]);
  const priorTasks = await options.store.listTasks(runId);
  const prior = new Map<string, { record: TaskRecord; outputs: TaskOutputs }>();
  const interrupted: StoreOp[] = [];
  for (const task of priorTasks) {
    if (task.status === 'running') {
      // The runner died during these attempts: record them as failed, so the history is complete.
      for (const attempt of await options.store.listAttempts(task.id)) {
        if (attempt.status !== 'running') continue;
        // A command may have outlived its runner: stop it before the task runs again.
        const stopped =
          attempt.pid && options.executor.stopOrphan
            ? await options.executor.stopOrphan({
                runId,
                task: task.name,
                attempt: attempt.attempt,
                pid: attempt.pid,
              })
            : false;
        const error = `interrupted: the runner stopped during this attempt${stopped ? ` (its process ${attempt.pid} was stopped on resume)` : ''}`;
        interrupted.push({ op: 'putAttempt', attempt: { ...attempt, status: 'failed', error } });
      }
    }
    if (!DONE_OK.has(task.status)) continue;
    const artifacts: Record<string, ArtifactRecord> = {};
    let intact = true;
    for (const event of await options.store.listEvents({ taskId: task.id })) {
      if (event.kind !== 'output') continue;
      const artifact = await options.store.getArtifact(event.artifactId);
      // As for a cache hit: outputs whose bytes are gone or changed are not reused; the task re-runs.
      if (!artifact || !(await options.artifacts.verify(artifact.uri, artifact.hash))) intact = false;
      else artifacts[event.name] = artifact;
    }
    if (intact) prior.set(task.name, { record: task, outputs: { artifacts, scalars: task.outputs ?? {} } });
  }
  if (interrupted.length > 0) await options.store.commit(interrupted);
  const run = new RunExecution(options, runId, record.params, true);
  return run.execute(prior, new Map(priorTasks.map((task) => [task.name, task.attempts])));
}

class RunExecution {
  private readonly spec: PipelineSpec;
  private readonly store: MetadataStore;
  private readonly reporter: RunReporter;
  private readonly concurrency: number;
  private readonly useCache: boolean;
  private readonly loopSpecs: Map<string, LoopSpec>;
  private readonly chains = new Map<string, string[]>();
  private readonly tasksByLoop = new Map<string, TaskSpec[]>();
  private readonly loopsByParent = new Map<string, LoopSpec[]>();
  private readonly taskSpecs: Map<string, TaskSpec>;
  private readonly nodes = new Map<string, GraphNode>();
  private readonly exitHandlers: TaskInstance[] = [];
  private readonly ready: TaskInstance[] = [];
  private readyHead = 0;
  private running = 0;
  /** Non-exit-handler nodes not yet finished; exit handlers start when it reaches 0. */
  private open = 0;
  private exitReleased = false;
  private taskCount = 0;
  private anyFailed = false;
  /** Why the first failed loop failed (bad items): a run can fail with no failed task. */
  private loopFailure: string | undefined;
  private readonly startedAt = Date.now();
  private prior = new Map<string, { record: TaskRecord; outputs: TaskOutputs }>();
  private priorAttempts = new Map<string, number>();
  private ops: StoreOp[] = [];
  private logs: LogRecord[] = [];
  private logSeq = new Map<string, number>();
  private flushScheduled = false;
  private metricPoints: MetricPoint[] = [];
  /** Params logged in this run (JSON), to refuse a second value at the call that logs it. */
  private loggedParams = new Map<string, string>();
  /** Incremented when the buffer is handed to the store; buffered ops of older generations are gone. */
  private flushGeneration = 0;
  private flushChain: Promise<void> = Promise.resolve();
  private flushError: unknown;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => {
    this.finish = resolve;
  });
  private readonly controller = new AbortController();
  private inFlight = 0;
  /** Tasks waiting out a retry backoff, without a slot. */
  private readonly retryTimers = new Map<TaskInstance, NodeJS.Timeout>();

  constructor(
    private readonly options: EngineOptions,
    private readonly runId: string,
    private readonly params: Record<string, unknown>,
    private readonly resumed: boolean,
  ) {
    this.spec = options.spec;
    this.store = options.store;
    this.reporter = options.reporter ?? {};
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    this.useCache = options.cache ?? true;
    this.loopSpecs = new Map(this.spec.loops.map((l) => [l.name, l]));
    this.taskSpecs = new Map(this.spec.tasks.map((t) => [t.name, t]));
    for (const task of this.spec.tasks) {
      const list = this.tasksByLoop.get(task.loop ?? '') ?? [];
      list.push(task);
      this.tasksByLoop.set(task.loop ?? '', list);
    }
    for (const loop of this.spec.loops) {
      const list = this.loopsByParent.get(loop.loop ?? '') ?? [];
      list.push(loop);
      this.loopsByParent.set(loop.loop ?? '', list);
    }
    options.signal?.addEventListener('abort', () => this.cancel(), { once: true });
    // Every running attempt listens on the run's signal: many at once is normal, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  /** Cancels the run: running attempts are aborted, nothing new starts, exit handlers still run. */
  cancel(): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(new Error('run canceled'));
    // Tasks waiting for a retry will not get one.
    for (const [task, timer] of this.retryTimers) {
      if (task.exitHandler) continue; // exit handlers run (and retry) through a cancel
      clearTimeout(timer);
      this.retryTimers.delete(task);
      this.failCanceledRetry(task);
    }
    // Parked tasks (held by a loop's parallelism) go back to the queue, where they are skipped.
    for (const node of this.nodes.values()) {
      if (node.kind === 'loop' && node.parked.length > 0) {
        this.ready.push(...node.parked);
        node.parked = [];
      }
    }
    this.pump();
  }

  /**
   * Runs the graph. On resume, `prior` holds the tasks that succeeded before (kept, not re-run)
   * and `priorAttempts` every task's attempt count, so new attempts are numbered after old ones.
   */
  async execute(
    prior: Map<string, { record: TaskRecord; outputs: TaskOutputs }>,
    priorAttempts: Map<string, number> = new Map(),
  ): Promise<RunSummary> {
    this.prior = prior;
    this.priorAttempts = priorAttempts;
    // The run's own (pipeline) params are params of the run too: a task cannot log another value.
    for (const [key, value] of Object.entries(this.params)) {
      this.loggedParams.set(key, JSON.stringify(value ?? null));
    }
    if (this.resumed) {
      for (const param of await this.store.listParams(this.runId)) {
        this.loggedParams.set(param.key, JSON.stringify(param.value));
      }
    }
    if (this.options.signal?.aborted) this.cancel();
    const now = Date.now();
    const digest = specDigest(this.spec);
    this.write({
      op: 'putPipeline',
      pipeline: { digest, name: this.spec.name, spec: this.spec, createdAt: now },
    });
    if (this.resumed) {
      this.write({
        op: 'updateRun',
        id: this.runId,
        patch: {
          status: 'running',
          pipelineDigest: digest,
          finishedAt: null,
          error: null,
          runnerPid: process.pid,
          runnerHost: hostname(),
        },
      });
    } else {
      this.write({
        op: 'putRun',
        run: {
          id: this.runId,
          pipelineDigest: digest,
          pipelineName: this.spec.name,
          params: this.params,
          status: 'running',
          source: this.options.runSource ?? null,
          createdAt: now,
          startedAt: now,
          finishedAt: null,
          error: null,
          runnerPid: process.pid,
          runnerHost: hostname(),
        },
      });
    }
    await this.flush();
    this.reporter.runStarted?.({ id: this.runId, pipeline: this.spec.name, resumed: this.resumed });

    // Keeps the process alive while the run is open, whatever its tasks hold (or do not hold) open.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      this.createScope(undefined, []);
      this.reporter.tasksKnown?.(this.taskCount);
      this.maybeReleaseExitHandlers();
      this.pump();
      await this.finished;
    } finally {
      clearInterval(keepAlive);
    }
    await this.flush();

    const status: RunStatus = this.controller.signal.aborted
      ? 'canceled'
      : this.anyFailed
        ? 'failed'
        : 'succeeded';
    const summary = this.summary(status);
    this.write({
      op: 'updateRun',
      id: this.runId,
      patch: { status, finishedAt: Date.now(), error: summary.error ?? null },
    });
    await this.flush();
    if (this.flushError) throw this.flushError;
    this.reporter.runEnded?.(summary);
    return summary;
  }

  // ---- graph construction -------------------------------------------------------------------

  private chainOf(loop: string | undefined): string[] {
    const key = loop ?? '';
    let chain = this.chains.get(key);
    if (!chain) {
      chain = loopChain(this.loopSpecs, loop);
      this.chains.set(key, chain);
    }
    return chain;
  }

  /** Creates the tasks and loops directly inside `loop` (or the top level) for one iteration. */
  private createScope(loop: LoopInstance | undefined, scope: number[]): void {
    const key = loop?.spec.name ?? '';
    const enclosing = loop ? [...loop.loops, loop] : [];
    const created: GraphNode[] = [];
    // Literal objects with every field, so all nodes share one shape (this runs per iteration).
    for (const spec of this.tasksByLoop.get(key) ?? []) {
      const name = spec.name + suffix(scope);
      created.push({
        kind: 'task',
        name,
        scope,
        status: 'pending',
        waiting: 0,
        blocked: undefined,
        dependents: [],
        loops: enclosing,
        exitHandler: spec.exitHandler,
        spec,
        attempts: this.priorAttempts.get(name) ?? 0,
        outputs: undefined,
        startedAt: null,
        finishedAt: null,
        error: undefined,
        reason: undefined,
        startOp: undefined,
        prepared: undefined,
        failedUpstream: false,
      });
    }
    for (const spec of this.loopsByParent.get(key) ?? []) {
      created.push({
        kind: 'loop',
        name: spec.name + suffix(scope),
        scope,
        status: 'pending',
        waiting: 0,
        blocked: undefined,
        dependents: [],
        loops: enclosing,
        exitHandler: false,
        spec,
        items: undefined,
        remaining: 0,
        anyFailed: false,
        running: 0,
        parked: [],
        failedUpstream: false,
      });
    }
    for (const node of created) {
      this.nodes.set(node.name, node);
      if (node.kind === 'task') this.taskCount++;
      if (node.exitHandler) this.exitHandlers.push(node as TaskInstance);
      else {
        this.open++;
        if (loop) loop.remaining++;
      }
    }
    for (const node of created) this.wire(node);
    // Take the ready set before dispatching any of it: dispatching one node can settle another
    // (a resumed or skipped task notifies its dependents), which must not be dispatched twice.
    const ready = created.filter((node) => node.waiting === 0 && !node.exitHandler);
    for (const node of ready) this.onDependenciesDone(node);
  }

  private wire(node: GraphNode): void {
    const deps = new Set<GraphNode>();
    const chain = this.chainOf(node.spec.loop);
    const addRef = (ref: ValueRef) => {
      if (ref.kind === 'output' || ref.kind === 'collect')
        deps.add(this.dependencyNode(node, chain, ref.task));
    };
    if (node.kind === 'task') {
      for (const dep of node.spec.after) deps.add(this.dependencyNode(node, chain, dep));
      for (const ref of Object.values(node.spec.args)) addRef(ref);
      for (const ref of Object.values(node.spec.inputs)) addRef(ref);
      if (node.spec.when) forEachConditionRef(node.spec.when, addRef);
    } else {
      addRef(node.spec.items);
      if (node.spec.when) forEachConditionRef(node.spec.when, addRef);
    }
    for (const dep of deps) {
      if (TERMINAL.has(dep.status)) this.noteDependencyOutcome(node, dep);
      else {
        dep.dependents.push(node);
        node.waiting++;
      }
    }
    if (node.exitHandler) node.waiting++; // released when every other node has finished
  }

  /** The node that `node` (inside loops `chain`, at its scope) waits on for task `taskName`. */
  private dependencyNode(node: GraphNode, chain: string[], taskName: string): GraphNode {
    const target = this.taskSpecs.get(taskName)!;
    const targetChain = this.chainOf(target.loop);
    let common = 0;
    while (common < chain.length && common < targetChain.length && chain[common] === targetChain[common])
      common++;
    const scope = node.scope.slice(0, common);
    const name =
      targetChain.length === common ? taskName + suffix(scope) : targetChain[common]! + suffix(scope);
    const found = this.nodes.get(name);
    if (!found) throw new Error(`internal: ${node.name} depends on ${name}, which does not exist`);
    return found;
  }

  private noteDependencyOutcome(node: GraphNode, dep: GraphNode): void {
    if (dep.status === 'failed' || (dep.status === 'skipped' && dep.failedUpstream))
      node.failedUpstream = true;
    if (node.blocked) return;
    if (dep.status === 'failed') node.blocked = `upstream '${dep.name}' failed`;
    else if (dep.status === 'skipped') node.blocked = `upstream '${dep.name}' was skipped`;
  }

  // ---- state transitions ----------------------------------------------------------------------

  private onDependenciesDone(node: GraphNode): void {
    // A node can reach here twice: settled through a dependency while its scope was still being
    // dispatched in createScope. Only the first time counts.
    if (node.status !== 'pending') return;
    if (this.controller.signal.aborted && !node.exitHandler) {
      this.skip(node, 'run canceled');
      return;
    }
    if (node.blocked) {
      this.skip(node, node.blocked);
      return;
    }
    const when = node.spec.when;
    if (when) {
      let holds: boolean;
      try {
        holds = evaluateCondition(when, ((ref: ValueRef) => this.resolveValue(node, ref)) as never);
      } catch (error) {
        this.fail(node, `condition: ${(error as Error).message}`);
        return;
      }
      if (!holds) {
        this.skip(node, 'condition is false');
        return;
      }
    }
    if (node.kind === 'loop') {
      this.expandLoop(node);
      return;
    }
    const prior = this.prior.get(node.name);
    // Exit handlers report on the run's outcome, which a resume changes: they always run again.
    if (prior && !node.exitHandler && prior.record.component === node.spec.component) {
      // Resume: a task that already succeeded keeps its outputs and is not re-run.
      node.outputs = prior.outputs;
      node.startedAt = prior.record.startedAt;
      node.finishedAt = prior.record.finishedAt;
      this.complete(node, prior.record.status, undefined, false);
      return;
    }
    this.enqueue(node);
  }

  private expandLoop(loop: LoopInstance): void {
    let items: unknown;
    try {
      items = this.resolveValue(loop, loop.spec.items);
    } catch (error) {
      this.fail(loop, `items: ${(error as Error).message}`);
      return;
    }
    if (!Array.isArray(items)) {
      this.fail(loop, `items: expected a list, got ${JSON.stringify(items)}`);
      return;
    }
    loop.items = items;
    loop.status = 'running';
    loop.remaining++; // guard: keep the loop open while its iterations are created
    for (let i = 0; i < items.length; i++) this.createScope(loop, [...loop.scope, i]);
    this.reporter.tasksKnown?.(this.taskCount);
    loop.remaining--;
    if (loop.remaining === 0) this.finishLoop(loop);
  }

  private finishLoop(loop: LoopInstance): void {
    this.settle(loop, loop.anyFailed ? 'failed' : 'succeeded');
  }

  private enqueue(task: TaskInstance): void {
    this.ready.push(task);
    if (!this.pumping) this.pump();
  }

  private pumping = false;

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.readyHead < this.ready.length) {
        const task = this.ready[this.readyHead]!;
        const canceled = this.controller.signal.aborted && !task.exitHandler;
        // Canceled tasks leave the queue without a slot; others wait for one.
        if (!canceled && this.running >= this.concurrency) break;
        this.readyHead++;
        if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
          this.ready.splice(0, this.readyHead);
          this.readyHead = 0;
        }
        if (canceled) {
          // Queued for a retry when the cancel came: it fails with its last error.
          if (task.prepared) this.failCanceledRetry(task);
          else this.skip(task, 'run canceled');
          continue;
        }
        const capped = task.loops.find(
          (l) => l.spec.parallelism !== undefined && l.running >= l.spec.parallelism,
        );
        if (capped) {
          capped.parked.push(task);
          continue;
        }
        this.startTask(task);
      }
    } finally {
      this.pumping = false;
    }
  }

  private failCanceledRetry(task: TaskInstance): void {
    const error = new TaskFailedError(`${task.error ?? 'failed'}; run canceled before the next attempt`);
    task.error = error.message;
    this.settleTask(task, 'failed', error);
  }

  private startTask(task: TaskInstance): void {
    this.running++;
    for (const loop of task.loops) loop.running++;
    task.status = 'running';
    this.inFlight++;
    this.runTask(task)
      .catch((error) => {
        // A bug in the engine or a store failure: record it on the task rather than hang.
        task.error = String((error as Error)?.stack ?? error);
        this.settleTask(task, 'failed');
      })
      .finally(() => {
        this.inFlight--;
        this.running--;
        for (const loop of task.loops) {
          loop.running--;
          const parked = loop.parked.shift();
          if (parked) this.ready.push(parked);
        }
        this.pump();
        this.maybeFinish();
      });
  }

  private async runTask(task: TaskInstance): Promise<void> {
    if (task.prepared) return this.runOneAttempt(task, task.prepared);
    const spec = task.spec;
    const component = this.spec.components[spec.component]!;
    task.startedAt = Date.now();
    let params: Record<string, unknown>;
    let inputs: Record<string, InputArtifactRef | InputArtifactRef[]>;
    try {
      const given: Record<string, unknown> = {};
      for (const [name, ref] of Object.entries(spec.args)) given[name] = this.resolveValue(task, ref);
      params = validateParams(component.params, given, task.name);
      inputs = {};
      for (const [name, ref] of Object.entries(spec.inputs)) {
        inputs[name] = this.resolveArtifacts(task, ref);
      }
    } catch (error) {
      this.recordTaskStart(task, null, null);
      task.error = (error as Error).message;
      this.settleTask(task, 'failed', error as Error);
      return;
    }

    const inputHashes: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(inputs)) {
      inputHashes[name] = Array.isArray(value) ? value.map((a) => a.hash) : value.hash;
    }
    const key = spec.cache ? cacheKey(component.digest, params, inputHashes) : null;
    this.recordTaskStart(task, params, key);
    for (const [name, value] of Object.entries(inputs)) {
      const list = Array.isArray(value) ? value : [value];
      list.forEach((artifact, i) => {
        this.write({
          op: 'putEvent',
          event: {
            runId: this.runId,
            taskId: this.taskId(task),
            artifactId: artifact.id,
            kind: 'input',
            name: Array.isArray(value) ? `${name}[${i}]` : name,
            cached: false,
            createdAt: Date.now(),
          },
        });
      });
    }

    if (key && this.useCache) {
      const hit = await this.lookupCache(key);
      if (hit) {
        task.outputs = hit.outputs;
        for (const [name, artifact] of Object.entries(hit.outputs.artifacts)) {
          this.write({
            op: 'putEvent',
            event: {
              runId: this.runId,
              taskId: this.taskId(task),
              artifactId: artifact.id,
              kind: 'output',
              name,
              cached: true,
              createdAt: Date.now(),
            },
          });
        }
        this.updateTask(task, { cachedFrom: hit.taskId });
        this.settleTask(task, 'cached');
        return;
      }
    }

    task.prepared = {
      component,
      params,
      inputs,
      key,
      firstAttempt: task.attempts + 1,
      lastAttempt: task.attempts + spec.retry.attempts,
    };
    await this.runOneAttempt(task, task.prepared);
  }

  /**
   * One attempt. On a failure that may be retried, the task gives its slot back and is queued
   * again when its backoff has passed, so waiting never holds a concurrency or loop slot.
   */
  private async runOneAttempt(task: TaskInstance, prepared: PreparedTask): Promise<void> {
    const spec = task.spec;
    const attempt = task.attempts + 1;
    task.attempts = attempt;
    // Recorded before the attempt starts: after a crash, resume numbers the next attempt (and its
    // logs) after this one instead of reusing its number.
    this.updateTask(task, { attempts: attempt });
    this.reporter.taskStarted?.(task.name, attempt);
    const attemptStart = Date.now();
    const attemptOp: Extract<StoreOp, { op: 'putAttempt' }> = {
      op: 'putAttempt',
      attempt: {
        taskId: this.taskId(task),
        attempt,
        status: 'running',
        startedAt: attemptStart,
        finishedAt: null,
        exitCode: null,
        error: null,
        errorStack: null,
      },
    };
    this.write(attemptOp);
    const attemptPending = { op: attemptOp, generation: this.flushGeneration };
    const request: AttemptRequest = {
      runId: this.runId,
      pipeline: this.spec.name,
      task: task.name,
      attempt,
      component: prepared.component,
      source: this.spec.source,
      baseDir: this.options.baseDir,
      params: prepared.params,
      inputs: prepared.inputs,
      timeoutMs: spec.timeoutMs,
    };
    let result: AttemptResult | undefined;
    let failure: Error | undefined;
    try {
      result = await this.runAttempt(task, request, spec.timeoutMs, (pid) => {
        const flushed = !this.unflushed(attemptPending);
        attemptOp.attempt.pid = pid; // kept for the attempt's final row too
        if (flushed) this.write({ op: 'putAttempt', attempt: { ...attemptOp.attempt } });
      });
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    const exitCode = result?.exitCode ?? (failure as TaskFailedError | undefined)?.exitCode ?? null;
    const ended = {
      ...attemptOp.attempt,
      status: failure ? ('failed' as const) : ('succeeded' as const),
      finishedAt: Date.now(),
      exitCode,
      error: failure ? failure.message : null,
      errorStack: failure?.stack ?? null,
    };
    if (this.unflushed(attemptPending)) attemptOp.attempt = ended;
    else this.write({ op: 'putAttempt', attempt: ended });
    if (result) {
      task.error = undefined; // an earlier attempt's error no longer describes the task
      this.recordOutputs(task, result, prepared.key);
      this.updateTask(task, { exitCode });
      this.settleTask(task, 'succeeded');
      return;
    }
    const error = failure!;
    task.error = error.message;
    const aborted = this.controller.signal.aborted && !task.exitHandler;
    if (attempt >= prepared.lastAttempt || aborted || isPermanent(error)) {
      this.updateTask(task, { exitCode });
      this.settleTask(task, 'failed', error);
      return;
    }
    const delay = retryDelayMs(spec.retry, attempt - prepared.firstAttempt + 2);
    this.reporter.taskRetrying?.(task.name, attempt + 1, delay, error.message);
    this.log(task, 'log', `attempt ${attempt} failed: ${error.message}; retrying in ${delay} ms`, false);
    this.retryTimers.set(
      task,
      setTimeout(() => {
        this.retryTimers.delete(task);
        this.ready.push(task);
        this.pump();
      }, delay),
    );
  }

  private runAttempt(
    task: TaskInstance,
    request: AttemptRequest,
    timeoutMs: number | undefined,
    spawned: (pid: number) => void,
  ): Promise<AttemptResult> {
    const log = (stream: 'stdout' | 'stderr' | 'log', line: string) => this.log(task, stream, line);
    const track = (event: TrackingEvent) => this.track(task, event);
    // Exit handlers run after a cancel too (that is their job): canceling the run does not abort them.
    if (task.exitHandler) {
      if (timeoutMs === undefined) {
        return this.options.executor.execute(request, {
          signal: new AbortController().signal,
          log,
          track,
          spawned,
        });
      }
    } else if (timeoutMs === undefined) {
      // No timeout: the run's own signal is enough (no per-task controller on the hot path).
      const execution = this.options.executor.execute(request, {
        signal: this.controller.signal,
        log,
        track,
        spawned,
      });
      return Promise.race([execution, this.abandonAfterAbort()]);
    }
    const controller = new AbortController();
    const onRunAbort = () => controller.abort(this.controller.signal.reason);
    if (!task.exitHandler) this.controller.signal.addEventListener('abort', onRunAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new TaskTimeoutError(task.name, timeoutMs)), timeoutMs);
    const execution = this.options.executor
      .execute(request, { signal: controller.signal, log, track, spawned })
      .catch((error) => {
        throw controller.signal.aborted ? controller.signal.reason : error;
      });
    const abandoned = new Promise<never>((_, reject) => {
      controller.signal.addEventListener(
        'abort',
        () => setTimeout(() => reject(controller.signal.reason), ABANDON_AFTER_MS).unref(),
        { once: true },
      );
    });
    abandoned.catch(() => {});
    return Promise.race([execution, abandoned]).finally(() => {
      clearTimeout(timer);
      this.controller.signal.removeEventListener('abort', onRunAbort);
    });
  }

  private abandoned: Promise<never> | undefined;

  /**
   * Rejects some time after the run is canceled. Executors should stop promptly when their
   * signal aborts; racing against this keeps a component that ignores its signal from holding
   * the run forever (its promise is abandoned).
   */
  private abandonAfterAbort(): Promise<never> {
    if (!this.abandoned) {
      this.abandoned = new Promise<never>((_, reject) => {
        this.controller.signal.addEventListener(
          'abort',
          () => setTimeout(() => reject(this.controller.signal.reason), ABANDON_AFTER_MS).unref(),
          { once: true },
        );
      });
      this.abandoned.catch(() => {});
    }
    return this.abandoned;
  }

  private async lookupCache(key: string): Promise<{ taskId: string; outputs: TaskOutputs } | undefined> {
    const entry = await this.store.getCacheEntry(key);
    if (!entry) return undefined;
    const artifacts: Record<string, ArtifactRecord> = {};
    for (const [name, id] of Object.entries(entry.artifacts)) {
      const artifact = await this.store.getArtifact(id);
      // The bytes must still be there and unchanged: anything else is a miss, never a wrong result.
      if (!artifact || !(await this.options.artifacts.verify(artifact.uri, artifact.hash))) {
        this.write({ op: 'deleteCacheEntry', key });
        return undefined;
      }
      artifacts[name] = artifact;
    }
    return { taskId: entry.taskId, outputs: { artifacts, scalars: entry.scalars } };
  }

  private recordTaskStart(
    task: TaskInstance,
    params: Record<string, unknown> | null,
    key: string | null,
  ): void {
    const op: Extract<StoreOp, { op: 'putTask' }> = {
      op: 'putTask',
      task: {
        id: this.taskId(task),
        runId: this.runId,
        name: task.name,
        specTask: task.spec.name,
        component: task.spec.component,
        status: 'running',
        attempts: task.attempts,
        cacheKey: key,
        cachedFrom: null,
        params,
        outputs: null,
        startedAt: task.startedAt,
        finishedAt: null,
        exitCode: null,
        error: null,
        errorStack: null,
        reason: null,
      },
    };
    this.write(op);
    task.startOp = { op, generation: this.flushGeneration };
  }

  /**
   * Updates a started task's row. While its putTask is still buffered the patch is applied to it
   * in place: a short task then costs one row write, not one per state change.
   */
  private updateTask(task: TaskInstance, patch: Extract<StoreOp, { op: 'updateTask' }>['patch']): void {
    if (this.unflushed(task.startOp)) Object.assign(task.startOp!.op.task, patch);
    else this.write({ op: 'updateTask', id: this.taskId(task), patch });
  }

  /** True while `pending` is still in the buffer: amending it costs no extra write. */
  private unflushed(pending: PendingOp<StoreOp> | undefined): boolean {
    return pending !== undefined && pending.generation === this.flushGeneration;
  }

  private recordOutputs(task: TaskInstance, result: AttemptResult, key: string | null): void {
    const artifacts: Record<string, ArtifactRecord> = {};
    const now = Date.now();
    for (const [name, produced] of Object.entries(result.artifacts)) {
      const record: ArtifactRecord = {
        id: newArtifactId(),
        type: produced.type,
        uri: produced.uri,
        hash: produced.hash,
        size: produced.size,
        metadata: produced.metadata,
        createdAt: now,
      };
      artifacts[name] = record;
      this.write({ op: 'putArtifact', artifact: record });
      this.write({
        op: 'putEvent',
        event: {
          runId: this.runId,
          taskId: this.taskId(task),
          artifactId: record.id,
          kind: 'output',
          name,
          cached: false,
          createdAt: now,
        },
      });
    }
    task.outputs = { artifacts, scalars: result.scalars };
    if (key) {
      this.write({
        op: 'putCacheEntry',
        entry: {
          key,
          taskId: this.taskId(task),
          artifacts: Object.fromEntries(Object.entries(artifacts).map(([n, a]) => [n, a.id])),
          scalars: result.scalars,
          createdAt: now,
        },
      });
    }
  }

  private taskId(task: TaskInstance): string {
    return `${this.runId}/${task.name}`;
  }

  /** Final status of a task that went through runTask (it has a stored row). */
  private settleTask(task: TaskInstance, status: TaskStatus, error?: Error): void {
    task.finishedAt = Date.now();
    if (status === 'succeeded' || status === 'cached') this.trackMetricsOutputs(task);
    this.updateTask(task, {
      status,
      attempts: task.attempts,
      finishedAt: task.finishedAt,
      outputs: task.outputs?.scalars ?? null,
      error: error ? error.message : null,
      errorStack: error?.stack ?? null,
    });
    this.complete(task, status, error?.message, true);
  }

  private skip(node: GraphNode, reason: string): void {
    if (node.kind === 'task') {
      node.reason = reason;
      const now = Date.now();
      this.write({
        op: 'putTask',
        task: {
          id: this.taskId(node),
          runId: this.runId,
          name: node.name,
          specTask: node.spec.name,
          component: node.spec.component,
          status: 'skipped',
          attempts: node.attempts,
          cacheKey: null,
          cachedFrom: null,
          params: null,
          outputs: null,
          startedAt: null,
          finishedAt: now,
          exitCode: null,
          error: null,
          errorStack: null,
          reason,
        },
      });
      this.complete(node, 'skipped', undefined, false, reason);
    } else {
      this.settle(node, 'skipped');
    }
  }

  private fail(node: GraphNode, message: string): void {
    if (node.kind === 'task') {
      node.startedAt = Date.now();
      this.recordTaskStart(node, null, null);
      node.error = message;
      this.settleTask(node, 'failed', new TaskFailedError(`task '${node.name}': ${message}`));
    } else {
      this.log(undefined, 'log', `loop '${node.name}' failed: ${message}`);
      this.loopFailure ??= `loop '${node.name}': ${message}`;
      this.settle(node, 'failed');
    }
  }

  private complete(
    task: TaskInstance,
    status: TaskStatus,
    error: string | undefined,
    ran: boolean,
    reason?: string,
  ): void {
    task.finishedAt = task.finishedAt ?? Date.now();
    this.reporter.taskEnded?.(task.name, {
      status,
      attempts: task.attempts,
      durationMs: ran && task.startedAt ? task.finishedAt - task.startedAt : 0,
      error,
      reason,
    });
    this.settle(task, status);
  }

  /** Marks a node finished and notifies its dependents and enclosing loop. */
  private settle(node: GraphNode, status: TaskStatus): void {
    node.status = status;
    if (status === 'failed') this.anyFailed = true;
    for (const dependent of node.dependents) {
      this.noteDependencyOutcome(dependent, node);
      if (--dependent.waiting === 0) this.onDependenciesDone(dependent);
    }
    node.dependents = [];
    if (!node.exitHandler) {
      const parent = node.loops.at(-1);
      if (parent) {
        // An iteration that failed, or was skipped because something upstream failed, fails the
        // loop: a collect() after it must not run on a partial list. Condition skips are fine.
        if (status === 'failed' || (status === 'skipped' && node.failedUpstream)) parent.anyFailed = true;
        if (--parent.remaining === 0 && parent.status === 'running') this.finishLoop(parent);
      }
      this.open--;
      this.maybeReleaseExitHandlers();
    }
    this.maybeFinish();
  }

  private maybeReleaseExitHandlers(): void {
    if (this.exitReleased || this.open > 0) return;
    this.exitReleased = true;
    for (const handler of this.exitHandlers) {
      if (--handler.waiting === 0) this.onDependenciesDone(handler);
    }
  }

  private maybeFinish(): void {
    if (!this.exitReleased || this.inFlight > 0) return;
    if (this.exitHandlers.some((h) => !TERMINAL.has(h.status))) return;
    this.finish();
  }

  // ---- values -------------------------------------------------------------------------------

  private runFacts() {
    return {
      id: this.runId,
      pipeline: this.spec.name,
      status: this.controller.signal.aborted ? 'canceled' : this.anyFailed ? 'failed' : 'succeeded',
      params: this.params,
    };
  }

  private resolveValue(node: GraphNode, ref: ValueRef): unknown {
    switch (ref.kind) {
      case 'literal':
        return ref.value;
      case 'param':
        return this.params[ref.name];
      case 'template':
        return renderTemplate(ref.template, this.runFacts());
      case 'item': {
        const loop = node.loops.find((l) => l.spec.name === ref.loop);
        if (!loop?.items) throw new Error(`item of loop '${ref.loop}' is not available here`);
        const index = node.scope[loop.scope.length]!;
        return itemAt(loop.items[index], ref.path, `${node.name}`);
      }
      case 'output': {
        const producer = this.producerOf(node, ref.task) as TaskInstance;
        const outputs = producer.outputs;
        if (!outputs) throw new Error(`task '${producer.name}' has no outputs`);
        if (ref.output in outputs.scalars) return outputs.scalars[ref.output];
        if (ref.output in outputs.artifacts) return outputs.artifacts[ref.output];
        throw new Error(`task '${producer.name}' did not produce output '${ref.output}'`);
      }
      case 'collect':
        return this.collected(node, ref.task, ref.output);
    }
  }

  private producerOf(node: GraphNode, taskName: string): GraphNode {
    return this.dependencyNode(node, this.chainOf(node.spec.loop), taskName);
  }

  private collected(node: GraphNode, taskName: string, output: string): unknown[] {
    const loop = this.producerOf(node, taskName) as LoopInstance;
    const values: unknown[] = [];
    for (let i = 0; i < (loop.items?.length ?? 0); i++) {
      const instance = this.nodes.get(taskName + suffix([...loop.scope, i])) as TaskInstance | undefined;
      if (!instance || !DONE_OK.has(instance.status) || !instance.outputs) continue;
      const outputs = instance.outputs;
      values.push(output in outputs.artifacts ? outputs.artifacts[output] : outputs.scalars[output]);
    }
    return values;
  }

  private resolveArtifacts(task: TaskInstance, ref: ValueRef): InputArtifactRef | InputArtifactRef[] {
    const value = this.resolveValue(task, ref);
    const toRef = (artifact: unknown): InputArtifactRef => {
      const a = artifact as ArtifactRecord;
      if (!a || typeof a !== 'object' || typeof a.uri !== 'string') {
        throw new Error(`expected an artifact, got ${JSON.stringify(artifact)}`);
      }
      return { id: a.id, type: a.type, uri: a.uri, hash: a.hash, size: a.size, metadata: a.metadata };
    };
    return Array.isArray(value) ? value.map(toRef) : toRef(value);
  }

  // ---- logs and store writes -----------------------------------------------------------------

  /** `terminal: false` records a line for the store only (the reporter already said it its own way). */
  private log(
    task: TaskInstance | undefined,
    stream: 'stdout' | 'stderr' | 'log',
    line: string,
    terminal = true,
  ): void {
    // Lines a LineSplitter already cut are a little over the limit, with their note: kept as they are.
    if (line.length > MAX_LOG_LINE_CHARS + 100) {
      line = `${line.slice(0, MAX_LOG_LINE_CHARS)} … [line cut: ${line.length - MAX_LOG_LINE_CHARS} more characters]`;
    }
    const name = task?.name ?? '(run)';
    if (terminal) this.reporter.log?.(name, stream, line);
    if (!task) return;
    const id = this.taskId(task);
    const seq = (this.logSeq.get(id) ?? 0) + 1;
    this.logSeq.set(id, seq);
    // A task that logs without end must not fill the database: past the limit, lines reach the
    // terminal only, and one stored line says so.
    if (seq > MAX_STORED_LOG_LINES + 1) return;
    if (seq === MAX_STORED_LOG_LINES + 1) {
      line = `… further lines of this task are not stored (limit: ${MAX_STORED_LOG_LINES} per run)`;
      stream = 'log';
    }
    this.logs.push({ taskId: id, attempt: task.attempts, seq, ts: Date.now(), stream, line });
    this.scheduleFlush();
  }

  /** A task's tracking event, checked now (so a bad one fails at its call) and written batched. */
  private track(task: TaskInstance, event: TrackingEvent): void {
    const taskId = this.taskId(task);
    switch (event.kind) {
      case 'metric': {
        const key = checkTrackingKey('metric', event.key);
        const { value, step = 0, timestamp = Date.now() } = event;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new LatheError('BAD_METRIC', `metric '${key}': ${String(value)} is not a finite number`);
        }
        if (!Number.isInteger(step) || step < 0) {
          throw new LatheError('BAD_METRIC', `metric '${key}': step ${String(step)} must be an integer >= 0`);
        }
        this.metricPoints.push({ runId: this.runId, taskId, key, value, step, timestamp });
        this.scheduleFlush();
        return;
      }
      case 'param': {
        const key = checkTrackingKey('param', event.key);
        const json = JSON.stringify(event.value ?? null);
        const stored = this.loggedParams.get(key);
        if (stored !== undefined) {
          if (stored !== json) throw new ParamConflictError(this.runId, key, JSON.parse(stored), event.value);
          return;
        }
        this.loggedParams.set(key, json);
        this.write({ op: 'putParams', runId: this.runId, taskId, params: { [key]: event.value ?? null } });
        return;
      }
      case 'tag': {
        const key = checkTrackingKey('tag', event.key);
        if (typeof event.value !== 'string') {
          throw new LatheError('BAD_TAG', `tag '${key}': the value must be a string`);
        }
        this.write({ op: 'setTags', runId: this.runId, tags: { [key]: event.value } });
        return;
      }
    }
  }

  /**
   * Every run tracks its tasks' Metrics outputs: the top-level numbers become metric points named
   * `task.metric` (step 0), also for cached tasks, since each run records what it produced.
   */
  private trackMetricsOutputs(task: TaskInstance): void {
    for (const artifact of Object.values(task.outputs?.artifacts ?? {})) {
      if (artifact.type !== 'Metrics') continue;
      const metrics = artifact.metadata.metrics;
      if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) continue;
      const timestamp = Date.now();
      for (const [name, value] of Object.entries(metrics as Record<string, unknown>)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        const key = `${task.name}.${name}`;
        if (key.length > 250) continue;
        this.metricPoints.push({
          runId: this.runId,
          taskId: this.taskId(task),
          key,
          value,
          step: 0,
          timestamp,
        });
      }
    }
    this.scheduleFlush();
  }

  private write(op: StoreOp): void {
    this.ops.push(op);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Commits buffered writes, one transaction per batch, in order. */
  private flush(): Promise<void> {
    if (this.logs.length > 0) {
      this.ops.push({ op: 'putLogs', logs: this.logs });
      this.logs = [];
    }
    if (this.metricPoints.length > 0) {
      this.ops.push({ op: 'putMetrics', points: this.metricPoints });
      this.metricPoints = [];
    }
    if (this.ops.length === 0) return this.flushChain;
    const batch = this.ops;
    this.ops = [];
    this.flushGeneration++;
    this.flushChain = this.flushChain.then(() =>
      this.store.commit(batch).catch((error) => {
        this.flushError ??= error;
        this.cancel();
      }),
    );
    return this.flushChain;
  }

  private summary(status: RunStatus): RunSummary {
    const counts = emptyTaskCounts();
    const tasks: RunSummary['tasks'] = [];
    let firstError: string | undefined;
    for (const node of this.nodes.values()) {
      if (node.kind !== 'task') continue;
      counts[node.status]++;
      if (node.status === 'failed' && !firstError) {
        const error = node.error ?? 'failed';
        firstError = error.startsWith(`task '${node.name}'`) ? error : `task '${node.name}': ${error}`;
      }
      tasks.push({
        name: node.name,
        status: node.status,
        attempts: node.attempts,
        durationMs: node.startedAt && node.finishedAt ? node.finishedAt - node.startedAt : null,
        error: node.error,
        reason: node.reason,
        outputs: node.outputs
          ? { ...node.outputs.scalars, ...artifactSummaries(node.outputs.artifacts) }
          : undefined,
      });
    }
    return {
      runId: this.runId,
      pipeline: this.spec.name,
      status,
      durationMs: Date.now() - this.startedAt,
      counts,
      tasks,
      error: this.flushError
        ? `metadata store: ${(this.flushError as Error).message}`
        : (firstError ?? this.loopFailure),
    };
  }
}

function artifactSummaries(artifacts: Record<string, ArtifactRecord>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(artifacts).map(([name, a]) => [
      name,
      { id: a.id, type: a.type, hash: a.hash, uri: a.uri },
    ]),
  );
}

/** Errors that no retry can fix: bad params, a missing component. */
function isPermanent(error: Error): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'PARAM_INVALID' ||
    code === 'COMPONENT_NOT_FOUND' ||
    code === 'OUTPUT_INVALID' ||
    code === 'INPUT_MODIFIED'
  );
}
