/**
 * Edge cases found in review, each once broken: column names that collide with internal ones,
 * type changes between datasets, values a JS Date or a variance cannot hold, files that DuckDB
 * would read wrongly without a word, and query sources that must stay read-only.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkLine,
  computeDrift,
  computeStatistics,
  DataEngine,
  DataSourceError,
  loadTable,
  parseSchema,
  splitTable,
  validateDataset,
} from '../../src/data/index.js';
import { makeTempDir, runCli } from './cli.js';

let engine: DataEngine;
let dir: string;

beforeAll(async () => {
  engine = await DataEngine.open();
  dir = makeTempDir('lathe-data-edge-');
});
afterAll(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

async function parquet(name: string, sql: string): Promise<string> {
  const path = join(dir, name);
  await engine.run(`COPY (${sql}) TO '${path}' (FORMAT parquet)`);
  return path;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function sourceError(promise: Promise<unknown>): Promise<DataSourceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataSourceError);
  return error as DataSourceError;
}

describe('column names', () => {
  it('a column named n or rank0 keeps its values and the split keeps its sizes', async () => {
    const path = await parquet('n.parquet', 'SELECT range AS n, range % 2 AS rank0 FROM range(100)');
    const table = await loadTable(engine, path);
    const out = { train: join(dir, 'n-train.parquet'), test: join(dir, 'n-test.parquet') };
    const parts = await splitTable(engine, table, { ratios: { train: 0.8, test: 0.2 } }, out);
    expect(parts.map((p) => p.rows)).toEqual([80, 20]);
    const columns = await engine.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM '${out.train}'`);
    expect(columns.map((c) => c.column_name)).toEqual(['n', 'rank0']);
    const { total } = await engine.row<{ total: number }>(
      `SELECT sum(n) AS total FROM (SELECT n FROM '${out.train}' UNION ALL SELECT n FROM '${out.test}')`,
    );
    expect(total).toBe(4950);
  });

  it('names starting with __lathe_ are refused, naming the file', async () => {
    const path = await parquet('reserved.parquet', 'SELECT 1 AS __lathe_row, 2 AS x');
    const error = await sourceError(loadTable(engine, path));
    expect(error.message).toMatch(/reserved\.parquet: column name '__lathe_row'.*reserved/);
  });

  it('a column named constructor is still an unexpected column', async () => {
    const path = file('proto.csv', 'id,constructor\n1,2\n');
    const schema = parseSchema(
      'kind: lathe.schema\nversion: 1\ncolumns:\n  id: { type: integer }\n',
      's.yaml',
    );
    const report = await validateDataset(path, { schema });
    expect(report.passed).toBe(false);
    expect(report.checks.find((c) => c.anomaly === 'UNEXPECTED_COLUMN')?.columns).toEqual(['constructor']);
  });
});

describe('drift', () => {
  it('a column whose type changed is reported as drifted, not a crash', async () => {
    const ref = await parquet(
      't-ref.parquet',
      "SELECT DATE '2024-01-01' + range::INTEGER AS d FROM range(50)",
    );
    const cur = await parquet('t-cur.parquet', 'SELECT range AS d FROM range(50)');
    const report = await computeDrift(ref, cur, {}, engine);
    const d = report.columns[0]!;
    expect(d).toMatchObject({ typeChanged: true, drifted: true });
    expect(d.note).toMatch(/type changed: DATE in the reference, BIGINT in the current data/);
  });

  it('a column that stopped arriving has drifted', async () => {
    const ref = await parquet('e-ref.parquet', 'SELECT range::DOUBLE AS x FROM range(50)');
    const cur = await parquet('e-cur.parquet', 'SELECT NULL::DOUBLE AS x FROM range(50)');
    const report = await computeDrift(ref, cur, {}, engine);
    expect(report.columns[0]).toMatchObject({ drifted: true, currentCount: 0, currentExcluded: 50 });
    expect(report.columns[0]!.note).toMatch(/the current has none/);
    expect(report.driftDetected).toBe(true);
  });

  it('huge values do not overflow the normed Wasserstein distance', async () => {
    const path = file('huge.csv', 'x\n1.7976931348623157e308\n1\n2\n3\n4\n5\n6\n');
    const report = await computeDrift(path, path, { method: 'wasserstein' }, engine);
    expect(report.columns[0]).toMatchObject({ statistic: 0, drifted: false });
  });

  it('chooses by the exact number of distinct values at the thresholds (5 for the test, 20 for bins)', async () => {
    // 2,000 reference rows: Wasserstein for more than 5 distinct values, Jensen–Shannon otherwise;
    // Jensen–Shannon compares categories up to 20 distinct values, bins beyond.
    const ref = await parquet(
      'u-ref.parquet',
      'SELECT range % 5 AS five, range % 6 AS six, range % 20 AS twenty, range % 21 AS twentyone, range % 1500 AS many FROM range(2000)',
    );
    const report = await computeDrift(ref, ref, {}, engine);
    expect(
      report.columns.map((c) => [c.column, c.method, c.distribution.edges ? 'bins' : 'categories']),
    ).toEqual([
      ['five', 'jensenshannon', 'categories'],
      ['six', 'wasserstein', 'bins'],
      ['twenty', 'wasserstein', 'bins'],
      ['twentyone', 'wasserstein', 'bins'],
      ['many', 'wasserstein', 'bins'],
    ]);
    const js = await computeDrift(ref, ref, { method: 'jensenshannon' }, engine);
    expect(js.columns.map((c) => [c.column, c.distribution.edges ? 'bins' : 'categories'])).toEqual([
      ['five', 'categories'],
      ['six', 'categories'],
      ['twenty', 'categories'],
      ['twentyone', 'bins'],
      ['many', 'bins'],
    ]);
  });

  it('rejects out-of-range options', async () => {
    const path = file('small.csv', 'x\n1\n2\n');
    await expect(computeDrift(path, path, { driftShare: 5 }, engine)).rejects.toThrow(/driftShare 5/);
    await expect(
      computeDrift(path, path, { thresholds: { kss: 0.1 } as unknown as { ks: number } }, engine),
    ).rejects.toThrow(/unknown method 'kss'/);
  });
});

describe('drift verdicts that do not come from a test', () => {
  it('a per-column numeric method on a column that turned into text reports the change', async () => {
    const ref = await parquet('m-ref.parquet', 'SELECT range AS x, range AS y FROM range(50)');
    const cur = await parquet(
      'm-cur.parquet',
      "SELECT CASE WHEN range = 3 THEN 'foo' ELSE range::VARCHAR END AS x, range AS y FROM range(50)",
    );
    const report = await computeDrift(ref, cur, { methods: { x: 'wasserstein' }, correction: 'bh' }, engine);
    const x = report.columns.find((c) => c.column === 'x')!;
    expect(x).toMatchObject({ typeChanged: true, drifted: true, score: 0, adjustedPValue: null });
    // Left out of the correction: y is adjusted alone, so its adjusted p-value is its own.
    const y = report.columns.find((c) => c.column === 'y')!;
    expect(y.adjustedPValue).toBe(y.pValue);
  });

  it('a column empty on one side has no p-value and a score that agrees with its verdict', async () => {
    const ref = await parquet('o-ref.parquet', "SELECT 'a' AS c FROM range(30)");
    const cur = await parquet('o-cur.parquet', 'SELECT NULL::VARCHAR AS c FROM range(30)');
    const report = await computeDrift(ref, cur, { method: 'psi', thresholds: { psi: 2 } }, engine);
    expect(report.columns[0]).toMatchObject({ pValue: null, drifted: true, score: 2 });
  });
});

describe('values JavaScript cannot hold', () => {
  it('failing rows with infinite timestamps are shown as text', async () => {
    const path = await parquet(
      'inf.parquet',
      "SELECT * FROM (VALUES (TIMESTAMP '2024-01-01'), ('infinity'::TIMESTAMP)) t(ts)",
    );
    const report = await validateDataset(path, {
      expectations: {
        kind: 'lathe.expectations',
        version: 1,
        expectations: [
          {
            expect: 'expect_column_values_to_be_between',
            column: 'ts',
            max_value: '2030-01-01',
            strict_min: false,
            strict_max: false,
            mostly: 1,
            severity: 'error',
          },
          {
            expect: 'expect_column_max_to_be_between',
            column: 'ts',
            max_value: '2030-01-01',
            strict_min: false,
            strict_max: false,
            severity: 'error',
          },
        ],
      },
    });
    expect(report.checks[0]!.failingRows).toEqual([{ row: 2, values: { ts: 'infinity' } }]);
    expect(report.checks[1]).toMatchObject({ passed: false, observed: 'infinity' });
  });

  it('timestamps with time zones are in UTC whatever the machine', async () => {
    const path = await parquet('tz.parquet', "SELECT TIMESTAMPTZ '2024-01-01 10:00:00+05' AS at");
    const stats = await computeStatistics(path, {}, engine);
    expect(stats.columns[0]!.temporal).toEqual({
      min: '2024-01-01 05:00:00+00',
      max: '2024-01-01 05:00:00+00',
    });
  });

  it('numeric domains compare numbers, so 1.0 is in [1, 2.5]', async () => {
    const path = file('dom.csv', 'r\n1.0\n2.5\n');
    const schema = parseSchema(
      'kind: lathe.schema\nversion: 1\ncolumns:\n  r: { type: number, domain: [1, 2.5] }\n',
      's.yaml',
    );
    const report = await validateDataset(path, { schema });
    expect(report.checks.find((c) => c.id === 'schema.r.domain')?.passed).toBe(true);
  });
});

describe('files DuckDB would read wrongly without a word', () => {
  it('a JSON array cut short is an error', async () => {
    const error = await sourceError(loadTable(engine, file('cut.json', '[{"a":1},{"a":2},')));
    expect(error.message).toMatch(/cut\.json: .*not closed with '\]'/);
  });

  it('a JSON column of mixed types is reported', async () => {
    const table = await loadTable(engine, file('mixed.ndjson', '{"a":1}\n{"a":"two"}\n'));
    expect(table.warnings).toContainEqual(
      expect.stringMatching(/column 'a' holds values of different JSON types/),
    );
  });

  it('a JSON array cut short after a blank first line is an error too', async () => {
    const error = await sourceError(loadTable(engine, file('cut2.json', '\n\n  [{"a":1},\n{"a":2},\n')));
    expect(error.message).toMatch(/not closed with '\]'/);
  });

  it('line numbers count lone carriage returns; latin-1 files keep each bad record', async () => {
    const cr = await loadTable(engine, {
      kind: 'file',
      path: file('cr.csv', 'a,b\r1,2\r3,4,5\r6,7\r'),
      csv: { badLines: 'skip' },
    });
    expect(cr.rejectedLines.map((r) => r.line)).toEqual([3]);
    const latin = Buffer.concat([
      Buffer.from('a,b\n'),
      ...Array.from({ length: 40 }, () => Buffer.from([0xe9, 0x2c, 0x31, 0x0a])),
      Buffer.from('x,1,2\n'),
      ...Array.from({ length: 30 }, () => Buffer.from([0xe9, 0x2c, 0x31, 0x0a])),
      Buffer.from('y,1,2\n'),
    ]);
    const path = join(dir, 'latin.csv');
    writeFileSync(path, latin);
    const table = await loadTable(engine, {
      kind: 'file',
      path,
      csv: { badLines: 'skip', encoding: 'latin-1' },
    });
    expect(table.rejectedLines.map((r) => r.line)).toEqual([42, 73]);
  });

  it('a quoted header name holding the delimiter is one name', async () => {
    const table = await loadTable(engine, file('quoted-header.csv', '"x,y","x,z",w\n1,2,3\n'));
    expect(table.columns.map((c) => c.name)).toEqual(['x,y', 'x,z', 'w']);
    expect(table.warnings).toEqual([]);
  });

  it('a misspelt column in csv.types is an error', async () => {
    const error = await sourceError(
      loadTable(engine, {
        kind: 'file',
        path: file('types.csv', 'zip,n\n01234,1\n'),
        csv: { types: { zipp: 'VARCHAR' } },
      }),
    );
    expect(error.message).toMatch(
      /types names column 'zipp' that the file does not have \(columns: zip, n\)/,
    );
  });

  it('a line with several faults is one rejected line, reported by its field count', async () => {
    const path = file('faults.csv', 'a,b\n1,2\n3,4\noops,5,6\n7,8\n');
    const table = await loadTable(engine, { kind: 'file', path, csv: { badLines: 'skip' } });
    expect(table.rejectedLines).toHaveLength(1);
    expect(table.rejectedLines[0]).toMatchObject({ line: 4 });
    expect(table.rejectedLines[0]!.error).toMatch(/Columns/);
  });
});

describe('distinct counts beyond 200,000 rows', () => {
  it('are right for few distinct values, which both bitmap halves see', async () => {
    const ks = [2, 3, 10, 20, 100, 1000];
    const path = await parquet(
      'few.parquet',
      `SELECT ${ks.map((k) => `'v' || (range % ${k})::VARCHAR AS k${k}`).join(', ')} FROM range(300000)`,
    );
    const stats = await computeStatistics(path, { quantiles: [] }, engine);
    for (const [i, k] of ks.entries()) {
      const column = stats.columns[i]!;
      // Within 3 standard errors, and the error itself small (not a sampled estimate).
      expect(Math.abs(column.distinct - k)).toBeLessThanOrEqual(
        Math.max(0, 3 * column.distinctRelativeError! * k),
      );
      expect(column.distinctRelativeError!).toBeLessThan(0.01);
    }
    expect(stats.columns.slice(0, 4).map((c) => c.distinct)).toEqual([2, 3, 10, 20]);
  });
});

describe('quantile samples', () => {
  it("are sized on a column's values, not on rows: a mostly-null column keeps exact quantiles", async () => {
    const path = await parquet(
      'sparse.parquet',
      'SELECT range::DOUBLE AS dense, CASE WHEN range % 100 = 0 THEN range::DOUBLE END AS sparse FROM range(300000)',
    );
    const stats = await computeStatistics(path, { quantiles: [0.5] }, engine);
    const [dense, sparse] = stats.columns;
    expect(dense!.numeric!.quantilesExact).toBe(false);
    // 3,000 values: exact, so the median is numpy's.
    expect(sparse!.numeric!.quantilesExact).toBe(true);
    expect(sparse!.numeric!.quantiles).toEqual([{ q: 0.5, value: 149950 }]);
  });
});

describe('what DuckDB does quietly with a header', () => {
  it('repeated names are reported, with the names they got', async () => {
    const table = await loadTable(engine, file('dup.csv', 'x,X,y\n1,2,3\n'));
    expect(table.warnings).toContainEqual(
      expect.stringMatching(/the header repeats 'x' .*renamed with a suffix \(x, X_1, y\)/),
    );
  });

  it('a single column with another delimiter in its header is reported', async () => {
    const table = await loadTable(engine, file('semi.csv', 'a;b;c\n1;2;3\n'));
    expect(table.columns).toHaveLength(1);
    expect(table.warnings).toContainEqual(expect.stringMatching(/single column.*";".*--delimiter/));
  });
});

describe('messages', () => {
  it('split ratios that do not sum to 1 are listed', async () => {
    const path = await parquet('ratios.parquet', 'SELECT range AS x FROM range(10)');
    const table = await loadTable(engine, path);
    await expect(
      splitTable(engine, table, { ratios: { train: 0.7, eval: 0.1, test: 0.3 } }, {}),
    ).rejects.toThrow('split: ratios sum to 1.1 (train 0.7, eval 0.1, test 0.3); they must sum to 1');
  });

  it('a failed check names its expectation and shows a failing row', async () => {
    const report = await validateDataset(file('set.csv', 'c\na\nb\nz\n'), {
      expectations: {
        kind: 'lathe.expectations',
        version: 1,
        expectations: [
          {
            expect: 'expect_column_values_to_be_in_set',
            column: 'c',
            value_set: ['a', 'b'],
            mostly: 1,
            severity: 'error',
          },
        ],
      },
    });
    expect(checkLine(report.checks[0]!)).toBe(
      'FAIL expectations[0] expect_column_values_to_be_in_set [c]: 1 of 3 values (33.3%) are not in the set (e.g. row 3: c="z")',
    );
  });
});

describe('query sources', () => {
  it('a DuckDB file query must be one SELECT', async () => {
    const path = join(dir, 'q.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run('CREATE TABLE t AS SELECT range AS x FROM range(10)');
    connection.closeSync();
    instance.closeSync();
    const copy = join(dir, 'escaped.csv');
    const twice = await sourceError(
      loadTable(engine, {
        kind: 'query',
        database: 'duckdb',
        connection: path,
        query: `SELECT * FROM t; COPY (SELECT 42) TO '${copy}'`,
      }),
    );
    expect(twice.message).toMatch(/one SELECT statement, not 2 statements/);
    const update = await sourceError(
      loadTable(engine, { kind: 'query', database: 'duckdb', connection: path, query: 'DELETE FROM t' }),
    );
    expect(update.message).toMatch(/must be a SELECT/);
    const ok = await loadTable(engine, {
      kind: 'query',
      database: 'duckdb',
      connection: path,
      query: 'SELECT * FROM t',
    });
    expect(ok.rowCount).toBe(10);
  });
});

describe('lathe data schema infer --max-domain', () => {
  it('infers domains larger than the default top-k', async () => {
    const lines = ['c', ...Array.from({ length: 300 }, (_, i) => `v${i % 30}`)];
    file('thirty.csv', `${lines.join('\n')}\n`);
    const result = await runCli(['data', 'schema', 'infer', 'thirty.csv', '--max-domain', '50'], {
      cwd: dir,
    });
    expect(result.code).toBe(0);
    const schema = parseSchema(result.stdout, 'out.yaml');
    expect(schema.columns.c?.domain).toHaveLength(30);
  });
});
