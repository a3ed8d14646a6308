/**
 * Bad input to `lathe/data`, through the library (loadTable, computeStatistics) and the CLI
 * (`lathe data stats`): malformed CSV lines, empty and header-only files, all-null and mixed
 * columns, huge values, NaN/±Infinity, non-UTF-8 bytes, missing files, directories, unknown
 * extensions, corrupt Parquet and invalid JSON. Each is a clear error naming the file (and the
 * line where one applies) or a reported anomaly — never a crash or an unhandled rejection.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ColumnStatistics,
  computeStatistics,
  DataEngine,
  type DataSource,
  DataSourceError,
  type DatasetStatistics,
  expectationSuite,
  inferSchema,
  loadTable,
  validateDataset,
} from '../../src/data/index.js';
import { type CliResult, makeTempDir, parseJson, removeDir, runCli } from './cli.js';

let dir: string;
let engine: DataEngine;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};

beforeAll(() => {
  dir = makeTempDir('lathe-data-bad-input-');
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  removeDir(dir);
  expect(unhandled).toEqual([]);
});
beforeEach(async () => {
  engine = await DataEngine.open({ threads: 2 });
});
afterEach(() => engine.close());

/** Writes a file in the scratch directory; returns its name (relative to `dir`) and absolute path. */
function write(name: string, content: string | Buffer): { name: string; path: string } {
  const path = join(dir, name);
  writeFileSync(path, content);
  return { name, path };
}

async function loadError(source: DataSource | string): Promise<DataSourceError> {
  const error = await loadTable(engine, source).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataSourceError);
  expect((error as DataSourceError).code).toBe('DATA_SOURCE');
  return error as DataSourceError;
}

async function statsError(path: string): Promise<DataSourceError> {
  const error = await computeStatistics(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataSourceError);
  return error as DataSourceError;
}

