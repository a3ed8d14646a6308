/**
 * Drift and skew: compare a reference and a current dataset column by column. Defaults follow
 * Evidently (the test depends on the column's type and the reference's size); unlike Evidently
 * and TFDV, every column's statistic, p-value or score is always reported, p-values can be
 * corrected for testing many columns at once (Benjamini–Hochberg), and an effect-size floor stops
 * large samples from flagging negligible differences.
 *
 * DuckDB counts, bins and sorts; KS and Wasserstein walk the two sorted samples in memory (or,
 * beyond `maxSortedInMemory` values, run as SQL window queries out of core); the test
 * statistics' distributions are computed in `stat-tests.ts`.
 */
import { isNumeric, type LogicalType } from './columns.js';
import { DataUsageError } from './data-errors.js';
import { type DataEngine, quoteIdent, sqlNumber, withEngine } from './duckdb.js';
import type { DataSource, LoadedTable } from './source-types.js';
import { loadTable } from './sources.js';
import {
  benjaminiHochberg,
  chiSquaredHomogeneity,
  cramersV,
  histogramOfSorted,
  jensenShannonDistance,
  ksStatisticSorted,
  ksTwoSamplePValue,
  lInfinityDistance,
  populationStabilityIndex,
  populationStd,
  sturgesBinEdges,
  wassersteinDistanceOfSorted,
} from './stat-tests.js';
import { histogramCounts, isLoadedTable, nextDown } from './statistics.js';
import { DRIFT_METHODS, type DriftMethod } from './vocabulary.js';

export { DRIFT_METHODS, type DriftMethod };

/** p-value tests flag drift when p < threshold; distances when score ≥ threshold. */
export const DEFAULT_THRESHOLDS: Record<DriftMethod, number> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  psi: 0.1,
  jensenshannon: 0.1,
  linf: 0.1,
};

const P_VALUE_METHODS = new Set<DriftMethod>(['ks', 'chisquare']);
const NUMERIC_ONLY = new Set<DriftMethod>(['ks', 'wasserstein']);

export interface DriftOptions {
  /** Columns to compare (default: every column present in both). */
  columns?: string[];
  /** One method for all columns, or 'auto' (default) to choose by type and size as Evidently does. */
  method?: DriftMethod | 'auto';
  /** Per-column methods, overriding `method`. */
  methods?: Record<string, DriftMethod>;
  /** Per-method thresholds, overriding DEFAULT_THRESHOLDS. */
  thresholds?: Partial<Record<DriftMethod, number>>;
  /** Per-column thresholds, overriding the method's. */
  columnThresholds?: Record<string, number>;
  /** Correct p-values across columns: 'bh' (Benjamini–Hochberg false-discovery rate) or 'none' (default). */
  correction?: 'none' | 'bh';
  /**
   * Effect-size mode: a p-value test flags drift only when the effect is at least this large too
   * (the KS statistic D for numbers, Cramér's V for categories, both 0–1). On large samples
   * p-values flag differences too small to matter; this keeps only those that do.
   */
  minEffectSize?: number;
  /** The dataset drifts when at least this share of compared columns drift (default 0.5). */
  driftShare?: number;
  /** Reference rows up to which the p-value tests are the automatic choice (default 1000). */
  smallSampleRows?: number;
  /**
   * KS and Wasserstein sort both samples of a column in memory up to this many values in all
   * (default 10,000,000; KS keeps 8 bytes per value, Wasserstein 16); beyond,
   * DuckDB computes the cumulative distributions in SQL, out of core and slower.
   */
  maxSortedInMemory?: number;
}

const MAX_SORTED_IN_MEMORY = 10_000_000;
/** Above this HyperLogLog estimate a column surely has more than 20 distinct values (its error is a few %). */
const APPROXIMATE_UNIQUE_ABOVE = 1000;

export interface DriftDistribution {
  /** Numbers: histogram edges shared by both samples. */
  edges?: number[];
  /** Categories (most frequent first, at most 50) or bins. */
  labels?: string[];
  reference: number[];
  current: number[];
}

