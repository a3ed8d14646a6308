/** The handlers of `lathe data ...` (see data-commands.ts), loaded only when one runs: they bring DuckDB. */
import { writeFileSync } from 'node:fs';
import {
  computeDrift,
  computeSkew,
  DRIFT_METHODS,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
} from '../data/drift.js';
import { type DataEngine, withEngine } from '../data/duckdb.js';
import { type ExpectationSuite, loadExpectationSuiteFile } from '../data/expectations.js';
import { type DatasetSchema, inferSchema, loadSchemaFile, schemaToYaml } from '../data/schema.js';
import type { CsvOptions, DataSource, FileSource, LoadedTable } from '../data/source-types.js';
import {
  DataSourceError,
  FILE_FORMATS,
  type FileFormat,
  loadTable,
  type QueryDatabase,
} from '../data/sources.js';
import { computeStatistics, type DatasetStatistics } from '../data/statistics.js';
import { checkLine, type ValidationReport, validateDataset } from '../data/validate.js';
import { UsageError } from '../errors.js';
import { formatNumber, table } from './table.js';

function fileSourceFrom(path: string, values: Record<string, any>): FileSource {
  const source: FileSource = { kind: 'file', path };
  if (values.format !== undefined) {
    if (!(FILE_FORMATS as readonly string[]).includes(values.format)) {
      throw new UsageError(`--format: '${values.format}' is not one of ${FILE_FORMATS.join(', ')}`);
    }
    source.format = values.format as FileFormat;
  }
  const csv: CsvOptions = {};
  if (values.delimiter !== undefined) csv.delimiter = values.delimiter === '\\t' ? '\t' : values.delimiter;
  if (values['no-header']) csv.header = false;
  if (values['bad-lines'] !== undefined) {
    if (values['bad-lines'] !== 'fail' && values['bad-lines'] !== 'skip') {
      throw new UsageError(`--bad-lines: '${values['bad-lines']}' must be 'fail' or 'skip'`);
    }
    csv.badLines = values['bad-lines'];
  }
  if (values.encoding !== undefined) {
    if (!['utf-8', 'utf-16', 'latin-1'].includes(values.encoding)) {
      throw new UsageError(`--encoding: '${values.encoding}' must be utf-8, utf-16 or latin-1`);
    }
    csv.encoding = values.encoding;
  }
  if (values['date-format'] !== undefined) csv.dateFormat = values['date-format'];
  if (values['timestamp-format'] !== undefined) csv.timestampFormat = values['timestamp-format'];
  source.csv = csv;
  return source;
}

const DATABASE_OPTIONS = ['sqlite', 'duckdb', 'postgres-env'] as const;
const FILE_ONLY_OPTIONS = [
  'format',
  'delimiter',
  'no-header',
  'bad-lines',
  'encoding',
  'date-format',
  'timestamp-format',
] as const;

/** The database a --query reads, from --sqlite, --duckdb or --postgres-env (exactly one). */
function databaseFrom(values: Record<string, any>): { database: QueryDatabase; connection: string } {
  const given = DATABASE_OPTIONS.filter((option) => values[option] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? '--query needs the database it reads: --sqlite FILE, --duckdb FILE or --postgres-env NAME'
        : `give one database, not ${given.map((option) => `--${option}`).join(' and ')}`,
    );
  }
  if (values.sqlite !== undefined) return { database: 'sqlite', connection: values.sqlite };
  if (values.duckdb !== undefined) return { database: 'duckdb', connection: values.duckdb };
  const name = values['postgres-env'] as string;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    // Never echo it: it may be the URL itself, password included.
    throw new UsageError(
      '--postgres-env takes the name of an environment variable that holds the postgres:// URL (e.g. DATABASE_URL), not the URL itself',
    );
  }
  const url = process.env[name];
  if (url === undefined) throw new UsageError(`--postgres-env ${name}: the environment variable is not set`);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(
      `--postgres-env ${name}: the variable ${url === '' ? 'is empty' : 'does not hold a postgres:// URL'}`,
    );
  }
  return { database: 'postgres', connection: url };
}

/**
 * The sources a command reads: `count` files from the arguments, or, with --query (and, for two,
 * --current-query), queries on one database.
 */
