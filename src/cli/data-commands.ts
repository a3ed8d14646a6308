/**
 * `lathe data stats|schema infer|validate|drift`: the data library on files, outside pipelines.
 * The commands are described here; their handlers (and DuckDB) load only when one runs, so other
 * commands start as fast as before.
 */
import { DRIFT_METHODS, FILE_FORMATS } from '../data/vocabulary.js';
import type { CommandSpec, OptionSpec } from './args.js';

export const SOURCE_OPTIONS: Record<string, OptionSpec> = {
  format: {
    type: 'string',
    description: `file format (${FILE_FORMATS.join(', ')}); default: from the extension`,
    placeholder: 'fmt',
  },
  delimiter: {
    type: 'string',
    description: "CSV delimiter (default ',' or tab for .tsv)",
    placeholder: 'char',
  },
  'no-header': { type: 'boolean', description: 'the CSV has no header line' },
  'bad-lines': {
    type: 'string',
    description: "malformed CSV lines: 'fail' (default) or 'skip'",
    placeholder: 'policy',
  },
  encoding: {
    type: 'string',
    description: 'CSV encoding: utf-8 (default), utf-16, latin-1',
    placeholder: 'enc',
  },
  'date-format': {
    type: 'string',
    description: "how CSV dates are written, e.g. '%m/%d/%Y' (default: sniffed)",
    placeholder: 'fmt',
  },
  'timestamp-format': {
    type: 'string',
    description: "how CSV timestamps are written, e.g. '%d/%m/%Y %H:%M' (default: sniffed)",
    placeholder: 'fmt',
  },
  query: {
    type: 'string',
    description: 'read the rows of this SELECT instead of a file (with --sqlite, --duckdb or --postgres-env)',
    placeholder: 'sql',
  },
  sqlite: {
    type: 'string',
    description: 'the SQLite database --query reads (read-only)',
    placeholder: 'file',
  },
  duckdb: {
    type: 'string',
    description: 'the DuckDB database --query reads (read-only)',
    placeholder: 'file',
  },
  'postgres-env': {
    type: 'string',
    description: 'the environment variable that holds the postgres:// URL --query reads',
    placeholder: 'name',
  },
  json: { type: 'boolean', description: 'print JSON' },
};

export const dataStatsCommand: CommandSpec = {
  name: 'data stats',
  args: '[<file>]',
  summary: 'Per-column statistics of a CSV/TSV, Parquet or JSON file, or of a query (--query).',
  details:
    'Counts, missing and distinct values; min, max, mean, std, zeros, NaN/±Infinity, quantiles and a histogram for numbers;\ntop values and lengths for text; the range of dates. --json prints the Statistics artifact format.',
  options: {
    ...SOURCE_OPTIONS,
    'top-k': {
      type: 'string',
      description: 'most frequent values kept per text column (default 20)',
      placeholder: 'n',
    },
    bins: { type: 'string', description: 'histogram bins (default 20)', placeholder: 'n' },
    out: { type: 'string', description: 'also write the statistics JSON to this file', placeholder: 'file' },
  },
  minArgs: 0,
  maxArgs: 1,
  noWorkspace: true,
  async handler(context) {
    const { runDataStats } = await import('./data-command-handlers.js');
    return runDataStats(context);
  },
};

export const dataSchemaInferCommand: CommandSpec = {
  name: 'data schema infer',
  args: '[<file>]',
  summary: 'Infers a dataset schema and prints it as YAML to edit and commit.',
  details:
    'Example: lathe data schema infer data/train.csv > schema.yaml\nFrom a database: lathe data schema infer --sqlite shop.db --query "SELECT * FROM orders"',
  options: {
    ...SOURCE_OPTIONS,
    'max-domain': {
      type: 'string',
      description: 'infer a domain for text columns with at most n values (default 20)',
      placeholder: 'n',
    },
    'no-ranges': { type: 'boolean', description: 'do not infer numeric ranges' },
  },
  minArgs: 0,
  maxArgs: 1,
  noWorkspace: true,
  async handler(context) {
    const { runDataSchemaInfer } = await import('./data-command-handlers.js');
    return runDataSchemaInfer(context);
  },
};

export const dataValidateCommand: CommandSpec = {
  name: 'data validate',
  args: '[<file>]',
  summary:
    'Checks a file (or a query) against a schema and/or an expectation suite. Exits 1 when a check fails.',
  details:
    'Lists every check with its result; failed ones show the observed value and sample failing rows.\nWith --warn, failures are reported but the exit code is 0.',
  options: {
    ...SOURCE_OPTIONS,
    schema: { type: 'string', description: 'schema YAML (lathe data schema infer)', placeholder: 'file' },
    expectations: { type: 'string', description: 'expectation suite YAML', placeholder: 'file' },
    warn: { type: 'boolean', description: 'report failures without failing (exit 0)' },
    all: { type: 'boolean', description: 'list passed checks too' },
    out: { type: 'string', description: 'also write the report JSON to this file', placeholder: 'file' },
  },
  minArgs: 0,
  maxArgs: 1,
  noWorkspace: true,
  async handler(context) {
    const { runDataValidate } = await import('./data-command-handlers.js');
    return runDataValidate(context);
  },
};

export const dataDriftCommand: CommandSpec = {
  name: 'data drift',
  args: '[<reference> <current>]',
  summary:
    'Compares two files (or queries) column by column and reports drift (or training/serving skew with --skew).',
  details: [
    'Methods: auto (default: KS or chi-squared when the reference has ≤ 1000 rows, else normed Wasserstein',
    'or Jensen–Shannon, as Evidently), ks, chisquare, wasserstein, psi, jensenshannon, linf.',
    'Every column is reported with its statistic, p-value or score, threshold and verdict.',
    'Exits 0 whether or not drift is found; --fail-on-drift exits 1 when dataset drift is detected.',
    'From a database: --query gives the reference rows and --current-query the current ones.',
  ].join('\n'),
  options: {
    ...SOURCE_OPTIONS,
    'current-query': {
      type: 'string',
      description: 'with --query: the SELECT that gives the current rows (same database)',
      placeholder: 'sql',
    },
    method: { type: 'string', description: `auto, ${DRIFT_METHODS.join(', ')}`, placeholder: 'name' },
    threshold: {
      type: 'string',
      description: "the chosen method's threshold (p-value or distance)",
      placeholder: 'x',
    },
    columns: {
      type: 'string',
      description: 'compare only these columns (comma-separated)',
      placeholder: 'a,b',
    },
    correction: {
      type: 'string',
      description: "p-value correction across columns: 'none' (default) or 'bh'",
      placeholder: 'name',
    },
    'min-effect': {
      type: 'string',
      description: 'effect-size floor for p-value tests (KS D, Cramér V), 0–1',
      placeholder: 'x',
    },
    share: {
      type: 'string',
      description: 'share of drifted columns that means dataset drift (default 0.5)',
      placeholder: 'x',
    },
    skew: {
      type: 'boolean',
      description: 'training/serving skew: L∞ for categories, Jensen–Shannon for numbers',
    },
    'fail-on-drift': { type: 'boolean', description: 'exit 1 when dataset drift is detected' },
    out: { type: 'string', description: 'also write the report JSON to this file', placeholder: 'file' },
  },
  minArgs: 0,
  maxArgs: 2,
  noWorkspace: true,
  async handler(context) {
    const { runDataDrift } = await import('./data-command-handlers.js');
    return runDataDrift(context);
  },
};
