/**
 * The names `lathe/data` accepts in options, in a module without DuckDB, so that the CLI can
 * describe its options without loading the engine.
 */

export const FILE_FORMATS = ['csv', 'tsv', 'parquet', 'json', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const QUERY_DATABASES = ['postgres', 'sqlite', 'duckdb'] as const;
export type QueryDatabase = (typeof QUERY_DATABASES)[number];

export const DRIFT_METHODS = ['ks', 'chisquare', 'wasserstein', 'psi', 'jensenshannon', 'linf'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
