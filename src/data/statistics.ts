/**
 * Dataset statistics (TFDV's StatisticsGen): per column counts, missing, distinct; numbers'
 * moments, quantiles and a histogram; strings' top values and lengths; dates' range. Two scans
 * for all columns together: the first aggregates everything that needs no bounds, the second
 * bins the histograms (which need the first scan's min and max) and takes quantiles on a sample.
 */
import { type ColumnInfo, isFloatType, isNumeric, type LogicalType } from './columns.js';
import { type DataEngine, quoteIdent, quoteString, sqlNumber, withEngine } from './duckdb.js';
import { type DataSource, type LoadedTable, ROW_ORDINAL } from './source-types.js';
import { loadTable } from './sources.js';

export interface StatisticsOptions {
  /** Most frequent values kept per text column (default 20). */
  topK?: number;
  /** Equal-width bins per numeric histogram (default 20). */
  histogramBins?: number;
  /** Quantiles to report (default 1, 5, 25, 50, 75, 95, 99 %). */
  quantiles?: number[];
  /** Quantiles are exact up to this many rows, and taken on a sample of about this size beyond (default 100,000). */
  quantileSampleSize?: number;
}

export interface Histogram {
  /** bins + 1 edges; bin i is [edges[i], edges[i+1]), the last one closed (numpy's convention). */
  edges: number[];
  counts: number[];
}

export interface NumericStatistics {
  /** Over finite values; null when there are none. */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Sample standard deviation (n − 1), as pandas. */
  std: number | null;
  zeros: number;
  nan: number;
  positiveInfinity: number;
  negativeInfinity: number;
  /** Linear interpolation between order statistics, as pandas and numpy by default. */
  quantiles: { q: number; value: number }[];
  quantilesExact: boolean;
  histogram: Histogram | null;
}

export interface StringStatistics {
  /** Most frequent first, with exact counts; ties broken by value. */
  topValues: { value: string; count: number }[];
  /** In characters (Unicode code points). */
  avgLength: number | null;
  minLength: number | null;
  maxLength: number | null;
}

export interface ColumnStatistics {
  name: string;
  type: string;
  logicalType: LogicalType;
  /** Non-null values. */
  count: number;
  missing: number;
  missingFraction: number;
  /** Distinct non-null values: exact up to 200,000 rows, estimated beyond (see `approximations`). */
  distinct: number;
  /** The estimate's relative standard error; null when exact. */
  distinctRelativeError: number | null;
  numeric?: NumericStatistics;
  string?: StringStatistics;
  /** ISO text of the earliest and latest date or timestamp. */
  temporal?: { min: string | null; max: string | null };
  boolean?: { trueCount: number; falseCount: number };
}

export interface DatasetStatistics {
  kind: 'lathe.statistics';
  version: 1;
  source: string;
  rowCount: number;
  columns: ColumnStatistics[];
  /** How approximate figures were computed and how far off they can be. */
  approximations: {
    distinct: string;
    quantiles: string;
  };
  warnings: string[];
}

const DEFAULT_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/** Up to this many rows distinct counts are exact (a hash set per column is cheap at this size). */
export const EXACT_DISTINCT_ROWS = 200_000;

/** Loads a source (or uses a loaded table) and computes its statistics. */
export async function computeStatistics(
  input: DataSource | string | LoadedTable,
  options: StatisticsOptions = {},
  engine?: DataEngine,
): Promise<DatasetStatistics> {
  return withEngine(engine, async (own) => {
    const table = isLoadedTable(input) ? input : await loadTable(own, input);
    return statisticsOf(own, table, options);
  });
}

export function isLoadedTable(value: unknown): value is LoadedTable {
  return typeof value === 'object' && value !== null && 'view' in value && 'columns' in value;
}

/**
 * Distinct counts beyond EXACT_DISTINCT_ROWS use linear counting (Whang et al. 1990): set bit
 * (hash mod m) of an m-bit bitmap for every value, then n̂ = −m·ln(V), V the share of zero bits,
 * with relative standard error √(m(e^t − t − 1))/n for t = n/m. Each column gets one aggregate
 * of two m-bit halves: values whose hash has its top 6 bits zero (1/64 of the hash space) set a
 * bit in the second half, all others in the first. While the first half is not nearly full
 * (t ≤ 3) the two halves' estimates are added (together they see every value); beyond, the
 * second's alone, scaled by 64, with the binomial error of the share of values it saw. With m = 2^20 (128 KiB, small enough to stay in
 * cache) the error is below 0.1% up to 1M distinct values, about 0.25% at 10M and 1% at 150M.
 */
