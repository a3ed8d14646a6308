import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataEngine } from '../../src/data/duckdb.js';
import type { LoadedTable } from '../../src/data/source-types.js';
import { DataSourceError, loadTable } from '../../src/data/sources.js';
import { PG_URL, postgresReachable } from './postgres.js';

const hasPostgres = await postgresReachable();
if (!hasPostgres) console.warn(`data-sql-sources: no Postgres at ${PG_URL}; the Postgres tests are skipped`);

let dir: string;
let engine: DataEngine;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lathe-sql-sources-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  engine = await DataEngine.open({ threads: 2 });
});
afterEach(() => engine.close());

function types(table: LoadedTable): Record<string, string> {
  return Object.fromEntries(table.columns.map((column) => [column.name, column.type]));
}

async function loadError(promise: Promise<unknown>): Promise<DataSourceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataSourceError);
  return error as DataSourceError;
}

describe('SQLite queries', () => {
  let dbPath: string;

  beforeAll(() => {
    dbPath = join(dir, 'test.sqlite');
    const db = new Database(dbPath);
    db.exec(`
      CREATE TABLE t (
        i INTEGER, big BIGINT, r REAL, s TEXT, v VARCHAR(10), bl BLOB, flag BOOLEAN,
        d DATE, ts DATETIME, n NUMERIC, untyped
      );
      CREATE TABLE misfit (id INTEGER, x INTEGER);
      INSERT INTO misfit VALUES (1, 10), (2, 20), (3, 'abc'), (4, 40);
      CREATE TABLE dates (d DATE, ts TIMESTAMP);
    `);
    const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.safeIntegers(true);
    insert.run(
      1n,
      9223372036854775807n,
      1.5,
      'héllo "q"',
      'abc',
      Buffer.from([0, 1, 255]),
      1n,
      '2024-02-29',
      '2024-03-10 12:34:56.789',
      2n,
      'x',
    );
    insert.run(
      -2n,
      9007199254740993n,
      -0.25,
      '',
      'z',
      Buffer.alloc(0),
      0n,
      '1970-01-01',
      '2024-03-10T23:00:00+02:00',
      3n,
      'y',
    );
    insert.run(null, null, null, null, null, null, null, null, null, null, null);
    db.close();
  });

  const query = (q: string, path = dbPath) =>
    loadTable(engine, { kind: 'query', database: 'sqlite', connection: path, query: q });

  it('maps declared types and infers expression types, keeping NULLs and big integers', async () => {
    const table = await query('SELECT *, i * 2 AS twice, r + 1 AS r1, upper(s) AS us FROM t ORDER BY rowid');
    expect(table.rowCount).toBe(3);
    expect(types(table)).toEqual({
      i: 'BIGINT',
      big: 'BIGINT',
      r: 'DOUBLE',
      s: 'VARCHAR',
      v: 'VARCHAR',
      bl: 'BLOB',
      flag: 'BOOLEAN',
      d: 'DATE',
      ts: 'TIMESTAMP',
      n: 'BIGINT',
      untyped: 'VARCHAR',
      twice: 'BIGINT',
      r1: 'DOUBLE',
      us: 'VARCHAR',
    });
    const rows = await engine.rows(
      `SELECT i, big, r, s, v, bl::VARCHAR AS bl, flag, d::VARCHAR AS d, ts::VARCHAR AS ts, n, untyped, twice, r1, us
       FROM ${table.view} ORDER BY __lathe_row`,
    );
    expect(rows).toEqual([
      {
        i: 1,
        big: 9223372036854775807n,
        r: 1.5,
        s: 'héllo "q"',
        v: 'abc',
        bl: '\\x00\\x01\\xFF',
        flag: true,
        d: '2024-02-29',
        ts: '2024-03-10 12:34:56.789',
        n: 2,
        untyped: 'x',
        twice: 2,
        r1: 2.5,
        // SQLite's upper() only knows ASCII.
        us: 'HéLLO "Q"',
      },
      {
        i: -2,
        big: 9007199254740993n,
        r: -0.25,
        s: '',
        v: 'z',
        bl: '',
        flag: false,
        d: '1970-01-01',
        // The offset is applied, as SQLite's datetime() does.
        ts: '2024-03-10 21:00:00',
        n: 3,
        untyped: 'y',
        twice: -4,
        r1: 0.75,
        us: '',
      },
      {
        i: null,
        big: null,
        r: null,
        s: null,
        v: null,
        bl: null,
        flag: null,
        d: null,
        ts: null,
        n: null,
        untyped: null,
        twice: null,
        r1: null,
        us: null,
      },
    ]);
  });

  it('loads 25,000 rows in order, widening inferred columns across chunks', async () => {
    const table = await query(`
      WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < 25000)
      SELECT x,
             CASE WHEN x = 20000 THEN 0.5 ELSE x END AS mixed,
             CASE WHEN x > 3000 THEN x * 10 END AS late,
             'row ' || x AS label
      FROM seq`);
    expect(table.rowCount).toBe(25_000);
    expect(types(table)).toEqual({ x: 'BIGINT', mixed: 'DOUBLE', late: 'BIGINT', label: 'VARCHAR' });
    const check = await engine.row(`
      SELECT count(*) FILTER (WHERE x <> __lathe_row + 1) AS out_of_order,
             count(*) FILTER (WHERE label <> 'row ' || x) AS bad_label,
             count(*) FILTER (WHERE mixed <> x) AS mixed_differs,
             count(late) AS late_count, min(late) AS late_min
      FROM ${table.view}`);
    expect(check).toEqual({
      out_of_order: 0,
      bad_label: 0,
      mixed_differs: 1,
      late_count: 22_000,
      late_min: 30_010,
    });
    expect(await engine.row(`SELECT mixed FROM ${table.view} WHERE x = 20000`)).toEqual({ mixed: 0.5 });
  });

  it('creates the table with its columns for an empty result', async () => {
    const table = await query('SELECT i, s, d, 1 AS one FROM t WHERE 0');
    expect(table.rowCount).toBe(0);
    expect(types(table)).toEqual({ i: 'BIGINT', s: 'VARCHAR', d: 'DATE', one: 'VARCHAR' });
  });

  it('stops at a value that does not fit the declared type, naming column, row and value', async () => {
    const error = await loadError(query('SELECT id, x FROM misfit ORDER BY id'));
    expect(error.message).toContain(dbPath);
    expect(error.message).toContain(`column 'x', row 3: "abc" is text`);
    expect(error.message).toContain('declared INTEGER');
    // The failed load leaves no table behind.
    expect(
      await engine.rows("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'lathe_t%'"),
    ).toEqual([]);
  });

  it('refuses mixed kinds and inexact integers in an inferred column', async () => {
    let error = await loadError(query("SELECT 1 AS a UNION ALL SELECT 'two' UNION ALL SELECT 3"));
    expect(error.message).toContain(
      `column 'a', row 2: "two" is text, but the column holds integers (row 1)`,
    );
    error = await loadError(query('SELECT 9007199254740993 AS a UNION ALL SELECT 0.5'));
    expect(error.message).toContain(`column 'a', row 2: 0.5 is a real number`);
    expect(error.message).toContain('row 1 holds the integer 9007199254740993');
  });

  it('reports an error SQLite raises while stepping through the rows', async () => {
    const error = await loadError(
      query(`
        WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < 5000)
        SELECT CASE WHEN x = 3000 THEN abs(-9223372036854775807 - 1) ELSE x END AS v FROM seq`),
    );
    expect(error.message).toContain('query failed: integer overflow');
  });

  it('checks dates and timestamps strictly', async () => {
    const path = join(dir, 'dates.sqlite');
    const db = new Database(path);
    db.exec(`CREATE TABLE dates (d DATE, ts TIMESTAMP);
      INSERT INTO dates VALUES ('2024-01-31', '2024-01-31 10:00'), ('2023-02-29', NULL)`);
    db.close();
    let error = await loadError(query('SELECT d FROM dates', path));
    expect(error.message).toContain(`column 'd', row 2: "2023-02-29" is not a date (text YYYY-MM-DD)`);
    const table = await query('SELECT ts FROM dates', path);
    expect(await engine.rows(`SELECT ts::VARCHAR AS ts FROM ${table.view}`)).toEqual([
      { ts: '2024-01-31 10:00:00' },
      { ts: null },
    ]);
    error = await loadError(query('SELECT upper(d) AS v FROM dates UNION ALL SELECT 12345', path));
    expect(error.message).toContain(
      `column 'v', row 3: 12345 is an integer, but the column holds text (row 1)`,
    );
  });

  it('reports a SQL error, a missing file and a file that is not a database', async () => {
    let error = await loadError(query('SELECT nope FROM t'));
    expect(error.message).toContain(dbPath);
    expect(error.message).toContain('query failed: no such column: nope');
    error = await loadError(query('SELECT 1', join(dir, 'missing.sqlite')));
    expect(error.message).toContain('missing.sqlite: no such SQLite file');
    const notDb = join(dir, 'not-a-db.sqlite');
    writeFileSync(notDb, 'hello, this is not SQLite at all, just some text long enough\n'.repeat(20));
    error = await loadError(query('SELECT 1', notDb));
    expect(error.message).toContain('file is not a database');
    error = await loadError(query('SELECT 1 AS a, 2 AS A'));
    expect(error.message).toContain("columns named 'a' and 'A'");
  });
});

