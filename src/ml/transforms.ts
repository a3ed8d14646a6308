/**
 * Feature transforms without training/serving skew (the idea of TFX Transform), in pure TypeScript.
 *
 * A `TransformSpec` names, per input column, a chain of transforms (impute, scale, log, bucketize,
 * encode, or a custom expression). `fitTransform(spec, trainingRows)` computes every statistic the
 * chain needs (means, scales, quantile boundaries, category vocabularies) into a `FittedTransform`,
 * a plain JSON-serializable object. `applyTransform(fitted, rows)` then turns rows into a dense
 * numeric matrix with named columns — the same code path at training, evaluation and serving, and
 * the fit itself produces its statistics by running exactly that code, so applying a fitted
 * transform to its training rows gives exactly what the fit saw. A `FittedTransform` round-trips
 * through `JSON.stringify`/`JSON.parse` with bit-identical output, and applying it to one row at a
 * time equals applying it to all rows (nothing depends on the batch).
 *
 * Each step equals its scikit-learn 1.2.1 counterpart (numpy 1.24), fitted on one column:
 * - `impute` = `SimpleImputer` (mean, median, most_frequent — ties go to the smallest value — and
 *   constant, whose default is 0 for numbers and `'missing_value'` for strings);
 * - `standard_scale` = `StandardScaler` (population std; a (near-)constant column scales by 1, so it
 *   maps to 0), computed with numpy's pairwise summation and sklearn's two-pass correction;
 * - `min_max_scale` = `MinMaxScaler(feature_range=(min, max))` (no clipping: unseen values outside
 *   the training range extrapolate). A constant training column has range 0, which scikit-learn
 *   replaces by 1: the column then maps to `min` (0 by default). This module does the same rather
 *   than throwing;
 * - `bucketize` with `boundaries` = `numpy.digitize(x, boundaries, right=False)` (the number of
 *   boundaries ≤ x); with `quantiles: n` = `KBinsDiscretizer(n_bins=n, strategy='quantile',
 *   encode='ordinal', subsample=None)`: linear-interpolated percentiles of the training column,
 *   bins narrower than 1e-8 dropped, a constant column giving a single bucket 0;
 * - `one_hot` = `OneHotEncoder(sparse_output=False)` with categories sorted (numbers ascending,
 *   strings by code point); `unseen: 'ignore'` = `handle_unknown='ignore'` (all zeros),
 *   `unseen: 'other'` adds a last column for unseen (and, with `maxCategories`, infrequent)
 *   categories — with `maxCategories: k` it equals `handle_unknown='infrequent_if_exist',
 *   max_categories=k + 1` (the k most frequent categories kept; among equal counts the ones sorting
 *   last are kept, as scikit-learn does);
 * - `ordinal` = `OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=unseenValue)`
 *   for `unseen: 'value'` (default -1), `handle_unknown='error'` for `unseen: 'error'`.
 *
 * Values: a cell is a number, a string, a boolean (read as 1/0, as numpy does) or missing (`null`,
 * `undefined` or NaN — NaN is scikit-learn's default missing marker). ±Infinity is always an error
 * (scikit-learn's `check_array` rejects it too). A missing value must be imputed before any other
 * step; an output cell must be a finite number. Differences from scikit-learn: missing values are
 * an error in `standard_scale`/`min_max_scale` (sklearn ignores NaN in fit and passes it through)
 * and in `one_hot`/`ordinal` (sklearn 1.2 can treat NaN/None as a category); numeric categories are
 * named `city_1` rather than `city_1.0`; a column entirely missing in training is an error for the
 * mean/median/most_frequent imputers (sklearn drops it with a warning).
 *
 * `expression` steps compile JavaScript with `new Function('row', ...)`: a `FittedTransform`
 * holding one is code, so only load fitted transforms from a trusted source. The expression sees
 * the raw input row, must not mutate it, and must return a finite number.
 *
 * Every bad input throws a `TransformError` (a `RangeError`) whose message starts with the column
 * and the row index (`column 'age', row 3: ...`) and which carries them as `column`/`row`.
 */

import { pairwiseSum } from './metrics.js';

// ----------------------------------------------------------------------------------------------
// public types

/** A category of `one_hot`/`ordinal` (booleans are read as 1/0). */
export type Category = number | string;

export type ImputeStrategy = 'mean' | 'median' | 'most_frequent' | 'constant';

