/**
 * Query sources read with the databases' own JS drivers (DuckDB's postgres and sqlite extensions
 * would have to be downloaded): rows are streamed from better-sqlite3 or a pg cursor, converted
 * column by column and appended to a DuckDB temp table in chunks, in the query's row order.
 *
 * Every value either fits its column's type exactly or stops the load with the column, the row
 * (1-based, in the query's order) and the value; nothing is rounded, truncated or reinterpreted.
 *
 * SQLite (by the declared type of a result column, with SQLite's affinity rules; an expression
 * column has no declared type, and neither has a column declared without one):
 *
 * | declared type                                  | DuckDB type | accepts                               |
 * | ---------------------------------------------- | ----------- | ------------------------------------- |
 * | contains INT                                   | BIGINT      | integers                              |
 * | contains CHAR, CLOB or TEXT                    | VARCHAR     | text                                  |
 * | contains BLOB                                  | BLOB        | blobs                                 |
 * | contains REAL, FLOA or DOUB                    | DOUBLE      | reals; integers a DOUBLE holds exactly |
 * | other (NUMERIC affinity) containing BOOL       | BOOLEAN     | the integers 0 and 1                  |
 * | … containing DATETIME or TIMESTAMP             | TIMESTAMP   | text YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH:MM]; an offset is converted to UTC, as SQLite's datetime() does |
 * | … containing DATE                              | DATE        | text YYYY-MM-DD                       |
 * | any other (NUMERIC, DECIMAL, STRING, JSON, …), none, expressions | from the values | integers → BIGINT; with any real → DOUBLE (each integer must be exact as a DOUBLE); text → VARCHAR; blobs → BLOB; only NULLs → VARCHAR. Mixing text, numbers and blobs in one column is an error. |
 *
 * Postgres (by the result field's type OID; values are received as text and parsed here, so no
 * JS Date and no time zone ever touches them):
 *
 * | Postgres type                    | DuckDB type                 |
 * | -------------------------------- | --------------------------- |
 * | int2, int4                       | INTEGER                     |
 * | int8                             | BIGINT (exact, via BigInt)  |
 * | float4, float8                   | DOUBLE (NaN and ±Infinity kept) |
 * | numeric(p,s) with 1 ≤ p ≤ 38, 0 ≤ s ≤ p | DECIMAL(p,s) (exact; a NaN stops the load) |
 * | numeric without a typmod (e.g. an expression), or p > 38 | VARCHAR (its exact text) |
 * | bool                             | BOOLEAN                     |
 * | text, varchar, bpchar, name, char | VARCHAR                    |
 * | bytea                            | BLOB                        |
 * | date                             | DATE (BC and ±infinity kept) |
 * | timestamp                        | TIMESTAMP (BC and ±infinity kept) |
 * | timestamptz                      | TIMESTAMPTZ (the instant; BC and ±infinity kept) |
 * | uuid, json, jsonb, and any other type (arrays, intervals, enums, …) | VARCHAR (Postgres' text form) |
 *
 * The Postgres query runs in a READ ONLY transaction, with the session's DateStyle set to ISO,
 * extra_float_digits to 3 and bytea_output to hex (output formats only; the session time zone is
 * left alone, since queries may depend on it).
 */
import { statSync } from 'node:fs';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  blobValue,
  DATE,
  DECIMAL,
  DOUBLE,
  type DuckDBAppender,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  TIMESTAMP,
  TIMESTAMPTZ,
  VARCHAR,
} from '@duckdb/node-api';
import Database from 'better-sqlite3';
import pg, { type FieldDef } from 'pg';
import Cursor from 'pg-cursor';
import { DataSourceError } from './data-errors.js';
import { type DataEngine, quoteIdent } from './duckdb.js';

/** Rows per DuckDB data chunk: DuckDB's vector size, the most a chunk can hold. */
const CHUNK_ROWS = 2048;
/** Rows fetched from a Postgres cursor at a time. */
const PG_BATCH_ROWS = 10_000;