export const DISTINCT_BITMAP_BITS = 2 ** 20;
export const DISTINCT_SAMPLE_RATE = 64;

export function linearCountingEstimate(setBits: number, bitmapSize: number): number {
  const zeros = bitmapSize - setBits;
  if (zeros <= 0) return Number.POSITIVE_INFINITY;
  return -bitmapSize * Math.log(zeros / bitmapSize);
}

/** Relative standard error of a linear-counting estimate n̂ with a bitmap of m bits. */
export function linearCountingRelativeError(estimate: number, bitmapSize: number): number {
  if (estimate <= 0) return 0;
  const t = estimate / bitmapSize;
  return Math.sqrt(bitmapSize * (Math.exp(t) - t - 1)) / estimate;
}

/**
 * The estimate from the set bits of the two halves (the 63/64 one and the 1/64 one) and its
 * relative standard error.
 */
export function distinctEstimate(
  mainBits: number,
  sampledBits: number,
): { estimate: number; relativeError: number } {
  const m = DISTINCT_BITMAP_BITS;
  const rate = DISTINCT_SAMPLE_RATE;
  const main = linearCountingEstimate(mainBits, m);
  if (main / m <= 3) {
    // The halves split the hash space: together they count every value, with no sampling.
    const small = linearCountingEstimate(sampledBits, m);
    const estimate = main + small;
    if (estimate <= 0) return { estimate: 0, relativeError: 0 };
    const variance =
      (linearCountingRelativeError(main, m) * main) ** 2 +
      (linearCountingRelativeError(small, m) * small) ** 2;
    return { estimate, relativeError: Math.sqrt(variance) / estimate };
  }
  const sampled = linearCountingEstimate(sampledBits, m);
  const estimate = sampled * rate;
  const bitmapError = linearCountingRelativeError(sampled, m);
  const samplingError = Math.sqrt((rate - 1) / estimate);
  return { estimate, relativeError: Math.sqrt(bitmapError ** 2 + samplingError ** 2) };
}

/** Set bits in each m-bit half of a DuckDB BIT value (a padding-count byte, then the bits). */
export function halfBitCounts(bits: Uint8Array): [number, number] {
  const half = DISTINCT_BITMAP_BITS / 8;
  let first = 0;
  let second = 0;
  for (let i = 1; i <= half; i++) first += POPCOUNT[bits[i]!]!;
  for (let i = half + 1; i < bits.length; i++) second += POPCOUNT[bits[i]!]!;
  return [first, second];
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let n = 0;
  for (let b = byte; b > 0; b >>= 1) n += b & 1;
  return n;
});

/** The largest double below x: histogram boundaries that make DuckDB's (a, b] bins numpy's [a, b). */
export function nextDown(x: number): number {
  if (Number.isNaN(x) || x === Number.NEGATIVE_INFINITY) return x;
  if (x === 0) return -Number.MIN_VALUE;
  const buffer = new DataView(new ArrayBuffer(8));
  buffer.setFloat64(0, x);
  const bits = buffer.getBigInt64(0);
  buffer.setBigInt64(0, x > 0 ? bits - 1n : bits + 1n);
  return buffer.getFloat64(0);
}

const TOP_VALUES_BY_GROUP_BY = 100_000;

