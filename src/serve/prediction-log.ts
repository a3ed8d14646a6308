/**
 * Prediction logging for `lathe serve`: a sampled share of the rows served (inputs, prediction,
 * model version) is written as NDJSON Dataset artifacts, recorded as outputs of the server's own
 * run (a run of pipeline `serve`, task `predictions`), so `lathe runs show`, `lathe lineage` and
 * lathe/data's statistics and drift tools read them like any dataset.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededUniform } from '../ml/gbdt-binning.js';
import type { Label } from '../ml/metrics.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { openStandaloneRunOps, standaloneTask } from '../store/standalone-run.js';

export interface PredictionLogOptions {
  store: MetadataStore;
  artifacts: ArtifactStore;
  /** Scratch directory on the artifact store's filesystem. */
  workRoot: string;
  /** Share of rows kept, 0–1. */
  sampleRate: number;
  /** Write a Dataset artifact every this many kept rows. Default 10,000. */
  flushRows?: number;
  /** …and at least this often, ms. Default 60,000. */
  flushMs?: number;
  /** What the server serves, recorded as the run's params. */
  params: Record<string, unknown>;
  log?: (line: string) => void;
}

/** Row columns the log adds; inputs keep their own names. */
export const LOG_COLUMNS = ['_model', '_model_version', '_prediction', '_request_id', '_timestamp'] as const;

export class PredictionLog {
  readonly runId = `${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
  private readonly taskId = `${this.runId}/predictions`;
  private rows: Record<string, unknown>[] = [];
  private written = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private started = false;
  /** Seeded sampling: each row is kept with probability `rate`, whatever its position. */
  private readonly random = seededUniform(0x5eed);

  constructor(private readonly options: PredictionLogOptions) {
    if (!(options.sampleRate > 0 && options.sampleRate <= 1)) {
      throw new RangeError(`the prediction log's sample rate must be in (0, 1] (got ${options.sampleRate})`);
    }
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 60_000);
    this.timer.unref();
  }

  /** Opens the server's run and its `predictions` task in the store. */
  async start(): Promise<void> {
    const now = Date.now();
    await this.options.store.commit([
      ...openStandaloneRunOps(
        {
          id: this.runId,
          name: 'serve',
          digest: 'serve',
          spec: { kind: 'serve' },
          params: this.options.params,
          source: null,
        },
        now,
      ),
      {
        op: 'putTask',
        task: standaloneTask(
          this.runId,
          'predictions',
          'lathe.serve',
          { sampleRate: this.options.sampleRate },
          now,
        ),
      },
    ]);
    this.started = true;
  }

  /** Keeps the sampled share of a request's rows. */
  record(
    model: string,
    version: number,
    rows: readonly Record<string, unknown>[],
    predictions: readonly Label[],
    requestId: string | undefined,
  ): void {
    const rate = this.options.sampleRate;
    const now = Date.now();
    for (let i = 0; i < rows.length; i++) {
      if (this.random() >= rate) continue;
      this.rows.push({
        ...rows[i],
        _model: model,
        _model_version: version,
        _prediction: predictions[i],
        _request_id: requestId ?? null,
        _timestamp: new Date(now).toISOString(),
      });
    }
    if (this.rows.length >= (this.options.flushRows ?? 10_000)) void this.flush();
  }

  /** Writes the kept rows as one Dataset artifact (nothing when there are none). */
  flush(): Promise<void> {
    if (!this.started || this.rows.length === 0) return this.chain;
    const rows = this.rows;
    this.rows = [];
    this.chain = this.chain.then(async () => {
      try {
        mkdirSync(this.options.workRoot, { recursive: true });
        const file = join(this.options.workRoot, `predictions-${this.runId}-${this.written}.ndjson`);
        writeFileSync(file, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
        const stored = await this.options.artifacts.put(file, { move: true });
        const id = `a_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
        const now = Date.now();
        const versions = [...new Set(rows.map((r) => `${r._model}@${r._model_version}`))];
        await this.options.store.commit([
          {
            op: 'putArtifact',
            artifact: {
              id,
              type: 'Dataset',
              uri: stored.uri,
              hash: stored.hash,
              size: stored.size,
              metadata: {
                format: 'ndjson',
                rows: rows.length,
                models: versions,
                sampleRate: this.options.sampleRate,
              },
              createdAt: now,
            },
          },
          {
            op: 'putEvent',
            event: {
              runId: this.runId,
              taskId: this.taskId,
              artifactId: id,
              kind: 'output',
              name: `predictions[${this.written}]`,
              cached: false,
              createdAt: now,
            },
          },
        ]);
        this.written++;
        this.options.log?.(`logged ${rows.length} predictions as artifact ${id}`);
      } catch (error) {
        this.options.log?.(`could not write the prediction log: ${(error as Error).message}`);
      }
    });
    return this.chain;
  }

  /** Writes the rest and marks the server's run finished. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (!this.started) return;
    const now = Date.now();
    await this.options.store.commit([
      { op: 'updateTask', id: this.taskId, patch: { status: 'succeeded', finishedAt: now } },
      { op: 'updateRun', id: this.runId, patch: { status: 'succeeded', finishedAt: now } },
    ]);
  }
}