export interface ImputeTransform {
  kind: 'impute';
  strategy: ImputeStrategy;
  /** For `constant`: the fill value (default 0 for a numeric column, `'missing_value'` for strings). */
  value?: number | string;
}
export interface StandardScaleTransform {
  kind: 'standard_scale';
}
export interface MinMaxScaleTransform {
  kind: 'min_max_scale';
  /** Output range; defaults 0 and 1; `min < max`. */
  min?: number;
  max?: number;
}
export interface LogTransform {
  kind: 'log';
  /** log(x + offset); x + offset must be > 0. Default 0. */
  offset?: number;
}
export type BucketizeTransform =
  | { kind: 'bucketize' /** non-decreasing */; boundaries: number[]; quantiles?: undefined }
  | {
      kind: 'bucketize' /** number of quantile buckets (≥ 2), fitted */;
      quantiles: number;
      boundaries?: undefined;
    };
export interface OneHotTransform {
  kind: 'one_hot';
  /** A category not seen in training: throw (default), all zeros, or a 1 in an extra last column. */
  unseen?: 'error' | 'ignore' | 'other';
  /** Keep at most this many categories (the most frequent); the rest are treated as unseen. */
  maxCategories?: number;
}
export interface OrdinalTransform {
  kind: 'ordinal';
  /** A category not seen in training: throw (default) or encode as `unseenValue`. */
  unseen?: 'error' | 'value';
  /** Default -1; must not be the index of a category. */
  unseenValue?: number;
}
export interface ExpressionTransform {
  kind: 'expression';
  /** A JavaScript expression over `row`, e.g. `row.income / (row.household + 1)`. First step only. */
  expression: string;
}
export type ColumnTransform =
  | ImputeTransform
  | StandardScaleTransform
  | MinMaxScaleTransform
  | LogTransform
  | BucketizeTransform
  | OneHotTransform
  | OrdinalTransform
  | ExpressionTransform;

export interface TransformSpec {
  /**
   * Output columns in order: each runs its transforms in order on the input column of that name
   * (or, when the first transform is an `expression`, on the expression's value). `one_hot` may
   * only be last, `expression` only first. An empty list passes a numeric column through.
   */
  columns: Record<string, ColumnTransform[]>;
  /** Numeric input columns copied unchanged, after `columns`. */
  passthrough?: string[];
  /**
   * A missing value (null, undefined, NaN) that reaches an output: an error (default), or kept
   * as NaN for models that handle missing values themselves (gradient-boosted trees).
   */
  missing?: 'error' | 'keep';
}

/** A transform step with its fitted parameters. */
export type FittedStep =
  | { kind: 'impute'; strategy: ImputeStrategy; fill: Category }
  | { kind: 'standard_scale'; mean: number; variance: number; scale: number }
  | {
      kind: 'min_max_scale';
      min: number;
      max: number;
      dataMin: number;
      dataMax: number;
      /** output = x * scale + offset */
      scale: number;
      offset: number;
    }
  | { kind: 'log'; offset: number }
  | { kind: 'bucketize'; boundaries: number[]; quantiles?: number }
  | {
      kind: 'one_hot';
      categories: Category[];
      unseen: 'error' | 'ignore' | 'other';
      /** Training categories dropped by `maxCategories` (treated as unseen). */
      infrequent: Category[];
    }
  | { kind: 'ordinal'; categories: Category[]; unseen: 'error' | 'value'; unseenValue: number }
  | { kind: 'expression'; expression: string };

export interface FittedColumn {
  /** Input column (or expression output) name. */
  column: string;
  steps: FittedStep[];
  /** Output feature names this column produces. */
  features: string[];
}

export interface FittedTransform {
  version: 1;
  /** A JSON copy of the spec that was fitted (informational; `columns` drives `applyTransform`). */
  spec: TransformSpec;
  /** Output feature names, in matrix column order. */
  features: string[];
  /** Number of training rows. */
  nTrainingRows: number;
  columns: FittedColumn[];
}

export interface TransformedMatrix {
  features: string[];
  /** One `Float64Array` of `features.length` values per input row. */
  matrix: Float64Array[];
}

export type TransformRow = Record<string, unknown>;