/** Runs `query` on a SQLite file (opened read-only with better-sqlite3) and stores the rows in a new DuckDB temp table `table`. */
export async function loadSqliteQuery(
  engine: DataEngine,
  table: string,
  dbPath: string,
  query: string,
): Promise<void> {
  let isFile: boolean;
  try {
    isFile = statSync(dbPath).isFile();
  } catch {
    throw new DataSourceError(dbPath, 'no such SQLite file');
  }
  if (!isFile) throw new DataSourceError(dbPath, 'not a file');
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new DataSourceError(dbPath, `cannot open the SQLite database: ${driverMessage(error)}`, undefined, {
      cause: error,
    });
  }
  let writer: TableWriter | undefined;
  try {
    let statement: Database.Statement<unknown[], unknown[]>;
    try {
      statement = db.prepare<unknown[], unknown[]>(query);
    } catch (error) {
      throw queryFailed(dbPath, error);
    }
    if (!statement.reader)
      throw new DataSourceError(dbPath, 'the query returns no rows (it is not a SELECT)');
    statement.safeIntegers(true).raw(true);
    const loaders = statement.columns().map((column) => sqliteColumn(dbPath, column.name, column.type));
    writer = await TableWriter.create(engine, table, dbPath, loaders);
    const rows = statement.iterate();
    try {
      let batch: unknown[][] = [];
      for (;;) {
        let next: IteratorResult<unknown[]>;
        try {
          next = rows.next();
        } catch (error) {
          throw queryFailed(dbPath, error);
        }
        if (next.done) break;
        batch.push(next.value);
        if (batch.length === CHUNK_ROWS) {
          await writer.write(batch);
          batch = [];
        }
      }
      await writer.write(batch);
    } finally {
      rows.return?.();
    }
    writer.finish();
  } catch (error) {
    await writer?.discard();
    throw error;
  } finally {
    db.close();
  }
}

