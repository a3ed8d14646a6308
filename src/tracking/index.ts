/**
 * `lathe/tracking`: experiment tracking from outside pipelines (a notebook, a script, a training
 * loop). A tracked run is a run like a pipeline's, in the same workspace: `lathe runs list`,
 * `runs show` and `runs compare` see it. Metric points are buffered and written in chunks of up
 * to 10,000 per transaction, never one round trip per call.
 */
import { randomBytes } from 'node:crypto';
import { ARTIFACT_TYPES } from '../dsl/vocabulary.js';
import { newRunId } from '../engine/run-engine.js';
import { LatheError } from '../errors.js';
import { openWorkspace, type Workspace } from '../runtime/workspace.js';
import type { ArtifactTypeName } from '../spec/schema.js';
import type { MetricPoint, RunStatus, StoreOp } from '../store/metadata-store.js';
import { openStandaloneRunOps, standaloneTask } from '../store/standalone-run.js';
import { checkTrackingKey, ParamConflictError } from '../store/tracking.js';

export interface TrackRunOptions {
  /** The experiment: tracked runs of one experiment list together (as a pipeline's runs do). */
  experiment: string;
  /** Workspace directory; default `$LATHE_HOME` or `./.lathe` (created if missing). */
  home?: string;
  params?: Record<string, unknown>;
  tags?: Record<string, string>;
}

/** Points written per transaction. */
const CHUNK = 10_000;
/** Buffered points are written at least this often (ms). */
const FLUSH_INTERVAL_MS = 1_000;

