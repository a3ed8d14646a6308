/**
 * Validation (TFDV's ExampleValidator and Great Expectations): anomalies against a dataset schema
 * and the results of an expectation suite, in one report that lists every check with pass/fail,
 * the observed value and a sample of failing rows. Per-row checks are counted for all checks in
 * one aggregate scan; failing rows are fetched only for checks that failed.
 */
import { type ColumnInfo, isFloatType, isNumeric } from './columns.js';
import { DataSourceError } from './data-errors.js';
import { type DataEngine, duckdbMessage, quoteIdent, sqlLiteral, sqlNumber, withEngine } from './duckdb.js';
import type { Expectation, ExpectationSuite } from './expectations.js';
import type { ColumnSchema, DatasetSchema } from './schema.js';
import { type DataSource, type LoadedTable, loadTable, ROW_ORDINAL } from './sources.js';
import { isLoadedTable } from './statistics.js';

export const ANOMALY_KINDS = [
  'MISSING_COLUMN',
  'UNEXPECTED_COLUMN',
  'TYPE_MISMATCH',
  'NULL_VALUES',
  'MISSING_FRACTION',
  'NON_FINITE',
  'OUT_OF_RANGE',
  'OUT_OF_DOMAIN',
  'ROW_COUNT',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface FailingRow {
  /** 1-based row of the data as read (after any skipped malformed lines). */
  row: number;
  values: Record<string, unknown>;
}

export interface CheckResult {
  /** `schema.<column>.<check>` or `expectations[<i>]`. */
  id: string;
  source: 'schema' | 'expectations';
  /** The schema check (`type`, `range`...) or the expectation name. */
  check: string;
  anomaly?: AnomalyKind;
  columns: string[];
  severity: 'error' | 'warning';
  passed: boolean;
  /** What the check requires, e.g. { min_value: 0, max_value: 120, mostly: 0.99 }. */
  expected: Record<string, unknown>;
  /** What was found: a statistic, or for per-row checks the counts below. */
  observed: unknown;
  /** Per-row checks: rows the check applies to (non-null values, usually), those that failed, and their share. */
  elementCount?: number;
  unexpectedCount?: number;
  unexpectedFraction?: number;
  failingRows?: FailingRow[];
  message: string;
}

export interface ValidationReport {
  kind: 'lathe.validation';
  version: 1;
  source: string;
  rowCount: number;
  /** No check of severity error failed. */
  passed: boolean;
  errorCount: number;
  warningCount: number;
  checks: CheckResult[];
}

export interface ValidateOptions {
  schema?: DatasetSchema;
  expectations?: ExpectationSuite;
  /** Failing rows kept per failed check (default 5). */
  failingRowSample?: number;
}

type Base = Omit<CheckResult, 'passed' | 'observed' | 'message'>;

/** Counted per row: `domain` selects the rows the check applies to, `unexpected` the failing ones. */
interface RowCheck {
  kind: 'rows';
  base: Base;
  domain: string;
  unexpected: string;
  mostly: number;
  /**
   * Fails whenever the column has values, even with no failing row (a type change is an anomaly
   * by itself); a column with no values at all (an all-null CSV column is read as text) passes.
   */
  alwaysFails?: string;
  describe: (unexpected: number, elements: number) => string;
}

/** One SQL value judged in TS. */
interface AggregateCheck {
  kind: 'aggregate';
  base: Base;
  sql: string;
  judge: (observed: unknown) => { passed: boolean; message: string; observed?: unknown };
}

interface StaticCheck {
  kind: 'static';
  result: CheckResult;
}

type Check = RowCheck | AggregateCheck | StaticCheck;

export async function validateDataset(
  input: DataSource | string | LoadedTable,
  options: ValidateOptions,
  engine?: DataEngine,
): Promise<ValidationReport> {
  return withEngine(engine, async (own) => {
    const table = isLoadedTable(input) ? input : await loadTable(own, input);
    const checks: Check[] = [];
    if (options.schema) checks.push(...schemaChecks(table, options.schema));
    if (options.expectations) {
      options.expectations.expectations.forEach((expectation, index) => {
        checks.push(expectationCheck(table, expectation, index));
      });
    }
    const results = await evaluate(own, table, checks, options.failingRowSample ?? 5);
    const errorCount = results.filter((r) => !r.passed && r.severity === 'error').length;
    const warningCount = results.filter((r) => !r.passed && r.severity === 'warning').length;
    return {
      kind: 'lathe.validation',
      version: 1,
      source: table.description,
      rowCount: table.rowCount,
      passed: errorCount === 0,
      errorCount,
      warningCount,
      checks: results,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Schema checks

function schemaChecks(table: LoadedTable, schema: DatasetSchema): Check[] {
  const checks: Check[] = [];
  const byName = new Map(table.columns.map((column) => [column.name, column]));
  if (schema.rowCount) {
    const { min, max } = schema.rowCount;
    const passed =
      (min === undefined || table.rowCount >= min) && (max === undefined || table.rowCount <= max);
    checks.push(
      staticResult({
        id: 'schema.rowCount',
        source: 'schema',
        check: 'rowCount',
        anomaly: 'ROW_COUNT',
        columns: [],
        severity: 'error',
        expected: { ...schema.rowCount },
        passed,
        observed: table.rowCount,
        message: passed
          ? `${table.rowCount} rows`
          : `${table.rowCount} rows, expected ${boundsText(min ?? null, max ?? null)}`,
      }),
    );
  }
  for (const [name, column] of Object.entries(schema.columns)) {
    const data = byName.get(name);
    const base = (check: string, anomaly: AnomalyKind): Base => ({
      id: `schema.${name}.${check}`,
      source: 'schema',
      check,
      anomaly,
      columns: [name],
      severity: 'error',
      expected: {},
    });
    if (!data) {
      checks.push(
        staticResult({
          ...base('present', 'MISSING_COLUMN'),
          expected: { required: column.required },
          passed: !column.required,
          observed: 'absent',
          message: column.required ? `column '${name}' is missing` : `optional column '${name}' is absent`,
        }),
      );
      continue;
    }
    const typeCheck = typeCheckOf(base('type', 'TYPE_MISMATCH'), column, data);
    checks.push(typeCheck.check);
    const c = quoteIdent(name);
    if (column.nullable && column.maxMissingFraction !== undefined) {
      checks.push({
        kind: 'rows',
        base: {
          ...base('missingFraction', 'MISSING_FRACTION'),
          expected: { maxMissingFraction: column.maxMissingFraction },
        },
        domain: 'TRUE',
        unexpected: `${c} IS NULL`,
        mostly: 1 - column.maxMissingFraction,
        describe: (u, e) =>
          `${fraction(u, e, 'values')} are null (at most ${percent(column.maxMissingFraction ?? 0)} allowed)`,
      });
    } else if (!column.nullable) {
      checks.push({
        kind: 'rows',
        base: { ...base('notNull', 'NULL_VALUES'), expected: { nullable: false } },
        domain: 'TRUE',
        unexpected: `${c} IS NULL`,
        mostly: 1,
        describe: (u, e) =>
          u === 0 ? 'no nulls' : `${count(u)} null value(s) of ${e} rows; the column is not nullable`,
      });
    }
    if (!typeCheck.comparable) continue;
    const finite = isFloatType(data.type) ? ` AND isfinite(${c})` : '';
    if (isNumeric(column.type) && isFloatType(data.type) && !column.allowNonFinite) {
      checks.push({
        kind: 'rows',
        base: { ...base('finite', 'NON_FINITE'), expected: { allowNonFinite: false } },
        domain: `${c} IS NOT NULL`,
        unexpected: `NOT isfinite(${c})`,
        mostly: 1,
        describe: (u) => (u === 0 ? 'all values finite' : `${count(u)} NaN or infinite value(s)`),
      });
    }
    if (column.range && isNumeric(column.type)) {
      const { min, max } = column.range;
      const conditions = [
        min !== undefined ? `${c} < ${sqlNumber(min)}` : undefined,
        max !== undefined ? `${c} > ${sqlNumber(max)}` : undefined,
      ].filter(Boolean);
      checks.push({
        kind: 'rows',
        base: { ...base('range', 'OUT_OF_RANGE'), expected: { ...column.range } },
        domain: `${c} IS NOT NULL${finite}`,
        unexpected: conditions.length > 0 ? `(${conditions.join(' OR ')})` : 'FALSE',
        mostly: 1,
        describe: (u, e) =>
          u === 0
            ? `all values ${boundsText(min ?? null, max ?? null)}`
            : `${fraction(u, e, 'values')} are not ${boundsText(min ?? null, max ?? null)}`,
      });
    }
    if (column.domain) {
      const domainValues = column.domain;
      checks.push({
        kind: 'rows',
        base: {
          ...base('domain', 'OUT_OF_DOMAIN'),
          expected: { domain: domainValues, maxOutOfDomainFraction: column.maxOutOfDomainFraction },
        },
        domain: `${c} IS NOT NULL`,
        unexpected: domainCondition(c, data, domainValues),
        mostly: 1 - column.maxOutOfDomainFraction,
        describe: (u, e) =>
          u === 0 ? 'all values in the domain' : `${fraction(u, e, 'values')} are not in the domain`,
      });
    }
  }
  if (schema.unexpectedColumns !== 'allow') {
    for (const data of table.columns) {
      if (Object.hasOwn(schema.columns, data.name)) continue;
      checks.push(
        staticResult({
          id: `schema.${data.name}.expected`,
          source: 'schema',
          check: 'expected',
          anomaly: 'UNEXPECTED_COLUMN',
          columns: [data.name],
          severity: schema.unexpectedColumns === 'warn' ? 'warning' : 'error',
          expected: { unexpectedColumns: schema.unexpectedColumns },
          passed: false,
          observed: data.type,
          message: `column '${data.name}' (${data.type}) is not in the schema`,
        }),
      );
    }
  }
  return checks;
}

/**
 * Values outside a domain. Numbers are compared as numbers (1.0 is in [1, 2.5]); everything else
 * as text.
 */
function domainCondition(c: string, data: ColumnInfo, values: string[]): string {
  const numbers = values.map(Number);
  if (isNumeric(data.logicalType) && numbers.every(Number.isFinite)) {
    return `${c}::DOUBLE NOT IN (${numbers.map(sqlNumber).join(', ')})`;
  }
  return `${c}::VARCHAR NOT IN (${values.map((value) => sqlLiteral(value)).join(', ')})`;
}

/** Whether the data's type satisfies the schema's; the value checks run only when it does. */
function typeCheckOf(
  base: Base,
  column: ColumnSchema,
  data: ColumnInfo,
): { check: Check; comparable: boolean } {
  const expected = { type: column.type };
  const found = data.logicalType;
  const c = quoteIdent(data.name);
  const ok = (message: string): { check: Check; comparable: boolean } => ({
    check: staticResult({ ...base, expected, passed: true, observed: `${found} (${data.type})`, message }),
    comparable: true,
  });
  if (found === column.type) return ok(`${found}`);
  if (column.type === 'number' && found === 'integer')
    return ok(`integer (${data.type}), accepted as number`);
  if (column.type === 'integer' && found === 'number') {
    return {
      check: {
        kind: 'rows',
        base: { ...base, expected },
        domain: `${c} IS NOT NULL`,
        unexpected: isFloatType(data.type)
          ? `(NOT isfinite(${c}) OR ${c} <> trunc(${c}))`
          : `${c} <> trunc(${c})`,
        mostly: 1,
        describe: (u) =>
          u === 0
            ? `stored as ${data.type}, all values whole numbers`
            : `stored as ${data.type}: ${count(u)} value(s) are not whole numbers`,
      },
      comparable: true,
    };
  }
  if (isNumeric(column.type) && found === 'string') {
    return {
      check: {
        kind: 'rows',
        base: { ...base, expected },
        domain: `${c} IS NOT NULL`,
        unexpected: `TRY_CAST(${c} AS DOUBLE) IS NULL`,
        mostly: 1,
        alwaysFails: `is text (${data.type}), expected ${column.type}`,
        describe: (u, e) =>
          u === 0
            ? `all ${e} values are numbers written as text`
            : `${count(u)} of ${e} values are not numbers`,
      },
      comparable: false,
    };
  }
  return {
    check: {
      kind: 'rows',
      base: { ...base, expected },
      domain: `${c} IS NOT NULL`,
      unexpected: 'TRUE',
      mostly: 1,
      alwaysFails: `type is ${found} (${data.type}), expected ${column.type}`,
      describe: (_, e) => `${count(e)} value(s) of the wrong type`,
    },
    comparable: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Expectations

function expectationCheck(table: LoadedTable, expectation: Expectation, index: number): Check {
  const { expect, severity, ...args } = expectation;
  const columns =
    'column' in expectation
      ? [expectation.column]
      : 'column_list' in expectation
        ? expectation.column_list
        : 'column_A' in expectation
          ? [expectation.column_A, expectation.column_B]
          : [];
  const base: Base = {
    id: `expectations[${index}]`,
    source: 'expectations',
    check: expect,
    columns,
    severity,
    expected: args,
  };
  const byName = new Map(table.columns.map((column) => [column.name, column]));
  const missing = columns.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    return staticResult({
      ...base,
      passed: false,
      observed: 'absent',
      message: `column${missing.length > 1 ? 's' : ''} ${missing.map((name) => `'${name}'`).join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist`,
    });
  }
  const column = columns[0] === undefined ? undefined : byName.get(columns[0]);
  const c = column ? quoteIdent(column.name) : '';
  const notNull = `${c} IS NOT NULL`;
  const rows = (domain: string, unexpected: string, mostly: number, what: string): RowCheck => ({
    kind: 'rows',
    base,
    domain,
    unexpected,
    mostly,
    describe: (u, e) =>
      e === 0
        ? 'no values to check'
        : u === 0
          ? `all ${e} values ${what}`
          : `${fraction(u, e, 'values')} ${what.startsWith('are ') ? `are not ${what.slice(4)}` : `do not ${what}`}`,
  });
  switch (expectation.expect) {
    case 'expect_column_to_exist':
      return staticResult({
        ...base,
        passed: true,
        observed: byName.get(expectation.column)?.type,
        message: 'exists',
      });
    case 'expect_column_values_to_not_be_null':
      return {
        ...rows('TRUE', `${c} IS NULL`, expectation.mostly, 'are not null'),
        describe: (u, e) => (u === 0 ? `no nulls in ${e} rows` : `${fraction(u, e, 'rows')} are null`),
      };
    case 'expect_column_values_to_be_unique':
      return rows(
        notNull,
        `${c} IN (SELECT ${c} FROM ${table.view} WHERE ${c} IS NOT NULL GROUP BY ${c} HAVING count(*) > 1)`,
        expectation.mostly,
        'are unique',
      );
    case 'expect_column_values_to_be_between': {
      const condition = betweenSql(c, expectation);
      return rows(
        notNull,
        `NOT coalesce(${condition}, FALSE)`,
        expectation.mostly,
        `are ${betweenText(expectation)}`,
      );
    }
    case 'expect_column_values_to_be_in_set':
      return rows(
        notNull,
        `NOT (${c} IN (${expectation.value_set.map(sqlLiteral).join(', ')}))`,
        expectation.mostly,
        'are in the set',
      );
    case 'expect_column_values_to_match_regex':
      return rows(
        notNull,
        `NOT regexp_matches(${c}::VARCHAR, ${sqlLiteral(expectation.regex)})`,
        expectation.mostly,
        `match /${expectation.regex}/`,
      );
    case 'expect_column_value_lengths_to_be_between': {
      const condition = betweenSql(`length(${c}::VARCHAR)`, {
        ...expectation,
        strict_min: false,
        strict_max: false,
      });
      return rows(
        notNull,
        `NOT (${condition})`,
        expectation.mostly,
        `have lengths ${betweenText(expectation)}`,
      );
    }
    case 'expect_column_mean_to_be_between':
    case 'expect_column_median_to_be_between':
    case 'expect_column_stdev_to_be_between':
    case 'expect_column_min_to_be_between':
    case 'expect_column_max_to_be_between': {
      const statistic = expectation.expect.split('_')[2]!;
      const finite = column && isFloatType(column.type) ? ` FILTER (WHERE isfinite(${c}))` : '';
      const sql = {
        mean: `avg(${c}::DOUBLE)${finite}`,
        median: `quantile_cont(${c}::DOUBLE, 0.5)${finite}`,
        stdev: `stddev_samp(${c}::DOUBLE)${finite}`,
        min: `min(${c})${finite}`,
        max: `max(${c})${finite}`,
      }[statistic]!;
      const numeric = column !== undefined && isNumeric(column.logicalType);
      const notNumbers = !numeric && statistic !== 'min' && statistic !== 'max';
      const value = notNumbers ? 'max(NULL::DOUBLE)' : sql;
      // Compared with the bounds in SQL, in the column's own type (dates as dates, in UTC), and
      // read back as text so that any value (infinite dates included) survives the trip.
      return {
        kind: 'aggregate',
        base,
        sql: `struct_pack(v := (${value})::VARCHAR, ok := coalesce(${betweenSql(`(${value})`, expectation)}, FALSE))`,
        judge: (observed) => {
          const { v, ok } = observed as { v: string | null; ok: boolean };
          if (v === null) {
            return {
              passed: false,
              message: `no ${statistic}: ${
                notNumbers
                  ? `the column is ${column?.logicalType} (${column?.type}), not numbers`
                  : 'the column has no values to compute it from'
              }`,
              observed: null,
            };
          }
          const shown = numeric ? Number(v) : v;
          return {
            passed: ok,
            observed: jsonValue(shown),
            message: `${statistic} ${formatValue(shown)}${ok ? ' is' : ' is not'} ${betweenText(expectation)}`,
          };
        },
      };
    }
    case 'expect_column_quantile_values_to_be_between': {
      const { quantiles, value_ranges } = expectation.quantile_ranges;
      const finite = column && isFloatType(column.type) ? ` FILTER (WHERE isfinite(${c}))` : '';
      return {
        kind: 'aggregate',
        base,
        sql: `quantile_cont(${c}::DOUBLE, [${quantiles.map(String).join(', ')}])${finite}`,
        judge: (observed) => {
          const values = (observed as number[] | null) ?? [];
          if (values.length === 0) return { passed: false, message: 'no numeric values', observed: null };
          const outside = quantiles.filter((_, k) => {
            const [lo, hi] = value_ranges[k]!;
            const value = values[k]!;
            return (lo !== null && value < lo) || (hi !== null && value > hi);
          });
          return {
            passed: outside.length === 0,
            observed: { quantiles, values },
            message:
              outside.length === 0
                ? 'all quantiles within their ranges'
                : `quantile(s) ${outside.join(', ')} outside their ranges (${quantiles.map((q, k) => `q${q}=${formatValue(values[k])}`).join(', ')})`,
          };
        },
      };
    }
    case 'expect_column_distinct_values_to_be_in_set': {
      const set = expectation.value_set.map(sqlLiteral).join(', ');
      return {
        kind: 'aggregate',
        base,
        sql: `list_slice(list(DISTINCT ${c}::VARCHAR ORDER BY ${c}::VARCHAR) FILTER (WHERE ${c} IS NOT NULL AND NOT (${c} IN (${set}))), 1, 20)`,
        judge: (observed) => {
          const outside = (observed as string[] | null) ?? [];
          return {
            passed: outside.length === 0,
            observed: { valuesNotInSet: outside },
            message:
              outside.length === 0
                ? 'all distinct values are in the set'
                : `values not in the set: ${outside.map((value) => JSON.stringify(value)).join(', ')}${outside.length === 20 ? ', ...' : ''}`,
          };
        },
      };
    }
    case 'expect_table_row_count_to_be_between': {
      const passed = inBounds(table.rowCount, { ...expectation, strict_min: false, strict_max: false });
      return staticResult({
        ...base,
        passed,
        observed: table.rowCount,
        message: `${table.rowCount} rows${passed ? '' : `, expected ${betweenText(expectation)}`}`,
      });
    }
    case 'expect_compound_columns_to_be_unique': {
      const list = expectation.column_list.map(quoteIdent).join(', ');
      const anyPresent = expectation.column_list
        .map((name) => `${quoteIdent(name)} IS NOT NULL`)
        .join(' OR ');
      return rows(
        `(${anyPresent})`,
        `row(${list}) IN (SELECT row(${list}) FROM ${table.view} WHERE ${anyPresent} GROUP BY ${list} HAVING count(*) > 1)`,
        expectation.mostly,
        'are unique combinations',
      );
    }
    case 'expect_column_pair_values_a_to_be_greater_than_b': {
      const a = quoteIdent(expectation.column_A);
      const b = quoteIdent(expectation.column_B);
      const op = expectation.or_equal ? '>=' : '>';
      return {
        ...rows(`${a} IS NOT NULL AND ${b} IS NOT NULL`, `NOT (${a} ${op} ${b})`, expectation.mostly, ''),
        describe: (u, e) =>
          u === 0
            ? `${expectation.column_A} ${op} ${expectation.column_B} in all ${e} rows`
            : `${fraction(u, e, 'rows')} have ${expectation.column_A} ${expectation.or_equal ? '<' : '<='} ${expectation.column_B}`,
      };
    }
  }
}

interface BetweenArgs {
  min_value?: number | string | null | undefined;
  max_value?: number | string | null | undefined;
  strict_min?: boolean;
  strict_max?: boolean;
}

function betweenSql(value: string, args: BetweenArgs): string {
  const parts: string[] = [];
  if (args.min_value !== null && args.min_value !== undefined) {
    parts.push(`${value} ${args.strict_min ? '>' : '>='} ${sqlLiteral(args.min_value)}`);
  }
  if (args.max_value !== null && args.max_value !== undefined) {
    parts.push(`${value} ${args.strict_max ? '<' : '<='} ${sqlLiteral(args.max_value)}`);
  }
  return parts.length > 0 ? parts.join(' AND ') : 'TRUE';
}

function inBounds(value: number, args: BetweenArgs): boolean {
  const min = args.min_value === null || args.min_value === undefined ? undefined : Number(args.min_value);
  const max = args.max_value === null || args.max_value === undefined ? undefined : Number(args.max_value);
  if (min !== undefined && (args.strict_min ? !(value > min) : !(value >= min))) return false;
  if (max !== undefined && (args.strict_max ? !(value < max) : !(value <= max))) return false;
  return true;
}

function betweenText(args: BetweenArgs): string {
  const lo = args.min_value ?? null;
  const hi = args.max_value ?? null;
  if (lo === null && hi === null) return 'unbounded';
  if (lo === null) return `${args.strict_max ? '<' : '≤'} ${hi}`;
  if (hi === null) return `${args.strict_min ? '>' : '≥'} ${lo}`;
  return `in ${args.strict_min ? '(' : '['}${lo}, ${hi}${args.strict_max ? ')' : ']'}`;
}

function boundsText(min: number | null, max: number | null): string {
  return betweenText({ min_value: min, max_value: max });
}

// ---------------------------------------------------------------------------------------------
// Evaluation

async function evaluate(
  engine: DataEngine,
  table: LoadedTable,
  checks: Check[],
  sampleSize: number,
): Promise<CheckResult[]> {
  const scanned = checks.filter((check): check is RowCheck | AggregateCheck => check.kind !== 'static');
  const values = new Map<number, Record<string, unknown>>();
  const errors = new Map<number, string>();
  const selectFor = (check: RowCheck | AggregateCheck, i: number): string =>
    check.kind === 'rows'
      ? `count(*) FILTER (WHERE ${check.domain}) AS e${i}, count(*) FILTER (WHERE (${check.domain}) AND (${check.unexpected})) AS u${i}`
      : `${check.sql} AS a${i}`;
  if (scanned.length > 0) {
    try {
      const row = await engine.row<Record<string, unknown>>(
        `SELECT ${scanned.map(selectFor).join(', ')} FROM ${table.view}`,
      );
      for (const i of scanned.keys()) values.set(i, row);
    } catch {
      // One check's SQL failed (a bad regex, a value that does not fit the column's type): run
      // each alone so the others still report and the bad one names its error.
      for (const [i, check] of scanned.entries()) {
        try {
          values.set(i, await engine.row(`SELECT ${selectFor(check, i)} FROM ${table.view}`));
        } catch (error) {
          // An unreadable file is not one check's problem: stop with it.
          if (error instanceof DataSourceError) throw error;
          errors.set(i, duckdbMessage(error));
        }
      }
    }
  }
  const results: CheckResult[] = [];
  let scanIndex = 0;
  for (const check of checks) {
    if (check.kind === 'static') {
      results.push(check.result);
      continue;
    }
    const i = scanIndex++;
    const error = errors.get(i);
    if (error !== undefined) {
      results.push({
        ...check.base,
        passed: false,
        observed: null,
        message: `could not be checked: ${error}`,
      });
      continue;
    }
    const row = values.get(i)!;
    if (check.kind === 'aggregate') {
      const judged = check.judge(row[`a${i}`]);
      results.push({
        ...check.base,
        passed: judged.passed,
        observed: judged.observed ?? null,
        message: judged.message,
      });
      continue;
    }
    const elements = Number(row[`e${i}`] ?? 0);
    const unexpected = Number(row[`u${i}`] ?? 0);
    const unexpectedFraction = elements === 0 ? 0 : unexpected / elements;
    const meetsMostly = elements === 0 || 1 - unexpectedFraction >= check.mostly - 1e-12;
    const typeChanged = check.alwaysFails !== undefined && elements > 0;
    const passed = meetsMostly && !typeChanged;
    const described = check.describe(unexpected, elements);
    const result: CheckResult = {
      ...check.base,
      passed,
      observed: { elementCount: elements, unexpectedCount: unexpected, unexpectedFraction },
      elementCount: elements,
      unexpectedCount: unexpected,
      unexpectedFraction,
      message: check.alwaysFails
        ? elements === 0
          ? `no values (entirely null): ${typeNote(check)}`
          : `${check.alwaysFails}; ${described}`
        : check.mostly < 1 && unexpected > 0
          ? `${described} (mostly ${check.mostly} ${meetsMostly ? 'met' : 'not met'})`
          : described,
    };
    if (unexpected > 0 && sampleSize > 0) {
      result.failingRows = await failingRows(engine, table, check, sampleSize);
    }
    results.push(result);
  }
  return results;
}

async function failingRows(
  engine: DataEngine,
  table: LoadedTable,
  check: RowCheck,
  limit: number,
): Promise<FailingRow[]> {
  const columns =
    check.base.columns.length > 0 ? check.base.columns : table.columns.slice(0, 5).map((c) => c.name);
  // Values other than numbers, text and booleans come back as text: JSON-safe, and dates such
  // as 'infinity' that a JS Date cannot hold still show.
  const byName = new Map(table.columns.map((column) => [column.name, column]));
  const select = columns.map((name, k) => {
    const type = byName.get(name)?.logicalType;
    const plain = type === 'integer' || type === 'number' || type === 'string' || type === 'boolean';
    return `${quoteIdent(name)}${plain ? '' : '::VARCHAR'} AS v${k}`;
  });
  const rows = await engine.rows<Record<string, unknown>>(
    `SELECT ${ROW_ORDINAL} AS __row, ${select.join(', ')} FROM ${table.view} WHERE (${check.domain}) AND (${check.unexpected}) ORDER BY ${ROW_ORDINAL} LIMIT ${limit}`,
  );
  return rows.map((row) => ({
    row: Number(row.__row) + 1,
    values: Object.fromEntries(columns.map((name, k) => [name, jsonValue(row[`v${k}`])])),
  }));
}

/** One line per failed check, for logs and terminals. */
export function checkLine(check: CheckResult, options: { rows?: boolean } = {}): string {
  const first = options.rows === false ? undefined : check.failingRows?.[0];
  const rows = first
    ? ` (e.g. row ${first.row}: ${Object.entries(first.values)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .join(', ')}${
        check.failingRows!.length > 1
          ? `; also rows ${check
              .failingRows!.slice(1)
              .map((r) => r.row)
              .join(', ')}`
          : ''
      })`
    : '';
  // Expectations are numbered; their name says what was expected.
  const name = check.source === 'expectations' ? ` ${check.check}` : '';
  return `${check.severity === 'error' ? 'FAIL' : 'WARN'} ${check.id}${name}${check.columns.length ? ` [${check.columns.join(', ')}]` : ''}: ${check.message}${rows}`;
}

function typeNote(check: RowCheck): string {
  return `the type cannot be told from nulls (${check.alwaysFails})`;
}

function staticResult(result: CheckResult): StaticCheck {
  return { kind: 'static', result };
}

/** A value that survives JSON: NaN/±Infinity as strings, bigints as strings, dates as ISO text. */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && value.length > 200) return `${value.slice(0, 200)}…`;
  return value;
}

function formatValue(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return String(jsonValue(value));
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function percent(x: number): string {
  return `${(x * 100).toPrecision(3)}%`;
}

/** "2 of 40 values (5.00%)" */
function fraction(unexpected: number, elements: number, noun: string): string {
  return `${count(unexpected)} of ${count(elements)} ${noun} (${percent(elements === 0 ? 0 : unexpected / elements)})`;
}