export interface ColumnDrift {
  column: string;
  logicalType: LogicalType;
  method: DriftMethod;
  /** D for KS, χ² for chi-squared, the distance or index otherwise. */
  statistic: number;
  /** p-value tests only; null for distances. */
  pValue: number | null;
  /** After the Benjamini–Hochberg correction, when requested. */
  adjustedPValue: number | null;
  /** The number compared with the threshold: the (adjusted) p-value or the distance. */
  score: number;
  threshold: number;
  /** KS D or Cramér's V, for p-value tests. */
  effectSize: number | null;
  drifted: boolean;
  /** The column's type differs between the datasets (numbers vs text, say): drift by itself. */
  typeChanged: boolean;
  referenceCount: number;
  currentCount: number;
  /** Values left out: nulls, and NaN/±Infinity for numbers. */
  referenceExcluded: number;
  currentExcluded: number;
  distribution: DriftDistribution;
  note?: string;
}

export interface DriftReport {
  kind: 'lathe.drift';
  version: 1;
  reference: { source: string; rows: number };
  current: { source: string; rows: number };
  correction: 'none' | 'bh';
  minEffectSize: number | null;
  columns: ColumnDrift[];
  driftedColumns: number;
  driftShare: number;
  shareThreshold: number;
  driftDetected: boolean;
  /** Columns that are in one dataset only (not compared). */
  unmatchedColumns: string[];
}

type Input = DataSource | string | LoadedTable;

export async function computeDrift(
  reference: Input,
  current: Input,
  options: DriftOptions = {},
  engine?: DataEngine,
): Promise<DriftReport> {
  return withEngine(engine, async (own) => {
    const ref = isLoadedTable(reference) ? reference : await loadTable(own, reference);
    const cur = isLoadedTable(current) ? current : await loadTable(own, current);
    return driftOf(own, ref, cur, options);
  });
}

/**
 * Training/serving skew as TFDV computes it: L∞ distance between category proportions for
 * categorical columns, Jensen–Shannon distance over shared bins for numeric ones.
 */
export async function computeSkew(
  training: Input,
  serving: Input,
  options: Omit<DriftOptions, 'method' | 'methods'> = {},
  engine?: DataEngine,
): Promise<DriftReport> {
  return withEngine(engine, async (own) => {
    const ref = isLoadedTable(training) ? training : await loadTable(own, training);
    const cur = isLoadedTable(serving) ? serving : await loadTable(own, serving);
    const methods: Record<string, DriftMethod> = {};
    // As TFDV: numbers are compared as distributions, everything else (dates too) as categories.
    for (const column of ref.columns)
      methods[column.name] = isNumeric(column.logicalType) ? 'jensenshannon' : 'linf';
    return driftOf(own, ref, cur, { ...options, methods });
  });
}

