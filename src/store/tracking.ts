/**
 * Experiment tracking records (MLflow tracking's model): per run, params (immutable: a key keeps
 * its first value), metrics (append-only points with a step and a timestamp) and tags (mutable
 * labels). Written through MetadataStore.commit ops (putParams, putMetrics, setTags), batched
 * like every other write.
 */
import { LatheError } from '../errors.js';

export interface MetricPoint {
  runId: string;
  /** The task that logged it; null for runs tracked from outside a pipeline. */
  taskId: string | null;
  key: string;
  value: number;
  step: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface ParamRecord {
  runId: string;
  key: string;
  value: unknown;
  taskId: string | null;
}

/** The last point of each metric of a run: the highest step, then the latest timestamp. */
export type LatestMetrics = Record<string, number>;

/** A param logged again with another value: params are immutable. */
export class ParamConflictError extends LatheError {
  constructor(runId: string, key: string, stored: unknown, given: unknown) {
    super(
      'PARAM_CONFLICT',
      `run ${runId}: param '${key}' is already ${JSON.stringify(stored)}; it cannot become ${JSON.stringify(given)} (params are immutable: log a metric or a tag for values that change)`,
    );
  }
}

const KEY = /^[A-Za-z0-9_\-./ :[\]]{1,250}$/;

/** Metric, param and tag keys: letters, digits, `_ - . / : [ ]` and spaces, at most 250. */
export function checkTrackingKey(kind: 'metric' | 'param' | 'tag', key: unknown): string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new LatheError(
      'BAD_TRACKING_KEY',
      `${kind} name ${JSON.stringify(key)} is not valid: use 1-250 letters, digits, spaces or _ - . / : [ ]`,
    );
  }
  return key;
}
