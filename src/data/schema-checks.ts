/**
 * Schema checks (TFDV's anomalies): every column of the schema against the data — present, of
 * the right type, null only where allowed, finite, in range, in its domain — and columns the
 * schema does not know.
 */

import {
  type AnomalyKind,
  type Base,
  boundsText,
  type Check,
  count,
  fraction,
  percent,
  staticResult,
} from './checks.js';
import { type ColumnInfo, isFloatType, isNumeric } from './columns.js';
import { quoteIdent, sqlLiteral, sqlNumber } from './duckdb.js';
import type { ColumnSchema, DatasetSchema } from './schema.js';
import type { LoadedTable } from './source-types.js';

export function schemaChecks(table: LoadedTable, schema: DatasetSchema): Check[] {
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