/** Bad spec, bad fitted transform or bad input. `column`/`row` say where, when known. */
export class TransformError extends RangeError {
  readonly column: string | undefined;
  readonly row: number | undefined;
  constructor(message: string, column?: string, row?: number) {
    const where =
      column === undefined
        ? ''
        : row === undefined
          ? `column '${column}': `
          : `column '${column}', row ${row}: `;
    super(where + message);
    this.name = 'TransformError';
    this.column = column;
    this.row = row;
  }
}

// ----------------------------------------------------------------------------------------------
// values

/** A cell after reading: number (NaN = missing), string, or null (missing). */
type Cell = number | string | null;

const isMissing = (v: Cell): boolean => v === null || (typeof v === 'number' && Number.isNaN(v));

/** -0 → 0, so that fitted parameters survive JSON (which writes -0 as 0) unchanged. */
const noNegZero = (x: number): number => x + 0;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  return String(v);
}

function readCell(raw: unknown, column: string, row: number): Cell {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') {
    if (raw === Number.POSITIVE_INFINITY || raw === Number.NEGATIVE_INFINITY) {
      throw new TransformError(
        `${raw} is not allowed (only finite numbers; null/NaN mean missing)`,
        column,
        row,
      );
    }
    return raw;
  }
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'string') return raw;
  throw new TransformError(
    `unsupported value of type ${Array.isArray(raw) ? 'array' : typeof raw} (expected number, string, boolean or null)`,
    column,
    row,
  );
}

/** Numbers ascending, then strings by Unicode code point (numpy's / Python's order). */
export function compareCategories(a: Category, b: Category): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
}

/** The type of a column's non-missing values; throws on a mix of numbers and strings. */
function columnKind(values: readonly Cell[], column: string, step: string): 'number' | 'string' | 'empty' {
  let kind: 'number' | 'string' | 'empty' = 'empty';
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (isMissing(v)) continue;
    const k = typeof v === 'string' ? 'string' : 'number';
    if (kind === 'empty') {
      kind = k;
      first = i;
    } else if (k !== kind) {
      throw new TransformError(
        `${step}: the column mixes numbers and strings (${show(values[first])} in row ${first}, ${show(v)} here)`,
        column,
        i,
      );
    }
  }
  return kind;
}

function missingError(v: Cell, column: string, row: number, step: string): TransformError {
  return new TransformError(
    `${show(v)} is a missing value and there is no impute step before ${step} (NaN and null count as missing)`,
    column,
    row,
  );
}

/** The column as finite numbers, or a `TransformError` naming the first bad cell. */
function numeric(values: readonly Cell[], column: string, step: string): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === 'string')
      throw new TransformError(`string ${show(v)} in numeric step ${step}`, column, i);
    if (v === null || Number.isNaN(v)) throw missingError(v, column, i, step);
    out[i] = v;
  }
  return out;
}

/** The column as categories (no missing, not mixed). */
function categorical(values: readonly Cell[], column: string, step: string): Category[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (isMissing(v)) throw missingError(v, column, i, step);
  }
  columnKind(values, column, step);
  return values as Category[];
}