function sourcesFrom(args: string[], values: Record<string, any>, count: 1 | 2): DataSource[] {
  const queries: string[] | undefined =
    values.query !== undefined
      ? count === 2
        ? [values.query, values['current-query']]
        : [values.query]
      : undefined;
  if (!queries) {
    const stray = [...DATABASE_OPTIONS, 'current-query'].find((option) => values[option] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --query`);
    if (args.length !== count) {
      throw new UsageError(
        count === 1
          ? 'give a file, or --query with --sqlite, --duckdb or --postgres-env'
          : 'give the reference and the current file, or --query and --current-query with a database',
      );
    }
    return args.map((path) => fileSourceFrom(path, values));
  }
  if (args.length > 0)
    throw new UsageError(`give either ${count === 1 ? 'a file' : 'files'} or --query, not both`);
  if (count === 2 && values['current-query'] === undefined) {
    throw new UsageError('--query gives the reference rows; give the current ones with --current-query');
  }
  const fileOption = FILE_ONLY_OPTIONS.find((option) => values[option] !== undefined);
  if (fileOption) throw new UsageError(`--${fileOption} is for files, not --query`);
  const { database, connection } = databaseFrom(values);
  return queries.map((query) => ({ kind: 'query', database, connection, query }));
}

/** Loads a source; a query's errors say which option gave it (both queries read one database). */
async function loadNamed(engine: DataEngine, source: DataSource, option: string): Promise<LoadedTable> {
  try {
    return await loadTable(engine, source);
  } catch (error) {
    if (source.kind !== 'query' || !(error instanceof DataSourceError)) throw error;
    const prefix = `${error.source}${error.line ? `:${error.line}` : ''}: `;
    throw new DataSourceError(`${error.source} (${option})`, error.message.slice(prefix.length), error.line, {
      cause: error,
    });
  }
}

/** Load warnings and skipped lines on stderr; `stats` leaves warnings to its own output. */
function printLoadNotes(table: LoadedTable, warnings = true): void {
  if (warnings) for (const warning of table.warnings) process.stderr.write(`warning: ${warning}\n`);
  for (const line of table.rejectedLines.slice(0, 10)) {
    process.stderr.write(`skipped ${line.file}:${line.line}: ${line.error}\n`);
  }
  if (table.rejectedLines.length > 10)
    process.stderr.write(`skipped ${table.rejectedLines.length - 10} more line(s)\n`);
}

function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${option}: '${value}' must be a whole number ≥ 1`);
  return n;
}

function fraction(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${option}: '${value}' must be a number from 0 to 1`);
  return n;
}

export async function runDataStats({
  args,
  values,
}: {
  args: string[];
  values: Record<string, any>;
}): Promise<number> {
  const options: { topK?: number; histogramBins?: number } = {};
  const topK = positiveInt(values['top-k'], 'top-k');
  const bins = positiveInt(values.bins, 'bins');
  if (bins !== undefined && bins > 1000) throw new UsageError(`--bins: ${bins} is more than 1000`);
  if (topK !== undefined) options.topK = topK;
  if (bins !== undefined) options.histogramBins = bins;
  const stats = await withEngine(undefined, async (engine) => {
    const loaded = await loadTable(engine, sourcesFrom(args, values, 1)[0]!);
    printLoadNotes(loaded, Boolean(values.json));
    return computeStatistics(loaded, options, engine);
  });
  if (values.out) writeFileSync(values.out, `${JSON.stringify(stats, null, 2)}\n`);
  process.stdout.write(values.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStatistics(stats));
  return 0;
}

export function formatStatistics(stats: DatasetStatistics): string {
  const header = `${stats.source}: ${plural(stats.rowCount, 'row')} × ${plural(stats.columns.length, 'column')}\n\n`;
  const median = (q: { q: number; value: number }[]) => q.find((entry) => entry.q === 0.5)?.value ?? null;
  const rows = [['column', 'type', 'missing', 'distinct', 'mean', 'std', 'min', 'median', 'max', 'notes']];
  for (const column of stats.columns) {
    const n = column.numeric;
    const notes: string[] = [];
    if (n) {
      if (n.zeros) notes.push(`${formatNumber(n.zeros)} zeros`);
      if (n.nan) notes.push(`${formatNumber(n.nan)} NaN`);
      if (n.positiveInfinity + n.negativeInfinity)
        notes.push(`${formatNumber(n.positiveInfinity + n.negativeInfinity)} ±Inf`);
    }
    if (column.string) {
      const top = column.string.topValues
        .slice(0, 3)
        .map((v) => `${JSON.stringify(truncate(v.value, 20))} ${formatNumber(v.count)}`);
      if (top.length) notes.push(`top: ${top.join(', ')}`);
      if (column.string.minLength !== null) {
        notes.push(`len ${formatNumber(column.string.minLength)}–${formatNumber(column.string.maxLength)}`);
      }
    }
    if (column.temporal) notes.push(`${column.temporal.min} … ${column.temporal.max}`);
    if (column.boolean)
      notes.push(
        `true ${formatNumber(column.boolean.trueCount)}, false ${formatNumber(column.boolean.falseCount)}`,
      );
    rows.push([
      column.name,
      column.type,
      column.missing
        ? `${formatNumber(column.missing)} (${(column.missingFraction * 100).toFixed(1)}%)`
        : '0',
      // Estimated counts (beyond 200,000 rows) are marked as such.
      `${column.distinctRelativeError === null ? '' : '≈'}${formatNumber(column.distinct)}`,
      formatNumber(n?.mean),
      formatNumber(n?.std),
      formatNumber(n?.min),
      n ? formatNumber(median(n.quantiles)) : '',
      formatNumber(n?.max),
      notes.join('; '),
    ]);
  }
  const warnings = stats.warnings.map((w) => `warning: ${w}\n`).join('');
  return `${header}${table(rows, new Set([2, 3, 4, 5, 6, 7, 8]))}${warnings ? `\n${warnings}` : ''}`;
}

function plural(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export async function runDataSchemaInfer({
  args,
  values,
}: {
  args: string[];
  values: Record<string, any>;
}): Promise<number> {
  const maxDomainSize = values['max-domain'] === undefined ? undefined : Number(values['max-domain']);
  if (maxDomainSize !== undefined && !(Number.isInteger(maxDomainSize) && maxDomainSize >= 0)) {
    throw new UsageError(`--max-domain: '${values['max-domain']}' must be a whole number ≥ 0`);
  }
  const stats = await withEngine(undefined, async (engine) => {
    const loaded = await loadTable(engine, sourcesFrom(args, values, 1)[0]!);
    printLoadNotes(loaded);
    // A domain needs every value: keep at least as many top values as the largest domain.
    return computeStatistics(loaded, { topK: Math.max(20, maxDomainSize ?? 0) }, engine);
  });
  const schema = inferSchema(stats, {
    ranges: !values['no-ranges'],
    ...(maxDomainSize !== undefined ? { maxDomainSize } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(schema, null, 2)}\n` : schemaToYaml(schema));
  return 0;
}