describe.skipIf(!hasPostgres)('Postgres queries', () => {
  const suffix = `${process.pid}_${Date.now()}`;
  const typesTable = `lathe_sql_types_${suffix}`;
  const bigTable = `lathe_sql_big_${suffix}`;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`
      CREATE TABLE ${typesTable} (
        id int, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric(12,3), nu numeric,
        nbig numeric(50,2), b bool, t text, vc varchar(10), bp char(3), nm name, u uuid, j json,
        jb jsonb, by bytea, d date, ts timestamp, tz timestamptz, arr int[], iv interval
      );
      INSERT INTO ${typesTable} VALUES
        (1, -32768, 2147483647, 9223372036854775807, 1.5, 0.1, 123456789.125, 1.000000000000000000001,
         123456789012345678901234567890.12, true, 'héllo ''q''', 'abc', 'x', 'nm',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": 1}', '\\x00ff10',
         '2024-02-29', '2024-03-10 12:34:56.789012', '2024-03-10 12:34:56.789012+05:30', '{1,2}',
         '1 day 02:00:00'),
        (2, 0, -1, 9007199254740993, 'NaN', '-Infinity', -0.5, 'NaN', 0, false, '', '', '', '', NULL,
         'null', '[]', '', '0044-03-15 BC', '0001-01-01 00:00:00 BC', '-infinity', '{}', '-1 mon'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, 'infinity', 'infinity', NULL, NULL, NULL);
      CREATE TABLE ${bigTable} AS SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 25000) g;
    `);
  });

  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${typesTable}; DROP TABLE IF EXISTS ${bigTable}`);
    await admin.end();
  });

  const query = (q: string, url = PG_URL) =>
    loadTable(engine, { kind: 'query', database: 'postgres', connection: url, query: q });

  it('maps every type, keeping NULLs, int8 beyond 2^53, exact decimals and BC/infinite dates', async () => {
    const table = await query(`SELECT * FROM ${typesTable} ORDER BY id`);
    expect(table.rowCount).toBe(3);
    expect(types(table)).toEqual({
      id: 'INTEGER',
      i2: 'INTEGER',
      i4: 'INTEGER',
      i8: 'BIGINT',
      f4: 'DOUBLE',
      f8: 'DOUBLE',
      n: 'DECIMAL(12,3)',
      nu: 'VARCHAR',
      nbig: 'VARCHAR',
      b: 'BOOLEAN',
      t: 'VARCHAR',
      vc: 'VARCHAR',
      bp: 'VARCHAR',
      nm: 'VARCHAR',
      u: 'VARCHAR',
      j: 'VARCHAR',
      jb: 'VARCHAR',
      by: 'BLOB',
      d: 'DATE',
      ts: 'TIMESTAMP',
      tz: 'TIMESTAMP WITH TIME ZONE',
      arr: 'VARCHAR',
      iv: 'VARCHAR',
    });
    const rows = await engine.rows(`
      SELECT i2, i4, i8, f4, f8, n::VARCHAR AS n, nu, nbig, b, t, vc, bp, nm, u, j, jb, "by"::VARCHAR AS bytes,
             d::VARCHAR AS d, year(d) AS year, ts::VARCHAR AS ts, epoch_us(tz) AS tz_us, tz = '-infinity' AS tz_neg_inf,
             arr, iv
      FROM ${table.view} ORDER BY __lathe_row`);
    expect(rows[0]).toEqual({
      i2: -32768,
      i4: 2147483647,
      i8: 9223372036854775807n,
      f4: 1.5,
      f8: 0.1,
      n: '123456789.125',
      nu: '1.000000000000000000001',
      nbig: '123456789012345678901234567890.12',
      b: true,
      t: "héllo 'q'",
      vc: 'abc',
      bp: 'x  ',
      nm: 'nm',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: '{"a": [1, 2]}',
      jb: '{"b": 1}',
      bytes: '\\x00\\xFF\\x10',
      d: '2024-02-29',
      year: 2024,
      ts: '2024-03-10 12:34:56.789012',
      tz_us: Date.UTC(2024, 2, 10, 7, 4, 56, 789) * 1000 + 12,
      tz_neg_inf: false,
      arr: '{1,2}',
      iv: '1 day 02:00:00',
    });
    expect(rows[1]).toMatchObject({
      i8: 9007199254740993n,
      f4: Number.NaN,
      f8: Number.NEGATIVE_INFINITY,
      n: '-0.500',
      nu: 'NaN',
      nbig: '0.00',
      b: false,
      bp: '   ',
      u: null,
      j: 'null',
      bytes: '',
      d: '0044-03-15 (BC)',
      year: -43,
      ts: '0001-01-01 (BC) 00:00:00',
      tz_neg_inf: true,
      arr: '{}',
    });
    expect(rows[2]).toMatchObject({
      i2: null,
      i8: null,
      n: null,
      b: null,
      bytes: null,
      d: 'infinity',
      ts: 'infinity',
    });
    expect(rows[2]!.tz_us).toBeNull();
  });

  it('keeps the instant of a timestamptz whatever the session time zone', async () => {
    const url = `${PG_URL}?options=${encodeURIComponent('-c TimeZone=Asia/Kathmandu')}`;
    const table = await query(
      `SELECT tz, current_setting('TimeZone') AS zone FROM ${typesTable} WHERE id = 1`,
      url,
    );
    expect(await engine.row(`SELECT epoch_us(tz) AS us, zone FROM ${table.view}`)).toEqual({
      us: Date.UTC(2024, 2, 10, 7, 4, 56, 789) * 1000 + 12,
      zone: 'Asia/Kathmandu',
    });
  });

  it('streams 25,000 rows in order', async () => {
    const table = await query(`SELECT n, h FROM ${bigTable} ORDER BY n`);
    expect(table.rowCount).toBe(25_000);
    expect(types(table)).toEqual({ n: 'INTEGER', h: 'VARCHAR' });
    expect(
      await engine.row(`
        SELECT count(*) FILTER (WHERE n <> __lathe_row + 1) AS out_of_order,
               count(*) FILTER (WHERE h <> md5(n::VARCHAR)) AS bad_hash
        FROM ${table.view}`),
    ).toEqual({ out_of_order: 0, bad_hash: 0 });
  });

  it('creates the table with its columns for an empty result', async () => {
    const table = await query(`SELECT id, i8, n, d, tz FROM ${typesTable} WHERE false`);
    expect(table.rowCount).toBe(0);
    expect(types(table)).toEqual({
      id: 'INTEGER',
      i8: 'BIGINT',
      n: 'DECIMAL(12,3)',
      d: 'DATE',
      tz: 'TIMESTAMP WITH TIME ZONE',
    });
  });

  it('stops at a NaN in a numeric(p,s) column, naming column and row', async () => {
    let error = await loadError(query(`SELECT 1.5::numeric(5,2) AS x UNION ALL SELECT 'NaN'::numeric(5,2)`));
    expect(error.message).toContain(`column 'x', row 2: "NaN" does not fit DECIMAL(5,2)`);
    // In a later batch: the open cursor is closed and the partial table dropped.
    error = await loadError(
      query(
        `SELECT (CASE WHEN n = 15000 THEN 'NaN' ELSE n::text END)::numeric(7,2) AS x FROM ${bigTable} ORDER BY n`,
      ),
    );
    expect(error.message).toContain(`column 'x', row 15000: "NaN" does not fit DECIMAL(7,2)`);
    expect(
      await engine.rows("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'lathe_t%'"),
    ).toEqual([]);
  });

  it('reports an error the server raises in a later batch', async () => {
    const error = await loadError(query(`SELECT n, 1 / (n - 15000) AS x FROM ${bigTable} ORDER BY n`));
    expect(error.message).toContain('query failed: division by zero');
  });

  it('reports a SQL error and a write attempt, without the password', async () => {
    const withPassword = PG_URL.replace('://postgres@', '://postgres:s3cret@');
    let error = await loadError(query('SELECT nope FROM nowhere', withPassword));
    expect(error.message).toContain('127.0.0.1:5432/test');
    expect(error.message).toContain('query failed: relation "nowhere" does not exist');
    expect(error.message).not.toContain('s3cret');
    error = await loadError(query(`WITH gone AS (DELETE FROM ${bigTable} RETURNING n) SELECT * FROM gone`));
    expect(error.message).toContain('read-only transaction');
    expect(await admin.query(`SELECT count(*)::int AS n FROM ${bigTable}`)).toMatchObject({
      rows: [{ n: 25_000 }],
    });
  });

  it('refuses duplicate column names', async () => {
    const error = await loadError(query('SELECT 1 AS a, 2 AS a'));
    expect(error.message).toContain("two columns named 'a'");
  });
});

describe('Postgres connection errors', () => {
  it('reports a refused connection without the password', async () => {
    const url = 'postgres://someone:s3cret@127.0.0.1:1/test';
    const error = await loadError(
      loadTable(engine, { kind: 'query', database: 'postgres', connection: url, query: 'SELECT 1' }),
    );
    expect(error.message).toContain('postgres://someone@127.0.0.1:1/test');
    expect(error.message).toContain('cannot connect');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain('s3cret');
  });
});

describe('DuckDB file queries', () => {
  it('reads a table from a DuckDB file', async () => {
    const path = join(dir, 'source.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(
      "CREATE TABLE t AS SELECT range AS id, 'v' || range AS label, DATE '2024-01-01' + range::INT AS day FROM range(3)",
    );
    connection.closeSync();
    instance.closeSync();
    const table = await loadTable(engine, {
      kind: 'query',
      database: 'duckdb',
      connection: path,
      query: 'SELECT * FROM t',
    });
    expect(table.rowCount).toBe(3);
    expect(types(table)).toEqual({ id: 'BIGINT', label: 'VARCHAR', day: 'DATE' });
    expect(
      await engine.rows(`SELECT id, label, day::VARCHAR AS day FROM ${table.view} ORDER BY __lathe_row`),
    ).toEqual([
      { id: 0, label: 'v0', day: '2024-01-01' },
      { id: 1, label: 'v1', day: '2024-01-02' },
      { id: 2, label: 'v2', day: '2024-01-03' },
    ]);
  });
});