// ----------------------------------------------------------------------------------------------
// spec validation

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function checkStep(t: unknown, column: string, index: number, count: number): ColumnTransform {
  const bad = (msg: string) => new TransformError(`transform ${index}: ${msg}`, column);
  if (typeof t !== 'object' || t === null) throw bad('must be an object with a kind');
  const s = t as Record<string, unknown>;
  switch (s.kind) {
    case 'impute': {
      if (!['mean', 'median', 'most_frequent', 'constant'].includes(s.strategy as string)) {
        throw bad(`impute strategy must be mean, median, most_frequent or constant, got ${show(s.strategy)}`);
      }
      if (s.value !== undefined && !isFiniteNumber(s.value) && typeof s.value !== 'string') {
        throw bad(`impute value must be a finite number or a string, got ${show(s.value)}`);
      }
      if (s.value !== undefined && s.strategy !== 'constant')
        throw bad("impute value needs strategy 'constant'");
      break;
    }
    case 'standard_scale':
      break;
    case 'min_max_scale': {
      const min = s.min ?? 0;
      const max = s.max ?? 1;
      if (!isFiniteNumber(min) || !isFiniteNumber(max) || !(min < max)) {
        throw bad(`min_max_scale needs finite min < max, got min ${show(min)}, max ${show(max)}`);
      }
      break;
    }
    case 'log':
      if (s.offset !== undefined && !isFiniteNumber(s.offset))
        throw bad(`log offset must be finite, got ${show(s.offset)}`);
      break;
    case 'bucketize': {
      if ((s.boundaries === undefined) === (s.quantiles === undefined)) {
        throw bad('bucketize needs exactly one of boundaries and quantiles');
      }
      if (s.boundaries !== undefined) {
        const b = s.boundaries;
        if (!Array.isArray(b) || !b.every(isFiniteNumber)) {
          throw bad('bucketize boundaries must be finite numbers');
        }
        for (let i = 1; i < b.length; i++) {
          if (b[i]! < b[i - 1]!) throw bad(`bucketize boundaries must be non-decreasing (index ${i})`);
        }
      } else if (!Number.isInteger(s.quantiles) || (s.quantiles as number) < 2) {
        throw bad(`bucketize quantiles must be an integer ≥ 2, got ${show(s.quantiles)}`);
      }
      break;
    }
    case 'one_hot':
      if (index !== count - 1) throw bad('one_hot must be the last transform of its column');
      if (s.unseen !== undefined && !['error', 'ignore', 'other'].includes(s.unseen as string)) {
        throw bad(`one_hot unseen must be error, ignore or other, got ${show(s.unseen)}`);
      }
      if (
        s.maxCategories !== undefined &&
        (!Number.isInteger(s.maxCategories) || (s.maxCategories as number) < 1)
      ) {
        throw bad(`one_hot maxCategories must be an integer ≥ 1, got ${show(s.maxCategories)}`);
      }
      break;
    case 'ordinal':
      if (s.unseen !== undefined && s.unseen !== 'error' && s.unseen !== 'value') {
        throw bad(`ordinal unseen must be error or value, got ${show(s.unseen)}`);
      }
      if (s.unseenValue !== undefined && !isFiniteNumber(s.unseenValue)) {
        throw bad(`ordinal unseenValue must be a finite number, got ${show(s.unseenValue)}`);
      }
      break;
    case 'expression':
      if (index !== 0) throw bad('expression must be the first transform of its column');
      if (typeof s.expression !== 'string' || s.expression.trim() === '')
        throw bad('expression must be a non-empty string');
      compile(s.expression, column);
      break;
    default:
      throw bad(`unknown kind ${show(s.kind)}`);
  }
  return t as ColumnTransform;
}

function checkSpec(spec: TransformSpec): [string, ColumnTransform[]][] {
  if (
    typeof spec !== 'object' ||
    spec === null ||
    typeof spec.columns !== 'object' ||
    spec.columns === null
  ) {
    throw new TransformError('spec must be an object with columns');
  }
  const out: [string, ColumnTransform[]][] = [];
  for (const [column, steps] of Object.entries(spec.columns)) {
    if (!Array.isArray(steps)) throw new TransformError('transforms must be an array', column);
    out.push([column, steps.map((t, i) => checkStep(t, column, i, steps.length))]);
  }
  if (spec.missing !== undefined && spec.missing !== 'error' && spec.missing !== 'keep') {
    throw new TransformError(`missing must be 'error' or 'keep' (got ${show(spec.missing)})`);
  }
  const passthrough = spec.passthrough ?? [];
  if (!Array.isArray(passthrough) || !passthrough.every((c) => typeof c === 'string')) {
    throw new TransformError('passthrough must be an array of column names');
  }
  for (const column of passthrough) {
    if (out.some(([c]) => c === column)) {
      throw new TransformError('listed both in columns and in passthrough', column);
    }
    out.push([column, []]);
  }
  if (out.length === 0) throw new TransformError('the spec has no columns');
  return out;
}

// ----------------------------------------------------------------------------------------------
// expressions

type Compiled = (row: TransformRow) => unknown;
const compiled = new Map<string, Compiled>();

function compile(expression: string, column: string): Compiled {
  let fn = compiled.get(expression);
  if (fn === undefined) {
    try {
      fn = new Function('row', `'use strict';\nreturn (${expression}\n);`) as Compiled;
    } catch (e) {
      throw new TransformError(
        `expression ${show(expression)} does not compile: ${(e as Error).message}`,
        column,
      );
    }
    compiled.set(expression, fn);
  }
  return fn;
}

