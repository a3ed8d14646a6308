/**
 * Data sources: files (CSV/TSV, Parquet, JSON/NDJSON) and SQL queries (Postgres, SQLite, DuckDB
 * files), loaded into DuckDB as a view with a stable row ordinal (`__lathe_row`) so that checks
 * can point at failing rows. Bad input is reported with the file and line, never coerced.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { StatementType } from '@duckdb/node-api';
import { logicalTypeOf } from './columns.js';
import { DataSourceError } from './data-errors.js';
import { type DataEngine, duckdbMessage, quoteIdent, quoteString } from './duckdb.js';
import {
  ambiguousDateWarnings,
  checkJsonArrayEnd,
  countsFileLines,
  csvMessage,
  headerWarnings,
  lineNumbersAt,
  locateBadLine,
  mixedTypeWarnings,
  type SniffedDateFormats,
  truncate,
} from './file-checks.js';
import {
  type CsvOptions,
  type DataSource,
  type FileSource,
  type LoadedTable,
  type QuerySource,
  type RejectedLine,
  ROW_ORDINAL,
} from './source-types.js';
import { loadPostgresQuery, loadSqliteQuery } from './sql-sources.js';
import { FILE_FORMATS, type FileFormat, QUERY_DATABASES, type QueryDatabase } from './vocabulary.js';

export { DataSourceError, FILE_FORMATS, type FileFormat, QUERY_DATABASES, type QueryDatabase };

/** A path names a file source whose format comes from its extension. */
export function fileSource(path: string, options: Omit<FileSource, 'kind' | 'path'> = {}): FileSource {
  return { kind: 'file', path, ...options };
}

export function formatFromPath(path: string): FileFormat {
  const lower = path.toLowerCase().replace(/\.(gz|zst)$/, '');
  const ext = extname(lower);
  switch (ext) {
    case '.csv':
      return 'csv';
    case '.tsv':
    case '.tab':
      return 'tsv';
    case '.parquet':
    case '.pq':
      return 'parquet';
    case '.json':
      return 'json';
    case '.ndjson':
    case '.jsonl':
      return 'ndjson';
    default:
      throw new DataSourceError(
        path,
        `cannot tell the format from the extension '${ext || '(none)'}'; use .csv, .tsv, .parquet, .json, .ndjson or .jsonl, or give the format`,
      );
  }
}

/** Loads a source. Parquet is read in place (a view); other formats are parsed once into a temp table. */
export async function loadTable(engine: DataEngine, source: DataSource | string): Promise<LoadedTable> {
  const resolved = typeof source === 'string' ? fileSource(source) : source;
  // A random name, not a module counter: components' digests capture module state, and a counter's
  // value would depend on how many tables the process loaded before (a cache key that drifts).
  const id = `lathe_t${randomBytes(6).toString('hex')}`;
  if (resolved.kind === 'query') return loadQuery(engine, resolved, id);
  return loadFile(engine, resolved, id);
}

