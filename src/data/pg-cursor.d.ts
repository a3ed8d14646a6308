/** The part of pg-cursor (which ships no types) that `sql-sources.ts` uses. */
declare module 'pg-cursor' {
  import type { Connection, FieldDef, Submittable } from 'pg';

  interface CursorConfig {
    rowMode?: 'array';
    /** Parsers by type OID; pg-cursor calls `getTypeParser(oid, 'text')` once per field. */
    types?: { getTypeParser: (oid: number, format?: string) => (text: string) => unknown };
  }

  interface CursorResult {
    fields: FieldDef[];
  }

  class Cursor<Row = unknown[]> implements Submittable {
    constructor(text: string, values?: unknown[] | null, config?: CursorConfig);
    submit(connection: Connection): void;
    /** The next `rowCount` rows; an empty array once the result is exhausted. */
    read(rowCount: number): Promise<Row[]>;
    read(rowCount: number, callback: (error: Error | null, rows: Row[], result: CursorResult) => void): void;
    close(): Promise<void>;
  }

  export default Cursor;
}
