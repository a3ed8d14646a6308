/**
 * The vocabulary of validation: check results and reports, the three kinds of check (counted per
 * row, one aggregate value, or known without a scan), and the helpers that word their messages.
 */
import { sqlLiteral } from './duckdb.js';
import type { ExpectationSuite } from './expectations.js';
import type { DatasetSchema } from './schema.js';

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

export type Base = Omit<CheckResult, 'passed' | 'observed' | 'message'>;

/** Counted per row: `domain` selects the rows the check applies to, `unexpected` the failing ones. */
export interface RowCheck {
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
export interface AggregateCheck {
  kind: 'aggregate';
  base: Base;
  sql: string;
  judge: (observed: unknown) => { passed: boolean; message: string; observed?: unknown };
}

export interface StaticCheck {
  kind: 'static';
  result: CheckResult;
}

export type Check = RowCheck | AggregateCheck | StaticCheck;

export interface BetweenArgs {
  min_value?: number | string | null | undefined;
  max_value?: number | string | null | undefined;
  strict_min?: boolean;
  strict_max?: boolean;
}

export function betweenSql(value: string, args: BetweenArgs): string {
  const parts: string[] = [];
  if (args.min_value !== null && args.min_value !== undefined) {
    parts.push(`${value} ${args.strict_min ? '>' : '>='} ${sqlLiteral(args.min_value)}`);
  }
  if (args.max_value !== null && args.max_value !== undefined) {
    parts.push(`${value} ${args.strict_max ? '<' : '<='} ${sqlLiteral(args.max_value)}`);
  }
  return parts.length > 0 ? parts.join(' AND ') : 'TRUE';
}

export function inBounds(value: number, args: BetweenArgs): boolean {
  const min = args.min_value === null || args.min_value === undefined ? undefined : Number(args.min_value);
  const max = args.max_value === null || args.max_value === undefined ? undefined : Number(args.max_value);
  if (min !== undefined && (args.strict_min ? !(value > min) : !(value >= min))) return false;
  if (max !== undefined && (args.strict_max ? !(value < max) : !(value <= max))) return false;
  return true;
}

export function betweenText(args: BetweenArgs): string {
  const lo = args.min_value ?? null;
  const hi = args.max_value ?? null;
  if (lo === null && hi === null) return 'unbounded';
  if (lo === null) return `${args.strict_max ? '<' : '≤'} ${hi}`;
  if (hi === null) return `${args.strict_min ? '>' : '≥'} ${lo}`;
  return `in ${args.strict_min ? '(' : '['}${lo}, ${hi}${args.strict_max ? ')' : ']'}`;
}

export function boundsText(min: number | null, max: number | null): string {
  return betweenText({ min_value: min, max_value: max });
}

export function staticResult(result: CheckResult): StaticCheck {
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

export function formatValue(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return String(jsonValue(value));
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function percent(x: number): string {
  return `${(x * 100).toPrecision(3)}%`;
}

/** "2 of 40 values (5.00%)" */
export function fraction(unexpected: number, elements: number, noun: string): string {
  return `${count(unexpected)} of ${count(elements)} ${noun} (${percent(elements === 0 ? 0 : unexpected / elements)})`;
}