async function driftOf(
  engine: DataEngine,
  ref: LoadedTable,
  cur: LoadedTable,
  options: DriftOptions,
): Promise<DriftReport> {
  const curByName = new Map(cur.columns.map((column) => [column.name, column]));
  const refByName = new Map(ref.columns.map((column) => [column.name, column]));
  const unmatched = [
    ...ref.columns.filter((column) => !curByName.has(column.name)).map((column) => column.name),
    ...cur.columns.filter((column) => !refByName.has(column.name)).map((column) => column.name),
  ];
  const names =
    options.columns ??
    ref.columns.filter((column) => curByName.has(column.name)).map((column) => column.name);
  for (const name of names) {
    if (!refByName.has(name))
      throw new DataUsageError(`drift: column '${name}' is not in the reference data (${ref.description})`);
    if (!curByName.has(name))
      throw new DataUsageError(`drift: column '${name}' is not in the current data (${cur.description})`);
  }
  if (options.driftShare !== undefined && !(options.driftShare >= 0 && options.driftShare <= 1)) {
    throw new DataUsageError(`drift: driftShare ${options.driftShare} must be between 0 and 1`);
  }
  if (
    options.maxSortedInMemory !== undefined &&
    !(Number.isInteger(options.maxSortedInMemory) && options.maxSortedInMemory >= 0)
  ) {
    throw new DataUsageError(
      `drift: maxSortedInMemory ${options.maxSortedInMemory} must be a whole number ≥ 0`,
    );
  }
  if (options.minEffectSize !== undefined && !(options.minEffectSize >= 0 && options.minEffectSize <= 1)) {
    throw new DataUsageError(`drift: minEffectSize ${options.minEffectSize} must be between 0 and 1`);
  }
  for (const [method, threshold] of Object.entries(options.thresholds ?? {})) {
    if (!(DRIFT_METHODS as readonly string[]).includes(method)) {
      throw new DataUsageError(
        `drift: thresholds: unknown method '${method}' (use ${DRIFT_METHODS.join(', ')})`,
      );
    }
    if (!(typeof threshold === 'number' && threshold >= 0)) {
      throw new DataUsageError(`drift: thresholds.${method} must be a number ≥ 0, not ${threshold}`);
    }
  }
  for (const [name, method] of Object.entries(options.methods ?? {})) {
    if (!(DRIFT_METHODS as readonly string[]).includes(method)) {
      throw new DataUsageError(
        `drift: column '${name}': unknown method '${method}' (use ${DRIFT_METHODS.join(', ')})`,
      );
    }
  }
  const results: ColumnDrift[] = [];
  for (const name of names) {
    const refColumn = refByName.get(name)!;
    const curColumn = curByName.get(name)!;
    const result = await columnDrift(
      engine,
      ref,
      cur,
      name,
      refColumn.logicalType,
      curColumn.logicalType,
      options,
    );
    if (valueKind(refColumn.logicalType) !== valueKind(curColumn.logicalType)) {
      result.typeChanged = true;
      forceDrift(result);
      const change = `type changed: ${refColumn.type} in the reference, ${curColumn.type} in the current data (compared as text)`;
      result.note = result.note ? `${change}; ${result.note}` : change;
    }
    result.distribution = truncateCategories(result.distribution, MAX_REPORTED_CATEGORIES);
    results.push(result);
  }
  const correction = options.correction ?? 'none';
  if (correction === 'bh') {
    // Columns whose verdict does not come from their test (a type change, values on one side
    // only) stay out of the correction: they would shift the other columns' adjusted p-values.
    const tested = results.filter((r) => r.pValue !== null && !isForced(r));
    const adjusted = benjaminiHochberg(tested.map((r) => r.pValue!));
    tested.forEach((r, k) => {
      r.adjustedPValue = adjusted[k]!;
      r.score = r.adjustedPValue;
      r.drifted = pValueVerdict(r, options);
    });
  }
  const drifted = results.filter((r) => r.drifted).length;
  const share = results.length === 0 ? 0 : drifted / results.length;
  const shareThreshold = options.driftShare ?? 0.5;
  return {
    kind: 'lathe.drift',
    version: 1,
    reference: { source: ref.description, rows: ref.rowCount },
    current: { source: cur.description, rows: cur.rowCount },
    correction,
    minEffectSize: options.minEffectSize ?? null,
    columns: results,
    driftedColumns: drifted,
    driftShare: share,
    shareThreshold,
    driftDetected: results.length > 0 && share >= shareThreshold,
    unmatchedColumns: unmatched,
  };
}

/** A column that drifted whatever its test says: the score is set to agree with the verdict. */
function forceDrift(result: ColumnDrift): void {
  result.drifted = true;
  result.score = result.pValue !== null ? 0 : Math.max(result.statistic, result.threshold);
}

function isForced(result: ColumnDrift): boolean {
  return result.typeChanged || (result.referenceCount === 0) !== (result.currentCount === 0);
}

function pValueVerdict(result: ColumnDrift, options: DriftOptions): boolean {
  const significant = result.score < result.threshold;
  if (options.minEffectSize === undefined || result.effectSize === null) return significant;
  return significant && result.effectSize >= options.minEffectSize;
}

/** A numeric view of a column: numbers as DOUBLE, dates and timestamps as epoch seconds. */
function numericExpr(name: string, type: LogicalType): string {
  const c = quoteIdent(name);
  return type === 'date' || type === 'timestamp' ? `epoch(${c})::DOUBLE` : `${c}::DOUBLE`;
}

function valueKind(type: LogicalType): 'number' | 'time' | 'text' {
  return isNumeric(type) ? 'number' : isNumberLike(type) ? 'time' : 'text';
}

