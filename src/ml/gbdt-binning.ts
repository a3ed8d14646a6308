/**
 * Feature binning for gradient boosting, as scikit-learn's `_BinMapper`: up to 255 bins per
 * feature from the distinct values (midpoints) or quantiles (numpy's 'midpoint' percentiles) of
 * at most 200,000 sampled training rows; missing values (NaN) get bin 255.
 */

export const MAX_BINS = 255;
export const MISSING_BIN = 255;
const BINNING_SAMPLE = 200_000;

/** Column-wise numeric access to a feature matrix. */
export interface ColumnReader {
  nRows: number;
  nFeatures: number;
  /** Value of feature `f` at row `i`. */
  column(f: number): ArrayLike<number>;
}

/** Seeded 32-bit generator (mulberry32): deterministic shuffles and samples. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct indices of [0, n) in random order (partial Fisher–Yates). */
export function sampleIndices(n: number, count: number, random: () => number): Uint32Array {
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  const k = Math.min(n, count);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = index[i]!;
    index[i] = index[j]!;
    index[j] = t;
  }
  return index.subarray(0, k);
}

/**
 * Bin thresholds of one feature: a value `x` falls in the first bin `b` with `x <= thresholds[b]`
 * (so at most `thresholds.length + 1` value bins). NaN values are ignored; ±Infinity are values
 * like any other (as scikit-learn: +Infinity gets a bin of its own above every finite value).
 * Thresholds are clipped to ±1e300 (scikit-learn clips above only), so they stay finite: JSON
 * cannot hold ±Infinity.
 */
export function binThresholds(values: Float64Array, maxBins: number): Float64Array {
  let m = 0;
  const present = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) present[m++] = v;
  }
  const sorted = present.subarray(0, m).sort();
  let distinct = 0;
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxBins) {
    const out = new Float64Array(Math.max(0, distinct - 1));
    let k = 0;
    let previous = Number.NaN;
    for (let i = 0; i < m; i++) {
      const v = sorted[i]!;
      if (i > 0 && v !== previous) out[k++] = clipThreshold((previous + v) / 2);
      previous = v;
    }
    return out;
  }
  // np.percentile(values, linspace(0, 100, maxBins + 1)[1:-1], method='midpoint')
  const out = new Float64Array(maxBins - 1);
  for (let q = 1; q < maxBins; q++) {
    const position = (q / maxBins) * (m - 1);
    const below = Math.floor(position);
    const above = Math.ceil(position);
    out[q - 1] = clipThreshold((sorted[below]! + sorted[above]!) / 2);
  }
  return out;
}

/** scikit-learn's ALMOST_INF: thresholds stay within ±1e300 (NaN, from -Infinity + Infinity: 0). */
const ALMOST_INF = 1e300;

function clipThreshold(t: number): number {
  return Number.isNaN(t) ? 0 : Math.min(ALMOST_INF, Math.max(-ALMOST_INF, t));
}

/** Bin thresholds of every feature, fitted on a seeded sample of at most 200,000 rows. */
export function fitBins(X: ColumnReader, maxBins: number, random: () => number): Float64Array[] {
  const sample = X.nRows > BINNING_SAMPLE ? sampleIndices(X.nRows, BINNING_SAMPLE, random) : null;
  const thresholds: Float64Array[] = [];
  for (let f = 0; f < X.nFeatures; f++) {
    const column = X.column(f);
    const values = new Float64Array(sample ? sample.length : X.nRows);
    if (sample) for (let i = 0; i < sample.length; i++) values[i] = column[sample[i]!]!;
    else for (let i = 0; i < values.length; i++) values[i] = column[i]!;
    thresholds.push(binThresholds(values, maxBins));
  }
  return thresholds;
}

/** Writes the bins of `rowsToBin` (all rows when null) of feature `f` into `out`. */
export function binColumn(
  column: ArrayLike<number>,
  thresholds: Float64Array,
  out: Uint8Array,
  rowsToBin: Uint32Array | null,
): void {
  // Thresholds padded with +Infinity to 255 entries, so the search is eight fixed steps.
  const t = new Float64Array(255).fill(Infinity);
  t.set(thresholds);
  const n = rowsToBin ? rowsToBin.length : out.length;
  for (let i = 0; i < n; i++) {
    const x = column[rowsToBin ? rowsToBin[i]! : i]!;
    if (Number.isNaN(x)) {
      out[i] = MISSING_BIN;
      continue;
    }
    // The number of thresholds below x = the first bin b with x <= t[b]. Arithmetic on the
    // comparisons, not branches: a binary search's branches are unpredictable (4x slower).
    let b = +(t[127]! < x) << 7;
    b |= +(t[b + 63]! < x) << 6;
    b |= +(t[b + 31]! < x) << 5;
    b |= +(t[b + 15]! < x) << 4;
    b |= +(t[b + 7]! < x) << 3;
    b |= +(t[b + 3]! < x) << 2;
    b |= +(t[b + 1]! < x) << 1;
    b |= +(t[b]! < x);
    out[i] = b;
  }
}