export class TrackedRun {
  private points: MetricPoint[] = [];
  private ops: StoreOp[] = [];
  private readonly params = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private error: unknown;
  private ended = false;
  private taskStored = false;
  private readonly artifactNames = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly id: string,
    readonly experiment: string,
    private readonly workspace: Workspace,
  ) {
    this.timer = setInterval(() => this.backgroundFlush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** @internal */
  static async open(options: TrackRunOptions): Promise<TrackedRun> {
    const experiment = options.experiment;
    if (typeof experiment !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,127}$/.test(experiment)) {
      throw new LatheError(
        'BAD_EXPERIMENT',
        `experiment name ${JSON.stringify(experiment)} is not valid: a letter or digit, then letters, digits, spaces, _ . - (at most 128)`,
      );
    }
    const workspace = openWorkspace({ home: options.home });
    const now = Date.now();
    const id = newRunId();
    const digest = `experiment:${experiment}`;
    try {
      await workspace.store.commit(
        openStandaloneRunOps(
          {
            id,
            name: experiment,
            digest,
            spec: { kind: 'experiment', name: experiment },
            params: options.params ?? {},
            source: process.argv[1] ?? null,
          },
          now,
        ),
      );
    } catch (error) {
      await workspace.close();
      throw error;
    }
    const run = new TrackedRun(id, experiment, workspace);
    if (options.params) run.logParams(options.params);
    for (const [key, value] of Object.entries(options.tags ?? {})) run.setTag(key, value);
    return run;
  }

  /** A param (immutable: the same name with another value throws ParamConflictError). */
  logParam(key: string, value: unknown): void {
    this.open();
    checkTrackingKey('param', key);
    const json = JSON.stringify(value ?? null);
    const stored = this.params.get(key);
    if (stored !== undefined) {
      if (stored !== json) throw new ParamConflictError(this.id, key, JSON.parse(stored), value);
      return;
    }
    this.params.set(key, json);
    this.ops.push({ op: 'putParams', runId: this.id, taskId: null, params: { [key]: value ?? null } });
  }

  logParams(params: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(params)) this.logParam(key, value);
  }

  /** A metric point: `step` (default 0) orders a series; `timestamp` defaults to now. */
  logMetric(key: string, value: number, step = 0, timestamp = Date.now()): void {
    this.open();
    checkTrackingKey('metric', key);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new LatheError('BAD_METRIC', `metric '${key}': ${String(value)} is not a finite number`);
    }
    if (!Number.isInteger(step) || step < 0) {
      throw new LatheError('BAD_METRIC', `metric '${key}': step ${String(step)} must be an integer >= 0`);
    }
    this.points.push({ runId: this.id, taskId: null, key, value, step, timestamp });
    if (this.points.length >= CHUNK) this.backgroundFlush();
  }

  logMetrics(metrics: Record<string, number>, step = 0): void {
    const timestamp = Date.now();
    for (const [key, value] of Object.entries(metrics)) this.logMetric(key, value, step, timestamp);
  }

  setTag(key: string, value: string): void {
    this.open();
    checkTrackingKey('tag', key);
    if (typeof value !== 'string')
      throw new LatheError('BAD_TAG', `tag '${key}': the value must be a string`);
    this.ops.push({ op: 'setTags', runId: this.id, tags: { [key]: value } });
  }

  /** Writes what is buffered; resolves when it is stored. A write error is thrown here (and by end). */
  flush(): Promise<void> {
    const batches: StoreOp[][] = [];
    if (this.ops.length > 0 || this.points.length > 0) {
      const points = this.points;
      const first: StoreOp[] = this.ops;
      this.ops = [];
      this.points = [];
      for (let i = 0; i < points.length || (i === 0 && first.length > 0); i += CHUNK) {
        const batch: StoreOp[] = i === 0 ? first : [];
        const chunk = points.slice(i, i + CHUNK);
        if (chunk.length > 0) batch.push({ op: 'putMetrics', points: chunk });
        batches.push(batch);
      }
    }
    for (const batch of batches) {
      this.chain = this.chain.then(() =>
        this.workspace.store.commit(batch).catch((error) => {
          this.error ??= error;
        }),
      );
    }
    return this.chain.then(() => {
      if (this.error) throw this.error;
    });
  }

  /**
   * Stores a local file or directory as an artifact of the run (copied into the workspace's
   * content-addressed store), as output `name` of the run's `tracked` task: `lathe runs show`
   * lists it and `lathe lineage` finds it. Resolves to the artifact id.
   */
  async logArtifact(
    path: string,
    options: { name: string; type?: ArtifactTypeName; metadata?: Record<string, unknown> },
  ): Promise<string> {
    this.open();
    const name = checkTrackingKey('param', options.name);
    const type = options.type ?? 'Artifact';
    if (!(ARTIFACT_TYPES as readonly string[]).includes(type)) {
      throw new LatheError(
        'BAD_ARTIFACT',
        `artifact type '${type}' is not one of ${ARTIFACT_TYPES.join(', ')}`,
      );
    }
    if (this.artifactNames.has(name)) {
      throw new LatheError('BAD_ARTIFACT', `run ${this.id} already has an artifact named '${name}'`);
    }
    this.artifactNames.add(name);
    const stored = await this.workspace.artifacts.put(path);
    const now = Date.now();
    const id = `a_${now.toString(36)}${randomBytes(6).toString('hex')}`;
    const ops: StoreOp[] = [];
    if (!this.taskStored) {
      ops.push({ op: 'putTask', task: standaloneTask(this.id, 'tracked', 'lathe.tracking', null, now) });
      this.taskStored = true;
    }
    ops.push(
      {
        op: 'putArtifact',
        artifact: {
          id,
          type,
          uri: stored.uri,
          hash: stored.hash,
          size: stored.size,
          metadata: options.metadata ?? {},
          createdAt: now,
        },
      },
      {
        op: 'putEvent',
        event: {
          runId: this.id,
          taskId: `${this.id}/tracked`,
          artifactId: id,
          kind: 'output',
          name,
          cached: false,
          createdAt: now,
        },
      },
    );
    this.ops.push(...ops);
    await this.flush();
    return id;
  }

  /** Writes the rest, records the run as finished and closes the workspace. */
  async end(
    status: Extract<RunStatus, 'succeeded' | 'failed' | 'canceled'> = 'succeeded',
    error?: string,
  ): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    let writeError: unknown;
    try {
      await this.flush();
    } catch (error) {
      writeError = error;
    }
    try {
      // A run whose buffered writes failed ends as failed, saying why, rather than 'running'.
      const final = writeError ? 'failed' : status;
      const message = writeError
        ? `tracking writes failed: ${(writeError as Error).message}`
        : (error ?? null);
      const now = Date.now();
      await this.workspace.store.commit([
        ...(this.taskStored
          ? [
              {
                op: 'updateTask' as const,
                id: `${this.id}/tracked`,
                patch: {
                  status: final === 'succeeded' ? ('succeeded' as const) : ('failed' as const),
                  finishedAt: now,
                },
              },
            ]
          : []),
        { op: 'updateRun', id: this.id, patch: { status: final, finishedAt: now, error: message } },
      ]);
    } finally {
      await this.workspace.close();
    }
    if (writeError) throw writeError;
  }

  /** A flush nobody awaits: its error is kept for the next flush() or end(), not left unhandled. */
  private backgroundFlush(): void {
    this.flush().catch(() => {});
  }

  private open(): void {
    if (this.ended) throw new LatheError('RUN_ENDED', `run ${this.id} has ended: start another to log more`);
  }
}

/**
 * Starts a tracked run in the workspace. Log with `logParam(s)`, `logMetric(s)` and `setTag`, then
 * `await run.end()` (or `end('failed', message)`).
 *
 * ```ts
 * const run = await trackRun({ experiment: 'churn', params: { lr: 0.1 } });
 * for (let epoch = 0; epoch < 100; epoch++) run.logMetric('loss', loss(epoch), epoch);
 * await run.end();
 * ```
 */
export function trackRun(options: TrackRunOptions): Promise<TrackedRun> {
  return TrackedRun.open(options);
}