function ksVerdict(result: ColumnDrift, d: number, n1: number, n2: number, options: DriftOptions): void {
  result.statistic = d;
  const { pValue } = ksTwoSamplePValue(d, n1, n2);
  result.pValue = pValue;
  result.score = pValue;
  result.effectSize = d;
  result.drifted = pValueVerdict(result, options);
}

/** Evidently's normed Wasserstein: the distance in units of the reference's standard deviation. */
function wassersteinVerdict(
  result: ColumnDrift,
  distance: number,
  referenceStd: number | null,
  threshold: number,
): void {
  result.statistic = distance / Math.max(referenceStd ?? 0, 0.001);
  result.score = result.statistic;
  result.drifted = result.score >= threshold;
}

/** The population standard deviation, scaled first so that huge values cannot overflow. */
async function sqlPopulationStd(
  engine: DataEngine,
  view: string,
  value: string,
  valid: string,
): Promise<number | null> {
  const { scale } = await engine.row<{ scale: number | null }>(
    `SELECT max(abs(${value})) FILTER (WHERE ${valid}) AS scale FROM ${view}`,
  );
  if (scale === null || scale === 0) return scale === 0 ? 0 : null;
  // Dividing costs precision (values far from zero with a small spread): only when squares
  // could overflow, as populationStd does.
  const factor = scale > 1e150 ? scale : 1;
  const { sd } = await engine.row<{ sd: number | null }>(
    `SELECT stddev_pop(${value} / ${sqlNumber(factor)}) FILTER (WHERE ${valid}) AS sd FROM ${view}`,
  );
  return sd === null ? null : sd * factor;
}

function isNumberLike(type: LogicalType): boolean {
  return isNumeric(type) || type === 'date' || type === 'timestamp';
}