export async function runDataValidate({
  args,
  values,
}: {
  args: string[];
  values: Record<string, any>;
}): Promise<number> {
  if (!values.schema && !values.expectations) {
    throw new UsageError('lathe data validate: give --schema FILE and/or --expectations FILE');
  }
  // Read the check files first: a mistake there is reported before the data is scanned.
  const schema: DatasetSchema | undefined = values.schema ? loadSchemaFile(values.schema) : undefined;
  const suite: ExpectationSuite | undefined = values.expectations
    ? loadExpectationSuiteFile(values.expectations)
    : undefined;
  const report = await withEngine(undefined, async (engine) => {
    const loaded = await loadTable(engine, sourcesFrom(args, values, 1)[0]!);
    printLoadNotes(loaded);
    return validateDataset(
      loaded,
      { ...(schema ? { schema } : {}), ...(suite ? { expectations: suite } : {}) },
      engine,
    );
  });
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    values.json ? `${JSON.stringify(report, null, 2)}\n` : formatValidation(report, Boolean(values.all)),
  );
  return report.passed || values.warn ? 0 : 1;
}

export function formatValidation(report: ValidationReport, all: boolean): string {
  const passedCount = report.checks.filter((c) => c.passed).length;
  const verdict = report.passed ? (report.warningCount ? 'PASSED with warnings' : 'PASSED') : 'FAILED';
  const lines = [
    `${report.source}: ${formatNumber(report.rowCount)} rows — validation ${verdict}: ${report.checks.length} checks, ${passedCount} passed, ${report.errorCount} failed, ${report.warningCount} warnings`,
    '',
  ];
  for (const check of report.checks) {
    if (check.passed) {
      if (all) lines.push(`ok   ${check.id}: ${check.message}`);
      continue;
    }
    // The failing rows follow, one a line.
    lines.push(checkLine(check, { rows: false }));
    for (const row of check.failingRows ?? []) {
      lines.push(
        `       row ${row.row}: ${Object.entries(row.values)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ')}`,
      );
    }
  }
  if (!all && passedCount > 0) lines.push(`(${passedCount} passed checks not shown; --all lists them)`);
  return `${lines.join('\n')}\n`;
}

