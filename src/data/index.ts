/**
 * `lathe/data`: datasets on DuckDB — ingestion (CSV/TSV, Parquet, JSON, SQL), splitting,
 * statistics, schemas, validation (schema anomalies and Great Expectations-style suites), drift
 * and skew. Each capability is a function usable outside pipelines and a built-in component.
 */
export { type ColumnInfo, LOGICAL_TYPES, type LogicalType } from './columns.js';
export {
  DataValidationFailed,
  datasetSource,
  detectDrift,
  detectSkew,
  ingestFile,
  ingestQuery,
  schemaGen,
  splitDataset,
  statisticsGen,
  validateData,
} from './components.js';
export { DataSchemaError, DataSourceError, DataUsageError } from './data-errors.js';
export {
  type ColumnDrift,
  computeDrift,
  computeSkew,
  DEFAULT_THRESHOLDS,
  DRIFT_METHODS,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
} from './drift.js';
export { DataEngine, type DataEngineOptions } from './duckdb.js';
export {
  EXPECTATION_NAMES,
  type Expectation,
  type ExpectationInput,
  ExpectationSuite,
  expectationSuite,
  loadExpectationSuiteFile,
  parseExpectationSuite,
} from './expectations.js';
export {
  DatasetSchema,
  type InferSchemaOptions,
  inferSchema,
  loadSchemaFile,
  parseSchema,
  schemaToYaml,
} from './schema.js';
export type {
  CsvOptions,
  DataSource,
  FileSource,
  LoadedTable,
  QuerySource,
  RejectedLine,
} from './source-types.js';
export {
  type DatasetMetadata,
  datasetMetadata,
  FILE_FORMATS,
  type FileFormat,
  fileSource,
  loadTable,
  QUERY_DATABASES,
  writeParquet,
} from './sources.js';
export { type SplitOptions, type SplitPart, splitTable } from './split.js';
export {
  type ColumnStatistics,
  computeStatistics,
  type DatasetStatistics,
  type StatisticsOptions,
} from './statistics.js';
export {
  ANOMALY_KINDS,
  type CheckResult,
  checkLine,
  type FailingRow,
  type ValidateOptions,
  type ValidationReport,
  validateDataset,
} from './validate.js';
