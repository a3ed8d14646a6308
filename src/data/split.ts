/**
 * Splitting a dataset into parts (train/eval/test) by ratios: a seeded shuffle, optionally
 * stratified by a column (each part keeps the column's class proportions), or by time (the
 * earliest rows train, the latest test). Deterministic: same data, ratios and seed give the same
 * parts, byte for byte.
 */
import { DataUsageError } from './data-errors.js';
import { type DataEngine, quoteIdent, quoteString } from './duckdb.js';
import { type LoadedTable, ROW_ORDINAL } from './source-types.js';

export interface SplitOptions {
  /** Part name → share of rows; shares must sum to 1. */
  ratios: Record<string, number>;
  /** Seed of the shuffle (default 0). Ignored with `timeColumn`. */
  seed?: number;
  /** Keep this column's class proportions in every part. */
  stratifyBy?: string;
  /** Order by this column instead of shuffling: parts take consecutive time ranges in the order given. */
  timeColumn?: string;
}

export interface SplitPart {
  name: string;
  rows: number;
}

export function checkSplitOptions(table: LoadedTable, options: SplitOptions): [string, number][] {
  const parts = Object.entries(options.ratios);
  if (parts.length === 0)
    throw new DataUsageError('split: ratios is empty; give e.g. { train: 0.8, test: 0.2 }');
  for (const [name, ratio] of parts) {
    if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1)) {
      throw new DataUsageError(`split: ratio '${name}' is ${ratio}; it must be between 0 and 1`);
    }
  }
  const sum = parts.reduce((total, [, ratio]) => total + ratio, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    const given = parts.map(([name, ratio]) => `${name} ${ratio}`).join(', ');
    throw new DataUsageError(
      `split: ratios sum to ${Number(sum.toPrecision(12))} (${given}); they must sum to 1`,
    );
  }
  if (options.stratifyBy && options.timeColumn) {
    throw new DataUsageError('split: give stratifyBy or timeColumn, not both');
  }
  for (const column of [options.stratifyBy, options.timeColumn]) {
    if (column && !table.columns.some((c) => c.name === column)) {
      throw new DataUsageError(
        `split: column '${column}' is not in ${table.description} (columns: ${table.columns.map((c) => c.name).join(', ')})`,
      );
    }
  }
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) {
    throw new DataUsageError(`split: seed must be an integer, not ${options.seed}`);
  }
  return parts;
}

/**
 * Assigns every row a part and writes each part to its path as Parquet. Row order within a part
 * is the input's order. Cut points are rounded per stratum, so a stratum of n rows gives each
 * part round(n · cumulative share) − round(n · previous cumulative share) rows.
 */
export async function splitTable(
  engine: DataEngine,
  table: LoadedTable,
  options: SplitOptions,
  paths: Record<string, string>,
): Promise<SplitPart[]> {
  const parts = checkSplitOptions(table, options);
  for (const [name] of parts) {
    if (!paths[name]) throw new DataUsageError(`split: no output path for part '${name}'`);
  }
  if (options.timeColumn) {
    const t = quoteIdent(options.timeColumn);
    const { nulls } = await engine.row<{ nulls: number }>(
      `SELECT count(*) FILTER (WHERE ${t} IS NULL) AS nulls FROM ${table.view}`,
    );
    if (Number(nulls) > 0) {
      throw new DataUsageError(
        `split: time column '${options.timeColumn}' has ${nulls} null value(s); rows without a time cannot be placed`,
      );
    }
  }
  const seed = options.seed ?? 0;
  const order = options.timeColumn
    ? `${quoteIdent(options.timeColumn)}, ${ROW_ORDINAL}`
    : `hash(${ROW_ORDINAL}, ${seed}), ${ROW_ORDINAL}`;
  const partition = options.stratifyBy ? `PARTITION BY ${quoteIdent(options.stratifyBy)}` : '';
  // Cumulative cut points as fractions; the part is the number of cuts at or below the rank.
  let cumulative = 0;
  const cuts = parts.slice(0, -1).map(([, ratio]) => {
    cumulative += ratio;
    return cumulative;
  });
  const partExpr =
    cuts.length === 0
      ? '0'
      : cuts
          .map((cut) => `(CASE WHEN __lathe_rank >= round(__lathe_n * ${cut}) THEN 1 ELSE 0 END)`)
          .join(' + ');
  const assigned = `${table.view}_split`;
  await engine.run(`DROP TABLE IF EXISTS ${assigned}`);
  await engine.run(
    `CREATE TEMP TABLE ${assigned} AS
     SELECT * EXCLUDE (__lathe_rank, __lathe_n), ${partExpr} AS __lathe_part FROM (
       SELECT *, row_number() OVER (${partition} ORDER BY ${order}) - 1 AS __lathe_rank,
              count(*) OVER (${partition}) AS __lathe_n
       FROM ${table.view})`,
  );
  const result: SplitPart[] = [];
  for (const [index, [name]] of parts.entries()) {
    await engine.run(
      `COPY (SELECT * EXCLUDE (${ROW_ORDINAL}, __lathe_part) FROM ${assigned} WHERE __lathe_part = ${index} ORDER BY ${ROW_ORDINAL})
       TO ${quoteString(paths[name]!)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const { rows } = await engine.row<{ rows: number }>(
      `SELECT count(*) AS rows FROM ${assigned} WHERE __lathe_part = ${index}`,
    );
    result.push({ name, rows: Number(rows) });
  }
  await engine.run(`DROP TABLE ${assigned}`);
  return result;
}
