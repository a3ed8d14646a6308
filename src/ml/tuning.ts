/**
 * Hyperparameter search as a pipeline pattern: these functions make the candidate list that a
 * `parallelFor` fans out (one training task per candidate), and `ml.select-best` picks the
 * winner by a metric, recording every trial.
 */
import { seededUniform } from './gbdt-binning.js';

export type SearchValue = string | number | boolean | null;

/** A continuous or integer range for random search: uniform, or log-uniform with `log`. */
export interface SearchRange {
  min: number;
  max: number;
  log?: boolean;
  integer?: boolean;
}

function fail(message: string): never {
  throw new RangeError(message);
}

function checkName(name: string): void {
  if (name.length === 0) fail('a search space parameter needs a name');
}

/**
 * Every combination of the listed values, in a fixed order (the last parameter varies fastest),
 * e.g. `gridSearch({ learningRate: [0.05, 0.1], maxLeaves: [15, 31] })` gives four candidates.
 */
export function gridSearch(space: Record<string, readonly SearchValue[]>): Record<string, SearchValue>[] {
  const entries = Object.entries(space);
  if (entries.length === 0) fail('gridSearch: the search space is empty');
  let out: Record<string, SearchValue>[] = [{}];
  for (const [name, values] of entries) {
    checkName(name);
    if (!Array.isArray(values) || values.length === 0)
      fail(`gridSearch: '${name}' needs a non-empty list of values`);
    out = out.flatMap((partial) => values.map((value) => ({ ...partial, [name]: value })));
  }
  return out;
}

/**
 * `trials` candidates drawn with a seeded generator: a list is sampled uniformly, a range
 * uniformly (or log-uniformly with `log: true`, rounded with `integer: true`). The same seed gives
 * the same candidates.
 */
export function randomSearch(
  space: Record<string, readonly SearchValue[] | SearchRange>,
  options: { trials: number; seed?: number },
): Record<string, SearchValue>[] {
  const { trials, seed = 0 } = options;
  if (!Number.isInteger(trials) || trials < 1)
    fail(`randomSearch: trials must be an integer >= 1 (got ${trials})`);
  const entries = Object.entries(space);
  if (entries.length === 0) fail('randomSearch: the search space is empty');
  for (const [name, spec] of entries) {
    checkName(name);
    if (Array.isArray(spec)) {
      if (spec.length === 0) fail(`randomSearch: '${name}' needs a non-empty list of values`);
      continue;
    }
    const range = spec as SearchRange;
    if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) {
      fail(`randomSearch: '${name}' needs finite min <= max (got ${range.min}, ${range.max})`);
    }
    if (range.log && range.min <= 0) fail(`randomSearch: '${name}' is log-uniform, so min must be > 0`);
    if (range.integer && Math.ceil(range.min) > Math.floor(range.max)) {
      fail(`randomSearch: '${name}' is an integer range, but [${range.min}, ${range.max}] holds no integer`);
    }
  }
  const random = seededUniform(seed);
  return Array.from({ length: trials }, () => {
    const candidate: Record<string, SearchValue> = {};
    for (const [name, spec] of entries) {
      if (Array.isArray(spec)) {
        candidate[name] = spec[Math.floor(random() * spec.length)]!;
        continue;
      }
      const { min, max, log = false, integer = false } = spec as SearchRange;
      const u = random();
      let value = log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min);
      if (integer) value = Math.min(Math.floor(max), Math.max(Math.ceil(min), Math.round(value)));
      candidate[name] = value;
    }
    return candidate;
  });
}

export interface Trial {
  index: number;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}

/**
 * The best trial by `metric` (the first on ties). A trial without the metric, or with a
 * non-finite value, is an error naming it: a broken trial must not lose silently.
 */
export function bestTrial(trials: readonly Trial[], metric: string, greaterIsBetter = true): Trial {
  if (trials.length === 0) fail('no trials to choose from');
  let best: Trial | undefined;
  for (const trial of trials) {
    const value = trial.metrics[metric];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      fail(
        `trial ${trial.index} has no finite '${metric}' (metrics: ${Object.keys(trial.metrics).join(', ') || 'none'})`,
      );
    }
    if (!best || (greaterIsBetter ? value > best.metrics[metric]! : value < best.metrics[metric]!))
      best = trial;
  }
  return best!;
}