function stats(args: string[]): Promise<CliResult> {
  return runCli(['data', 'stats', ...args], { cwd: dir });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The CLI failed cleanly: exit 2, one `error [DATA_SOURCE]: <file>[:<line>]: ...` line, no stack. */
function expectSourceError(result: CliResult, file: string, line?: number): string {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const prefix = `error [DATA_SOURCE]: ${file}${line === undefined ? '' : `:${line}`}: `;
  expect(result.stderr).toMatch(new RegExp(`^${escapeRegExp(prefix)}`));
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  return result.stderr;
}

function column(statistics: DatasetStatistics, name: string): ColumnStatistics {
  const found = statistics.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column '${name}' in the statistics`);
  return found;
}

// ---------------------------------------------------------------------------------------------

describe('malformed CSV lines', () => {
  it('names the physical line even after a quoted field that spans lines', async () => {
    // DuckDB counts records (this bad one is record 4); an editor shows line 5.
    const { path } = write('multiline.csv', 'a,b\n1,"x\ny"\n2,z\n3,4,5\n');
    const error = await loadError(path);
    expect(error.line).toBe(5);
    expect(error.message).toMatch(/multiline\.csv:5: /);
  });

  it('a line with too many columns fails with the file and line by default', async () => {
    const { name, path } = write('too-many.csv', 'a,b\n1,2\n3,4,5\n6,7\n');
    const error = await loadError(path);
    expect(error.line).toBe(3);
    expect(error.source).toBe(path);
    expect(error.message).toMatch(
      new RegExp(`^${escapeRegExp(path)}:3: .*Expected Number of Columns: 2 Found: 3`),
    );
    expect(error.message).toMatch(/--bad-lines skip/);
    expect((await statsError(path)).line).toBe(3);
    const stderr = expectSourceError(await stats([name]), name, 3);
    expect(stderr).toMatch(/Expected Number of Columns: 2 Found: 3/);
  });

  it('a line with too few columns names the line and the missing column', async () => {
    const { name, path } = write('too-few.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
    const error = await loadError(path);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/too-few\.csv:3: column 'c': Expected Number of Columns: 3 Found: 2/);
    expectSourceError(await stats([name]), name, 3);
  });

  it("'fail' names the first bad line and counts the others", async () => {
    const { path } = write('several.csv', 'a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n');
    const error = await loadError({ kind: 'file', path, csv: { badLines: 'fail' } });
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/and 1 more bad line\(s\): 5/);
  });

  it('the line number counts the header, blank lines, CRLF and a final line without newline', async () => {
    const blank = await loadError(write('blank-lines.csv', 'a,b\n1,2\n\n3,4\n\n5,6,7\n').path);
    expect(blank.line).toBe(6);
    const crlf = await loadError(write('crlf.csv', 'a,b\r\n1,2\r\n3,4,5\r\n6,7\r\n').path);
    expect(crlf.line).toBe(3);
    const last = await loadError(write('no-final-newline.csv', 'a,b\n1,2\n3,4,5').path);
    expect(last.line).toBe(3);
    const noHeader = await loadError({
      kind: 'file',
      path: write('no-header.csv', '1,2\n3,4\n5,6,7\n').path,
      csv: { header: false },
    });
    expect(noHeader.line).toBe(3);
  });

  it("'skip' drops the bad lines and reports them in rejectedLines and the statistics warnings", async () => {
    const { name, path } = write('skip.csv', 'a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n');
    const source: DataSource = { kind: 'file', path, csv: { badLines: 'skip' } };
    const table = await loadTable(engine, source);
    expect(table.rowCount).toBe(3);
    expect(table.rejectedLines).toEqual([
      {
        file: path,
        line: 3,
        column: null,
        error: expect.stringMatching(/Expected Number of Columns: 2 Found: 3/),
        text: '3,4,5',
      },
      {
        file: path,
        line: 5,
        column: 'b',
        error: expect.stringMatching(/Expected Number of Columns: 2 Found: 1/),
        text: '8',
      },
    ]);
    const statistics = await computeStatistics(table, {}, engine);
    expect(statistics.rowCount).toBe(3);
    expect(column(statistics, 'a')).toMatchObject({ count: 3, numeric: { min: 1, max: 9 } });
    expect(statistics.warnings).toContainEqual(
      expect.stringMatching(/2 malformed line\(s\) were skipped \(first: line 3\)/),
    );

    // Failing rows of a validation are rows of the data as read, after the skipped lines.
    const report = await validateDataset(source, {
      expectations: expectationSuite([
        { expect: 'expect_column_values_to_be_between', column: 'a', max_value: 6 },
      ]),
    });
    expect(report.checks[0]).toMatchObject({
      unexpectedCount: 1,
      failingRows: [{ row: 3, values: { a: 9 } }],
    });

    const [result, jsonResult] = await Promise.all([
      stats([name, '--bad-lines', 'skip']),
      stats([name, '--bad-lines', 'skip', '--json']),
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(`^skipped ${escapeRegExp(name)}:3: Expected Number of Columns`, 'm'),
    );
    expect(result.stderr).toMatch(new RegExp(`^skipped ${escapeRegExp(name)}:5: `, 'm'));
    expect(result.stdout).toMatch(/skip\.csv: 3 rows × 2 columns/);
    expect(result.stdout).toMatch(/warning: 2 malformed line\(s\) were skipped \(first: line 3\)/);
    const json = parseJson<DatasetStatistics>(jsonResult);
    expect(json.rowCount).toBe(3);
  });

  it('an unterminated quote is an error naming the file', async () => {
    const { name, path } = write('unterminated.csv', 'a,b\n0,x\n1,"abc\n2,3\n');
    const error = await loadError(path);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(path)}:3: .*unterminated quote`));
    expect(await stats([name]).then((r) => r.code)).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('empty and degenerate files', () => {
  it('an empty file is an error for every format', async () => {
    const files = ['empty.csv', 'empty.parquet', 'empty.json', 'empty.ndjson'];
    for (const file of files) {
      const { path } = write(file, '');
      const error = await loadError(path);
      expect(error.message).toMatch(new RegExp(`${escapeRegExp(file)}: the file is empty`));
      expect(error.line).toBeUndefined();
    }
    const results = await Promise.all(files.map((file) => stats([file])));
    results.forEach((result, k) => {
      expect(expectSourceError(result, files[k]!)).toMatch(/the file is empty/);
    });
  });

  it('a header-only CSV has 0 rows, and its statistics, schema and validation work', async () => {
    const { name, path } = write('header-only.csv', 'a,b,c\n');
    const statistics = await computeStatistics(path);
    expect(statistics.rowCount).toBe(0);
    expect(statistics.columns.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    for (const c of statistics.columns)
      expect(c).toMatchObject({ count: 0, missing: 0, missingFraction: 0, distinct: 0 });
    expect(statistics.warnings).toEqual([]);
    const schema = inferSchema(statistics);
    expect(schema.rowCount).toEqual({ min: 0 });
    const report = await validateDataset(path, { schema });
    expect(report).toMatchObject({ passed: true, rowCount: 0 });

    const [result, jsonResult] = await Promise.all([stats([name]), stats([name, '--json'])]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/header-only\.csv: 0 rows × 3 columns/);
    expect(parseJson<DatasetStatistics>(jsonResult).rowCount).toBe(0);
  });

  it('an all-null column: a warning, count 0, and the inferred schema makes it nullable', async () => {
    const { name, path } = write('all-null.csv', 'a,b\n1,\n2,\n3,\n');
    const statistics = await computeStatistics(path);
    expect(column(statistics, 'b')).toMatchObject({ count: 0, missing: 3, missingFraction: 1, distinct: 0 });
    expect(statistics.warnings).toEqual(["column 'b' is entirely null"]);
    const schema = inferSchema(statistics);
    expect(schema.columns.b).toMatchObject({ nullable: true });
    expect(schema.columns.a).toMatchObject({ nullable: false, type: 'integer' });
    expect((await validateDataset(path, { schema })).passed).toBe(true);

    const result = await stats([name]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/warning: column 'b' is entirely null/);
  });

  it('a column of numbers with some text is kept as text, with a warning naming the column and row', async () => {
    const { name, path } = write('mixed.csv', 'id,v\n1,10\n2,20\n3,abc\n4,40\n5,50\n');
    const table = await loadTable(engine, path);
    expect(table.columns.find((c) => c.name === 'v')).toMatchObject({
      type: 'VARCHAR',
      logicalType: 'string',
    });
    expect(table.warnings).toHaveLength(1);
    expect(table.warnings[0]).toMatch(/column 'v'.*4 of 5 values are numbers.*"abc" at row 3.*kept as text/);
    const statistics = await computeStatistics(table, {}, engine);
    expect(statistics.warnings).toContainEqual(table.warnings[0]);
    expect(
      column(statistics, 'v')
        .string?.topValues.map((t) => t.value)
        .sort(),
    ).toEqual(['10', '20', '40', '50', 'abc']);

    const result = await stats([name]);
    expect(result.code).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/warning: column 'v'.*"abc" at row 3/);
  });

  it('a value of 1,000,000 characters is read whole', async () => {
    const huge = 'x'.repeat(1_000_000);
    const { name, path } = write('huge-value.csv', `id,s\n1,${huge}\n2,short\n`);
    const statistics = await computeStatistics(path);
    expect(statistics.rowCount).toBe(2);
    expect(column(statistics, 's').string).toMatchObject({ minLength: 5, maxLength: 1_000_000 });
    expect(column(statistics, 's').string?.topValues.find((t) => t.value.length === 1_000_000)?.count).toBe(
      1,
    );

    const result = await stats([name]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/huge-value\.csv: 2 rows × 2 columns/);
    expect(result.stdout.length).toBeLessThan(10_000);
  });
});