async function loadFile(engine: DataEngine, source: FileSource, id: string): Promise<LoadedTable> {
  const path = resolve(source.path);
  const shown = source.path;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new DataSourceError(shown, 'not a file');
    size = stat.size;
  } catch (error) {
    if (error instanceof DataSourceError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataSourceError(
      shown,
      code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? error})`,
    );
  }
  if (size === 0) throw new DataSourceError(shown, 'the file is empty');
  const format = source.format ?? formatFromPath(shown);
  const view = `${id}_v`;
  if (format === 'parquet') {
    const file = quoteString(path);
    try {
      const columns = await engine.rows<{ column_name: string }>(
        `DESCRIBE SELECT * FROM read_parquet(${file})`,
      );
      checkReservedNames(
        shown,
        columns.map((column) => column.column_name),
      );
    } catch (error) {
      if (error instanceof DataSourceError && error.cause === undefined) throw error;
      throw new DataSourceError(shown, `not a readable Parquet file: ${duckdbMessage(error)}`, undefined, {
        cause: error,
      });
    }
    try {
      await engine.run(
        `CREATE TEMP VIEW ${view} AS SELECT * EXCLUDE (file_row_number), file_row_number AS ${ROW_ORDINAL} FROM read_parquet(${file}, file_row_number = true)`,
      );
    } catch (error) {
      try {
        // A file with a column of its own named file_row_number: number the rows in the view.
        if (!/file_row_number/i.test(duckdbMessage(error))) throw error;
        await engine.run(
          `CREATE TEMP VIEW ${view} AS SELECT *, row_number() OVER () - 1 AS ${ROW_ORDINAL} FROM read_parquet(${file})`,
        );
      } catch (inner) {
        throw new DataSourceError(shown, `not a readable Parquet file: ${duckdbMessage(inner)}`, undefined, {
          cause: inner,
        });
      }
    }
    return describe(engine, view, shown, [], []);
  }
  const table = `${id}_data`;
  let rejected: RejectedLine[] = [];
  const loadWarnings: string[] = [];
  let dateFormats: SniffedDateFormats = { DateFormat: null, TimestampFormat: null };
  if (format === 'csv' || format === 'tsv') {
    const csvLoad = await loadCsv(engine, path, shown, format, source.csv ?? {}, table, id);
    rejected = csvLoad.rejected;
    loadWarnings.push(...csvLoad.warnings);
    dateFormats = csvLoad.dateFormats;
  } else {
    const jsonFormat = format === 'json' ? 'auto' : 'newline_delimited';
    if (format === 'json') await checkJsonArrayEnd(path, shown);
    try {
      await engine.run(
        `CREATE TEMP TABLE ${table} AS SELECT * FROM read_json(${quoteString(path)}, format = '${jsonFormat}')`,
      );
    } catch (error) {
      const message = duckdbMessage(error);
      const line = /\bline (\d+)/i.exec(message)?.[1];
      throw new DataSourceError(
        shown,
        `not readable as ${format.toUpperCase()}: ${message}`,
        line === undefined ? undefined : Number(line),
        { cause: error },
      );
    }
  }
  await createOrdinalView(engine, table, view, shown);
  const loaded = await describe(engine, view, shown, rejected, loadWarnings);
  if (format === 'csv' || format === 'tsv') {
    const csv = source.csv ?? {};
    const delimiter = csv.delimiter ?? (format === 'tsv' ? '\t' : ',');
    loaded.warnings.push(...(await headerWarnings(path, loaded, csv, delimiter)));
    loaded.warnings.push(...(await ambiguousDateWarnings(engine, loaded, csv, dateFormats)));
  }
  loaded.warnings.push(...(await mixedTypeWarnings(engine, loaded)));
  for (const column of loaded.columns) {
    if (column.type === 'JSON') {
      loaded.warnings.push(
        `column '${column.name}' holds values of different JSON types (e.g. numbers and text); kept as JSON`,
      );
    }
  }
  return loaded;
}

/** The read_csv (and sniff_csv) arguments for a CSV/TSV source's options. */
export function csvReadArgs(options: CsvOptions, format: 'csv' | 'tsv'): string[] {
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : ',');
  const args = [
    `delim = ${quoteString(delimiter)}`,
    `header = ${options.header ?? true}`,
    `quote = '"'`,
    `escape = '"'`,
  ];
  if (options.encoding) args.push(`encoding = ${quoteString(options.encoding)}`);
  if (options.nullValues) args.push(`nullstr = [${options.nullValues.map(quoteString).join(', ')}]`);
  if (options.dateFormat) args.push(`dateformat = ${quoteString(options.dateFormat)}`);
  if (options.timestampFormat) args.push(`timestampformat = ${quoteString(options.timestampFormat)}`);
  if (options.types) {
    const entries = Object.entries(options.types).map(
      ([name, type]) => `${quoteString(name)}: ${quoteString(type)}`,
    );
    args.push(`types = {${entries.join(', ')}}`);
  }
  return args;
}

async function loadCsv(
  engine: DataEngine,
  path: string,
  shown: string,
  format: 'csv' | 'tsv',
  options: CsvOptions,
  table: string,
  id: string,
): Promise<{ rejected: RejectedLine[]; warnings: string[]; dateFormats: SniffedDateFormats }> {
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : ',');
  const warnings: string[] = [];
  // DuckDB's CSV reader turns a value it cannot read as TIMESTAMPTZ into null, with no error and
  // no rejected line (TIMESTAMP and every other type do report it): such columns are read as text
  // and converted below, where a value that does not convert is an error or a skipped row.
  const sniffed = await sniffCsv(engine, path, csvReadArgs(options, format));
  const zoned = sniffed.zoned;
  const args = csvReadArgs(
    zoned.length > 0
      ? {
          ...options,
          types: { ...options.types, ...Object.fromEntries(zoned.map((name) => [name, 'VARCHAR'])) },
        }
      : options,
    format,
  );
  // Rejected lines are stored with their line numbers instead of stopping at the first one, so
  // that 'fail' names every bad line and 'skip' reports what it skipped. (Without this option
  // DuckDB's sniffer reads some malformed files wrongly without an error, e.g. taking a bad last
  // line for the header: it is needed for correctness, not only for the report.)
  args.push('store_rejects = true', `rejects_scan = '${id}_rejects_scan'`, `rejects_table = '${id}_rejects'`);
  try {
    await engine.run(
      `CREATE TEMP TABLE ${table} AS SELECT * FROM read_csv(${quoteString(path)}, ${args.join(', ')})`,
    );
  } catch (error) {
    const located = /sniffing|dialect/i.test(duckdbMessage(error))
      ? await locateBadLine(engine, path, delimiter, options, id)
      : undefined;
    if (located) {
      throw new DataSourceError(
        shown,
        `${located.error}; fix the file (a quote that is never closed swallows the rest of it, so it cannot be skipped)`,
        located.line,
        { cause: error },
      );
    }
    throw new DataSourceError(
      shown,
      `cannot read as ${format.toUpperCase()}: ${csvMessage(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  if (options.types) {
    const names = new Set(
      (await engine.rows<{ column_name: string }>(`DESCRIBE ${table}`)).map((c) => c.column_name),
    );
    const unknown = Object.keys(options.types).filter((name) => !names.has(name));
    if (unknown.length > 0) {
      throw new DataSourceError(
        shown,
        `types names column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} that the file does not have (columns: ${[...names].join(', ')})`,
      );
    }
  }
  const rows = await engine.rows<{
    line: number;
    line_byte_position: number | null;
    column_name: string | null;
    error_message: string;
    csv_line: string;
  }>(
    `SELECT line, line_byte_position, column_name, error_message, csv_line FROM ${id}_rejects ORDER BY line`,
  );
  // DuckDB counts records; a quoted field with a line break makes that differ from the line a
  // user's editor shows, so count the newlines before each bad record's first byte instead. Its
  // byte positions are in the decoded UTF-8 text: only a plain UTF-8 file maps them to the file.
  const physical = countsFileLines(path, options)
    ? await lineNumbersAt(
        path,
        rows.map((row) => row.line_byte_position),
      )
    : undefined;
  const all = rows.map((row, k) => ({
    file: shown,
    line: physical?.[k] ?? Number(row.line),
    column: row.column_name,
    error: (row.error_message.split('\n')[0] ?? row.error_message).replace(/\.\s*$/, ''),
    text: truncate(row.csv_line ?? '', 200),
  }));
  // One entry per record: a line can fail several ways (too many fields, and values that do not
  // fit); the wrong number of fields is what to fix first, so it is the one kept.
  const byLine = new Map<number, RejectedLine>();
  for (const [k, entry] of all.entries()) {
    const record = Number(rows[k]!.line);
    const kept = byLine.get(record);
    if (!kept || (/Columns/i.test(entry.error) && !/Columns/i.test(kept.error))) byLine.set(record, entry);
  }
  const rejected = [...byLine.values()].sort((a, b) => a.line - b.line);
  if (rejected.length > 0 && (options.badLines ?? 'fail') === 'fail') {
    const first = rejected[0]!;
    const more =
      rejected.length > 1
        ? ` (and ${rejected.length - 1} more bad line(s): ${rejected
            .slice(1, 6)
            .map((r) => r.line)
            .join(', ')}${rejected.length > 6 ? ', ...' : ''})`
        : '';
    const hint = /unicode|utf-8/i.test(first.error)
      ? "if the file is not UTF-8, give its encoding (encoding: 'latin-1', --encoding latin-1)"
      : "fix the file, or set badLines: 'skip' (--bad-lines skip) to skip bad lines";
    throw new DataSourceError(
      shown,
      `${first.column ? `column '${first.column}': ` : ''}${first.error}${more}; ${hint}`,
      first.line,
    );
  }
  for (const name of zoned) warnings.push(...(await convertTimestampTz(engine, table, name, options, shown)));
  return { rejected, warnings, dateFormats: sniffed.dateFormats };
}

/**
 * What DuckDB's sniffer (given the user's options) makes of a CSV file: the columns it reads as
 * TIMESTAMP WITH TIME ZONE, and its date and timestamp formats.
 */
async function sniffCsv(
  engine: DataEngine,
  path: string,
  args: string[],
): Promise<{ zoned: string[]; dateFormats: SniffedDateFormats }> {
  try {
    const sniffed = await engine.row<{ Columns: { name: string; type: string }[] } & SniffedDateFormats>(
      `SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv(${quoteString(path)}, ${args.join(', ')})`,
    );
    return {
      zoned: sniffed.Columns.filter((column) =>
        /^TIMESTAMP WITH TIME ZONE$|^TIMESTAMPTZ$/i.test(column.type),
      ).map((column) => column.name),
      dateFormats: { DateFormat: sniffed.DateFormat, TimestampFormat: sniffed.TimestampFormat },
    };
  } catch {
    // A file the sniffer cannot read fails in the load, with its line.
    return { zoned: [], dateFormats: { DateFormat: null, TimestampFormat: null } };
  }
}

/**
 * Converts a column read as text to TIMESTAMPTZ (with the timestamp format when one is given).
 * A value that does not convert fails the load, or with badLines 'skip' drops its row (a warning
 * says how many and which).
 */
async function convertTimestampTz(
  engine: DataEngine,
  table: string,
  name: string,
  options: CsvOptions,
  shown: string,
): Promise<string[]> {
  const c = quoteIdent(name);
  const parsed = options.timestampFormat
    ? `try_strptime(${c}, ${quoteString(options.timestampFormat)})::TIMESTAMPTZ`
    : `TRY_CAST(${c} AS TIMESTAMPTZ)`;
  const badRow = `${c} IS NOT NULL AND ${parsed} IS NULL`;
  const bad = await engine.row<{ n: number; first: number | null; value: string | null }>(
    `SELECT count(*) AS n, min(rowid) AS first, min_by(${c}, rowid) AS value FROM ${table} WHERE ${badRow}`,
  );
  const count = Number(bad.n);
  const what = `a timestamp with a time zone${options.timestampFormat ? ` in the format '${options.timestampFormat}'` : ''}`;
  const example = `${JSON.stringify(truncate(String(bad.value), 60))} (row ${Number(bad.first) + 1})`;
  if (count > 0 && (options.badLines ?? 'fail') === 'fail') {
    throw new DataSourceError(
      shown,
      `column '${name}': ${example} is not ${what}${count > 1 ? ` (and ${count - 1} more value(s))` : ''}; fix the file, give timestampFormat (--timestamp-format), or set badLines: 'skip' (--bad-lines skip)`,
    );
  }
  if (count > 0) await engine.run(`DELETE FROM ${table} WHERE ${badRow}`);
  await engine.run(`ALTER TABLE ${table} ALTER ${c} TYPE TIMESTAMPTZ USING ${parsed}`);
  return count > 0
    ? [`column '${name}': ${count} row(s) skipped whose value is not ${what} (first: ${example})`]
    : [];
}

async function loadQuery(engine: DataEngine, source: QuerySource, id: string): Promise<LoadedTable> {
  const table = `${id}_data`;
  const shown = `${source.database} query`;
  if (source.database === 'duckdb') {
    const path = resolve(source.connection);
    try {
      statSync(path);
    } catch {
      throw new DataSourceError(source.connection, 'no such DuckDB file');
    }
    if (isSqliteFile(path)) {
      throw new DataSourceError(
        source.connection,
        "this is a SQLite database, not a DuckDB one: use database 'sqlite' (--sqlite)",
      );
    }
    const alias = `${id}_src`;
    try {
      await engine.run(`ATTACH ${quoteString(path)} AS ${alias} (READ_ONLY)`);
      await engine.run(`USE ${alias}`);
      await checkSingleSelect(engine, source.query, source.connection);
      await engine.run(`CREATE TEMP TABLE ${table} AS ${source.query}`);
    } catch (error) {
      if (error instanceof DataSourceError && error.cause === undefined) throw error;
      throw new DataSourceError(source.connection, `query failed: ${duckdbMessage(error)}`, undefined, {
        cause: error,
      });
    } finally {
      await engine.run('USE memory').catch(() => {});
      await engine.run(`DETACH DATABASE IF EXISTS ${alias}`).catch(() => {});
    }
  } else if (source.database === 'sqlite') {
    await loadSqliteQuery(engine, table, source.connection, source.query);
  } else {
    await loadPostgresQuery(engine, table, source.connection, source.query);
  }
  const view = `${id}_v`;
  await createOrdinalView(engine, table, view, shown);
  return describe(engine, view, shown, [], []);
}

/** SQLite files start with this header; DuckDB would try to download its SQLite extension for them. */
function isSqliteFile(path: string): boolean {
  try {
    const handle = openSync(path, 'r');
    try {
      const header = Buffer.alloc(16);
      readSync(handle, header, 0, 16, 0);
      return header.toString('latin1') === 'SQLite format 3\0';
    } finally {
      closeSync(handle);
    }
  } catch {
    return false;
  }
}

/** A query source runs one SELECT, nothing else (a run param may end up in the query). */
async function checkSingleSelect(engine: DataEngine, query: string, shown: string): Promise<void> {
  const statements = await engine.duckdb.extractStatements(query);
  if (statements.count !== 1) {
    throw new DataSourceError(
      shown,
      `the query must be one SELECT statement, not ${statements.count} statements`,
    );
  }
  const prepared = await statements.prepare(0);
  if (prepared.statementType !== StatementType.SELECT) {
    throw new DataSourceError(shown, 'the query must be a SELECT statement (it is read-only)');
  }
}

/**
 * A view of a table with its row ordinal. DuckDB's `rowid` is the insertion order, but a column of
 * the user's named rowid hides it; then the ordinal is added to the table itself.
 */
async function createOrdinalView(
  engine: DataEngine,
  table: string,
  view: string,
  shown: string,
): Promise<void> {
  const columns = await engine.rows<{ column_name: string }>(`DESCRIBE ${table}`);
  checkReservedNames(
    shown,
    columns.map((column) => column.column_name),
  );
  const names = columns.map((column) => column.column_name.toLowerCase());
  if (names.includes('rowid')) {
    // row_number() over an unordered window streams in scan order, which is insertion order.
    await engine.run(
      `CREATE TEMP TABLE ${table}_n AS SELECT *, row_number() OVER () - 1 AS ${ROW_ORDINAL} FROM ${table}`,
    );
    await engine.run(`DROP TABLE ${table}`);
    await engine.run(`CREATE TEMP VIEW ${view} AS SELECT * FROM ${table}_n`);
    return;
  }
  await engine.run(`CREATE TEMP VIEW ${view} AS SELECT *, rowid AS ${ROW_ORDINAL} FROM ${table}`);
}

/** Column names starting with `__lathe_` are Lathe's own (row ordinals, split bookkeeping). */
function checkReservedNames(shown: string, names: string[]): void {
  const reserved = names.filter((name) => name.toLowerCase().startsWith('__lathe_'));
  if (reserved.length > 0) {
    throw new DataSourceError(
      shown,
      `column name${reserved.length > 1 ? 's' : ''} ${reserved.map((name) => `'${name}'`).join(', ')}: names starting with '__lathe_' are reserved by Lathe; rename the column`,
    );
  }
}

async function describe(
  engine: DataEngine,
  view: string,
  shown: string,
  rejectedLines: RejectedLine[],
  warnings: string[],
): Promise<LoadedTable> {
  const described = await engine.rows<{ column_name: string; column_type: string }>(`DESCRIBE ${view}`);
  const columns = described
    .filter((column) => column.column_name !== ROW_ORDINAL)
    .map((column) => ({
      name: column.column_name,
      type: column.column_type,
      logicalType: logicalTypeOf(column.column_type),
    }));
  const { n } = await engine.row<{ n: number }>(`SELECT count(*) AS n FROM ${view}`);
  return { view, rowCount: n, columns, rejectedLines, warnings, description: shown };
}

/**
 * Writes a loaded table as a Parquet file (zstd). Same rows in the same order give the same
 * bytes, so the content hash is the data version.
 */
export async function writeParquet(
  engine: DataEngine,
  view: string,
  path: string,
  where?: string,
): Promise<void> {
  await engine.run(
    `COPY (SELECT * EXCLUDE (${ROW_ORDINAL}) FROM ${view}${where ? ` WHERE ${where}` : ''} ORDER BY ${ROW_ORDINAL}) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`,
  );
}

/** What a Dataset artifact's metadata records. */
export interface DatasetMetadata {
  format: 'parquet';
  rows: number;
  columns: { name: string; type: string }[];
  source?: string;
  rejectedLines?: number;
}

export function datasetMetadata(table: LoadedTable, source?: string): DatasetMetadata {
  const metadata: DatasetMetadata = {
    format: 'parquet',
    rows: table.rowCount,
    columns: table.columns.map(({ name, type }) => ({ name, type })),
  };
  if (source) metadata.source = source;
  if (table.rejectedLines.length > 0) metadata.rejectedLines = table.rejectedLines.length;
  return metadata;
}
