/**
 * Expectation checks: each Great Expectations-style expectation of a suite as a per-row count, an
 * aggregate judged against its bounds, or a result known without a scan.
 */

import {
  type Base,
  betweenSql,
  betweenText,
  type Check,
  formatValue,
  fraction,
  inBounds,
  jsonValue,
  type RowCheck,
  staticResult,
} from './checks.js';
import { isFloatType, isNumeric } from './columns.js';
import { quoteIdent, sqlLiteral } from './duckdb.js';
import type { Expectation } from './expectations.js';
import type { LoadedTable } from './source-types.js';

export function expectationCheck(table: LoadedTable, expectation: Expectation, index: number): Check {
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
