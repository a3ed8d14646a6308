/**
 * What a data source is (a file or a query), and what loading one gives: a view with a row
 * ordinal, its columns, skipped lines and warnings.
 */
import type { ColumnInfo } from './columns.js';
import type { FileFormat, QueryDatabase } from './vocabulary.js';

export interface CsvOptions {
  /** Default ',' for csv and '\t' for tsv. */
  delimiter?: string;
  /** Whether the first line names the columns (default true). */
  header?: boolean;
  /** What to do with a malformed line: stop with its file and line (default), or skip and report it. */
  badLines?: 'fail' | 'skip';
  /** Default utf-8; bytes that are not valid in it are a malformed line. */
  encoding?: 'utf-8' | 'utf-16' | 'latin-1';
  /** Strings read as null (default: the empty field). */
  nullValues?: string[];
  /** Column types to use instead of the sniffed ones, e.g. { zip: 'VARCHAR' }. */
  types?: Record<string, string>;
  /** How dates are written, in strftime codes, e.g. '%m/%d/%Y' (default: sniffed). */
  dateFormat?: string;
  /** How timestamps are written, e.g. '%d/%m/%Y %H:%M' (default: sniffed). */
  timestampFormat?: string;
}

export interface FileSource {
  kind: 'file';
  path: string;
  /** Default: from the extension (.csv, .tsv, .parquet, .json, .ndjson/.jsonl; .gz allowed). */
  format?: FileFormat;
  csv?: CsvOptions;
}

export interface QuerySource {
  kind: 'query';
  database: QueryDatabase;
  /** A postgres:// URL, or the path of a SQLite or DuckDB file (opened read-only). */
  connection: string;
  query: string;
}

export type DataSource = FileSource | QuerySource;

export interface RejectedLine {
  file: string;
  line: number;
  column: string | null;
  error: string;
  text: string;
}

/** Data loaded into the engine: query it as `FROM <view>`; `__lathe_row` is the 0-based row ordinal. */
export interface LoadedTable {
  view: string;
  rowCount: number;
  columns: ColumnInfo[];
  /** Malformed lines that were skipped (only with `badLines: 'skip'`). */
  rejectedLines: RejectedLine[];
  /** Things the user should know that are not errors, e.g. a column of mostly numbers kept as text. */
  warnings: string[];
  /** What was read, for messages and artifact metadata. */
  description: string;
}

export const ROW_ORDINAL = '__lathe_row';