async function statisticsOf(
  engine: DataEngine,
  table: LoadedTable,
  options: StatisticsOptions,
): Promise<DatasetStatistics> {
  const topK = options.topK ?? 20;
  const bins = options.histogramBins ?? 20;
  if (!(Number.isInteger(topK) && topK >= 1))
    throw new RangeError(`topK: ${topK} must be a whole number ≥ 1`);
  if (!(Number.isInteger(bins) && bins >= 1))
    throw new RangeError(`histogramBins: ${bins} must be a whole number ≥ 1`);
  const quantiles = options.quantiles ?? DEFAULT_QUANTILES;
  for (const q of quantiles) {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantiles: ${q} is not between 0 and 1`);
  }
  const sampleSize = options.quantileSampleSize ?? 100_000;
  if (!(Number.isInteger(sampleSize) && sampleSize >= 1)) {
    throw new RangeError(`quantileSampleSize: ${sampleSize} must be a whole number ≥ 1`);
  }
  const exactDistinct = table.rowCount <= EXACT_DISTINCT_ROWS;
  const mask = DISTINCT_BITMAP_BITS - 1;
  const columns = table.columns;

  // Scan 1: everything that needs no bounds. Finite values and lengths are computed once per row
  // in the inner projection, not once per aggregate.
  const inner: string[] = [];
  const first: string[] = ['count(*) AS rows'];
  const hashes: string[] = [];
  const distinctParts: string[] = [];
  columns.forEach((column, i) => {
    const c = quoteIdent(column.name);
    inner.push(`${c} AS c${i}`);
    first.push(`count(c${i}) AS n${i}`);
    if (exactDistinct) {
      first.push(`count(DISTINCT c${i}) AS distinct${i}`);
    } else {
      hashes.push(`CASE WHEN ${c} IS NOT NULL THEN hash(${c}) END AS h${i}`);
      // Bit (hash mod m) of the first half, or of the second when the top 6 bits are zero.
      distinctParts.push(
        `bitstring_agg((((h${i} >> 58 = 0)::UBIGINT << 20) | (h${i} & ${mask}))::INTEGER, 0, ${2 * mask + 1}) AS bitmap${i}`,
      );
    }
    if (isNumeric(column.logicalType)) {
      // Unfiltered: right when there is no NaN or ±Infinity (the usual case, and the fast one);
      // columns that have any get these again over their finite values below.
      // Integers are averaged as integers (DuckDB sums them exactly in 128 bits), so a BIGINT
      // beyond 2^53 does not round before it is summed; other numbers as doubles.
      first.push(
        `min(c${i})::DOUBLE AS min${i}`,
        `max(c${i})::DOUBLE AS max${i}`,
        column.logicalType === 'integer'
          ? `avg(c${i})::DOUBLE AS mean${i}`
          : `avg(c${i}::DOUBLE) AS mean${i}`,
      );
      first.push(`count_if(c${i} = 0) AS zeros${i}`);
      if (isFloatType(column.type)) first.push(`count_if(NOT isfinite(c${i})) AS nonfinite${i}`);
    } else if (column.logicalType === 'string') {
      inner.push(`length(${c}::VARCHAR) AS len${i}`);
      first.push(`avg(len${i}) AS avglen${i}`, `min(len${i}) AS minlen${i}`, `max(len${i}) AS maxlen${i}`);
    } else if (column.logicalType === 'date' || column.logicalType === 'timestamp') {
      first.push(`min(c${i})::VARCHAR AS tmin${i}`, `max(c${i})::VARCHAR AS tmax${i}`);
    } else if (column.logicalType === 'boolean') {
      first.push(`count_if(c${i}) AS true${i}`, `count_if(NOT c${i}) AS false${i}`);
    }
  });
  // DuckDB runs a few narrow aggregate queries faster than one wide one (measured: 1.9 s for
  // the moments and the distinct bitmaps apart, 2.5 s together, on 10M rows × 10 columns).
  const one = await engine.row<Record<string, unknown>>(
    `SELECT ${first.join(', ')} FROM (SELECT ${inner.length > 0 ? inner.join(', ') : '1'} FROM ${table.view})`,
  );
  if (distinctParts.length > 0) {
    const bitmaps = await engine.row<Record<string, Uint8Array | null>>(
      `SELECT ${distinctParts.join(', ')} FROM (SELECT ${hashes.join(', ')} FROM ${table.view})`,
    );
    for (const [key, bits] of Object.entries(bitmaps)) {
      const [main, sampled] = bits ? halfBitCounts(bits) : [0, 0];
      one[key.replace('bitmap', 'bits')] = main;
      one[key.replace('bitmap', 'sbits')] = sampled;
    }
  }
  const rowCount = num(one.rows) ?? 0;

  // NaN and ±Infinity, only for columns that have any: their counts, and the moments again over
  // the finite values.
  const nonFinite = columns.flatMap((_, i) => ((num(one[`nonfinite${i}`]) ?? 0) > 0 ? [i] : []));
  if (nonFinite.length > 0) {
    const parts = nonFinite.map((i) => {
      const c = quoteIdent(columns[i]!.name);
      const finite = `FILTER (WHERE isfinite(${c}))`;
      return [
        `count_if(isnan(${c})) AS nan${i}`,
        `count_if(${c} = 'Infinity'::DOUBLE) AS pinf${i}`,
        `count_if(${c} = '-Infinity'::DOUBLE) AS ninf${i}`,
        `min(${c}) ${finite} AS min${i}`,
        `max(${c}) ${finite} AS max${i}`,
        `avg(${c}) ${finite} AS mean${i}`,
      ].join(', ');
    });
    Object.assign(
      one,
      await engine.row<Record<string, unknown>>(`SELECT ${parts.join(', ')} FROM ${table.view}`),
    );
  }
  for (const [i] of columns.entries())
    one[`finite${i}`] = (num(one[`n${i}`]) ?? 0) - (num(one[`nonfinite${i}`]) ?? 0);

  // Scan 2: histograms over [min, max] and quantiles (on a deterministic sample of large tables).
  // Each column's quantiles are exact up to sampleSize finite values, else taken on a hash sample
  // sized on the column's own values (a mostly-null column gets a larger share of rows).
  const sampleShare = new Map<number, number>();
  for (const [i, column] of columns.entries()) {
    if (!isNumeric(column.logicalType)) continue;
    const values = num(one[`finite${i}`]) ?? 0;
    sampleShare.set(i, values > sampleSize ? Math.ceil((sampleSize / values) * 1_000_000) : 1_000_000);
  }
  const sampled = [...sampleShare.values()].some((share) => share < 1_000_000);
  const second: string[] = [];
  const quantileParts: string[] = [];
  const edgesByColumn = new Map<number, number[]>();
  const degenerate: string[] = [];
  const boundariesByColumn = new Map<number, number[]>();
  columns.forEach((column, i) => {
    if (!isNumeric(column.logicalType)) return;
    const c = quoteIdent(column.name);
    const min = num(one[`min${i}`]);
    const max = num(one[`max${i}`]);
    if (min === null || max === null) return;
    const edges = histogramEdges(min, max, bins);
    // A range too wide for doubles (hi − lo overflows) or too narrow for their resolution has
    // no equal-width bins: no histogram (numpy raises an error here).
    const x = `${c}::DOUBLE`;
    // Only columns that have NaN or ±Infinity pay for leaving them out (nulls are ignored anyway).
    const finite = nonFinite.includes(i) ? ` FILTER (WHERE isfinite(${c}))` : '';
    if (edges.every((edge, k) => Number.isFinite(edge) && (k === 0 || edge > edges[k - 1]!))) {
      // histogram(x, boundaries) counts x ≤ boundary into the first boundary at or above it;
      // one ulp below each inner edge makes the bins numpy's [a, b), the last one closed.
      const boundaries = [...edges.slice(1, -1).map(nextDown), edges[edges.length - 1]!];
      second.push(`histogram(${x}, [${boundaries.map(sqlNumber).join(', ')}])${finite} AS hist${i}`);
      edgesByColumn.set(i, edges);
      boundariesByColumn.set(i, boundaries);
    } else {
      degenerate.push(column.name);
    }
    // Two-pass variance (numpy's): squared deviations from the first scan's mean, not Welford's
    // running update, which costs a division per value.
    const mean = num(one[`mean${i}`]);
    if (mean !== null)
      second.push(`sum((${x} - ${sqlNumber(mean)}) * (${x} - ${sqlNumber(mean)}))${finite} AS ss${i}`);
    const share = sampleShare.get(i) ?? 1_000_000;
    const filters = [
      ...(nonFinite.includes(i) ? [`isfinite(${c})`] : []),
      ...(share < 1_000_000 ? [`__lathe_sample < ${share}`] : []),
    ];
    if (quantiles.length > 0)
      quantileParts.push(
        `quantile_cont(${x}, [${quantiles.map(String).join(', ')}])${filters.length ? ` FILTER (WHERE ${filters.join(' AND ')})` : ''} AS q${i}`,
      );
  });
  const two: Record<string, unknown> = {};
  if (second.length > 0) {
    Object.assign(
      two,
      await engine.row<Record<string, unknown>>(`SELECT ${second.join(', ')} FROM ${table.view}`),
    );
    // Quantiles are holistic (they keep their values): a query of their own over the sample.
    // Rows are sampled by a hash of their position: deterministic, and independent of the values.
    const widest = Math.max(0, ...sampleShare.values());
    const from = sampled
      ? `(SELECT *, hash(${ROW_ORDINAL}) % 1000000 AS __lathe_sample FROM ${table.view}) WHERE __lathe_sample < ${widest}`
      : table.view;
    if (quantileParts.length > 0) {
      Object.assign(
        two,
        await engine.row<Record<string, unknown>>(`SELECT ${quantileParts.join(', ')} FROM ${from}`),
      );
    }
  }

  // Top values of text columns, exact: a GROUP BY when the column has few enough distinct values
  // (cheap, and complete for domains), else DuckDB's approximate top-k for candidates, counted exactly.
  const topValuesByColumn = new Map<number, { value: string; count: number }[]>();
  for (const [i, column] of columns.entries()) {
    if (column.logicalType !== 'string' || (num(one[`n${i}`]) ?? 0) === 0) continue;
    const c = `${quoteIdent(column.name)}::VARCHAR`;
    const distinct = distinctOf(one, i, exactDistinct).estimate;
    if (distinct <= TOP_VALUES_BY_GROUP_BY) {
      const rows = await engine.rows<{ value: string; count: number }>(
        `SELECT ${c} AS value, count(*) AS count FROM ${table.view} WHERE ${c} IS NOT NULL GROUP BY ALL ORDER BY count DESC, value LIMIT ${topK}`,
      );
      topValuesByColumn.set(
        i,
        rows.map((row) => ({ value: row.value, count: Number(row.count) })),
      );
    } else {
      const { top } = await engine.row<{ top: string[] }>(
        `SELECT approx_top_k(${c}, ${topK}) AS top FROM ${table.view}`,
      );
      const candidates = (top ?? []).filter((value) => value !== null);
      if (candidates.length === 0) continue;
      const counts = await engine.row<Record<string, unknown>>(
        `SELECT ${candidates.map((value, k) => `count_if(${c} = ${quoteString(value)}) AS k${k}`).join(', ')} FROM ${table.view}`,
      );
      topValuesByColumn.set(
        i,
        candidates
          .map((value, k) => ({ value, count: num(counts[`k${k}`]) ?? 0 }))
          .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)),
      );
    }
  }

  let worstDistinctError = 0;
  const result: ColumnStatistics[] = columns.map((column, i) => {
    const stats = columnStatistics(column, i, rowCount, one, two, {
      exactDistinct,
      edges: edgesByColumn.get(i),
      boundaries: boundariesByColumn.get(i),
      topValues: topValuesByColumn.get(i),
      quantiles,
      quantilesExact: (sampleShare.get(i) ?? 1_000_000) === 1_000_000,
    });
    worstDistinctError = Math.max(worstDistinctError, stats.distinctRelativeError ?? 0);
    return stats;
  });
  const warnings = [...table.warnings];
  for (const name of degenerate) {
    warnings.push(`column '${name}': no histogram, its range cannot be cut into equal-width bins of doubles`);
  }
  for (const column of result) {
    if (rowCount > 0 && column.count === 0) warnings.push(`column '${column.name}' is entirely null`);
  }
  if (table.rejectedLines.length > 0) {
    warnings.push(
      `${table.rejectedLines.length} malformed line(s) were skipped (first: line ${table.rejectedLines[0]!.line})`,
    );
  }
  return {
    kind: 'lathe.statistics',
    version: 1,
    source: table.description,
    rowCount,
    columns: result,
    approximations: {
      distinct: exactDistinct
        ? 'exact'
        : `linear counting over two ${DISTINCT_BITMAP_BITS}-bit bitmaps of 64-bit hashes (one for 63/${DISTINCT_SAMPLE_RATE} of the hash space, one for 1/${DISTINCT_SAMPLE_RATE}, for large counts); relative standard error ${formatPercent(worstDistinctError)} or less here (each column's is in distinctRelativeError)`,
      quantiles: sampled
        ? `for columns with more than ${sampleSize} values, on a deterministic hash sample of about ${sampleSize} of their values; the rank of each quantile is within ±${formatPercent(dkwRankError(sampleSize, 0.001))} of the requested one with probability 99.9% (Dvoretzky–Kiefer–Wolfowitz)`
        : 'exact',
    },
    warnings,
  };
}