function evaluate(expression: string, rows: readonly TransformRow[], column: string): Cell[] {
  const fn = compile(expression, column);
  return rows.map((row, i) => {
    let v: unknown;
    try {
      v = fn(row);
    } catch (e) {
      throw new TransformError(
        `expression ${show(expression)} threw: ${(e as Error)?.message ?? show(e)}`,
        column,
        i,
      );
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TransformError(
        `expression ${show(expression)} must return a finite number, got ${show(v)}`,
        column,
        i,
      );
    }
    return v;
  });
}

// ----------------------------------------------------------------------------------------------
// fitting one step

const EPS = Number.EPSILON;

/** numpy `percentile(sorted, 100 * q)` with the default linear method (numpy 1.24's `_lerp`). */
function percentileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * q;
  let prev = Math.floor(virtual);
  let next = prev + 1;
  if (virtual >= n - 1) prev = next = n - 1;
  if (virtual < 0) prev = next = 0;
  const gamma = virtual - prev; // numpy's differs at the ends, where a === b and it does not matter
  const a = sorted[prev]!;
  const b = sorted[next]!;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** `KBinsDiscretizer(strategy='quantile')` fit: the inner bin edges. */
function quantileBoundaries(x: Float64Array, nBins: number): number[] {
  const sorted = Float64Array.from(x).sort();
  if (sorted[0] === sorted[sorted.length - 1]) return [];
  const edges: number[] = [];
  // np.linspace(0, 100, n + 1) / 100: i * (100 / n), the last exactly 100.
  for (let i = 0; i <= nBins; i++)
    edges.push(percentileSorted(sorted, (i === nBins ? 100 : i * (100 / nBins)) / 100));
  const kept = edges.filter((e, k) => k === 0 || e - edges[k - 1]! > 1e-8);
  return kept.slice(1, -1).map(noNegZero);
}

