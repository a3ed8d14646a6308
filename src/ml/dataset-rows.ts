/**
 * Reading a Dataset artifact (Parquet, CSV, JSON: whatever lathe/data reads) into row objects for
 * training, evaluation and batch prediction. Numbers arrive as JS numbers (integers and decimals
 * as doubles), text as strings, booleans as booleans, dates and timestamps as seconds since
 * 1970-01-01 UTC; other types are an error naming the column.
 */
import type { ColumnInfo } from '../data/columns.js';
import { datasetSource } from '../data/components.js';
import { DataUsageError } from '../data/data-errors.js';
import { DataEngine, quoteIdent } from '../data/duckdb.js';
import { ROW_ORDINAL } from '../data/source-types.js';
import { loadTable } from '../data/sources.js';
import type { InputArtifact } from '../dsl/artifacts.js';
import type { TransformRow } from './transforms.js';

export interface DatasetRows {
  rows: TransformRow[];
  columns: ColumnInfo[];
}

function selectExpression(column: ColumnInfo, where: string): string {
  const name = quoteIdent(column.name);
  switch (column.logicalType) {
    case 'integer':
    case 'number':
      return `CAST(${name} AS DOUBLE) AS ${name}`;
    case 'string':
      return `CAST(${name} AS VARCHAR) AS ${name}`;
    case 'boolean':
      return name;
    case 'date':
    case 'timestamp':
      return `CAST(epoch(${name}) AS DOUBLE) AS ${name}`;
    default:
      throw new DataUsageError(
        `${where}: column '${column.name}' has type ${column.type}, which a model cannot read (numbers, text, booleans, dates); leave it out of the features`,
      );
  }
}

/**
 * The rows of a Dataset input in file order. `columns` picks columns (each must exist); by
 * default all of them.
 */
export async function readDatasetRows(
  input: InputArtifact,
  columns?: readonly string[],
): Promise<DatasetRows> {
  const engine = await DataEngine.open();
  try {
    const table = await loadTable(engine, await datasetSource(input));
    const where = `input '${input.name}'`;
    const byName = new Map(table.columns.map((c) => [c.name, c]));
    const chosen = (columns ?? table.columns.map((c) => c.name)).map((name) => {
      const column = byName.get(name);
      if (!column) {
        throw new DataUsageError(
          `${where} has no column '${name}' (columns: ${table.columns.map((c) => c.name).join(', ')})`,
        );
      }
      return column;
    });
    if (chosen.length === 0) throw new DataUsageError(`${where}: no columns to read`);
    const rows = await engine.rows<TransformRow>(
      `SELECT ${chosen.map((c) => selectExpression(c, where)).join(', ')} FROM ${table.view} ORDER BY ${ROW_ORDINAL}`,
    );
    return { rows, columns: chosen };
  } finally {
    engine.close();
  }
}
