/**
 * Errors of `lathe/data`: each names the file (and line) or the column at fault.
 */
import { LatheError } from '../errors.js';

/** A source could not be read: a missing or empty file, a malformed line, a failed query. */
export class DataSourceError extends LatheError {
  readonly source: string;
  readonly line: number | undefined;
  constructor(source: string, message: string, line?: number, options?: { cause?: unknown }) {
    super('DATA_SOURCE', `${source}${line ? `:${line}` : ''}: ${message}`, options);
    this.source = source;
    this.line = line;
  }
}

/** A dataset schema or an expectation suite file is not valid. */
export class DataSchemaError extends LatheError {
  readonly path: string;
  readonly line: number | undefined;
  constructor(path: string, message: string, line?: number) {
    super('DATA_SCHEMA_INVALID', `${path}${line ? `:${line}` : ''}: ${message}`);
    this.path = path;
    this.line = line;
  }
}

/** Options or a column named in them do not fit the data. */
export class DataUsageError extends LatheError {
  constructor(message: string) {
    super('DATA_USAGE', message);
  }
}