function fitStep(t: ColumnTransform, values: readonly Cell[], column: string): FittedStep {
  switch (t.kind) {
    case 'impute': {
      const kind = columnKind(values, column, 'impute');
      if (t.strategy === 'constant') {
        const fill = t.value ?? (kind === 'string' ? 'missing_value' : 0);
        if (kind !== 'empty' && (typeof fill === 'string') !== (kind === 'string')) {
          throw new TransformError(
            `impute constant ${show(fill)} does not match the column's ${kind} values`,
            column,
          );
        }
        return {
          kind: 'impute',
          strategy: 'constant',
          fill: typeof fill === 'number' ? noNegZero(fill) : fill,
        };
      }
      if (kind === 'empty') {
        throw new TransformError(
          `impute ${t.strategy}: the column has no non-missing training values`,
          column,
        );
      }
      const present = values.filter((v) => !isMissing(v)) as Category[];
      if (t.strategy === 'most_frequent') {
        const counts = new Map<Category, number>();
        for (const v of present) counts.set(v, (counts.get(v) ?? 0) + 1);
        let best: Category | undefined;
        let bestCount = 0;
        for (const [v, c] of counts) {
          if (c > bestCount || (c === bestCount && compareCategories(v, best!) < 0)) {
            best = v;
            bestCount = c;
          }
        }
        return {
          kind: 'impute',
          strategy: 'most_frequent',
          fill: typeof best === 'number' ? noNegZero(best) : best!,
        };
      }
      if (kind === 'string') {
        const i = values.findIndex((v) => typeof v === 'string');
        throw new TransformError(
          `impute ${t.strategy} needs numbers, got string ${show(values[i])}`,
          column,
          i,
        );
      }
      if (t.strategy === 'mean') {
        // np.ma.mean: the sum of the column with missing cells filled by 0, over the count.
        const filled = Float64Array.from(values, (v) => (isMissing(v) ? 0 : (v as number)));
        return { kind: 'impute', strategy: 'mean', fill: noNegZero(pairwiseSum(filled) / present.length) };
      }
      const sorted = Float64Array.from(present as number[]).sort();
      const h = sorted.length >> 1;
      const median = sorted.length % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
      return { kind: 'impute', strategy: 'median', fill: noNegZero(median) };
    }
    case 'standard_scale': {
      // sklearn.utils.extmath._incremental_mean_and_var from zero state, then _is_constant_feature.
      const x = numeric(values, column, 'standard_scale');
      const n = x.length;
      const mean = pairwiseSum(x) / n;
      const temp = x.map((v) => v - mean);
      const correction = pairwiseSum(temp);
      const squares = temp.map((v) => v * v);
      const variance = (pairwiseSum(squares) - (correction * correction) / n) / n;
      const bound = n * EPS * variance + (n * mean * EPS) ** 2;
      const scale = variance <= bound ? 1 : Math.sqrt(variance);
      return { kind: 'standard_scale', mean: noNegZero(mean), variance: noNegZero(variance), scale };
    }
    case 'min_max_scale': {
      const x = numeric(values, column, 'min_max_scale');
      const min = t.min ?? 0;
      const max = t.max ?? 1;
      let dataMin = x[0]!;
      let dataMax = x[0]!;
      for (const v of x) {
        if (v < dataMin) dataMin = v;
        if (v > dataMax) dataMax = v;
      }
      const range = dataMax - dataMin;
      // _handle_zeros_in_scale: a range below 10 eps (a constant column) counts as 1.
      const scale = (max - min) / (range < 10 * EPS ? 1 : range);
      const offset = min - dataMin * scale;
      return {
        kind: 'min_max_scale',
        min: noNegZero(min),
        max: noNegZero(max),
        dataMin: noNegZero(dataMin),
        dataMax: noNegZero(dataMax),
        scale: noNegZero(scale),
        offset: noNegZero(offset),
      };
    }
    case 'log':
      return { kind: 'log', offset: noNegZero(t.offset ?? 0) };
    case 'bucketize': {
      const x = numeric(values, column, 'bucketize');
      if (t.boundaries !== undefined) return { kind: 'bucketize', boundaries: t.boundaries.map(noNegZero) };
      return { kind: 'bucketize', boundaries: quantileBoundaries(x, t.quantiles), quantiles: t.quantiles };
    }
    case 'one_hot': {
      const cats = categorical(values, column, 'one_hot');
      const counts = new Map<Category, number>();
      for (const v of cats) counts.set(v, (counts.get(v) ?? 0) + 1);
      const sorted = [...counts.keys()]
        .map((c) => (typeof c === 'number' ? noNegZero(c) : c))
        .sort(compareCategories);
      const unseen = t.unseen ?? 'error';
      let categories = sorted;
      let infrequent: Category[] = [];
      if (t.maxCategories !== undefined && sorted.length > t.maxCategories) {
        if (unseen === 'error') {
          throw new TransformError(
            `one_hot: ${sorted.length} training categories exceed maxCategories ${t.maxCategories}; ` +
              "use unseen 'ignore' or 'other'",
            column,
          );
        }
        // OneHotEncoder._identify_infrequent: a stable ascending sort by count; the first
        // (n - maxCategories) are infrequent.
        const order = sorted
          .map((_, i) => i)
          .sort((a, b) => counts.get(sorted[a]!)! - counts.get(sorted[b]!)! || a - b);
        const drop = new Set(order.slice(0, sorted.length - t.maxCategories));
        categories = sorted.filter((_, i) => !drop.has(i));
        infrequent = sorted.filter((_, i) => drop.has(i));
      }
      return { kind: 'one_hot', categories, unseen, infrequent };
    }
    case 'ordinal': {
      const cats = categorical(values, column, 'ordinal');
      const categories = [...new Set(cats)]
        .map((c) => (typeof c === 'number' ? noNegZero(c) : c))
        .sort(compareCategories);
      const unseen = t.unseen ?? 'error';
      const unseenValue = noNegZero(t.unseenValue ?? -1);
      if (
        unseen === 'value' &&
        Number.isInteger(unseenValue) &&
        unseenValue >= 0 &&
        unseenValue < categories.length
      ) {
        throw new TransformError(
          `ordinal unseenValue ${unseenValue} is already the code of category ${show(categories[unseenValue])}`,
          column,
        );
      }
      return { kind: 'ordinal', categories, unseen, unseenValue };
    }
    case 'expression':
      return { kind: 'expression', expression: t.expression };
  }
}

// ----------------------------------------------------------------------------------------------
// applying

function oneHotNames(column: string, step: Extract<FittedStep, { kind: 'one_hot' }>): string[] {
  const names = step.categories.map((c) => `${column}_${c}`);
  if (step.unseen === 'other') names.push(`${column}_<other>`);
  return names;
}

function categoryIndex(categories: readonly Category[]): Map<Category, number> {
  return new Map(categories.map((c, i) => [c, i]));
}