// ---------------------------------------------------------------------------------------------

describe('NaN and infinities', () => {
  it('are counted apart; mean, std, quantiles and histograms use the finite values only', async () => {
    const { name, path } = write('non-finite.csv', 'v\n1\n2\nNaN\nInfinity\n-Infinity\n3\n');
    const statistics = await computeStatistics(path, { quantiles: [0, 0.5, 1], histogramBins: 4 });
    const v = column(statistics, 'v');
    expect(v).toMatchObject({ type: 'DOUBLE', count: 6, missing: 0 });
    expect(v.numeric).toMatchObject({
      nan: 1,
      positiveInfinity: 1,
      negativeInfinity: 1,
      min: 1,
      max: 3,
      mean: 2,
      std: 1,
    });
    expect(v.numeric?.quantiles).toEqual([
      { q: 0, value: 1 },
      { q: 0.5, value: 2 },
      { q: 1, value: 3 },
    ]);
    expect(v.numeric?.histogram).toEqual({ edges: [1, 1.5, 2, 2.5, 3], counts: [1, 0, 1, 1] });

    const parquet = join(dir, 'non-finite.parquet');
    await engine.run(
      `COPY (SELECT * FROM (VALUES (1.0::DOUBLE), ('NaN'::DOUBLE), (3.0), ('-Infinity'::DOUBLE)) t(v)) TO '${parquet}' (FORMAT parquet)`,
    );
    const fromParquet = column(await computeStatistics(parquet), 'v').numeric;
    expect(fromParquet).toMatchObject({
      nan: 1,
      positiveInfinity: 0,
      negativeInfinity: 1,
      mean: 2,
      min: 1,
      max: 3,
    });
    expect(fromParquet?.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(2);

    const [jsonResult, text] = await Promise.all([stats([name, '--json']), stats([name])]);
    const json = parseJson<DatasetStatistics>(jsonResult);
    expect(column(json, 'v').numeric).toMatchObject({
      nan: 1,
      positiveInfinity: 1,
      negativeInfinity: 1,
      mean: 2,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/1 NaN; 2 ±Inf/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('encodings', () => {
  const latin1 = Buffer.concat([
    Buffer.from('name,n\nabc,1\ncaf'),
    Buffer.from([0xe9]), // 'é' in Latin-1, not valid UTF-8
    Buffer.from(',2\n'),
  ]);

  it('bytes that are not UTF-8 are an error with the line and a hint about the encoding', async () => {
    const { name, path } = write('latin1.csv', latin1);
    const error = await loadError(path);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/latin1\.csv:3: .*column 'name'.*unicode/i);
    expect(error.message).toMatch(/encoding: 'latin-1'/);
    const stderr = expectSourceError(await stats([name]), name, 3);
    expect(stderr).toMatch(/--encoding latin-1/);
  });

  it("with encoding 'latin-1' the file reads", async () => {
    const { name, path } = write('latin1-ok.csv', latin1);
    const table = await loadTable(engine, { kind: 'file', path, csv: { encoding: 'latin-1' } });
    expect(table.rowCount).toBe(2);
    expect(await engine.rows(`SELECT name FROM ${table.view} ORDER BY __lathe_row`)).toEqual([
      { name: 'abc' },
      { name: 'café' },
    ]);
    const result = await stats([name, '--encoding', 'latin-1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/café/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('dates that could be day first or month first', () => {
  const ambiguous = 'id,d,ts\n1,03/04/2024,03/04/2024 10:00:00\n2,05/06/2024,05/06/2024 11:30:00\n';

  it('when no day is above 12, a warning names the column, the format read and the other one', async () => {
    const { name, path } = write('ambiguous-dates.csv', ambiguous);
    const table = await loadTable(engine, path);
    expect(table.warnings).toEqual([
      "column 'd': dates such as 03/04/2024 were read day first (%d/%m/%Y, so 2024-04-03), but no day is above 12, so %m/%d/%Y fits too; give the format to say which (dateFormat / --date-format)",
      "column 'ts': dates such as 03/04/2024 10:00:00 were read day first (%d/%m/%Y %H:%M:%S, so 2024-04-03), but no day is above 12, so %m/%d/%Y %H:%M:%S fits too; give the format to say which (timestampFormat / --timestamp-format)",
    ]);
    const result = await stats([name, '--json']);
    expect(result.code).toBe(0);
    expect(parseJson<DatasetStatistics>(result).warnings).toEqual(table.warnings);
  });

  it('two-digit years first (31-12-24 read as 2031-12-24) are a warning naming the other formats', async () => {
    const { path } = write('dates-two-digit.csv', 'id,d\n1,31-12-24\n2,03-04-24\n');
    const table = await loadTable(engine, path);
    expect(table.warnings).toEqual([
      "column 'd': dates such as 03-04-24 were read as a two-digit year first (%y-%m-%d, so 2003-04-24), but no year is above 31, so %d-%m-%y or %m-%d-%y may be meant; give the format to say which (dateFormat / --date-format)",
    ]);
    const given = await loadTable(engine, { kind: 'file', path, csv: { dateFormat: '%d-%m-%y' } });
    expect(given.warnings).toEqual([]);
    expect(
      await engine.rows(`SELECT strftime(d, '%Y-%m-%d') AS d FROM ${given.view} ORDER BY __lathe_row`),
    ).toEqual([{ d: '2024-12-31' }, { d: '2024-04-03' }]);
  });

  it('the check sees the file as the load did (null strings given)', async () => {
    const { path } = write('dates-null-strings.csv', 'id,d\n1,n/a\n2,05/06/2024\n3,01/02/2024\n');
    const table = await loadTable(engine, { kind: 'file', path, csv: { nullValues: ['n/a'] } });
    expect(table.columns.find((c) => c.name === 'd')?.type).toBe('DATE');
    expect(table.warnings).toHaveLength(1);
    expect(table.warnings[0]).toMatch(/^column 'd': dates such as 01\/02\/2024 were read day first/);
  });

  it('a timestamp format that reads a TIMESTAMP WITH TIME ZONE column is not reported as unused', async () => {
    const { path } = write('dates-tz.csv', 'id,t\n1,2024-03-04 10:00:00+0100\n');
    const table = await loadTable(engine, {
      kind: 'file',
      path,
      csv: { timestampFormat: '%Y-%m-%d %H:%M:%S%z', types: { t: 'TIMESTAMPTZ' } },
    });
    expect(table.columns.find((c) => c.name === 't')?.type).toBe('TIMESTAMP WITH TIME ZONE');
    expect(table.warnings).toEqual([]);
  });

  it('a day above 12 settles it: no warning', async () => {
    const { path } = write('dates-day-first.csv', 'id,d\n1,03/04/2024\n2,25/06/2024\n');
    const table = await loadTable(engine, path);
    expect(table.warnings).toEqual([]);
    expect(
      await engine.rows(`SELECT strftime(d, '%Y-%m-%d') AS d FROM ${table.view} ORDER BY __lathe_row`),
    ).toEqual([{ d: '2024-04-03' }, { d: '2024-06-25' }]);
  });

  it('the formats given are used, with no warning (library and CLI)', async () => {
    const { name, path } = write('dates-month-first.csv', ambiguous);
    const table = await loadTable(engine, {
      kind: 'file',
      path,
      csv: { dateFormat: '%m/%d/%Y', timestampFormat: '%m/%d/%Y %H:%M:%S' },
    });
    expect(table.warnings).toEqual([]);
    expect(
      await engine.rows(
        `SELECT strftime(d, '%Y-%m-%d') AS d, strftime(ts, '%Y-%m-%d %H:%M') AS ts FROM ${table.view} ORDER BY __lathe_row`,
      ),
    ).toEqual([
      { d: '2024-03-04', ts: '2024-03-04 10:00' },
      { d: '2024-05-06', ts: '2024-05-06 11:30' },
    ]);
    const result = await stats([
      name,
      '--date-format',
      '%m/%d/%Y',
      '--timestamp-format',
      '%m/%d/%Y %H:%M:%S',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const d = column(parseJson<DatasetStatistics>(result), 'd');
    expect(d.temporal).toEqual({ min: '2024-03-04', max: '2024-05-06' });
  });

  it('a format that reads no column as dates is a warning; with the type given, a value that does not fit is a bad line', async () => {
    const { path } = write('dates-wrong-format.csv', 'id,d\n1,03/04/2024\n2,25/06/2024\n');
    const table = await loadTable(engine, { kind: 'file', path, csv: { dateFormat: '%m/%d/%Y' } });
    expect(table.columns.find((c) => c.name === 'd')?.type).toBe('VARCHAR');
    expect(table.warnings).toEqual([
      "dateFormat '%m/%d/%Y' read no column as DATE: columns whose values do not all parse with it are kept as text (to make such values errors instead, also give the column's type, e.g. types: { name: 'DATE' })",
    ]);
    const error = await loadError({
      kind: 'file',
      path,
      csv: { dateFormat: '%m/%d/%Y', types: { d: 'DATE' } },
    });
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/column 'd'/);
  });

  it('a timestamp with a time zone that does not parse is an error, not a null (DuckDB reads it as null)', async () => {
    // Past the sniffer's 20,480-row sample, so the column is sniffed as TIMESTAMPTZ.
    const lines = [
      'id,t',
      ...Array.from({ length: 21_000 }, (_, i) => `${i},2024-03-04 10:00:00+01`),
      '21000,not a time',
    ];
    const { path } = write('timestamptz-bad.csv', `${lines.join('\n')}\n`);
    const error = await loadError(path);
    expect(error.message).toMatch(
      /timestamptz-bad\.csv: column 't': "not a time" \(row 21001\) is not a timestamp with a time zone; .*badLines: 'skip'/,
    );
    const skipped = await loadTable(engine, { kind: 'file', path, csv: { badLines: 'skip' } });
    expect(skipped.rowCount).toBe(21_000);
    expect(skipped.columns.find((c) => c.name === 't')?.type).toBe('TIMESTAMP WITH TIME ZONE');
    expect(skipped.warnings).toContain(
      `column 't': 1 row(s) skipped whose value is not a timestamp with a time zone (first: "not a time" (row 21001))`,
    );
    const typed = write('timestamptz-typed.csv', 'id,t\n1,03/04/2024 10:00\n');
    const typedError = await loadError({
      kind: 'file',
      path: typed.path,
      csv: { types: { t: 'TIMESTAMPTZ' } },
    });
    expect(typedError.message).toMatch(
      /column 't': "03\/04\/2024 10:00" \(row 1\) is not a timestamp with a time zone/,
    );
    const formatted = await loadTable(engine, {
      kind: 'file',
      path: typed.path,
      csv: { types: { t: 'TIMESTAMPTZ' }, timestampFormat: '%d/%m/%Y %H:%M' },
    });
    expect(await engine.rows(`SELECT t::VARCHAR AS t FROM ${formatted.view}`)).toEqual([
      { t: '2024-04-03 10:00:00+00' },
    ]);
  });

  it('a format DuckDB cannot parse is an error naming it', async () => {
    const { path } = write('dates-bad-format.csv', ambiguous);
    const error = await loadError({ kind: 'file', path, csv: { dateFormat: '%Q' } });
    expect(error.message).toMatch(/dates-bad-format\.csv: .*DATEFORMAT.*%Q$/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('files that cannot be read', () => {
  it('a missing file', async () => {
    const path = join(dir, 'does-not-exist.csv');
    const error = await loadError(path);
    expect(error.message).toMatch(/does-not-exist\.csv: no such file/);
    expect((await statsError(path)).message).toMatch(/no such file/);
    expect(expectSourceError(await stats(['does-not-exist.csv']), 'does-not-exist.csv')).toMatch(
      /no such file/,
    );
  });

  it('a directory instead of a file', async () => {
    mkdirSync(join(dir, 'a-directory.csv'), { recursive: true });
    const error = await loadError(join(dir, 'a-directory.csv'));
    expect(error.message).toMatch(/a-directory\.csv: not a file/);
    expect(expectSourceError(await stats(['a-directory.csv']), 'a-directory.csv')).toMatch(/not a file/);
  });

  it('an unknown extension names the extension and the formats', async () => {
    const { name, path } = write('data.txt', 'a\n1\n');
    const error = await loadError(path);
    expect(error.message).toMatch(/data\.txt: cannot tell the format from the extension '\.txt'/);
    expect(error.message).toMatch(/\.csv, \.tsv, \.parquet/);
    const [result, withFormat] = await Promise.all([stats([name]), stats([name, '--format', 'csv'])]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[DATA_SOURCE\]: \S*data\.txt: cannot tell the format/);
    // With --format it reads.
    expect(withFormat.code).toBe(0);
    expect(withFormat.stdout).toMatch(/1 row × 1 column/);
  });

  it('a corrupt Parquet file', async () => {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256));
    const { name, path } = write('corrupt.parquet', bytes);
    const error = await loadError(path);
    expect(error.message).toMatch(/corrupt\.parquet: not a readable Parquet file/);
    expect((await statsError(path)).message).toMatch(/not a readable Parquet file/);
    expect(expectSourceError(await stats([name]), name)).toMatch(/not a readable Parquet file/);
  });

  it('a Parquet file cut short', async () => {
    const good = join(dir, 'whole.parquet');
    await engine.run(`COPY (SELECT range AS x FROM range(1000)) TO '${good}' (FORMAT parquet)`);
    const bytes = readFileSync(good);
    const { name, path } = write('truncated.parquet', bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect((await loadError(path)).message).toMatch(/truncated\.parquet: not a readable Parquet file/);
    expectSourceError(await stats([name]), name);
  });

  it('invalid JSON', async () => {
    const { name, path } = write('broken.json', '{"a": 1, "b": [1, 2\n');
    const error = await loadError(path);
    expect(error.message).toMatch(/broken\.json: not readable as JSON: .*Malformed JSON/);
    expect(expectSourceError(await stats([name]), name)).toMatch(/Malformed JSON/);
  });

  it('invalid NDJSON names the line in the message', async () => {
    const { name, path } = write('broken.ndjson', '{"a":1}\n{"a":2\n{"a":3}\n');
    const error = await loadError(path);
    expect(error.message).toMatch(/broken\.ndjson:3: not readable as NDJSON: .*line 3/);
    expect(error.line).toBe(3);
    expect(expectSourceError(await stats([name]), name, 3)).toMatch(/line 3/);
  });

  it('--json gets the error as JSON on stdout too', async () => {
    const result = await stats(['does-not-exist.csv', '--json']);
    expect(result.code).toBe(2);
    expect(parseJson(result)).toEqual({
      error: { code: 'DATA_SOURCE', message: 'does-not-exist.csv: no such file' },
    });
  });
});
