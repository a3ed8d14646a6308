/**
 * `lathe data stats|schema infer|validate|drift` on queries (--query with --sqlite, --duckdb or
 * --postgres-env) instead of files: real SQLite and DuckDB files, and the machine's Postgres.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftReport } from '../../src/data/drift.js';
import type { DatasetStatistics } from '../../src/data/statistics.js';
import { makeTempDir, parseJson, removeDir, runCli } from './cli.js';
import { PG_URL, postgresReachable } from './postgres.js';

const hasPostgres = await postgresReachable();

let dir: string;

beforeAll(async () => {
  dir = makeTempDir('lathe-data-cli-queries-');
  const db = new Database(join(dir, 'shop.sqlite'));
  db.exec('CREATE TABLE orders (id INTEGER, amount REAL, month TEXT)');
  const insert = db.prepare('INSERT INTO orders VALUES (?, ?, ?)');
  for (let i = 0; i < 2000; i++) insert.run(i, (i % 100) + (i >= 1000 ? 30 : 0), i < 1000 ? 'jan' : 'feb');
  db.close();
  const instance = await DuckDBInstance.create(join(dir, 'shop.duckdb'));
  const connection = await instance.connect();
  await connection.run(
    'CREATE TABLE orders AS SELECT range AS id, (range % 10)::DOUBLE AS amount FROM range(500)',
  );
  connection.closeSync();
  instance.closeSync();
  writeFileSync(
    join(dir, 'suite.yaml'),
    'kind: lathe.expectations\nversion: 1\nexpectations:\n  - { expect: expect_column_values_to_be_between, column: amount, min_value: 0, max_value: 100 }\n',
  );
});
afterAll(() => removeDir(dir));

const data = (args: string[], env?: Record<string, string>) =>
  runCli(['data', ...args], { cwd: dir, ...(env ? { env } : {}) });

describe('lathe data … --query', () => {
  it('stats of a SQLite query', async () => {
    const result = await data([
      'stats',
      '--sqlite',
      'shop.sqlite',
      '--query',
      'SELECT * FROM orders',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const stats = parseJson<DatasetStatistics>(result);
    expect(stats.source).toBe('sqlite query');
    expect(stats.rowCount).toBe(2000);
    expect(stats.columns.map((c) => [c.name, c.distinct])).toEqual([
      ['id', 2000],
      ['amount', 130],
      ['month', 2],
    ]);
  });

  it('schema infer and validate on a DuckDB file query', async () => {
    const query = ['--duckdb', 'shop.duckdb', '--query', 'SELECT * FROM orders'];
    const schema = await data(['schema', 'infer', ...query]);
    expect(schema.code, schema.stderr).toBe(0);
    expect(schema.stdout).toMatch(/amount:\n {4}type: number/);
    const passed = await data(['validate', ...query, '--expectations', 'suite.yaml']);
    expect(passed.code, passed.stdout).toBe(0);
    const failed = await data([
      'validate',
      '--duckdb',
      'shop.duckdb',
      '--query',
      'SELECT id, amount * 100 AS amount FROM orders',
      '--expectations',
      'suite.yaml',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/expect_column_values_to_be_between/);
  });

  it('drift between two queries of one database', async () => {
    const result = await data([
      'drift',
      '--sqlite',
      'shop.sqlite',
      '--query',
      "SELECT amount FROM orders WHERE month = 'jan'",
      '--current-query',
      "SELECT amount FROM orders WHERE month = 'feb'",
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<DriftReport>(result);
    expect(report.reference).toEqual({ source: 'sqlite query', rows: 1000 });
    expect(report.columns[0]).toMatchObject({ column: 'amount', method: 'ks', drifted: true });
  });

  it.skipIf(!hasPostgres)('a Postgres query, its URL read from the environment variable named', async () => {
    const result = await data(
      [
        'stats',
        '--postgres-env',
        'SHOP_URL',
        '--query',
        'SELECT g AS n, (g % 3)::text AS k FROM generate_series(1, 30) g',
        '--json',
      ],
      { SHOP_URL: PG_URL },
    );
    expect(result.code, result.stderr).toBe(0);
    const stats = parseJson<DatasetStatistics>(result);
    expect(stats.rowCount).toBe(30);
    expect(stats.columns.find((c) => c.name === 'k')?.distinct).toBe(3);
  });

  it.each([
    [
      ['stats', '--query', 'SELECT 1'],
      /--query needs the database it reads: --sqlite FILE, --duckdb FILE or --postgres-env NAME/,
    ],
    [['stats'], /give a file, or --query with --sqlite, --duckdb or --postgres-env/],
    [['stats', 'x.csv', '--sqlite', 'shop.sqlite'], /--sqlite goes with --query/],
    [
      ['stats', 'x.csv', '--sqlite', 'shop.sqlite', '--query', 'SELECT 1'],
      /give either a file or --query, not both/,
    ],
    [
      ['stats', '--sqlite', 'a.db', '--duckdb', 'b.db', '--query', 'SELECT 1'],
      /give one database, not --sqlite and --duckdb/,
    ],
    [
      ['stats', '--sqlite', 'shop.sqlite', '--query', 'SELECT 1', '--delimiter', ';'],
      /--delimiter is for files, not --query/,
    ],
    [
      ['drift', '--sqlite', 'shop.sqlite', '--query', 'SELECT 1'],
      /give the current ones with --current-query/,
    ],
    [['drift', 'a.csv'], /give the reference and the current file/],
    [
      ['stats', '--postgres-env', 'LATHE_TEST_UNSET_URL', '--query', 'SELECT 1'],
      /--postgres-env LATHE_TEST_UNSET_URL: the environment variable is not set/,
    ],
  ])('usage error: lathe data %j', async (args, message) => {
    const result = await data(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('drift: an error in a query names the option that gave it', async () => {
    const result = await data([
      'drift',
      '--sqlite',
      'shop.sqlite',
      '--query',
      'SELECT * FROM orders',
      '--current-query',
      'SELEC 1',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error \[DATA_SOURCE\]: shop\.sqlite \(--current-query\): query failed: .*SELEC/,
    );
  });

  it('--postgres-env takes a variable name, never echoes a URL given instead, and checks the value', async () => {
    const url = await data([
      'stats',
      '--postgres-env',
      'postgres://me:s3cret@db/shop',
      '--query',
      'SELECT 1',
    ]);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/takes the name of an environment variable .*not the URL itself/);
    expect(url.stderr).not.toMatch(/s3cret/);
    const empty = await data(['stats', '--postgres-env', 'SHOP_URL', '--query', 'SELECT 1'], {
      SHOP_URL: '',
    });
    expect(empty.stderr).toMatch(/--postgres-env SHOP_URL: the variable is empty/);
    const libpq = await data(['stats', '--postgres-env', 'SHOP_URL', '--query', 'SELECT 1'], {
      SHOP_URL: 'host=db password=s3cret',
    });
    expect(libpq.stderr).toMatch(/--postgres-env SHOP_URL: the variable does not hold a postgres:\/\/ URL/);
    expect(libpq.stderr).not.toMatch(/s3cret/);
  });

  it('a query that is not a SELECT, or a missing database file, is an error naming the database', async () => {
    const write = await data(['stats', '--sqlite', 'shop.sqlite', '--query', 'DELETE FROM orders']);
    expect(write.code).toBe(2);
    expect(write.stderr).toMatch(/^error \[DATA_SOURCE\]: shop\.sqlite: .*not a SELECT/);
    const sqliteAsDuckdb = await data(['stats', '--duckdb', 'shop.sqlite', '--query', 'SELECT 1']);
    expect(sqliteAsDuckdb.code).toBe(2);
    expect(sqliteAsDuckdb.stderr).toMatch(
      /^error \[DATA_SOURCE\]: shop\.sqlite: this is a SQLite database, not a DuckDB one: use .*--sqlite/,
    );
    const missing = await data(['stats', '--duckdb', 'nope.duckdb', '--query', 'SELECT 1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error \[DATA_SOURCE\]: nope\.duckdb: no such DuckDB file/);
  });
});