/** Runs `query` on Postgres (`url` like postgres://user@127.0.0.1:5432/test) with the `pg` driver and a pg-cursor (batches of 10,000 rows, so memory stays bounded) and stores the rows in a new DuckDB temp table `table`. */
export async function loadPostgresQuery(
  engine: DataEngine,
  table: string,
  url: string,
  query: string,
): Promise<void> {
  const shown = redactUrl(url);
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 30_000 });
  } catch (error) {
    throw new DataSourceError(
      shown,
      `not a usable Postgres connection string: ${driverMessage(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  // A connection lost while idle is reported as an 'error' event, which would otherwise crash the
  // process; a loss during the query also fails the query, which is what gets reported.
  client.on('error', () => {});
  let writer: TableWriter | undefined;
  try {
    try {
      await client.connect();
    } catch (error) {
      throw new DataSourceError(shown, `cannot connect: ${driverMessage(error)}`, undefined, {
        cause: error,
      });
    }
    try {
      await client.query("SET DateStyle = ISO; SET extra_float_digits = 3; SET bytea_output = 'hex'");
      await client.query('BEGIN READ ONLY');
    } catch (error) {
      throw queryFailed(shown, error);
    }
    const cursor = client.query(new Cursor<unknown[]>(query, null, { rowMode: 'array', types: RAW_TEXT }));
    // After a server error the cursor is already closed, and closing it again would wait for a
    // message that never comes.
    let mayNeedClose = true;
    try {
      let batch: { rows: unknown[][]; fields: FieldDef[] };
      try {
        batch = await readBatch(cursor);
      } catch (error) {
        mayNeedClose = false;
        throw queryFailed(shown, error);
      }
      if (batch.fields.length === 0) throw new DataSourceError(shown, 'the query returns no columns');
      writer = await TableWriter.create(
        engine,
        table,
        shown,
        batch.fields.map((field) => postgresColumn(shown, field)),
      );
      let rows = batch.rows;
      while (rows.length > 0) {
        await writer.write(rows);
        try {
          rows = await cursor.read(PG_BATCH_ROWS);
        } catch (error) {
          mayNeedClose = false;
          throw queryFailed(shown, error);
        }
      }
      writer.finish();
    } finally {
      if (mayNeedClose) await cursor.close().catch(() => {});
    }
  } catch (error) {
    await writer?.discard();
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Appending to DuckDB

/** How one result column becomes a DuckDB column. */
interface ColumnLoader {
  readonly name: string;
  /** The column's DuckDB type; `TableWriter.retype` changes it. */
  type: DuckDBType;
  /**
   * Looks at a chunk's values before they are converted, for a column whose type comes from its
   * values: returns the type the column needs from now on (it may widen), or throws on a misfit.
   */
  inspect?(values: readonly unknown[], firstRow: number): DuckDBType;
  /** A non-null driver value as a DuckDB value of `type`; throws a DataSourceError on a misfit. */
  convert(value: unknown, row: number): DuckDBValue;
}

class TableWriter {
  private written = 0;

  private constructor(
    private readonly engine: DataEngine,
    private readonly table: string,
    private readonly loaders: ColumnLoader[],
    private appender: DuckDBAppender,
  ) {}

  static async create(
    engine: DataEngine,
    table: string,
    source: string,
    loaders: ColumnLoader[],
  ): Promise<TableWriter> {
    checkColumnNames(
      source,
      loaders.map((loader) => loader.name),
    );
    const columns = loaders.map((loader) => `${quoteIdent(loader.name)} ${loader.type}`).join(', ');
    await engine.run(`CREATE TEMP TABLE ${quoteIdent(table)} (${columns})`);
    try {
      return new TableWriter(engine, table, loaders, await engine.duckdb.createAppender(table));
    } catch (error) {
      await dropTable(engine, table);
      throw error;
    }
  }

  /** Appends rows (arrays in column order) after the ones already written. */
  async write(rows: readonly (readonly unknown[])[]): Promise<void> {
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const slice = rows.slice(start, start + CHUNK_ROWS);
      const firstRow = this.written + 1;
      const columns: DuckDBValue[][] = [];
      for (let index = 0; index < this.loaders.length; index++) {
        const loader = this.loaders[index]!;
        const values = slice.map((row) => row[index] ?? null);
        if (loader.inspect) {
          const type = loader.inspect(values, firstRow);
          if (type.toString() !== loader.type.toString()) await this.retype(loader, type);
        }
        columns.push(
          values.map((value, offset) => (value === null ? null : loader.convert(value, firstRow + offset))),
        );
      }
      const chunk = DuckDBDataChunk.create(
        this.loaders.map((loader) => loader.type),
        slice.length,
      );
      columns.forEach((values, index) => {
        chunk.setColumnValues(index, values);
      });
      this.appender.appendDataChunk(chunk);
      this.written += slice.length;
    }
  }

  /** Changes a column's type for the rows still to come; the rows already written are cast (exactly). */
  private async retype(loader: ColumnLoader, type: DuckDBType): Promise<void> {
    this.appender.closeSync();
    await this.engine.run(
      `ALTER TABLE ${quoteIdent(this.table)} ALTER COLUMN ${quoteIdent(loader.name)} SET DATA TYPE ${type}`,
    );
    loader.type = type;
    this.appender = await this.engine.duckdb.createAppender(this.table);
  }

  finish(): void {
    this.appender.closeSync();
  }

  /** Drops what was written, after a failure. */
  async discard(): Promise<void> {
    try {
      this.appender.clear();
      this.appender.closeSync();
    } catch {
      // already closed
    }
    await dropTable(this.engine, this.table);
  }
}

async function dropTable(engine: DataEngine, table: string): Promise<void> {
  await engine.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(table)}`).catch(() => {});
}