/** DKW: the empirical CDF of n samples is within ε of the true one with probability 1 − δ. */
export function dkwRankError(sampleSize: number, delta: number): number {
  return Math.sqrt(Math.log(2 / delta) / (2 * sampleSize));
}

function formatPercent(value: number): string {
  return `${(value * 100).toPrecision(2)}%`;
}

/** Equal-width edges over [min, max]; a constant column gets [v − 0.5, v + 0.5] as numpy does. */
export function histogramEdges(min: number, max: number, bins: number): number[] {
  const lo = min === max ? min - 0.5 : min;
  const hi = min === max ? max + 0.5 : max;
  // numpy's linspace arithmetic (lo + k·step), so values on an edge fall in numpy's bin.
  const step = (hi - lo) / bins;
  return Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * step));
}

interface ColumnContext {
  exactDistinct: boolean;
  edges: number[] | undefined;
  boundaries: number[] | undefined;
  topValues: { value: string; count: number }[] | undefined;
  quantiles: number[];
  quantilesExact: boolean;
}

function distinctOf(
  one: Record<string, unknown>,
  i: number,
  exact: boolean,
): { estimate: number; relativeError: number | null } {
  if (exact) return { estimate: num(one[`distinct${i}`]) ?? 0, relativeError: null };
  return distinctEstimate(num(one[`bits${i}`]) ?? 0, num(one[`sbits${i}`]) ?? 0);
}