export async function runDataDrift({
  args,
  values,
}: {
  args: string[];
  values: Record<string, any>;
}): Promise<number> {
  const options: DriftOptions = {};
  if (values.method !== undefined) {
    if (values.method !== 'auto' && !(DRIFT_METHODS as readonly string[]).includes(values.method)) {
      throw new UsageError(`--method: '${values.method}' is not one of auto, ${DRIFT_METHODS.join(', ')}`);
    }
    if (values.skew) throw new UsageError('--method and --skew cannot be used together');
    options.method = values.method as DriftMethod | 'auto';
  }
  if (values.threshold !== undefined) {
    const threshold = Number(values.threshold);
    if (!(threshold >= 0)) throw new UsageError(`--threshold: '${values.threshold}' must be a number ≥ 0`);
    if (!options.method || options.method === 'auto') {
      throw new UsageError(
        '--threshold needs --method (each method has its own scale); per-method thresholds are in the library API',
      );
    }
    options.thresholds = { [options.method]: threshold };
  }
  if (values.columns !== undefined)
    options.columns = String(values.columns)
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
  if (values.correction !== undefined) {
    if (values.correction !== 'none' && values.correction !== 'bh') {
      throw new UsageError(`--correction: '${values.correction}' must be 'none' or 'bh'`);
    }
    options.correction = values.correction;
  }
  const minEffect = fraction(values['min-effect'], 'min-effect');
  if (minEffect !== undefined) options.minEffectSize = minEffect;
  const share = fraction(values.share, 'share');
  if (share !== undefined) options.driftShare = share;
  const report = await withEngine(undefined, async (engine) => {
    const [referenceSource, currentSource] = sourcesFrom(args, values, 2);
    const reference = await loadNamed(engine, referenceSource!, '--query');
    printLoadNotes(reference);
    const current = await loadNamed(engine, currentSource!, '--current-query');
    printLoadNotes(current);
    return values.skew
      ? computeSkew(reference, current, options, engine)
      : computeDrift(reference, current, options, engine);
  });
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDrift(report));
  return report.driftDetected && values['fail-on-drift'] ? 1 : 0;
}

export function formatDrift(report: DriftReport): string {
  const rows = [
    ['column', 'type', 'method', 'statistic', 'p-value', 'score', 'threshold', 'effect', 'drift'],
  ];
  for (const c of report.columns) {
    rows.push([
      c.column,
      c.logicalType,
      c.method,
      formatNumber(c.statistic),
      c.pValue === null ? '' : formatNumber(c.adjustedPValue ?? c.pValue),
      formatNumber(c.score),
      `${c.pValue === null ? '≥' : '<'} ${c.threshold}`,
      formatNumber(c.effectSize),
      c.drifted ? 'DRIFT' : 'no',
    ]);
  }
  const head = `reference ${report.reference.source} (${formatNumber(report.reference.rows)} rows), current ${report.current.source} (${formatNumber(report.current.rows)} rows)${report.correction === 'bh' ? '; p-values Benjamini–Hochberg adjusted' : ''}${report.minEffectSize !== null ? `; effect size ≥ ${report.minEffectSize} required` : ''}\n\n`;
  const verdict = `\n${report.driftedColumns} of ${report.columns.length} columns drifted (share ${report.driftShare.toFixed(2)}, threshold ${report.shareThreshold}): dataset drift ${report.driftDetected ? 'DETECTED' : 'not detected'}\n`;
  const notes = report.columns
    .filter((c) => c.note)
    .map((c) => `note: ${c.column}: ${c.note}\n`)
    .join('');
  const unmatched = report.unmatchedColumns.length
    ? `not compared (in one dataset only): ${report.unmatchedColumns.join(', ')}\n`
    : '';
  return `${head}${table(rows, new Set([3, 4, 5, 7]))}${verdict}${notes}${unmatched}`;
}