async function columnDrift(
  engine: DataEngine,
  ref: LoadedTable,
  cur: LoadedTable,
  name: string,
  refType: LogicalType,
  curType: LogicalType,
  options: DriftOptions,
): Promise<ColumnDrift> {
  // Numbers with numbers, dates with dates; a column whose type changed is compared as text
  // (and flagged by the caller: a type change is drift by itself).
  const typeChanged = valueKind(refType) !== valueKind(curType);
  const numeric = !typeChanged && valueKind(refType) !== 'text';
  const refValue = numeric ? numericExpr(name, refType) : `${quoteIdent(name)}::VARCHAR`;
  const curValue = numeric ? numericExpr(name, curType) : `${quoteIdent(name)}::VARCHAR`;
  const refValid = numeric ? `isfinite(${refValue})` : `${quoteIdent(name)} IS NOT NULL`;
  const curValid = numeric ? `isfinite(${curValue})` : `${quoteIdent(name)} IS NOT NULL`;
  const counts = await engine.row<{ n1: number; n2: number; t1: number; t2: number; u1: number }>(
    `SELECT
       (SELECT count(*) FILTER (WHERE ${refValid}) FROM ${ref.view}) AS n1,
       (SELECT count(*) FILTER (WHERE ${curValid}) FROM ${cur.view}) AS n2,
       (SELECT count(*) FROM ${ref.view}) AS t1,
       (SELECT count(*) FROM ${cur.view}) AS t2,
       (SELECT approx_count_distinct(${refValue}) FILTER (WHERE ${refValid}) FROM ${ref.view}) AS u1`,
  );
  const n1 = Number(counts.n1);
  const n2 = Number(counts.n2);
  // The number of distinct values only decides between tests (more than 5? more than 20?).
  // HyperLogLog is cheap and far from 20 when the count is large; near the thresholds (where it
  // can be off by one) the exact count is cheap too, so it is taken below APPROXIMATE_UNIQUE_ABOVE.
  let uniqueInReference = Number(counts.u1);
  if (uniqueInReference <= APPROXIMATE_UNIQUE_ABOVE) {
    const exact = await engine.row<{ u: number }>(
      `SELECT count(DISTINCT ${refValue}) FILTER (WHERE ${refValid}) AS u FROM ${ref.view}`,
    );
    uniqueInReference = Number(exact.u);
  }
  const perColumn = options.methods?.[name];
  let method = perColumn ?? chooseMethod(options.method ?? 'auto', numeric, n1, uniqueInReference, options);
  let note: string | undefined;
  if (!numeric && NUMERIC_ONLY.has(method)) {
    // Asking for a numbers-only method on a text column is a mistake; on a column whose type
    // changed it is what the caller expected, and the change itself is the finding.
    if (perColumn && !typeChanged)
      throw new DataUsageError(
        `drift: column '${name}' is ${refType}, not numeric; '${method}' needs numbers`,
      );
    // One method for all columns: text columns take the automatic choice instead.
    note = `'${method}' needs numbers; this ${refType} column uses the automatic choice`;
    method = chooseMethod('auto', false, n1, uniqueInReference, options);
  }
  const threshold =
    options.columnThresholds?.[name] ?? options.thresholds?.[method] ?? DEFAULT_THRESHOLDS[method];
  const result: ColumnDrift = {
    column: name,
    logicalType: refType,
    method,
    statistic: 0,
    pValue: null,
    adjustedPValue: null,
    score: 0,
    threshold,
    effectSize: null,
    drifted: false,
    typeChanged: false,
    referenceCount: n1,
    currentCount: n2,
    referenceExcluded: Number(counts.t1) - n1,
    currentExcluded: Number(counts.t2) - n2,
    distribution: { reference: [], current: [] },
  };
  if (note) result.note = note;
  if (n1 === 0 || n2 === 0) {
    // A feature that stopped arriving (or started) has drifted; one absent from both has not.
    result.note =
      n1 === n2
        ? 'no values in either dataset'
        : `values in the ${n1 === 0 ? 'current' : 'reference'} data only: the ${n1 === 0 ? 'reference' : 'current'} has none`;
    // No test can run: no p-value; the verdict is the finding itself.
    result.pValue = null;
    if (n1 !== n2) forceDrift(result);
    return result;
  }
  const union = `SELECT ${refValue} AS x, 0 AS s FROM ${ref.view} WHERE ${refValid} UNION ALL SELECT ${curValue} AS x, 1 AS s FROM ${cur.view} WHERE ${curValid}`;
  const cdfMethod = method === 'ks' || method === 'wasserstein';
  if (numeric && cdfMethod && n1 + n2 <= (options.maxSortedInMemory ?? MAX_SORTED_IN_MEMORY)) {
    // Both samples sorted by DuckDB and compared in memory: one pass over each, and the
    // statistics exactly as SciPy computes them.
    const a = await engine.sortedDoubles(refValue, ref.view, refValid, n1);
    const b = await engine.sortedDoubles(curValue, cur.view, curValid, n2);
    const edges = sturgesBinEdges(Math.min(a[0]!, b[0]!), Math.max(a[n1 - 1]!, b[n2 - 1]!), n1 + n2);
    result.distribution = {
      edges,
      reference: histogramOfSorted(a, edges),
      current: histogramOfSorted(b, edges),
    };
    if (method === 'ks') ksVerdict(result, ksStatisticSorted(a, b), n1, n2, options);
    else wassersteinVerdict(result, wassersteinDistanceOfSorted(a, b), populationStd(a), threshold);
    return result;
  }
  // Binned or categorical frequencies: what the distance methods compare and what a UI plots.
  const binned =
    numeric && (cdfMethod || uniqueInReference > 20)
      ? await numericBins(engine, union, n1 + n2)
      : await categoryCounts(engine, union);
  result.distribution = binned;
  if (cdfMethod) {
    // Too many values to hold in memory: the cumulative distributions in SQL, out of core.
    const cdf = await engine.row<{ d: number; w: number | null }>(
      `WITH g AS (SELECT x, count_if(s = 0) AS a, count_if(s = 1) AS b FROM (${union}) GROUP BY x),
       c AS (SELECT x, sum(a) OVER w / ${n1} AS fa, sum(b) OVER w / ${n2} AS fb, lead(x) OVER (ORDER BY x) AS nx
             FROM g WINDOW w AS (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
       SELECT max(abs(fa - fb)) AS d, fsum(abs(fa - fb) * (nx - x)) AS w FROM c`,
    );
    if (method === 'ks') ksVerdict(result, Number(cdf.d), n1, n2, options);
    else
      wassersteinVerdict(
        result,
        Number(cdf.w ?? 0),
        await sqlPopulationStd(engine, ref.view, refValue, refValid),
        threshold,
      );
    return result;
  }
  const refCounts = binned.reference;
  const curCounts = binned.current;
  switch (method) {
    case 'chisquare': {
      const test = chiSquaredHomogeneity(refCounts, curCounts);
      result.statistic = test.statistic;
      result.pValue = test.pValue;
      result.score = test.pValue;
      result.effectSize = cramersV(refCounts, curCounts);
      result.drifted = pValueVerdict(result, options);
      break;
    }
    case 'psi':
      // Normalizes the counts and gives empty bins Evidently's small stand-in proportion.
      result.statistic = populationStabilityIndex(refCounts, curCounts);
      break;
    case 'jensenshannon':
      result.statistic = jensenShannonDistance(refCounts, curCounts);
      break;
    case 'linf':
      result.statistic = lInfinityDistance(refCounts, curCounts);
      break;
  }
  if (!P_VALUE_METHODS.has(method)) {
    result.score = result.statistic;
    result.drifted = result.score >= threshold;
  }
  return result;
}