function columnStatistics(
  column: ColumnInfo,
  i: number,
  rowCount: number,
  one: Record<string, unknown>,
  two: Record<string, unknown>,
  context: ColumnContext,
): ColumnStatistics {
  const count = num(one[`n${i}`]) ?? 0;
  const { estimate, relativeError } = distinctOf(one, i, context.exactDistinct);
  // Round the estimate, and never report more distinct values than non-null values.
  const distinct = Math.min(count, Math.round(estimate));
  const stats: ColumnStatistics = {
    name: column.name,
    type: column.type,
    logicalType: column.logicalType,
    count,
    missing: rowCount - count,
    missingFraction: rowCount === 0 ? 0 : (rowCount - count) / rowCount,
    distinct,
    distinctRelativeError: relativeError,
  };
  if (isNumeric(column.logicalType)) {
    const float = isFloatType(column.type);
    const quantileValues = (two[`q${i}`] as number[] | null | undefined) ?? null;
    stats.numeric = {
      min: num(one[`min${i}`]),
      max: num(one[`max${i}`]),
      mean: stable(num(one[`mean${i}`])),
      std: stable(sampleStd(num(two[`ss${i}`]), num(one[`finite${i}`]) ?? 0)),
      zeros: num(one[`zeros${i}`]) ?? 0,
      nan: float ? (num(one[`nan${i}`]) ?? 0) : 0,
      positiveInfinity: float ? (num(one[`pinf${i}`]) ?? 0) : 0,
      negativeInfinity: float ? (num(one[`ninf${i}`]) ?? 0) : 0,
      quantiles: quantileValues
        ? context.quantiles.map((q, k) => ({ q, value: Number(quantileValues[k]) }))
        : [],
      quantilesExact: context.quantilesExact,
      histogram:
        context.edges && context.boundaries
          ? histogramOf(context.edges, context.boundaries, two[`hist${i}`])
          : null,
    };
  } else if (column.logicalType === 'string') {
    stats.string = {
      topValues: context.topValues ?? [],
      avgLength: num(one[`avglen${i}`]),
      minLength: num(one[`minlen${i}`]),
      maxLength: num(one[`maxlen${i}`]),
    };
  } else if (column.logicalType === 'date' || column.logicalType === 'timestamp') {
    stats.temporal = {
      min: (one[`tmin${i}`] as string | null) ?? null,
      max: (one[`tmax${i}`] as string | null) ?? null,
    };
  } else if (column.logicalType === 'boolean') {
    stats.boolean = { trueCount: num(one[`true${i}`]) ?? 0, falseCount: num(one[`false${i}`]) ?? 0 };
  }
  return stats;
}