function unseenError(
  v: Category,
  column: string,
  row: number,
  step: string,
  categories: readonly Category[],
) {
  const known = categories.length <= 10 ? categories.map(show).join(', ') : `${categories.length} categories`;
  return new TransformError(
    `${step}: category ${show(v)} was not seen in training (known: ${known})`,
    column,
    row,
  );
}

/** One non-terminal step over a column; returns the new column. */
function applyStep(step: FittedStep, values: Cell[], column: string): Cell[] {
  switch (step.kind) {
    case 'impute':
      return values.map((v) => (isMissing(v) ? step.fill : v));
    case 'standard_scale':
      return Array.from(numeric(values, column, 'standard_scale'), (v) => (v - step.mean) / step.scale);
    case 'min_max_scale':
      return Array.from(numeric(values, column, 'min_max_scale'), (v) => v * step.scale + step.offset);
    case 'log':
      return Array.from(numeric(values, column, 'log'), (v, i) => {
        const y = v + step.offset;
        if (!(y > 0)) {
          throw new TransformError(`log: x + offset = ${v} + ${step.offset} = ${y} is not > 0`, column, i);
        }
        return Math.log(y);
      });
    case 'bucketize': {
      const b = step.boundaries;
      return Array.from(numeric(values, column, 'bucketize'), (v) => {
        // numpy.digitize(right=False) = searchsorted(side='right'): the number of boundaries ≤ v.
        let lo = 0;
        let hi = b.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (b[mid]! <= v) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      });
    }
    case 'ordinal': {
      const index = categoryIndex(step.categories);
      return categorical(values, column, 'ordinal').map((v, i) => {
        const k = index.get(v);
        if (k !== undefined) return k;
        if (step.unseen === 'error') throw unseenError(v, column, i, 'ordinal', step.categories);
        return step.unseenValue;
      });
    }
    case 'expression':
      throw new TransformError('expression must be the first transform of its column', column);
    case 'one_hot':
      throw new TransformError('one_hot must be the last transform of its column', column);
  }
}

/** The output columns of one fitted column, each an array over rows. */
function outputColumns(fc: FittedColumn, values: Cell[], keepMissing: boolean): Float64Array[] {
  const last = fc.steps[fc.steps.length - 1];
  if (last?.kind === 'one_hot') {
    const cats = categorical(values, fc.column, 'one_hot');
    const index = categoryIndex(last.categories);
    const width = last.categories.length + (last.unseen === 'other' ? 1 : 0);
    const cols = Array.from({ length: width }, () => new Float64Array(values.length));
    cats.forEach((v, i) => {
      const k = index.get(v);
      if (k !== undefined) cols[k]![i] = 1;
      else if (last.unseen === 'other') cols[width - 1]![i] = 1;
      else if (last.unseen === 'error') throw unseenError(v, fc.column, i, 'one_hot', last.categories);
    });
    return cols;
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === 'string') {
      throw new TransformError(
        `output must be numeric, got string ${show(v)} (end a string column with one_hot or ordinal)`,
        fc.column,
        i,
      );
    }
    if (v === null || Number.isNaN(v)) {
      if (!keepMissing) throw missingError(v, fc.column, i, 'output');
      out[i] = Number.NaN;
      continue;
    }
    if (!Number.isFinite(v))
      throw new TransformError(`the transformed value ${v} is not finite`, fc.column, i);
    out[i] = v;
  }
  return [out];
}

function checkRows(rows: readonly TransformRow[], what: string): void {
  if (!Array.isArray(rows)) throw new TransformError(`${what} must be an array of row objects`);
  rows.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new TransformError(`${what}[${i}] must be an object (a row), got ${show(r)}`);
    }
  });
}

/** The column's input cells: the expression's values, or the row's cells (the column must exist). */
function inputCells(first: FittedStep | undefined, column: string, rows: readonly TransformRow[]): Cell[] {
  if (first?.kind === 'expression') return evaluate(first.expression, rows, column);
  return rows.map((row, i) => {
    if (!Object.hasOwn(row, column))
      throw new TransformError('the column is missing from the row', column, i);
    return readCell(row[column], column, i);
  });
}

