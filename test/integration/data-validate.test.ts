/**
 * `lathe/data` validation on real files: every schema anomaly kind and every expectation, each
 * failing with exact counts and 1-based failing rows and passing in its counterpart; `mostly`,
 * severities, checks that cannot run, schema inference round trips, schema/suite file errors
 * with their line, and `lathe data validate|schema infer` through the built CLI.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANOMALY_KINDS,
  type CheckResult,
  computeStatistics,
  DataEngine,
  DataSchemaError,
  DatasetSchema,
  EXPECTATION_NAMES,
  type ExpectationInput,
  expectationSuite,
  inferSchema,
  loadSchemaFile,
  parseExpectationSuite,
  parseSchema,
  schemaToYaml,
  type ValidationReport,
  validateDataset,
} from '../../src/data/index.js';
import { makeTempDir, parseJson, removeDir, runCli } from './cli.js';

const IRIS = fileURLToPath(new URL('../../../shared/datasets/iris.csv', import.meta.url));

let dir: string;
let fileCounter = 0;

beforeAll(() => {
  dir = makeTempDir('lathe-data-validate-');
});
afterAll(() => removeDir(dir));

/** Writes `text` to a fresh file in the scratch directory and returns its path. */
function writeData(text: string, name = `data${++fileCounter}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Writes the result of a DuckDB query as a Parquet file. */
async function writeParquetFile(select: string, name = `data${++fileCounter}.parquet`): Promise<string> {
  const path = join(dir, name);
  const engine = await DataEngine.open({ threads: 1 });
  try {
    await engine.run(`COPY (${select}) TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`);
  } finally {
    engine.close();
  }
  return path;
}

function schemaOf(
  columns: Record<string, Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): DatasetSchema {
  return DatasetSchema.parse({ kind: 'lathe.schema', version: 1, columns, ...extra });
}

function findCheck(report: ValidationReport, id: string): CheckResult {
  const found = report.checks.find((check) => check.id === id);
  if (!found) {
    throw new Error(`no check '${id}' (checks: ${report.checks.map((check) => check.id).join(', ')})`);
  }
  return found;
}

function expectations(report: ValidationReport): CheckResult[] {
  return report.checks.filter((check) => check.source === 'expectations');
}

/** Validates `path` against `list` and returns the expectation results in order. */
async function runExpectations(path: string, list: ExpectationInput[]): Promise<CheckResult[]> {
  const report = await validateDataset(path, { expectations: expectationSuite(list) });
  const results = expectations(report);
  expect(results).toHaveLength(list.length);
  return results;
}

function counts(check: CheckResult): [number | undefined, number | undefined] {
  return [check.elementCount, check.unexpectedCount];
}

function rowsOf(check: CheckResult): CheckResult['failingRows'] {
  return check.failingRows;
}

// ---------------------------------------------------------------------------------------------

describe('schema anomalies', () => {
  const seen = new Set<string>();
  const failed = (report: ValidationReport, id: string): CheckResult => {
    const check = findCheck(report, id);
    expect(check.passed).toBe(false);
    if (check.anomaly) seen.add(check.anomaly);
    return check;
  };

  it('MISSING_COLUMN: a required column that is absent; an optional one passes', async () => {
    const path = writeData('a\n1\n2\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ a: { type: 'integer' }, b: { type: 'string' } }),
    });
    const check = failed(report, 'schema.b.present');
    expect(check).toMatchObject({
      anomaly: 'MISSING_COLUMN',
      columns: ['b'],
      severity: 'error',
      observed: 'absent',
      expected: { required: true },
    });
    expect(check.message).toMatch(/column 'b' is missing/);
    expect(report).toMatchObject({ passed: false, errorCount: 1, warningCount: 0, rowCount: 2 });

    const optional = await validateDataset(path, {
      schema: schemaOf({ a: { type: 'integer' }, b: { type: 'string', required: false } }),
    });
    expect(findCheck(optional, 'schema.b.present')).toMatchObject({ passed: true, observed: 'absent' });
    expect(findCheck(optional, 'schema.b.present').message).toMatch(/optional column 'b' is absent/);
    expect(optional.passed).toBe(true);
  });

  it("UNEXPECTED_COLUMN: a column not in the schema; 'warn' makes it a warning, 'allow' no check", async () => {
    const path = writeData('a,extra\n1,x\n2,y\n');
    const schema = { a: { type: 'integer' } };
    const report = await validateDataset(path, { schema: schemaOf(schema) });
    const check = failed(report, 'schema.extra.expected');
    expect(check).toMatchObject({
      anomaly: 'UNEXPECTED_COLUMN',
      columns: ['extra'],
      severity: 'error',
      observed: 'VARCHAR',
      expected: { unexpectedColumns: 'error' },
    });
    expect(check.message).toMatch(/column 'extra' \(VARCHAR\) is not in the schema/);
    expect(report.passed).toBe(false);

    const warned = await validateDataset(path, {
      schema: schemaOf(schema, { unexpectedColumns: 'warn' }),
    });
    expect(findCheck(warned, 'schema.extra.expected')).toMatchObject({
      passed: false,
      severity: 'warning',
      anomaly: 'UNEXPECTED_COLUMN',
    });
    expect(warned).toMatchObject({ passed: true, errorCount: 0, warningCount: 1 });

    const allowed = await validateDataset(path, {
      schema: schemaOf(schema, { unexpectedColumns: 'allow' }),
    });
    expect(allowed.checks.some((c) => c.columns.includes('extra'))).toBe(false);
    expect(allowed).toMatchObject({ passed: true, errorCount: 0, warningCount: 0 });
  });

  it('TYPE_MISMATCH: text where a number is expected, with the rows that are not numbers', async () => {
    const path = writeData('id,n\n1,1\n2,2\n3,x\n4,\n5,y\n');
    const report = await validateDataset(path, {
      schema: schemaOf({
        id: { type: 'integer' },
        n: { type: 'integer', nullable: true, range: { min: 0 } },
      }),
    });
    const check = failed(report, 'schema.n.type');
    expect(check.anomaly).toBe('TYPE_MISMATCH');
    expect(check.expected).toEqual({ type: 'integer' });
    expect(counts(check)).toEqual([4, 2]);
    expect(rowsOf(check)).toEqual([
      { row: 3, values: { n: 'x' } },
      { row: 5, values: { n: 'y' } },
    ]);
    expect(check.message).toMatch(/is text \(VARCHAR\), expected integer; 2 of 4 values are not numbers/);
    // The value checks do not run on a column of the wrong type.
    expect(report.checks.some((c) => c.id === 'schema.n.range')).toBe(false);
  });

  it('TYPE_MISMATCH: numbers stored as text fail even when every value is a number', async () => {
    const path = writeData('n\n1\n2\n');
    const report = await validateDataset(
      { kind: 'file', path, csv: { types: { n: 'VARCHAR' } } },
      { schema: schemaOf({ n: { type: 'number' } }) },
    );
    const check = failed(report, 'schema.n.type');
    expect(counts(check)).toEqual([2, 0]);
    expect(check.failingRows).toBeUndefined();
    expect(check.message).toMatch(
      /is text \(VARCHAR\), expected number; all 2 values are numbers written as text/,
    );
  });

  it('TYPE_MISMATCH: an incompatible type is reported with the type found', async () => {
    const path = writeData('flag\n1\n0\n');
    const report = await validateDataset(path, { schema: schemaOf({ flag: { type: 'boolean' } }) });
    const check = failed(report, 'schema.flag.type');
    expect(check).toMatchObject({ anomaly: 'TYPE_MISMATCH', elementCount: 2, unexpectedCount: 2 });
    expect(check.message).toMatch(/type is integer \(BIGINT\), expected boolean/);
    expect(rowsOf(check)).toEqual([
      { row: 1, values: { flag: 1 } },
      { row: 2, values: { flag: 0 } },
    ]);
  });

  it('TYPE_MISMATCH: an entirely null column passes (its type cannot be told; nullability is checked apart)', async () => {
    // An all-empty CSV column is read as text.
    const path = writeData('id,income\n1,\n2,\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, income: { type: 'number', nullable: true } }),
    });
    expect(findCheck(report, 'schema.income.type')).toMatchObject({ passed: true, elementCount: 0 });
    expect(findCheck(report, 'schema.income.type').message).toMatch(/no values \(entirely null\)/);
    expect(report.passed).toBe(true);
  });

  it('TYPE_MISMATCH: an integer column stored as floats fails on the values that are not whole', async () => {
    const failing = writeData('x\n1.0\n2.5\n3.0\n');
    const report = await validateDataset(failing, { schema: schemaOf({ x: { type: 'integer' } }) });
    const check = failed(report, 'schema.x.type');
    expect(counts(check)).toEqual([3, 1]);
    expect(rowsOf(check)).toEqual([{ row: 2, values: { x: 2.5 } }]);
    expect(check.message).toMatch(/stored as DOUBLE: 1 value\(s\) are not whole numbers/);

    const whole = writeData('x\n1.0\n2.0\n');
    const ok = await validateDataset(whole, { schema: schemaOf({ x: { type: 'integer' } }) });
    expect(findCheck(ok, 'schema.x.type')).toMatchObject({ passed: true, unexpectedCount: 0 });
    expect(findCheck(ok, 'schema.x.type').message).toMatch(/stored as DOUBLE, all values whole numbers/);
  });

  it('TYPE_MISMATCH passing counterparts: the same type, and integers accepted as numbers', async () => {
    const path = writeData('i,s\n1,a\n2,b\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ i: { type: 'number' }, s: { type: 'string' } }),
    });
    expect(findCheck(report, 'schema.i.type')).toMatchObject({ passed: true, observed: 'integer (BIGINT)' });
    expect(findCheck(report, 'schema.i.type').message).toMatch(/accepted as number/);
    expect(findCheck(report, 'schema.s.type')).toMatchObject({ passed: true, observed: 'string (VARCHAR)' });
    expect(report.passed).toBe(true);
  });

  it('NULL_VALUES: nulls in a column that is not nullable; nullable passes', async () => {
    const path = writeData('id,v\n1,a\n2,\n3,c\n4,\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, v: { type: 'string' } }),
    });
    const check = failed(report, 'schema.v.notNull');
    expect(check).toMatchObject({ anomaly: 'NULL_VALUES', expected: { nullable: false } });
    expect(counts(check)).toEqual([4, 2]);
    expect(check.unexpectedFraction).toBe(0.5);
    expect(rowsOf(check)).toEqual([
      { row: 2, values: { v: null } },
      { row: 4, values: { v: null } },
    ]);
    expect(check.message).toMatch(/2 null value\(s\) of 4 rows/);
    expect(findCheck(report, 'schema.id.notNull')).toMatchObject({ passed: true, unexpectedCount: 0 });
    expect(findCheck(report, 'schema.id.notNull').message).toBe('no nulls');

    const nullable = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, v: { type: 'string', nullable: true } }),
    });
    expect(nullable.passed).toBe(true);
    expect(nullable.checks.some((c) => c.id === 'schema.v.notNull')).toBe(false);
  });

  it('MISSING_FRACTION: passes at exactly maxMissingFraction, fails just below', async () => {
    const path = writeData('id,v\n1,a\n2,\n3,c\n4,\n');
    const at = await validateDataset(path, {
      schema: schemaOf({
        id: { type: 'integer' },
        v: { type: 'string', nullable: true, maxMissingFraction: 0.5 },
      }),
    });
    expect(findCheck(at, 'schema.v.missingFraction')).toMatchObject({
      passed: true,
      anomaly: 'MISSING_FRACTION',
      elementCount: 4,
      unexpectedCount: 2,
    });
    const below = await validateDataset(path, {
      schema: schemaOf({
        id: { type: 'integer' },
        v: { type: 'string', nullable: true, maxMissingFraction: 0.4 },
      }),
    });
    const check = failed(below, 'schema.v.missingFraction');
    expect(check.expected).toEqual({ maxMissingFraction: 0.4 });
    expect(counts(check)).toEqual([4, 2]);
    expect(rowsOf(check)?.map((r) => r.row)).toEqual([2, 4]);
    expect(check.message).toMatch(/2 of 4 values \(50\.0%\) are null.*40\.0%/);
  });

  it('NON_FINITE: NaN and ±Infinity in a float column; allowNonFinite and finite data pass', async () => {
    const path = writeData('x\n1.5\nNaN\n2.5\nInfinity\n-Infinity\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'number', range: { min: 0, max: 10 } } }),
    });
    const check = failed(report, 'schema.x.finite');
    expect(check).toMatchObject({ anomaly: 'NON_FINITE', expected: { allowNonFinite: false } });
    expect(counts(check)).toEqual([5, 3]);
    expect(rowsOf(check)).toEqual([
      { row: 2, values: { x: 'NaN' } },
      { row: 4, values: { x: 'Infinity' } },
      { row: 5, values: { x: '-Infinity' } },
    ]);
    expect(check.message).toMatch(/3 NaN or infinite value\(s\)/);
    // The range applies to the finite values only.
    expect(findCheck(report, 'schema.x.range')).toMatchObject({ passed: true, elementCount: 2 });

    const allowed = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'number', allowNonFinite: true, range: { min: 0, max: 10 } } }),
    });
    expect(allowed.passed).toBe(true);
    expect(allowed.checks.some((c) => c.id === 'schema.x.finite')).toBe(false);

    const finite = writeData('x\n1.5\n2.5\n');
    const ok = await validateDataset(finite, { schema: schemaOf({ x: { type: 'number' } }) });
    expect(findCheck(ok, 'schema.x.finite')).toMatchObject({ passed: true, unexpectedCount: 0 });
    expect(findCheck(ok, 'schema.x.finite').message).toBe('all values finite');
  });

  it('OUT_OF_RANGE: values outside [min, max]; the bounds themselves are inside', async () => {
    const path = writeData('x\n0\n50\n100\n-1\n101\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'integer', range: { min: 0, max: 100 } } }),
    });
    const check = failed(report, 'schema.x.range');
    expect(check).toMatchObject({ anomaly: 'OUT_OF_RANGE', expected: { min: 0, max: 100 } });
    expect(counts(check)).toEqual([5, 2]);
    expect(rowsOf(check)).toEqual([
      { row: 4, values: { x: -1 } },
      { row: 5, values: { x: 101 } },
    ]);
    expect(check.message).toMatch(/2 of 5 values \(40\.0%\) are not in \[0, 100\]/);

    const inside = writeData('x\n0\n50\n100\n');
    const ok = await validateDataset(inside, {
      schema: schemaOf({ x: { type: 'integer', range: { min: 0, max: 100 } } }),
    });
    expect(findCheck(ok, 'schema.x.range')).toMatchObject({
      passed: true,
      elementCount: 3,
      unexpectedCount: 0,
    });
    const minOnly = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'integer', range: { min: 0 } } }),
    });
    expect(counts(findCheck(minOnly, 'schema.x.range'))).toEqual([5, 1]);
    expect(rowsOf(findCheck(minOnly, 'schema.x.range'))).toEqual([{ row: 4, values: { x: -1 } }]);
  });

  it('OUT_OF_DOMAIN: values outside the domain (nulls ignored); maxOutOfDomainFraction is inclusive', async () => {
    const path = writeData('id,c\n1,a\n2,b\n3,z\n4,\n5,a\n');
    const column = { type: 'string', nullable: true, domain: ['a', 'b'] };
    const report = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, c: column }),
    });
    const check = failed(report, 'schema.c.domain');
    expect(check).toMatchObject({
      anomaly: 'OUT_OF_DOMAIN',
      expected: { domain: ['a', 'b'], maxOutOfDomainFraction: 0 },
    });
    expect(counts(check)).toEqual([4, 1]);
    expect(rowsOf(check)).toEqual([{ row: 3, values: { c: 'z' } }]);
    expect(check.message).toMatch(/1 of 4 values \(25\.0%\) are not in the domain/);

    const at = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, c: { ...column, maxOutOfDomainFraction: 0.25 } }),
    });
    expect(findCheck(at, 'schema.c.domain').passed).toBe(true);
    expect(at.passed).toBe(true);
    const below = await validateDataset(path, {
      schema: schemaOf({ id: { type: 'integer' }, c: { ...column, maxOutOfDomainFraction: 0.24 } }),
    });
    expect(findCheck(below, 'schema.c.domain').passed).toBe(false);
  });

  it('ROW_COUNT: too few rows; a count within bounds passes', async () => {
    const path = writeData('x\n1\n2\n3\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'integer' } }, { rowCount: { min: 5 } }),
    });
    const check = failed(report, 'schema.rowCount');
    expect(check).toMatchObject({ anomaly: 'ROW_COUNT', observed: 3, expected: { min: 5 } });
    expect(check.message).toMatch(/3 rows, expected ≥ 5/);
    const ok = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'integer' } }, { rowCount: { min: 1, max: 3 } }),
    });
    expect(findCheck(ok, 'schema.rowCount')).toMatchObject({ passed: true, observed: 3 });
  });

  it('a Parquet file is checked the same way', async () => {
    const path = await writeParquetFile(
      `SELECT * FROM (VALUES (1, 'a', 0.5::DOUBLE), (2, NULL, 'NaN'::DOUBLE), (3, 'c', 7.0)) t(id, s, x)`,
    );
    const report = await validateDataset(path, {
      schema: schemaOf({
        id: { type: 'integer', range: { min: 1, max: 2 } },
        s: { type: 'string' },
        x: { type: 'number' },
      }),
    });
    expect(rowsOf(failed(report, 'schema.id.range'))).toEqual([{ row: 3, values: { id: 3 } }]);
    expect(rowsOf(failed(report, 'schema.s.notNull'))).toEqual([{ row: 2, values: { s: null } }]);
    expect(rowsOf(failed(report, 'schema.x.finite'))).toEqual([{ row: 2, values: { x: 'NaN' } }]);
    expect(report.errorCount).toBe(3);
  });

  it('covered every anomaly kind', () => {
    expect([...seen].sort()).toEqual([...ANOMALY_KINDS].sort());
  });
});

// ---------------------------------------------------------------------------------------------

describe('expectations', () => {
  const seen = new Set<string>();
  /** [passing, failing]: checks that the first passed and the second failed, and records the name. */
  const pair = (results: CheckResult[]): [CheckResult, CheckResult] => {
    const [pass, fail] = results as [CheckResult, CheckResult];
    expect(pass.passed, pass.message).toBe(true);
    expect(fail.passed, fail.message).toBe(false);
    expect(pass.check).toBe(fail.check);
    seen.add(pass.check);
    return [pass, fail];
  };

  it('expect_column_to_exist', async () => {
    const path = writeData('a\n1\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_to_exist', column: 'a' },
        { expect: 'expect_column_to_exist', column: 'zz' },
      ]),
    );
    expect(pass).toMatchObject({ observed: 'BIGINT', id: 'expectations[0]', columns: ['a'] });
    expect(fail).toMatchObject({ observed: 'absent', id: 'expectations[1]', columns: ['zz'] });
    expect(fail.message).toMatch(/column 'zz' does not exist/);
  });

  it('expect_column_values_to_not_be_null counts null rows, with mostly', async () => {
    const path = writeData('id,v\n1,a\n2,\n3,c\n4,d\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_not_be_null', column: 'id' },
      { expect: 'expect_column_values_to_not_be_null', column: 'v' },
      { expect: 'expect_column_values_to_not_be_null', column: 'v', mostly: 0.75 },
      { expect: 'expect_column_values_to_not_be_null', column: 'v', mostly: 0.76 },
    ]);
    const [pass, fail] = pair(results);
    expect(counts(pass)).toEqual([4, 0]);
    expect(counts(fail)).toEqual([4, 1]);
    expect(fail.observed).toEqual({ elementCount: 4, unexpectedCount: 1, unexpectedFraction: 0.25 });
    expect(rowsOf(fail)).toEqual([{ row: 2, values: { v: null } }]);
    expect(results[2]!.passed).toBe(true);
    expect(results[2]!.message).toMatch(/mostly 0\.75 met/);
    expect(results[3]!.passed).toBe(false);
    expect(results[3]!.message).toMatch(/mostly 0\.76 not met/);
  });

  it('expect_column_values_to_be_unique ignores nulls', async () => {
    const path = writeData('id,v\n1,1\n2,2\n3,2\n4,\n5,\n6,3\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_be_unique', column: 'id' },
      { expect: 'expect_column_values_to_be_unique', column: 'v' },
      { expect: 'expect_column_values_to_be_unique', column: 'v', mostly: 0.5 },
    ]);
    const [pass, fail] = pair(results);
    expect(counts(pass)).toEqual([6, 0]);
    expect(counts(fail)).toEqual([4, 2]);
    expect(rowsOf(fail)).toEqual([
      { row: 2, values: { v: 2 } },
      { row: 3, values: { v: 2 } },
    ]);
    expect(results[2]!.passed).toBe(true);
  });

  it('expect_column_values_to_be_between, with strict_min and strict_max', async () => {
    const path = writeData('id,v\n1,0\n2,5\n3,10\n4,\n5,11\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_be_between', column: 'v', min_value: 0, max_value: 11 },
      { expect: 'expect_column_values_to_be_between', column: 'v', min_value: 0, max_value: 10 },
      {
        expect: 'expect_column_values_to_be_between',
        column: 'v',
        min_value: 0,
        max_value: 11,
        strict_min: true,
      },
      {
        expect: 'expect_column_values_to_be_between',
        column: 'v',
        min_value: 0,
        max_value: 11,
        strict_max: true,
      },
      { expect: 'expect_column_values_to_be_between', column: 'v', min_value: 5 },
      { expect: 'expect_column_values_to_be_between', column: 'v', max_value: 10, mostly: 0.75 },
    ]);
    const [pass, fail] = pair(results);
    expect(counts(pass)).toEqual([4, 0]);
    expect(counts(fail)).toEqual([4, 1]);
    expect(rowsOf(fail)).toEqual([{ row: 5, values: { v: 11 } }]);
    expect(rowsOf(results[2]!)).toEqual([{ row: 1, values: { v: 0 } }]);
    expect(results[2]!.passed).toBe(false);
    expect(rowsOf(results[3]!)).toEqual([{ row: 5, values: { v: 11 } }]);
    expect(results[3]!.passed).toBe(false);
    expect(counts(results[4]!)).toEqual([4, 1]);
    expect(rowsOf(results[4]!)).toEqual([{ row: 1, values: { v: 0 } }]);
    expect(results[5]!.passed).toBe(true);
  });

  it('expect_column_values_to_be_in_set', async () => {
    const path = writeData('id,c\n1,a\n2,b\n3,c\n4,\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_values_to_be_in_set', column: 'c', value_set: ['a', 'b', 'c'] },
        { expect: 'expect_column_values_to_be_in_set', column: 'c', value_set: ['a', 'b'] },
      ]),
    );
    expect(counts(pass)).toEqual([3, 0]);
    expect(counts(fail)).toEqual([3, 1]);
    expect(rowsOf(fail)).toEqual([{ row: 3, values: { c: 'c' } }]);
    expect(fail.expected).toEqual({ column: 'c', value_set: ['a', 'b'], mostly: 1 });
  });

  it('expect_column_values_to_match_regex', async () => {
    const path = writeData('id,code\n1,AB-1\n2,AB-22\n3,ab-3\n4,\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_values_to_match_regex', column: 'code', regex: '^[A-Za-z]{2}-\\d+$' },
        { expect: 'expect_column_values_to_match_regex', column: 'code', regex: '^[A-Z]{2}-\\d+$' },
      ]),
    );
    expect(counts(pass)).toEqual([3, 0]);
    expect(counts(fail)).toEqual([3, 1]);
    expect(rowsOf(fail)).toEqual([{ row: 3, values: { code: 'ab-3' } }]);
  });

  it('expect_column_value_lengths_to_be_between', async () => {
    const path = writeData('id,s\n1,a\n2,abc\n3,abcdef\n4,\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_value_lengths_to_be_between', column: 's', min_value: 1, max_value: 6 },
        { expect: 'expect_column_value_lengths_to_be_between', column: 's', min_value: 1, max_value: 3 },
      ]),
    );
    expect(counts(pass)).toEqual([3, 0]);
    expect(counts(fail)).toEqual([3, 1]);
    expect(rowsOf(fail)).toEqual([{ row: 3, values: { s: 'abcdef' } }]);
  });

  it('expect_column_mean_to_be_between', async () => {
    const path = writeData('x\n1\n2\n3\n4\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_mean_to_be_between', column: 'x', min_value: 2.5, max_value: 2.5 },
      { expect: 'expect_column_mean_to_be_between', column: 'x', min_value: 2.6 },
      { expect: 'expect_column_mean_to_be_between', column: 'x', min_value: 2.5, strict_min: true },
    ]);
    const [pass, fail] = pair(results);
    expect(pass.observed).toBe(2.5);
    expect(fail.observed).toBe(2.5);
    expect(fail.message).toMatch(/mean 2\.50* is not ≥ 2\.6/);
    expect(fail.elementCount).toBeUndefined();
    expect(results[2]!.passed).toBe(false);
    expect(results[2]!.message).toMatch(/mean 2\.50* is not > 2\.5/);
  });

  it('expect_column_mean_to_be_between uses the finite values of a float column', async () => {
    const path = writeData('x\n1.0\nNaN\n3.0\nInfinity\n');
    const [pass] = await runExpectations(path, [
      { expect: 'expect_column_mean_to_be_between', column: 'x', min_value: 2, max_value: 2 },
    ]);
    expect(pass).toMatchObject({ passed: true, observed: 2 });
  });

  it('expect_column_median_to_be_between', async () => {
    const path = writeData('x\n1\n2\n3\n10\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_median_to_be_between', column: 'x', min_value: 2.5, max_value: 2.5 },
        { expect: 'expect_column_median_to_be_between', column: 'x', max_value: 2 },
      ]),
    );
    expect(pass.observed).toBe(2.5);
    expect(fail.observed).toBe(2.5);
    expect(fail.message).toMatch(/median 2\.50* is not ≤ 2/);
  });

  it('expect_column_stdev_to_be_between (sample standard deviation)', async () => {
    const path = writeData('x\n1\n2\n3\n4\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_stdev_to_be_between', column: 'x', min_value: 1.29, max_value: 1.3 },
        { expect: 'expect_column_stdev_to_be_between', column: 'x', max_value: 1 },
      ]),
    );
    expect(pass.observed).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(fail.observed).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(fail.message).toMatch(/stdev 1\.29099 is not ≤ 1/);
  });

  it('expect_column_min_to_be_between, with strict_min', async () => {
    const path = writeData('x\n3\n1\n2\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_min_to_be_between', column: 'x', min_value: 1, max_value: 1 },
        { expect: 'expect_column_min_to_be_between', column: 'x', min_value: 1, strict_min: true },
      ]),
    );
    expect(pass.observed).toBe(1);
    expect(fail.observed).toBe(1);
    expect(fail.message).toMatch(/min 1 is not > 1/);
  });

  it('expect_column_max_to_be_between, with strict_max', async () => {
    const path = writeData('x\n3\n1\n2\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_column_max_to_be_between', column: 'x', max_value: 3 },
        { expect: 'expect_column_max_to_be_between', column: 'x', max_value: 3, strict_max: true },
      ]),
    );
    expect(pass.observed).toBe(3);
    expect(fail.message).toMatch(/max 3 is not < 3/);
  });

  it('expect_column_quantile_values_to_be_between', async () => {
    const path = writeData('x\n1\n2\n3\n4\n5\n');
    const quantiles = [0.25, 0.5, 0.75];
    const [pass, fail] = pair(
      await runExpectations(path, [
        {
          expect: 'expect_column_quantile_values_to_be_between',
          column: 'x',
          quantile_ranges: {
            quantiles,
            value_ranges: [
              [2, 2],
              [3, 3],
              [null, 4],
            ],
          },
        },
        {
          expect: 'expect_column_quantile_values_to_be_between',
          column: 'x',
          quantile_ranges: {
            quantiles,
            value_ranges: [
              [2, 2],
              [3.5, null],
              [null, 3],
            ],
          },
        },
      ]),
    );
    expect(pass.observed).toEqual({ quantiles, values: [2, 3, 4] });
    expect(fail.observed).toEqual({ quantiles, values: [2, 3, 4] });
    expect(fail.message).toMatch(/quantile\(s\) 0\.5, 0\.75 outside/);
  });

  it('expect_column_distinct_values_to_be_in_set', async () => {
    const path = writeData('id,c\n1,a\n2,b\n3,b\n4,\n5,d\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_distinct_values_to_be_in_set', column: 'c', value_set: ['a', 'b', 'd', 'e'] },
      { expect: 'expect_column_distinct_values_to_be_in_set', column: 'c', value_set: ['a', 'b'] },
      { expect: 'expect_column_distinct_values_to_be_in_set', column: 'c', value_set: ['a'] },
    ]);
    const [pass, fail] = pair(results);
    expect(pass.observed).toEqual({ valuesNotInSet: [] });
    expect(fail.observed).toEqual({ valuesNotInSet: ['d'] });
    expect(fail.message).toMatch(/values not in the set: "d"/);
    expect(results[2]!.observed).toEqual({ valuesNotInSet: ['b', 'd'] });
  });

  it('expect_table_row_count_to_be_between', async () => {
    const path = writeData('x\n1\n2\n3\n');
    const [pass, fail] = pair(
      await runExpectations(path, [
        { expect: 'expect_table_row_count_to_be_between', min_value: 3, max_value: 3 },
        { expect: 'expect_table_row_count_to_be_between', min_value: 4 },
      ]),
    );
    expect(pass.observed).toBe(3);
    expect(pass.columns).toEqual([]);
    expect(fail.observed).toBe(3);
    expect(fail.message).toMatch(/3 rows, expected ≥ 4/);
  });

  it('expect_compound_columns_to_be_unique (rows with every column null are left out)', async () => {
    const path = writeData('a,b\n1,x\n1,y\n1,x\n2,\n3,\n,\n');
    const results = await runExpectations(path, [
      { expect: 'expect_compound_columns_to_be_unique', column_list: ['a', 'b'], mostly: 0.6 },
      { expect: 'expect_compound_columns_to_be_unique', column_list: ['a', 'b'] },
    ]);
    const [pass, fail] = pair(results);
    expect(counts(pass)).toEqual([5, 2]);
    expect(counts(fail)).toEqual([5, 2]);
    expect(fail.columns).toEqual(['a', 'b']);
    expect(rowsOf(fail)).toEqual([
      { row: 1, values: { a: 1, b: 'x' } },
      { row: 3, values: { a: 1, b: 'x' } },
    ]);
  });

  it('expect_column_pair_values_a_to_be_greater_than_b, with or_equal', async () => {
    const path = writeData('a,b,c\n5,3,0\n4,4,1\n3,5,2\n2,,1\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_pair_values_a_to_be_greater_than_b', column_A: 'a', column_B: 'c' },
      { expect: 'expect_column_pair_values_a_to_be_greater_than_b', column_A: 'a', column_B: 'b' },
      {
        expect: 'expect_column_pair_values_a_to_be_greater_than_b',
        column_A: 'a',
        column_B: 'b',
        or_equal: true,
      },
    ]);
    const [pass, fail] = pair(results);
    expect(counts(pass)).toEqual([4, 0]);
    // Row 4 has no b: it is not counted.
    expect(counts(fail)).toEqual([3, 2]);
    expect(fail.columns).toEqual(['a', 'b']);
    expect(rowsOf(fail)).toEqual([
      { row: 2, values: { a: 4, b: 4 } },
      { row: 3, values: { a: 3, b: 5 } },
    ]);
    expect(counts(results[2]!)).toEqual([3, 1]);
    expect(rowsOf(results[2]!)).toEqual([{ row: 3, values: { a: 3, b: 5 } }]);
  });

  it('covered every expectation', () => {
    expect([...seen].sort()).toEqual([...EXPECTATION_NAMES].sort());
  });
});

// ---------------------------------------------------------------------------------------------

describe('expectation semantics', () => {
  it('mostly passes at exactly the threshold and fails just below it', async () => {
    // 10 values, one of them (10) above the maximum: 90% meet the expectation.
    const path = writeData(`x\n${Array.from({ length: 10 }, (_, i) => i + 1).join('\n')}\n`);
    const between = { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 9 } as const;
    const results = await runExpectations(path, [
      { ...between, mostly: 0.9 },
      { ...between, mostly: 0.90001 },
      { ...between, mostly: 0.5 },
      between,
    ]);
    expect(results.map((r) => r.passed)).toEqual([true, false, true, false]);
    for (const result of results) {
      expect(counts(result)).toEqual([10, 1]);
      expect(result.unexpectedFraction).toBeCloseTo(0.1, 12);
      expect(rowsOf(result)).toEqual([{ row: 10, values: { x: 10 } }]);
    }
    expect(results[0]!.message).toMatch(/mostly 0\.9 met/);
    expect(results[1]!.message).toMatch(/mostly 0\.90001 not met/);
  });

  it('mostly: 1 of 3 unexpected passes with mostly 2/3', async () => {
    const path = writeData('x\n1\n2\n3\n');
    const [result] = await runExpectations(path, [
      { expect: 'expect_column_values_to_be_in_set', column: 'x', value_set: [1, 2], mostly: 2 / 3 },
    ]);
    expect(result).toMatchObject({ passed: true, elementCount: 3, unexpectedCount: 1 });
  });

  it('per-row expectations ignore nulls, except not_null', async () => {
    const path = writeData('id,v\n1,ab\n2,\n3,cd\n4,\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_be_unique', column: 'v' },
      { expect: 'expect_column_values_to_be_in_set', column: 'v', value_set: ['ab', 'cd'] },
      { expect: 'expect_column_values_to_match_regex', column: 'v', regex: '^[a-z]{2}$' },
      { expect: 'expect_column_value_lengths_to_be_between', column: 'v', min_value: 2, max_value: 2 },
      { expect: 'expect_column_values_to_be_between', column: 'v', min_value: 'aa', max_value: 'zz' },
      { expect: 'expect_column_values_to_not_be_null', column: 'v' },
    ]);
    for (const result of results.slice(0, 5)) {
      expect(result.passed, `${result.check}: ${result.message}`).toBe(true);
      expect(counts(result), result.check).toEqual([2, 0]);
    }
    expect(results[5]).toMatchObject({ passed: false, elementCount: 4, unexpectedCount: 2 });
    expect(rowsOf(results[5]!)?.map((r) => r.row)).toEqual([2, 4]);
  });

  it('a per-row expectation on a column with only nulls has nothing to check and passes', async () => {
    const path = writeData('id,v\n1,\n2,\n');
    const [result] = await runExpectations(path, [
      { expect: 'expect_column_values_to_be_in_set', column: 'v', value_set: ['a'] },
    ]);
    expect(result).toMatchObject({ passed: true, elementCount: 0, unexpectedCount: 0 });
    expect(result!.message).toBe('no values to check');
  });

  it('failingRows keeps a sample (default 5, failingRowSample to change it) while counting all', async () => {
    const path = writeData(`x\n${Array.from({ length: 12 }, (_, i) => i).join('\n')}\n`);
    const suite = expectationSuite([
      { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 1 },
    ]);
    const report = await validateDataset(path, { expectations: suite });
    const check = findCheck(report, 'expectations[0]');
    expect(counts(check)).toEqual([12, 10]);
    expect(rowsOf(check)?.map((r) => r.row)).toEqual([3, 4, 5, 6, 7]);
    const two = await validateDataset(path, { expectations: suite, failingRowSample: 2 });
    expect(rowsOf(findCheck(two, 'expectations[0]'))?.map((r) => r.row)).toEqual([3, 4]);
  });

  it('an expectation on a missing column fails naming the column', async () => {
    const path = writeData('a,b\n1,2\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_not_be_null', column: 'nope' },
      { expect: 'expect_column_mean_to_be_between', column: 'gone', min_value: 0 },
      { expect: 'expect_column_pair_values_a_to_be_greater_than_b', column_A: 'p', column_B: 'q' },
      { expect: 'expect_compound_columns_to_be_unique', column_list: ['a', 'missing'] },
      { expect: 'expect_column_values_to_not_be_null', column: 'a' },
    ]);
    expect(results.map((r) => r.passed)).toEqual([false, false, false, false, true]);
    expect(results[0]).toMatchObject({ observed: 'absent', columns: ['nope'] });
    expect(results[0]!.message).toMatch(/column 'nope' does not exist/);
    expect(results[1]!.message).toMatch(/column 'gone' does not exist/);
    expect(results[2]!.message).toMatch(/columns 'p', 'q' do not exist/);
    expect(results[3]!.message).toMatch(/column 'missing' does not exist/);
  });

  it('a bad regex or a value_set that does not fit the column fails that check only', async () => {
    const path = writeData('n,s\n1,a\n2,b\n3,\n');
    const results = await runExpectations(path, [
      { expect: 'expect_column_values_to_match_regex', column: 's', regex: '(' },
      { expect: 'expect_column_values_to_be_in_set', column: 'n', value_set: ['x', 'y'] },
      { expect: 'expect_column_values_to_not_be_null', column: 's' },
      { expect: 'expect_column_values_to_be_between', column: 'n', min_value: 1, max_value: 3 },
      { expect: 'expect_column_max_to_be_between', column: 'n', max_value: 3 },
    ]);
    expect(results[0]).toMatchObject({ passed: false, observed: null, columns: ['s'] });
    expect(results[0]!.message).toMatch(/^could not be checked: .*\(/);
    expect(results[1]).toMatchObject({ passed: false, observed: null, columns: ['n'] });
    expect(results[1]!.message).toMatch(/^could not be checked: .*'x'/);
    // The other checks still ran.
    expect(results[2]).toMatchObject({ passed: false, elementCount: 3, unexpectedCount: 1 });
    expect(rowsOf(results[2]!)).toEqual([{ row: 3, values: { s: null } }]);
    expect(results[3]).toMatchObject({ passed: true, elementCount: 3, unexpectedCount: 0 });
    expect(results[4]).toMatchObject({ passed: true, observed: 3 });
  });

  it("severity 'warning' is reported but does not fail the report", async () => {
    const path = writeData('x\n1\n2\n');
    const report = await validateDataset(path, {
      expectations: expectationSuite([
        { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 1, severity: 'warning' },
        { expect: 'expect_column_values_to_not_be_null', column: 'x' },
      ]),
    });
    expect(report).toMatchObject({ passed: true, errorCount: 0, warningCount: 1 });
    expect(findCheck(report, 'expectations[0]')).toMatchObject({ passed: false, severity: 'warning' });
    const withError = await validateDataset(path, {
      expectations: expectationSuite([
        { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 1, severity: 'warning' },
        { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 0 },
      ]),
    });
    expect(withError).toMatchObject({ passed: false, errorCount: 1, warningCount: 1 });
  });

  it('schema and expectations together are one report', async () => {
    const path = writeData('x\n1\n2\n');
    const report = await validateDataset(path, {
      schema: schemaOf({ x: { type: 'integer', range: { max: 1 } } }),
      expectations: expectationSuite([
        { expect: 'expect_column_values_to_be_between', column: 'x', max_value: 1 },
      ]),
    });
    expect(report.kind).toBe('lathe.validation');
    expect(report.source).toBe(path);
    expect(report.errorCount).toBe(2);
    expect(report.checks.map((c) => c.source)).toEqual(['schema', 'schema', 'schema', 'expectations']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('schema inference round trip', () => {
  async function roundTrip(
    path: string,
  ): Promise<{ yaml: string; schema: DatasetSchema; report: ValidationReport }> {
    const inferred = inferSchema(await computeStatistics(path));
    const yaml = schemaToYaml(inferred);
    const schema = parseSchema(yaml, 'inferred.yaml');
    expect(schema).toEqual(inferred);
    const report = await validateDataset(path, { schema });
    const failures = report.checks.filter((c) => !c.passed).map((c) => `${c.id}: ${c.message}`);
    expect(failures).toEqual([]);
    expect(report.passed).toBe(true);
    return { yaml, schema, report };
  }

  it('a CSV with integers, floats, text, nulls, NaN and a categorical column validates against its inferred schema', async () => {
    const lines = ['id,price,ratio,city,note,flag,day'];
    const cities = ['paris', 'rome', 'oslo'];
    for (let i = 1; i <= 12; i++) {
      const ratio = i === 4 ? 'NaN' : (i / 7).toString();
      const note = i % 5 === 0 ? '' : `note number ${i}`;
      lines.push(
        `${i},${(i * 1.1).toFixed(2)},${ratio},${cities[i % 3]},${note},${i % 2 === 0},2024-01-${String(i).padStart(2, '0')}`,
      );
    }
    const path = writeData(`${lines.join('\n')}\n`);
    const { schema } = await roundTrip(path);
    expect(schema.columns.id).toMatchObject({ type: 'integer', nullable: false, range: { min: 1, max: 12 } });
    expect(schema.columns.ratio).toMatchObject({ type: 'number', allowNonFinite: true });
    expect(schema.columns.city).toMatchObject({ type: 'string', domain: ['oslo', 'paris', 'rome'] });
    expect(schema.columns.note).toMatchObject({ type: 'string', nullable: true });
    expect(schema.columns.note!.domain).toBeUndefined();
    expect(schema.columns.flag).toMatchObject({ type: 'boolean' });
    expect(schema.columns.day).toMatchObject({ type: 'date' });
    expect(schema.rowCount).toEqual({ min: 1 });
  });

  it('a Parquet file with float, decimal, date, timestamp, integers beyond 2^53 and odd column names validates against its inferred schema', async () => {
    const path = await writeParquetFile(`SELECT * FROM (VALUES
      (1, 0.1::FLOAT, 1.25::DECIMAL(10,2), DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', true, 'yes', 9007199254740993),
      (2, 0.7::FLOAT, 3.10::DECIMAL(10,2), DATE '2024-03-02', TIMESTAMP '2024-05-02 03:04:05', false, 'null', -9007199254740993),
      (3, 0.3::FLOAT, 2.00::DECIMAL(10,2), NULL, TIMESTAMP '2024-03-02 03:04:05', true, 'yes', 3),
      (4, 0.3::FLOAT, 2.00::DECIMAL(10,2), DATE '2024-02-02', TIMESTAMP '2024-03-02 03:04:05', true, 'null', 4),
      (5, 0.3::FLOAT, 2.00::DECIMAL(10,2), DATE '2024-02-02', TIMESTAMP '2024-03-02 03:04:05', true, 'yes', 5),
      (6, 0.3::FLOAT, 2.00::DECIMAL(10,2), DATE '2024-02-02', TIMESTAMP '2024-03-02 03:04:05', true, 'null', 6)
    ) t("row id", "f", "d", "the day", "ts", "flag", "s""q", big)`);
    const { schema, yaml } = await roundTrip(path);
    expect(Object.keys(schema.columns)).toEqual(['row id', 'f', 'd', 'the day', 'ts', 'flag', 's"q', 'big']);
    expect(schema.columns.big).toMatchObject({ type: 'integer' });
    expect(schema.columns['the day']).toMatchObject({ type: 'date', nullable: true });
    expect(schema.columns['s"q']!.domain).toEqual(['null', 'yes']);
    // YAML keeps 'null' and 'yes' as strings.
    expect(yaml).toMatch(/- "null"/);
  });

  it('../shared/datasets/iris.csv validates against its inferred schema', async () => {
    expect(existsSync(IRIS), IRIS).toBe(true);
    const { schema, report } = await roundTrip(IRIS);
    expect(report.rowCount).toBe(150);
    expect(schema.columns.species).toMatchObject({
      type: 'string',
      domain: ['setosa', 'versicolor', 'virginica'],
    });
    expect(schema.columns.sepal_length).toMatchObject({ type: 'number', range: { min: 4.3, max: 7.9 } });
  });

  it('an inferred schema catches a changed file', async () => {
    const base = writeData('id,kind\n1,a\n2,b\n3,a\n4,b\n5,a\n');
    const schema = parseSchema(schemaToYaml(inferSchema(await computeStatistics(base))), 'base.yaml');
    const changed = writeData('id,kind\n1,a\n9,c\n3,\n');
    const report = await validateDataset(changed, { schema });
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.id);
    expect(failed.sort()).toEqual(['schema.id.range', 'schema.kind.domain', 'schema.kind.notNull']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('schema and suite files: errors name the field and the line', () => {
  const head = 'kind: lathe.schema\nversion: 1\ncolumns:\n  age:\n';

  function parseError(
    parse: (text: string, path: string) => unknown,
    text: string,
    path: string,
  ): DataSchemaError {
    try {
      parse(text, path);
    } catch (error) {
      expect(error).toBeInstanceOf(DataSchemaError);
      return error as DataSchemaError;
    }
    throw new Error(`expected a DataSchemaError for:\n${text}`);
  }
  const schemaError = (text: string, path = 'schema.yaml') => parseError(parseSchema, text, path);
  const suiteError = (text: string, path = 'suite.yaml') => parseError(parseExpectationSuite, text, path);

  it('a valid schema parses, with defaults filled in', () => {
    const schema = parseSchema(`${head}    type: integer\n    range: {min: 0}\n`, 'schema.yaml');
    expect(schema.columns.age).toEqual({
      type: 'integer',
      required: true,
      nullable: false,
      allowNonFinite: false,
      maxOutOfDomainFraction: 0,
      range: { min: 0 },
    });
    expect(schema.unexpectedColumns).toBe('error');
  });

  it('a wrong type name', () => {
    const error = schemaError(`${head}    type: integr\n`);
    expect(error.code).toBe('DATA_SCHEMA_INVALID');
    expect(error.line).toBe(5);
    expect(error.message).toMatch(/^schema\.yaml:5: columns\.age\.type: .*integer/);
  });

  it('an unknown field', () => {
    // The error points at the unknown key's own line, wherever it is in its mapping.
    const first = schemaError(`${head}    nulable: true\n    type: integer\n`);
    expect(first.line).toBe(5);
    expect(first.message).toMatch(/^schema\.yaml:5: columns\.age\.nulable: .*nulable/);
    const later = schemaError(`${head}    type: integer\n    nulable: true\n`);
    expect(later.line).toBe(6);
    expect(later.message).toMatch(/^schema\.yaml:6: columns\.age\.nulable: /);
  });

  it('a range with min greater than max', () => {
    const error = schemaError(`${head}    type: integer\n    range: {min: 5, max: 1}\n`);
    expect(error.line).toBe(6);
    expect(error.message).toMatch(/^schema\.yaml:6: columns\.age\.range: min is greater than max/);
  });

  it('a range on a text column', () => {
    const error = schemaError(`${head}    type: string\n    range: {min: 1}\n`);
    expect(error.line).toBe(6);
    expect(error.message).toMatch(/columns\.age\.range: a range needs type integer or number/);
  });

  it('bad YAML syntax', () => {
    const unclosed = schemaError(`${head}    type: [integer\n`);
    expect(unclosed.line).toBeGreaterThanOrEqual(5);
    expect(unclosed.message).toMatch(new RegExp(`^schema\\.yaml:${unclosed.line}: `));
    const indent = schemaError(`${head}    type: integer\n   nullable: true\n`);
    expect(indent.line).toBe(6);
    expect(indent.message).toMatch(/^schema\.yaml:6: /);
    const duplicate = schemaError(`${head}    type: integer\n  age:\n    type: number\n`);
    expect(duplicate.line).toBe(6);
    expect(duplicate.message).toMatch(/^schema\.yaml:6: .*unique/);
  });

  it('a wrong kind or version', () => {
    const error = schemaError('kind: lathe.schema\nversion: 2\ncolumns: {}\n');
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/^schema\.yaml:2: version: /);
  });

  it('loadSchemaFile names the file; a missing file is an error too', () => {
    const path = join(dir, 'bad-schema.yaml');
    writeFileSync(path, `${head}    type: integr\n`);
    expect(() => loadSchemaFile(path)).toThrow(DataSchemaError);
    expect(() => loadSchemaFile(path)).toThrow(`${path}:5: columns.age.type`);
    expect(() => loadSchemaFile(join(dir, 'none.yaml'))).toThrow(
      /none\.yaml: cannot read the file \(ENOENT\)/,
    );
  });

  it('an expectation suite names the expectation, the field and the line', () => {
    const suite = [
      'kind: lathe.expectations',
      'version: 1',
      'expectations:',
      '  - expect: expect_column_to_exist',
      '    column: a',
      '  - expect: expect_column_values_to_not_be_null',
      '    column: a',
      '  - expect: expect_column_values_to_be_between',
      '    column: a',
      '    min_value: 1',
      '    mostly: 1.5',
      '',
    ].join('\n');
    const error = suiteError(suite);
    expect(error.code).toBe('DATA_SCHEMA_INVALID');
    expect(error.line).toBe(11);
    expect(error.message).toMatch(/^suite\.yaml:11: expectations\.2\.mostly: /);
  });

  it('an unknown expectation, an unknown argument, mismatched quantile ranges', () => {
    const prefix = 'kind: lathe.expectations\nversion: 1\nexpectations:\n';
    const unknown = suiteError(`${prefix}  - column: a\n    expect: expect_column_to_exst\n`);
    expect(unknown.line).toBe(5);
    expect(unknown.message).toMatch(/^suite\.yaml:5: expectations\.0\.expect: .*expect_column_to_exist/);
    const argument = suiteError(
      `${prefix}  - expect: expect_column_to_exist\n    column: a\n    colour: red\n`,
    );
    expect(argument.line).toBe(6);
    expect(argument.message).toMatch(/^suite\.yaml:6: expectations\.0\.colour: /);
    const ranges = suiteError(
      `${prefix}  - expect: expect_column_quantile_values_to_be_between\n    column: a\n    quantile_ranges:\n      quantiles: [0.5, 0.9]\n      value_ranges: [[1, 2]]\n`,
    );
    expect(ranges.line).toBe(7);
    expect(ranges.message).toMatch(/expectations\.0\.quantile_ranges: quantiles and value_ranges/);
  });

  it('expectationSuite() checks a suite given in code with the same rules', () => {
    expect(() =>
      expectationSuite([{ expect: 'expect_column_values_to_not_be_null', column: 'a', mostly: 2 }]),
    ).toThrow(/expectations\.0\.mostly/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('lathe data validate / schema infer (CLI)', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeTempDir('lathe-data-validate-cli-');
    writeFileSync(join(cwd, 'people.csv'), 'id,age,city\n1,34,paris\n2,150,rome\n3,28,paris\n4,-2,oslo\n');
    writeFileSync(
      join(cwd, 'strict.yaml'),
      'kind: lathe.schema\nversion: 1\ncolumns:\n  id:\n    type: integer\n  age:\n    type: integer\n    range: {min: 0, max: 120}\n  city:\n    type: string\n',
    );
    writeFileSync(
      join(cwd, 'loose.yaml'),
      'kind: lathe.schema\nversion: 1\ncolumns:\n  id:\n    type: integer\n  age:\n    type: integer\n  city:\n    type: string\n',
    );
    writeFileSync(
      join(cwd, 'broken.yaml'),
      'kind: lathe.schema\nversion: 1\ncolumns:\n  id:\n    type: integer\n  age:\n    type: intger\n',
    );
    writeFileSync(
      join(cwd, 'suite.yaml'),
      'kind: lathe.expectations\nversion: 1\nexpectations:\n  - expect: expect_column_values_to_be_in_set\n    column: city\n    value_set: [paris, rome]\n',
    );
    writeFileSync(
      join(cwd, 'broken-suite.yaml'),
      'kind: lathe.expectations\nversion: 1\nexpectations:\n  - expect: expect_column_values_to_be_in_set\n    column: city\n    value_set: []\n',
    );
  });
  afterAll(() => removeDir(cwd));

  it('exits 0 when every check passes', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--schema', 'loose.yaml'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/people\.csv: 4 rows — validation PASSED/);
    expect(result.stdout).not.toMatch(/FAIL/);
  });

  it('exits 1 when a check fails and prints the failing checks with their rows', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--schema', 'strict.yaml'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/validation FAILED/);
    expect(result.stdout).toMatch(
      /^FAIL schema\.age\.range \[age\]: 2 of 4 values \(50\.0%\) are not in \[0, 120\]$/m,
    );
    expect(result.stdout).toMatch(/^ +row 2: age=150$/m);
    expect(result.stdout).toMatch(/^ +row 4: age=-2$/m);
    expect(result.stdout).not.toMatch(/^ok /m);
  });

  it('--all lists the passed checks too', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--schema', 'strict.yaml', '--all'], {
      cwd,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ok +schema\.id\.type: /m);
  });

  it('--warn reports the failures and exits 0', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--schema', 'strict.yaml', '--warn'], {
      cwd,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^FAIL schema\.age\.range/m);
  });

  it('--json prints the report, and --expectations adds the suite', async () => {
    const result = await runCli(
      ['data', 'validate', 'people.csv', '--schema', 'strict.yaml', '--expectations', 'suite.yaml', '--json'],
      { cwd },
    );
    expect(result.code).toBe(1);
    const report = parseJson<ValidationReport>(result);
    expect(report).toMatchObject({ kind: 'lathe.validation', rowCount: 4, passed: false, errorCount: 2 });
    expect(findCheck(report, 'schema.age.range')).toMatchObject({
      unexpectedCount: 2,
      failingRows: [
        { row: 2, values: { age: 150 } },
        { row: 4, values: { age: -2 } },
      ],
    });
    expect(findCheck(report, 'expectations[0]')).toMatchObject({
      check: 'expect_column_values_to_be_in_set',
      unexpectedCount: 1,
      failingRows: [{ row: 4, values: { city: 'oslo' } }],
    });
  });

  it('schema infer prints YAML that parseSchema reads and that the file passes', async () => {
    const result = await runCli(['data', 'schema', 'infer', 'people.csv'], { cwd });
    expect(result.code).toBe(0);
    const schema = parseSchema(result.stdout, 'inferred.yaml');
    expect(schema.columns.age).toMatchObject({ type: 'integer', range: { min: -2, max: 150 } });
    writeFileSync(join(cwd, 'inferred.yaml'), result.stdout);
    const validated = await runCli(['data', 'validate', 'people.csv', '--schema', 'inferred.yaml'], { cwd });
    expect(validated.code).toBe(0);
    expect(validated.stdout).toMatch(/validation PASSED/);
  });

  it('a schema file with an error exits 2 naming file:line', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--schema', 'broken.yaml'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error \[DATA_SCHEMA_INVALID\]: broken\.yaml:7: columns\.age\.type: /);
  });

  it('an expectation suite with an error exits 2 naming file:line', async () => {
    const result = await runCli(['data', 'validate', 'people.csv', '--expectations', 'broken-suite.yaml'], {
      cwd,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error \[DATA_SCHEMA_INVALID\]: broken-suite\.yaml:6: expectations\.0\.value_set: /,
    );
  });

  it('validate without --schema or --expectations is a usage error', async () => {
    const result = await runCli(['data', 'validate', 'people.csv'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--schema FILE and\/or --expectations FILE/);
  });
});