function chooseMethod(
  method: DriftMethod | 'auto',
  numeric: boolean,
  referenceRows: number,
  uniqueInReference: number,
  options: DriftOptions,
): DriftMethod {
  if (method !== 'auto') {
    if (!(DRIFT_METHODS as readonly string[]).includes(method)) {
      throw new DataUsageError(`drift: unknown method '${method}' (use auto, ${DRIFT_METHODS.join(', ')})`);
    }
    return method;
  }
  const small = referenceRows <= (options.smallSampleRows ?? 1000);
  if (numeric && uniqueInReference > 5) return small ? 'ks' : 'wasserstein';
  return small ? 'chisquare' : 'jensenshannon';
}

/** Sturges' bins over both samples together (numpy's histogram_bin_edges 'sturges', as Evidently). */
async function numericBins(engine: DataEngine, union: string, total: number): Promise<DriftDistribution> {
  const range = await engine.row<{ lo: number; hi: number }>(
    `SELECT min(x) AS lo, max(x) AS hi FROM (${union})`,
  );
  const edges = sturgesBinEdges(Number(range.lo), Number(range.hi), total);
  // numpy's bins: [a, b), the last closed; DuckDB's histogram bins are (a, b], so each inner
  // boundary is one ulp below its edge (as in statistics.ts).
  const boundaries = [...edges.slice(1, -1).map(nextDown), edges[edges.length - 1]!];
  const list = `[${boundaries.map(sqlNumber).join(', ')}]`;
  const row = await engine.row<{ a: unknown; b: unknown }>(
    `SELECT histogram(x, ${list}) FILTER (WHERE s = 0) AS a, histogram(x, ${list}) FILTER (WHERE s = 1) AS b FROM (${union})`,
  );
  return {
    edges,
    reference: histogramCounts(boundaries, row.a),
    current: histogramCounts(boundaries, row.b),
  };
}

const MAX_REPORTED_CATEGORIES = 50;

/** Keeps the most frequent categories for the report; the rest are summed into '(other)'. */
function truncateCategories(distribution: DriftDistribution, max: number): DriftDistribution {
  const labels = distribution.labels;
  if (!labels || labels.length <= max) return distribution;
  const sum = (values: number[]) => values.slice(max - 1).reduce((total, v) => total + v, 0);
  return {
    labels: [...labels.slice(0, max - 1), `(other: ${labels.length - max + 1} values)`],
    reference: [...distribution.reference.slice(0, max - 1), sum(distribution.reference)],
    current: [...distribution.current.slice(0, max - 1), sum(distribution.current)],
  };
}

async function categoryCounts(engine: DataEngine, union: string): Promise<DriftDistribution> {
  const rows = await engine.rows<{ x: unknown; a: number; b: number }>(
    `SELECT x::VARCHAR AS x, count_if(s = 0) AS a, count_if(s = 1) AS b FROM (${union}) GROUP BY x ORDER BY a + b DESC, x`,
  );
  return {
    labels: rows.map((row) => String(row.x)),
    reference: rows.map((row) => Number(row.a)),
    current: rows.map((row) => Number(row.b)),
  };
}
