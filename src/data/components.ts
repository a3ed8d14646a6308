/**
 * Built-in pipeline components of `lathe/data`: ingest, split, statistics, schema inference,
 * validation, drift and skew. Each is an ordinary component; their names start with `data.`.
 *
 * Ingestion reads from outside the workspace, so it is never cached: it re-reads every run, and
 * when the bytes are the same the Parquet it writes is the same, so everything downstream is a
 * cache hit (the data version is the content hash).
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { InputArtifact } from '../dsl/artifacts.js';
import { Dataset, DriftReport, Schema, Statistics, ValidationReport } from '../dsl/artifacts.js';
import { component } from '../dsl/component.js';
import { LatheError } from '../errors.js';
import { DataUsageError } from './data-errors.js';
import { computeDrift, computeSkew, DRIFT_METHODS, type DriftReport as DriftReportValue } from './drift.js';
import { type DataEngine, withEngine } from './duckdb.js';
import {
  type Expectation,
  type ExpectationSuite,
  expectationSuite,
  loadExpectationSuiteFile,
} from './expectations.js';
import { type DatasetSchema, inferSchema, loadSchemaFile, parseSchema, schemaToYaml } from './schema.js';
import type { CsvOptions, DataSource, LoadedTable } from './source-types.js';
import {
  datasetMetadata,
  FILE_FORMATS,
  type FileFormat,
  loadTable,
  QUERY_DATABASES,
  writeParquet,
} from './sources.js';
import { splitTable } from './split.js';
import { computeStatistics, type DatasetStatistics } from './statistics.js';
import { type CheckResult, checkLine, validateDataset } from './validate.js';

/**
 * A Dataset input as a source: its recorded format, else sniffed from its first bytes (stored
 * artifacts have no extension).
 */
