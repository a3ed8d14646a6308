/**
 * One DuckDB instance per caller, in memory, spilling to a private temp directory. Everything in
 * `lathe/data` runs as SQL on it: DuckDB parses, scans and aggregates columnar data vectorized
 * and larger than memory, so no CSV parsing or statistics loop is written by hand here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LatheError } from '../errors.js';
import { DataSourceError } from './data-errors.js';

export interface DataEngineOptions {
  /** Worker threads; DuckDB's default is the number of cores. */
  threads?: number;
  /**
   * e.g. '4GB'. Default: $LATHE_DUCKDB_MEMORY_LIMIT, else 80% of RAM divided by the number of
   * cores (the engine runs that many tasks at once, and each data task has its own DuckDB; beyond
   * its limit DuckDB spills to disk).
   */
  memoryLimit?: string;
}

function defaultMemoryLimit(): string {
  const bytes = Math.max(1024 ** 3, Math.floor((totalmem() * 0.8) / Math.max(1, availableParallelism())));
  return `${Math.floor(bytes / 1024 ** 2)}MB`;
}

/** A DuckDB connection with plain-JS results: BIGINT → number (or bigint beyond 2^53), lists → arrays. */
export class DataEngine {
  private closed = false;
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly spillDir: string,
  ) {}

  static async open(options: DataEngineOptions = {}): Promise<DataEngine> {
    const spillDir = mkdtempSync(join(tmpdir(), 'lathe-duckdb-'));
    const config: Record<string, string> = { temp_directory: spillDir };
    if (options.threads !== undefined) config.threads = String(options.threads);
    config.memory_limit =
      options.memoryLimit ?? process.env.LATHE_DUCKDB_MEMORY_LIMIT ?? defaultMemoryLimit();
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Timestamps with time zones print and compare the same on every machine.
    await connection.run("SET TimeZone = 'UTC'");
    return new DataEngine(instance, connection, spillDir);
  }

  /** Runs statements that return nothing of interest. */
  async run(sql: string): Promise<void> {
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw asSourceError(error);
    }
  }

  /** Runs a query and returns its rows as plain objects. */
  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map((row) => toPlain(row) as T);
    } catch (error) {
      throw asSourceError(error);
    }
  }

  /** Runs a query that returns one row. */
  async row<T = Record<string, unknown>>(sql: string): Promise<T> {
    const rows = await this.rows<T>(sql);
    if (rows.length !== 1) throw new LatheError('DATA_INTERNAL', `expected one row, got ${rows.length}`);
    return rows[0]!;
  }

  /**
   * The values of a numeric expression over the rows of `from` that satisfy `where`, nulls left
   * out, in ascending order (DuckDB sorts, in parallel and out of core), read chunk by chunk
   * without making a JS value per row. `sizeHint` preallocates.
   */
  async sortedDoubles(value: string, from: string, where: string, sizeHint = 0): Promise<Float64Array> {
    try {
      const result = await this.connection.stream(
        `SELECT (${value})::DOUBLE AS x FROM ${from} WHERE (${where}) AND (${value}) IS NOT NULL ORDER BY x`,
      );
      let values = new Float64Array(Math.max(sizeHint, 2048));
      let length = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const rows = chunk.rowCount;
        if (length + rows > values.length) {
          const grown = new Float64Array(Math.max(values.length * 2, length + rows));
          grown.set(values.subarray(0, length));
          values = grown;
        }
        const vector = chunk.getColumnVector(0);
        // The vector's own Float64Array view of DuckDB's memory (a private field of node-api
        // 1.5): one copy per chunk instead of a call per value (there are no nulls to skip);
        // getItem when the field is not there.
        const items = (vector as unknown as { items?: unknown }).items;
        if (items instanceof Float64Array && items.length >= rows) {
          values.set(items.subarray(0, rows), length);
          length += rows;
        } else {
          for (let i = 0; i < rows; i++) values[length++] = Number(vector.getItem(i));
        }
      }
      return values.subarray(0, length);
    } catch (error) {
      throw asSourceError(error);
    }
  }

  /** The underlying connection, for the appender API. */
  get duckdb(): DuckDBConnection {
    return this.connection;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.spillDir, { recursive: true, force: true });
  }
}

/**
 * Parquet is read lazily, so a damaged file can fail in any query, long after it was opened:
 * such errors name the file and become DataSourceErrors, never crashes of the caller.
 */
function asSourceError(error: unknown): unknown {
  const message = duckdbMessage(error);
  const file = /Failed to read file "([^"]+)"|reading file "([^"]+)"|file ["']([^"']+)["']/.exec(
    error instanceof Error ? error.message : '',
  );
  if (
    /^IO Error|Failed to read file|Snappy|ZSTD|decompress|Parquet|corrupt/i.test(
      error instanceof Error ? error.message : '',
    )
  ) {
    return new DataSourceError(file?.[1] ?? file?.[2] ?? file?.[3] ?? 'data', message, undefined, {
      cause: error,
    });
  }
  return error;
}

/** Runs `fn` with a fresh engine, or with `engine` when the caller already has one. */
export async function withEngine<T>(
  engine: DataEngine | undefined,
  fn: (engine: DataEngine) => Promise<T>,
): Promise<T> {
  if (engine) return fn(engine);
  const own = await DataEngine.open();
  try {
    return await fn(own);
  } finally {
    own.close();
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date || value instanceof Uint8Array || value === null) return value;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) out[key] = toPlain(item);
    return out;
  }
  return value;
}

/** `"name"` for SQL, with embedded quotes doubled: any column name is safe. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'` for SQL, with embedded quotes doubled. */
export function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A number as SQL: whole numbers as they are, others as a string cast to DOUBLE (a long decimal
 * literal would be read as DECIMAL first and could round to a neighbouring double).
 */
export function sqlNumber(value: number): string {
  if (Number.isSafeInteger(value)) return String(value);
  return `'${String(value)}'::DOUBLE`;
}

/** A JS value as a SQL literal (strings, numbers, booleans, null). */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') return sqlNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return `${quoteString(value.toISOString())}::TIMESTAMP`;
  return quoteString(String(value));
}

/** The first line of a DuckDB error, without its "Error:" category prefix and the SQL excerpt. */
export function duckdbMessage(error: unknown): string {
  // A DataSourceError made from a DuckDB error: the original message, without the file prefix.
  if (error instanceof DataSourceError && error.cause !== undefined) return duckdbMessage(error.cause);
  const text = error instanceof Error ? error.message : String(error);
  const first = text.split('\n')[0] ?? text;
  return first.replace(/^[A-Za-z ]+Error: /, '');
}
