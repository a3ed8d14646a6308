/**
 * Column types: DuckDB's physical type names mapped to the few logical types a schema speaks.
 */

export const LOGICAL_TYPES = [
  'integer',
  'number',
  'string',
  'boolean',
  'date',
  'timestamp',
  'other',
] as const;
export type LogicalType = (typeof LOGICAL_TYPES)[number];

export interface ColumnInfo {
  name: string;
  /** DuckDB's type, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP. */
  type: string;
  logicalType: LogicalType;
}

const INTEGER_TYPES = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
]);

export function logicalTypeOf(duckdbType: string): LogicalType {
  const type = duckdbType.toUpperCase();
  if (INTEGER_TYPES.has(type)) return 'integer';
  if (type === 'FLOAT' || type === 'DOUBLE' || type.startsWith('DECIMAL')) return 'number';
  if (type === 'VARCHAR' || type.startsWith('ENUM')) return 'string';
  if (type === 'BOOLEAN') return 'boolean';
  if (type === 'DATE') return 'date';
  if (type.startsWith('TIMESTAMP')) return 'timestamp';
  return 'other';
}

/** Numbers that can be NaN or ±Infinity (integers and decimals cannot). */
export function isFloatType(duckdbType: string): boolean {
  const type = duckdbType.toUpperCase();
  return type === 'FLOAT' || type === 'DOUBLE';
}

export function isNumeric(logicalType: LogicalType): boolean {
  return logicalType === 'integer' || logicalType === 'number';
}