function runColumn(fc: FittedColumn, rows: readonly TransformRow[], keepMissing: boolean): Float64Array[] {
  let values = inputCells(fc.steps[0], fc.column, rows);
  for (const step of fc.steps) {
    if (step.kind === 'expression' || step.kind === 'one_hot') continue;
    values = applyStep(step, values, fc.column);
  }
  return outputColumns(fc, values, keepMissing);
}

function assemble(features: string[], blocks: Float64Array[][], n: number): TransformedMatrix {
  const matrix = Array.from({ length: n }, () => new Float64Array(features.length));
  let j = 0;
  for (const block of blocks) {
    for (const col of block) {
      for (let i = 0; i < n; i++) matrix[i]![j] = col[i]!;
      j++;
    }
  }
  return { features, matrix };
}

// ----------------------------------------------------------------------------------------------
// public functions

/**
 * Fit `spec` on training rows: every statistic is computed from the training column as it is after
 * the previous steps (like a scikit-learn `Pipeline`). Throws a `TransformError` on an empty
 * training set, a bad spec, or any cell `applyTransform` would reject.
 */
export function fitTransform(spec: TransformSpec, rows: readonly TransformRow[]): FittedTransform {
  const columns = checkSpec(spec);
  checkRows(rows, 'training rows');
  if (rows.length === 0)
    throw new TransformError('the training set is empty: cannot fit a transform on 0 rows');
  const fitted: FittedColumn[] = [];
  const features: string[] = [];
  for (const [column, transforms] of columns) {
    const steps: FittedStep[] = [];
    const first = transforms[0];
    let values =
      first?.kind === 'expression'
        ? evaluate(first.expression, rows, column)
        : inputCells(undefined, column, rows);
    for (const t of transforms) {
      const step = fitStep(t, values, column);
      steps.push(step);
      if (step.kind !== 'expression' && step.kind !== 'one_hot') values = applyStep(step, values, column);
    }
    const last = steps[steps.length - 1];
    const names = last?.kind === 'one_hot' ? oneHotNames(column, last) : [column];
    const fc: FittedColumn = { column, steps, features: names };
    outputColumns(fc, values, spec.missing === 'keep'); // validates the training output (numeric, finite, no unseen)
    for (const name of names) {
      if (features.includes(name))
        throw new TransformError(`duplicate output feature name ${show(name)}`, column);
      features.push(name);
    }
    fitted.push(fc);
  }
  return {
    version: 1,
    spec: JSON.parse(JSON.stringify(spec)) as TransformSpec,
    features,
    nTrainingRows: rows.length,
    columns: fitted,
  };
}

const STEP_KINDS = new Set([
  'impute',
  'standard_scale',
  'min_max_scale',
  'log',
  'bucketize',
  'one_hot',
  'ordinal',
  'expression',
]);

function checkFitted(fitted: FittedTransform): void {
  if (
    typeof fitted !== 'object' ||
    fitted === null ||
    fitted.version !== 1 ||
    !Array.isArray(fitted.columns)
  ) {
    throw new TransformError('not a FittedTransform of version 1 (expected { version: 1, columns: [...] })');
  }
  const names = fitted.columns.flatMap((c) => c.features);
  if (!Array.isArray(fitted.features) || names.join('\u0000') !== fitted.features.join('\u0000')) {
    throw new TransformError('FittedTransform features do not match its columns');
  }
  for (const c of fitted.columns) {
    if (!Array.isArray(c.steps) || c.steps.some((s) => !STEP_KINDS.has(s?.kind))) {
      throw new TransformError('FittedTransform has an unknown step', c.column);
    }
  }
}

/**
 * Apply a fitted transform to rows (training, evaluation or serving — the same code path). The
 * result has one `Float64Array` per row, columns named by `features`. Throws a `TransformError`
 * naming the column and row of the first bad cell.
 */
export function applyTransform(fitted: FittedTransform, rows: readonly TransformRow[]): TransformedMatrix {
  checkFitted(fitted);
  checkRows(rows, 'rows');
  const keepMissing = fitted.spec?.missing === 'keep';
  const blocks = fitted.columns.map((fc) => runColumn(fc, rows, keepMissing));
  return assemble([...fitted.features], blocks, rows.length);
}

/** `applyTransform` on a single row (serving): the row's feature vector. */
export function applyTransformRow(fitted: FittedTransform, row: TransformRow): Float64Array {
  return applyTransform(fitted, [row]).matrix[0]!;
}