/** DuckDB names are case-insensitive, so `a` and `A` are the same column there. */
function checkColumnNames(source: string, names: string[]): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    if (name === '')
      throw new DataSourceError(source, 'the query returns a column without a name; name it with AS');
    const key = name.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined) {
      const both = other === name ? `two columns named '${name}'` : `columns named '${other}' and '${name}'`;
      throw new DataSourceError(
        source,
        `the query returns ${both} (DuckDB column names ignore case); give them distinct names with AS`,
      );
    }
    seen.set(key, name);
  }
}

function misfit(source: string, column: string, row: number, value: unknown, why: string): DataSourceError {
  return new DataSourceError(source, `column '${column}', row ${row}: ${show(value)} ${why}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return String(value);
}

function queryFailed(source: string, error: unknown): DataSourceError {
  if (error instanceof DataSourceError) return error;
  return new DataSourceError(source, `query failed: ${driverMessage(error)}`, undefined, { cause: error });
}

function driverMessage(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map(driverMessage).join('; ') || 'connection failed';
  }
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/** The URL without its password (in the authority or as a `password` parameter). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    if (parsed.searchParams.has('password')) parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return url.replace(/password\s*=\s*\S*/gi, 'password=***');
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

type SqliteKind = 'integer' | 'real' | 'text' | 'blob';

function sqliteKind(value: unknown): SqliteKind {
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return 'real';
  if (typeof value === 'string') return 'text';
  return 'blob';
}

const KIND_NAMES: Record<SqliteKind, string> = {
  integer: 'an integer',
  real: 'a real number',
  text: 'text',
  blob: 'a blob',
};

/** The DuckDB type for a declared SQLite column type, or undefined to infer it from the values. */
function sqliteDeclaredType(declared: string | null): DuckDBType | undefined {
  if (!declared) return undefined;
  const type = declared.toUpperCase();
  // SQLite's affinity rules, in their order (https://sqlite.org/datatype3.html#affname).
  if (type.includes('INT')) return BIGINT;
  if (type.includes('CHAR') || type.includes('CLOB') || type.includes('TEXT')) return VARCHAR;
  if (type.includes('BLOB')) return BLOB;
  if (type.includes('REAL') || type.includes('FLOA') || type.includes('DOUB')) return DOUBLE;
  // NUMERIC affinity: SQLite stores what looks like a number as one, anything else as text.
  if (type.includes('BOOL')) return BOOLEAN;
  if (type.includes('DATETIME') || type.includes('TIMESTAMP')) return TIMESTAMP;
  if (type.includes('DATE')) return DATE;
  return undefined;
}

function sqliteColumn(source: string, name: string, declared: string | null): ColumnLoader {
  const type = sqliteDeclaredType(declared);
  if (type === undefined) return new InferredSqliteColumn(source, name, declared);
  const fail = (value: unknown, row: number, why: string): never => {
    throw misfit(
      source,
      name,
      row,
      value,
      `${why}, but the column is declared ${declared} (loaded as ${type})`,
    );
  };
  const notA = (value: unknown, row: number): never =>
    fail(value, row, `is ${KIND_NAMES[sqliteKind(value)]}`);
  let convert: (value: unknown, row: number) => DuckDBValue;
  switch (type) {
    case BIGINT:
      convert = (value, row) => {
        if (typeof value === 'bigint') return value;
        if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
        return notA(value, row);
      };
      break;
    case DOUBLE:
      convert = (value, row) => {
        if (typeof value === 'number') return value;
        if (typeof value === 'bigint') {
          if (BigInt(Number(value)) === value) return Number(value);
          return fail(value, row, 'is an integer that a DOUBLE cannot hold exactly');
        }
        return notA(value, row);
      };
      break;
    case VARCHAR:
      convert = (value, row) => (typeof value === 'string' ? value : notA(value, row));
      break;
    case BLOB:
      convert = (value, row) => (value instanceof Uint8Array ? blobValue(value) : notA(value, row));
      break;
    case BOOLEAN:
      convert = (value, row) => {
        if (value === 0n || value === 0) return false;
        if (value === 1n || value === 1) return true;
        return fail(value, row, 'is not 0 or 1');
      };
      break;
    case DATE:
      convert = (value, row) => {
        const days = typeof value === 'string' ? sqliteDate(value) : undefined;
        return days ?? fail(value, row, 'is not a date (text YYYY-MM-DD)');
      };
      break;
    default:
      convert = (value, row) => {
        const micros = typeof value === 'string' ? sqliteTimestamp(value) : undefined;
        return micros ?? fail(value, row, 'is not a timestamp (text YYYY-MM-DD HH:MM:SS)');
      };
  }
  return { name, type, convert };
}

/** A column without a declared type (an expression) or with a generic NUMERIC one: typed by its values. */
class InferredSqliteColumn implements ColumnLoader {
  type: DuckDBType = VARCHAR;
  /** What the column holds so far, and from which row; undefined while it held only NULLs. */
  private kind: 'integer' | 'real' | 'text' | 'blob' | undefined;
  private since = 0;
  /** The first integer that a DOUBLE cannot hold exactly, in case a real number comes later. */
  private inexact: { row: number; value: bigint } | undefined;

  constructor(
    private readonly source: string,
    readonly name: string,
    private readonly declared: string | null,
  ) {}

  inspect(values: readonly unknown[], firstRow: number): DuckDBType {
    values.forEach((value, offset) => {
      if (value === null) return;
      const row = firstRow + offset;
      const kind = sqliteKind(value);
      if (kind === 'integer' && this.inexact === undefined && BigInt(Number(value)) !== value) {
        this.inexact = { row, value: value as bigint };
        if (this.kind === 'real') {
          throw this.misfit(
            value,
            row,
            `is an integer that a DOUBLE cannot hold exactly, and the column holds real numbers (row ${this.since})`,
          );
        }
      }
      if (this.kind === undefined) {
        this.kind = kind;
        this.since = row;
      } else if (this.kind === 'integer' && kind === 'real') {
        if (this.inexact) {
          throw this.misfit(
            value,
            row,
            `is a real number, so the column would be DOUBLE, but row ${this.inexact.row} holds the integer ${this.inexact.value}, which a DOUBLE cannot hold exactly`,
          );
        }
        this.kind = 'real';
        this.since = row;
      } else if (this.kind !== kind && !(this.kind === 'real' && kind === 'integer')) {
        throw this.misfit(
          value,
          row,
          `is ${KIND_NAMES[kind]}, but the column holds ${this.kind === 'integer' ? 'integers' : this.kind === 'real' ? 'real numbers' : this.kind === 'text' ? 'text' : 'blobs'} (row ${this.since})`,
        );
      }
    });
    switch (this.kind) {
      case 'integer':
        return BIGINT;
      case 'real':
        return DOUBLE;
      case 'blob':
        return BLOB;
      default:
        return VARCHAR;
    }
  }

  convert(value: unknown): DuckDBValue {
    switch (this.kind) {
      case 'real':
        return Number(value);
      case 'blob':
        return blobValue(value as Uint8Array);
      default:
        return value as bigint | string;
    }
  }

  private misfit(value: unknown, row: number, why: string): DataSourceError {
    const origin = this.declared ? `declared ${this.declared}, typed by its values` : 'typed by its values';
    return misfit(
      this.source,
      this.name,
      row,
      value,
      `${why}; the column is ${origin}: CAST it in the query`,
    );
  }
}

const SQLITE_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const SQLITE_TIMESTAMP =
  /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?(?:\s*(?:Z|([+-])(\d\d):?(\d\d)))?)?$/;

function sqliteDate(text: string): DuckDBDateValue | undefined {
  const match = SQLITE_DATE.exec(text);
  if (!match) return undefined;
  const days = daysFromCivil(Number(match[1]), Number(match[2]), Number(match[3]));
  return days === undefined ? undefined : dateValueOf(days);
}

function sqliteTimestamp(text: string): DuckDBTimestampValue | undefined {
  const m = SQLITE_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const offset = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10]) * 60) : 0;
  const micros = timestampMicros(m.slice(1, 8), false, offset);
  return micros === undefined ? undefined : timestampValueOf(micros, false);
}

// ---------------------------------------------------------------------------------------------
// Postgres

/** Every value arrives as Postgres' text form; the column loaders parse it. */
const RAW_TEXT = { getTypeParser: () => (text: string) => text };

const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
} as const;

function readBatch(cursor: Cursor<unknown[]>): Promise<{ rows: unknown[][]; fields: FieldDef[] }> {
  return new Promise((resolve, reject) => {
    cursor.read(PG_BATCH_ROWS, (error, rows, result) => {
      if (error) reject(error);
      else resolve({ rows, fields: result?.fields ?? [] });
    });
  });
}

function postgresColumn(source: string, field: FieldDef): ColumnLoader {
  const name = field.name;
  const fail = (value: unknown, row: number, why: string): never => {
    throw misfit(source, name, row, value, why);
  };
  const text = (value: unknown): string => value as string;
  switch (field.dataTypeID) {
    case OID.int2:
    case OID.int4:
      return {
        name,
        type: INTEGER,
        convert: (value, row) =>
          /^-?\d+$/.test(text(value)) ? Number(value) : fail(value, row, 'is not an integer'),
      };
    case OID.int8:
      return {
        name,
        type: BIGINT,
        convert: (value, row) =>
          /^-?\d+$/.test(text(value)) ? BigInt(text(value)) : fail(value, row, 'is not an integer'),
      };
    case OID.float4:
    case OID.float8:
      return {
        name,
        type: DOUBLE,
        convert: (value, row) => {
          const number = Number(value);
          return Number.isNaN(number) && value !== 'NaN' ? fail(value, row, 'is not a number') : number;
        },
      };
    case OID.numeric: {
      const type = numericType(field.dataTypeModifier);
      if (type === VARCHAR) return { name, type, convert: text };
      const { width, scale } = type as ReturnType<typeof DECIMAL>;
      const limit = 10n ** BigInt(width);
      return {
        name,
        type,
        convert: (value, row) => {
          const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text(value));
          const fraction = m?.[3] ?? '';
          if (!m || fraction.length > scale) return fail(value, row, `does not fit ${type}`);
          const magnitude = BigInt(m[2]! + fraction.padEnd(scale, '0'));
          if (magnitude >= limit) return fail(value, row, `does not fit ${type}`);
          return new DuckDBDecimalValue(m[1] ? -magnitude : magnitude, width, scale);
        },
      };
    }
    case OID.bool:
      return {
        name,
        type: BOOLEAN,
        convert: (value, row) =>
          value === 't' ? true : value === 'f' ? false : fail(value, row, 'is not a boolean'),
      };
    case OID.bytea:
      return {
        name,
        type: BLOB,
        convert: (value, row) => {
          const m = /^\\x((?:[0-9a-fA-F]{2})*)$/.exec(text(value));
          return m ? blobValue(Buffer.from(m[1]!, 'hex')) : fail(value, row, 'is not hex bytea output');
        },
      };
    case OID.date:
      return {
        name,
        type: DATE,
        convert: (value, row) =>
          postgresDate(text(value)) ?? fail(value, row, 'is not a date DuckDB can hold'),
      };
    case OID.timestamp:
    case OID.timestamptz: {
      const zoned = field.dataTypeID === OID.timestamptz;
      return {
        name,
        type: zoned ? TIMESTAMPTZ : TIMESTAMP,
        convert: (value, row) =>
          postgresTimestamp(text(value), zoned) ??
          fail(value, row, `is not a ${zoned ? 'TIMESTAMPTZ' : 'TIMESTAMP'} DuckDB can hold`),
      };
    }
    default:
      // text, varchar, bpchar, name, char, uuid, json, jsonb and everything else: the text form.
      return { name, type: VARCHAR, convert: text };
  }
}

/** DECIMAL(p,s) from a numeric typmod when DuckDB can hold it exactly, else VARCHAR. */
function numericType(typmod: number): DuckDBType {
  if (typmod < 4) return VARCHAR;
  const packed = typmod - 4;
  const precision = (packed >> 16) & 0xffff;
  // Since Postgres 15 the scale is an 11-bit signed number and may be negative or exceed the precision.
  const scale = ((packed & 0x7ff) ^ 0x400) - 0x400;
  if (precision < 1 || precision > 38 || scale < 0 || scale > precision) return VARCHAR;
  return DECIMAL(precision, scale);
}

const PG_DATE = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/;
const PG_TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

function postgresDate(text: string): DuckDBDateValue | undefined {
  if (text === 'infinity') return DuckDBDateValue.PosInf;
  if (text === '-infinity') return DuckDBDateValue.NegInf;
  const m = PG_DATE.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const days = daysFromCivil(m[4] ? 1 - year : year, Number(m[2]), Number(m[3]));
  return days === undefined ? undefined : dateValueOf(days);
}

function postgresTimestamp(
  text: string,
  zoned: boolean,
): DuckDBTimestampValue | DuckDBTimestampTZValue | undefined {
  if (text === 'infinity') return zoned ? DuckDBTimestampTZValue.PosInf : DuckDBTimestampValue.PosInf;
  if (text === '-infinity') return zoned ? DuckDBTimestampTZValue.NegInf : DuckDBTimestampValue.NegInf;
  const m = PG_TIMESTAMP.exec(text);
  // A timestamptz always comes with its offset, a timestamp never.
  if (!m || (m[8] !== undefined) !== zoned) return undefined;
  const parts = m.slice(1, 8);
  if (m[12]) parts[0] = String(1 - Number(m[1]));
  const offset = m[8]
    ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0))
    : 0;
  const micros = timestampMicros(parts, true, offset);
  return micros === undefined ? undefined : timestampValueOf(micros, zoned);
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, astronomical years: 1 BC is year 0), without JS Date

const DAY_MICROS = 86_400_000_000n;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01, or undefined for an impossible date such as 2023-02-29. */
function daysFromCivil(year: number, month: number, day: number): number | undefined {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
  if (monthDays === undefined || day < 1 || day > monthDays) return undefined;
  // Howard Hinnant's days_from_civil: years start in March, eras are 400 years.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * Microseconds since 1970-01-01 00:00 UTC from [year, month, day, hour?, minute?, second?,
 * fraction?] texts and an offset east of UTC in seconds; undefined for an impossible value.
 */
function timestampMicros(
  parts: (string | undefined)[],
  bigYears: boolean,
  offsetSeconds: number,
): bigint | undefined {
  const [year, month, day, hour = '0', minute = '0', second = '0', fraction = ''] = parts;
  if (!bigYears && (year?.length ?? 0) > 4) return undefined;
  const days = daysFromCivil(Number(year), Number(month), Number(day));
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (days === undefined || h > 23 || min > 59 || s > 59) return undefined;
  const timeMicros = BigInt(
    (h * 3600 + min * 60 + s - offsetSeconds) * 1_000_000 + Number(fraction.padEnd(6, '0')),
  );
  return BigInt(days) * DAY_MICROS + timeMicros;
}

function dateValueOf(days: number): DuckDBDateValue | undefined {
  return days >= DuckDBDateValue.Min.days && days <= DuckDBDateValue.Max.days
    ? new DuckDBDateValue(days)
    : undefined;
}

function timestampValueOf(
  micros: bigint,
  zoned: boolean,
): DuckDBTimestampValue | DuckDBTimestampTZValue | undefined {
  const range = zoned ? DuckDBTimestampTZValue : DuckDBTimestampValue;
  if (micros < range.Min.micros || micros > range.Max.micros) return undefined;
  return zoned ? new DuckDBTimestampTZValue(micros) : new DuckDBTimestampValue(micros);
}