function histogramOf(edges: number[], boundaries: number[], value: unknown): Histogram {
  return { edges, counts: histogramCounts(boundaries, value) };
}

/** Counts per bin from DuckDB's histogram(x, boundaries) result. */
export function histogramCounts(boundaries: number[], value: unknown): number[] {
  const counts = new Array<number>(boundaries.length).fill(0);
  // DuckDB returns a MAP as [{ key, value }], keyed by boundary; match each to the nearest one.
  for (const entry of (value as { key: number; value: number }[] | null) ?? []) {
    const key = Number(entry.key);
    let bin = 0;
    for (let k = 1; k < boundaries.length; k++) {
      if (Math.abs(boundaries[k]! - key) < Math.abs(boundaries[bin]! - key)) bin = k;
    }
    counts[bin]! += Number(entry.value);
  }
  return counts;
}

function sampleStd(sumOfSquares: number | null, n: number): number | null {
  return sumOfSquares === null || n < 2 ? null : Math.sqrt(sumOfSquares / (n - 1));
}

/**
 * Parallel sums add in a different order each run, changing the last bits; 13 significant digits
 * make the document (and its content hash, the cache key of what reads it) reproducible.
 */
function stable(value: number | null): number | null {
  return value === null ? null : Number(value.toPrecision(13));
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
