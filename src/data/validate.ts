/**
 * Validation (TFDV's ExampleValidator and Great Expectations): anomalies against a dataset schema
 * and the results of an expectation suite, in one report that lists every check with pass/fail,
 * the observed value and a sample of failing rows. Per-row checks are counted for all checks in
 * one aggregate scan; failing rows are fetched only for checks that failed.
 */

import {
  type AggregateCheck,
  type Check,
  type CheckResult,
  type FailingRow,
  jsonValue,
  type RowCheck,
  type ValidateOptions,
  type ValidationReport,
} from './checks.js';
import { DataSourceError } from './data-errors.js';
import { type DataEngine, duckdbMessage, quoteIdent, withEngine } from './duckdb.js';
import { expectationCheck } from './expectation-checks.js';
import { schemaChecks } from './schema-checks.js';
import { type DataSource, type LoadedTable, ROW_ORDINAL } from './source-types.js';
import { loadTable } from './sources.js';
import { isLoadedTable } from './statistics.js';

export {
  ANOMALY_KINDS,
  type AnomalyKind,
  type CheckResult,
  type FailingRow,
  jsonValue,
  type ValidateOptions,
  type ValidationReport,
} from './checks.js';

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