export async function datasetSource(input: InputArtifact): Promise<DataSource> {
  const recorded = input.metadata.format;
  if (typeof recorded === 'string' && (FILE_FORMATS as readonly string[]).includes(recorded)) {
    return { kind: 'file', path: input.path, format: recorded as FileFormat };
  }
  const head = await readHead(input.path, 64);
  const format: FileFormat = head.startsWith('PAR1')
    ? 'parquet'
    : /^\s*\[/.test(head)
      ? 'json'
      : /^\s*\{/.test(head)
        ? 'ndjson'
        : 'csv';
  return { kind: 'file', path: input.path, format };
}

async function readHead(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('latin1');
  } finally {
    await handle.close();
  }
}

async function loadInput(engine: DataEngine, input: InputArtifact): Promise<LoadedTable> {
  const table = await loadTable(engine, await datasetSource(input));
  table.description = `${input.name} (${input.hash.slice(0, 12)})`;
  return table;
}

export const ingestFile = component({
  name: 'data.ingest',
  description: 'Reads a CSV/TSV, Parquet or JSON/NDJSON file into a Parquet Dataset.',
  params: {
    /** Relative to the directory `lathe run` was started in. */
    path: z.string().min(1),
    format: z.enum(FILE_FORMATS).optional(),
    badLines: z.enum(['fail', 'skip']).default('fail'),
    delimiter: z.string().min(1).optional(),
    header: z.boolean().default(true),
    encoding: z.enum(['utf-8', 'utf-16', 'latin-1']).optional(),
    nullValues: z.array(z.string()).optional(),
    types: z.record(z.string(), z.string()).optional(),
    dateFormat: z.string().min(1).optional(),
    timestampFormat: z.string().min(1).optional(),
  },
  outputs: { dataset: Dataset, rows: z.number().int() },
  cache: false,
  async run({ params, outputs, log }) {
    const csv: CsvOptions = { badLines: params.badLines, header: params.header };
    if (params.delimiter !== undefined) csv.delimiter = params.delimiter;
    if (params.encoding !== undefined) csv.encoding = params.encoding;
    if (params.nullValues !== undefined) csv.nullValues = params.nullValues;
    if (params.types !== undefined) csv.types = params.types;
    if (params.dateFormat !== undefined) csv.dateFormat = params.dateFormat;
    if (params.timestampFormat !== undefined) csv.timestampFormat = params.timestampFormat;
    const source: DataSource = { kind: 'file', path: resolve(params.path), csv };
    if (params.format) source.format = params.format;
    return withEngine(undefined, async (engine) => {
      const table = await loadTable(engine, source);
      reportLoad(table, log);
      await writeParquet(engine, table.view, outputs.dataset.path);
      outputs.dataset.setMetadata({ ...datasetMetadata(table, params.path) });
      log(`${table.rowCount} rows × ${table.columns.length} columns from ${params.path}`);
      return { rows: table.rowCount };
    });
  },
});

export const ingestQuery = component({
  name: 'data.ingest-query',
  description:
    'Runs a SQL query on Postgres, SQLite or a DuckDB file and stores the result as a Parquet Dataset.',
  params: {
    database: z.enum(QUERY_DATABASES),
    /** A postgres:// URL or a file path. Prefer `connectionEnv` for URLs with passwords: params are recorded. */
    connection: z.string().min(1).optional(),
    /** The name of an environment variable holding the connection. */
    connectionEnv: z.string().min(1).optional(),
    query: z.string().min(1),
  },
  outputs: { dataset: Dataset, rows: z.number().int() },
  cache: false,
  async run({ params, outputs, log }) {
    const connection = params.connectionEnv ? process.env[params.connectionEnv] : params.connection;
    if (!connection) {
      throw new DataUsageError(
        params.connectionEnv
          ? `environment variable ${params.connectionEnv} is not set`
          : 'give connection or connectionEnv',
      );
    }
    return withEngine(undefined, async (engine) => {
      const table = await loadTable(engine, {
        kind: 'query',
        database: params.database,
        connection,
        query: params.query,
      });
      await writeParquet(engine, table.view, outputs.dataset.path);
      outputs.dataset.setMetadata({ ...datasetMetadata(table, `${params.database} query`) });
      log(`${table.rowCount} rows × ${table.columns.length} columns from the ${params.database} query`);
      return { rows: table.rowCount };
    });
  },
});

function reportLoad(table: LoadedTable, log: { warn(...values: unknown[]): void }): void {
  for (const warning of table.warnings) log.warn(warning);
  if (table.rejectedLines.length > 0) {
    log.warn(`skipped ${table.rejectedLines.length} malformed line(s):`);
    for (const line of table.rejectedLines.slice(0, 20))
      log.warn(`  ${line.file}:${line.line}: ${line.error}`);
  }
}

export const splitDataset = component({
  name: 'data.split',
  description: 'Splits a Dataset into train/eval/test by ratios: seeded, stratified by a column, or by time.',
  inputs: { data: Dataset },
  // Three parts with defaults 0.8/0.1/0.1: setting one or two means setting the others to match
  // (eval: 0 for a train/test split).
  params: {
    train: z.number().min(0).max(1).default(0.8),
    eval: z.number().min(0).max(1).default(0.1),
    test: z.number().min(0).max(1).default(0.1),
    seed: z.number().int().default(0),
    stratifyBy: z.string().min(1).optional(),
    timeColumn: z.string().min(1).optional(),
  },
  outputs: { train: Dataset, eval: Dataset, test: Dataset },
  async run({ inputs, params, outputs, log }) {
    return withEngine(undefined, async (engine) => {
      const table = await loadInput(engine, inputs.data);
      const options: Parameters<typeof splitTable>[2] = {
        ratios: { train: params.train, eval: params.eval, test: params.test },
        seed: params.seed,
      };
      if (params.stratifyBy) options.stratifyBy = params.stratifyBy;
      if (params.timeColumn) options.timeColumn = params.timeColumn;
      const parts = await splitTable(engine, table, options, {
        train: outputs.train.path,
        eval: outputs.eval.path,
        test: outputs.test.path,
      });
      const columns = table.columns.map(({ name, type }) => ({ name, type }));
      for (const part of parts) {
        const output = outputs[part.name as 'train' | 'eval' | 'test'];
        output.setMetadata({ format: 'parquet', rows: part.rows, columns, split: part.name });
      }
      log(parts.map((part) => `${part.name} ${part.rows}`).join(', '));
    });
  },
});

export const statisticsGen = component({
  name: 'data.statistics',
  description:
    'Per-column statistics of a Dataset (counts, missing, distinct, moments, quantiles, histograms, top values).',
  inputs: { data: Dataset },
  params: {
    topK: z.number().int().positive().default(20),
    histogramBins: z.number().int().positive().max(1000).default(20),
  },
  outputs: { statistics: Statistics },
  async run({ inputs, params, outputs, log }) {
    await withEngine(undefined, async (engine) => {
      const table = await loadInput(engine, inputs.data);
      const stats = await computeStatistics(
        table,
        { topK: params.topK, histogramBins: params.histogramBins },
        engine,
      );
      await outputs.statistics.writeJson(stats);
      outputs.statistics.setMetadata({ rows: stats.rowCount, columns: stats.columns.length });
      for (const warning of stats.warnings) log.warn(warning);
    });
  },
});

export const schemaGen = component({
  name: 'data.schema',
  description:
    'Infers a dataset schema (types, nullability, domains, ranges) from statistics, as editable YAML.',
  inputs: { statistics: Statistics },
  params: {
    maxDomainSize: z.number().int().min(0).default(20),
    ranges: z.boolean().default(true),
  },
  outputs: { schema: Schema },
  async run({ inputs, params, outputs }) {
    const stats = await inputs.statistics.readJson<DatasetStatistics>();
    const schema = inferSchema(stats, { maxDomainSize: params.maxDomainSize, ranges: params.ranges });
    await outputs.schema.writeText(schemaToYaml(schema));
    outputs.schema.setMetadata({ format: 'yaml', columns: Object.keys(schema.columns).length });
  },
});

export const validateData = component({
  name: 'data.validate',
  description:
    'Checks a Dataset against a schema and an expectation suite; fails the task when a check fails (onFailure: warn to go on).',
  inputs: { data: Dataset, schema: Schema.optional() },
  params: {
    /** A schema YAML file, relative to the directory `lathe run` was started in (instead of the schema input). */
    schemaFile: z.string().min(1).optional(),
    /** An expectation suite YAML file. */
    expectationsFile: z.string().min(1).optional(),
    /** Expectations given inline, in the suite's form. */
    expectations: z.array(z.record(z.string(), z.unknown())).optional(),
    onFailure: z.enum(['fail', 'warn']).default('fail'),
  },
  outputs: { report: ValidationReport, passed: z.boolean(), failedChecks: z.number().int() },
  // Files named by path are read each run, so a cached result could be stale.
  cache: false,
  async run({ inputs, params, outputs, log }) {
    let schema: DatasetSchema | undefined;
    if (inputs.schema && params.schemaFile)
      throw new DataUsageError('give the schema input or schemaFile, not both');
    if (inputs.schema)
      schema = parseSchema(
        await inputs.schema.readText(),
        `schema input (${inputs.schema.hash.slice(0, 12)})`,
      );
    if (params.schemaFile) schema = loadSchemaFile(resolve(params.schemaFile));
    let suite: ExpectationSuite | undefined;
    if (params.expectationsFile) suite = loadExpectationSuiteFile(resolve(params.expectationsFile));
    if (params.expectations) {
      const inline = expectationSuite(params.expectations as unknown as Expectation[]);
      suite = suite ? { ...suite, expectations: [...suite.expectations, ...inline.expectations] } : inline;
    }
    if (!schema && !suite)
      throw new DataUsageError('nothing to check: give a schema (input or schemaFile) or expectations');
    const report = await withEngine(undefined, async (engine) => {
      const table = await loadInput(engine, inputs.data);
      const options: Parameters<typeof validateDataset>[1] = {};
      if (schema) options.schema = schema;
      if (suite) options.expectations = suite;
      return validateDataset(table, options, engine);
    });
    await outputs.report.writeJson(report);
    outputs.report.setMetadata({
      passed: report.passed,
      checks: report.checks.length,
      failed: report.errorCount,
    });
    const failed = report.checks.filter((check) => !check.passed);
    for (const check of failed) (check.severity === 'error' ? log.error : log.warn)(checkLine(check));
    log(
      `${report.checks.length} checks: ${report.checks.length - failed.length} passed, ${report.errorCount} failed, ${report.warningCount} warnings`,
    );
    if (!report.passed && params.onFailure === 'fail') {
      throw new DataValidationFailed(
        report.errorCount,
        failed.filter((check) => check.severity === 'error'),
      );
    }
    return { passed: report.passed, failedChecks: report.errorCount };
  },
});

/** A validation with failed checks stopped its task (code DATA_VALIDATION_FAILED). */
export class DataValidationFailed extends LatheError {
  constructor(count: number, failed: CheckResult[]) {
    super(
      'DATA_VALIDATION_FAILED',
      `data validation failed: ${count} check(s) failed: ${failed
        .slice(0, 3)
        .map((check) => `${check.id}: ${check.message}`)
        .join('; ')}${failed.length > 3 ? '; ...' : ''}`,
    );
  }
}

const DriftParams = {
  columns: z.array(z.string()).optional(),
  method: z.enum(['auto', ...DRIFT_METHODS]).default('auto'),
  methods: z.record(z.string(), z.enum(DRIFT_METHODS)).optional(),
  thresholds: z.partialRecord(z.enum(DRIFT_METHODS), z.number().min(0)).optional(),
  correction: z.enum(['none', 'bh']).default('none'),
  minEffectSize: z.number().min(0).max(1).optional(),
  driftShare: z.number().min(0).max(1).default(0.5),
  /** KS/Wasserstein sort in memory up to this many values per column, in SQL beyond. */
  maxSortedInMemory: z.number().int().min(0).optional(),
};

function driftOptions(params: {
  columns?: string[] | undefined;
  method?: 'auto' | (typeof DRIFT_METHODS)[number];
  methods?: Record<string, (typeof DRIFT_METHODS)[number]> | undefined;
  thresholds?: Partial<Record<(typeof DRIFT_METHODS)[number], number>> | undefined;
  correction: 'none' | 'bh';
  minEffectSize?: number | undefined;
  driftShare: number;
  maxSortedInMemory?: number | undefined;
}): Parameters<typeof computeDrift>[2] {
  const options: Parameters<typeof computeDrift>[2] = {
    correction: params.correction,
    driftShare: params.driftShare,
  };
  if (params.columns) options.columns = params.columns;
  if (params.method) options.method = params.method;
  if (params.methods) options.methods = params.methods;
  if (params.thresholds) options.thresholds = params.thresholds;
  if (params.minEffectSize !== undefined) options.minEffectSize = params.minEffectSize;
  if (params.maxSortedInMemory !== undefined) options.maxSortedInMemory = params.maxSortedInMemory;
  return options;
}

async function writeDrift(
  report: DriftReportValue,
  output: { writeJson(value: unknown): Promise<void>; setMetadata(metadata: Record<string, unknown>): void },
  log: (...values: unknown[]) => void,
): Promise<{ driftDetected: boolean; driftShare: number }> {
  await output.writeJson(report);
  output.setMetadata({ driftDetected: report.driftDetected, driftedColumns: report.driftedColumns });
  for (const column of report.columns.filter((c) => c.drifted)) {
    log(
      `drift in '${column.column}': ${column.method} ${column.pValue !== null ? `p=${column.score.toPrecision(3)}` : `score=${column.score.toPrecision(3)}`} (threshold ${column.threshold})`,
    );
  }
  log(
    `${report.driftedColumns} of ${report.columns.length} columns drifted; dataset drift ${report.driftDetected ? 'detected' : 'not detected'}`,
  );
  return { driftDetected: report.driftDetected, driftShare: report.driftShare };
}

export const detectDrift = component({
  name: 'data.drift',
  description:
    'Compares a current Dataset with a reference per column (KS, chi-squared, Wasserstein, PSI, Jensen–Shannon).',
  inputs: { reference: Dataset, current: Dataset },
  params: DriftParams,
  outputs: { report: DriftReport, driftDetected: z.boolean(), driftShare: z.number() },
  async run({ inputs, params, outputs, log }) {
    const report = await withEngine(undefined, async (engine) =>
      computeDrift(
        await loadInput(engine, inputs.reference),
        await loadInput(engine, inputs.current),
        driftOptions(params),
        engine,
      ),
    );
    return writeDrift(report, outputs.report, log);
  },
});

export const detectSkew = component({
  name: 'data.skew',
  description:
    'Training/serving skew: L∞ distance for categorical columns, Jensen–Shannon for numeric ones (as TFDV).',
  inputs: { training: Dataset, serving: Dataset },
  params: {
    columns: z.array(z.string()).optional(),
    thresholds: z.partialRecord(z.enum(DRIFT_METHODS), z.number().min(0)).optional(),
    driftShare: z.number().min(0).max(1).default(0.5),
  },
  outputs: { report: DriftReport, driftDetected: z.boolean(), driftShare: z.number() },
  async run({ inputs, params, outputs, log }) {
    const report = await withEngine(undefined, async (engine) => {
      const options: Parameters<typeof computeSkew>[2] = { driftShare: params.driftShare };
      if (params.columns) options.columns = params.columns;
      if (params.thresholds) options.thresholds = params.thresholds;
      return computeSkew(
        await loadInput(engine, inputs.training),
        await loadInput(engine, inputs.serving),
        options,
        engine,
      );
    });
    return writeDrift(report, outputs.report, log);
  },
});
