/**
 * Python training steps: `pythonTrainer` makes a command component that runs a Python script
 * (scikit-learn, xgboost, anything) under one fixed convention, and the script reads it with the
 * `lathe_step` module shipped in the package's `python/` folder (standard library only).
 *
 *   python SCRIPT --input NAME=PATH ... --output model=PATH --output metrics=PATH
 *                 --scalar NAME=PATH ... --param NAME=JSON ... --param-str NAME=TEXT ...
 *
 * `toCsv` converts a Dataset (Lathe's datasets are zstd Parquet) to CSV with DuckDB, for a
 * Python without pyarrow, such as Debian's python3-pandas.
 */
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { datasetSource } from '../data/components.js';
import { quoteString, withEngine } from '../data/duckdb.js';
import { ROW_ORDINAL } from '../data/source-types.js';
import { loadTable } from '../data/sources.js';
import { type ArtifactType, Dataset, isArtifactType, Metrics, Model } from '../dsl/artifacts.js';
import {
  type Component,
  type ComponentDefaults,
  component,
  type InputShape,
  type ParamShape,
} from '../dsl/component.js';

/** The folder holding `lathe_step.py`: `<package>/python/`, from `src/ml/` and from `dist/ml/` alike. */
export const PYTHON_HELPER_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const HELPER_FILE = `${PYTHON_HELPER_DIR}lathe_step.py`;
const DEFAULT_PYTHON = '/usr/bin/python3';

type ScalarShape = Record<string, z.ZodType>;

export interface PythonTrainerOptions<
  P extends ParamShape,
  I extends InputShape,
  O extends Record<string, ArtifactType>,
  S extends ScalarShape,
> extends ComponentDefaults {
  name: string;
  description?: string;
  /**
   * The script. A relative path is relative to the pipeline's directory (where command steps
   * run), like any path in a command component; an absolute path or a `file:` URL, e.g.
   * `new URL('./train.py', import.meta.url)`, is relative to nothing. Its content is part of the
   * component's digest either way: editing the script re-runs the step.
   */
  script: string | URL;
  /**
   * The interpreter, as the default of the step's `python` param (a run can override it with
   * `--param` or by wiring the param). Default: $LATHE_PYTHON, else '/usr/bin/python3' (Debian's
   * python3-sklearn installs there; a `python3` on PATH may be a virtualenv without it).
   */
  python?: string;
  /** Artifact inputs. Default: `{ data: Dataset }`. */
  inputs?: I;
  /** Params, passed to the script as typed values (`ctx.params`). `python` is reserved. */
  params?: P;
  /** Artifact outputs besides `model` (a Model) and `metrics` (a Metrics JSON object). */
  outputs?: O;
  /**
   * Scalar outputs, e.g. `{ accuracy: z.number() }`: each is the metrics key of the same name
   * (`ctx.write_metrics`), or set with `ctx.set_scalar`. Usable in `when` conditions.
   */
  scalars?: S;
  /** More local files whose content is part of the digest: modules the script imports. */
  files?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

type PythonParams<P extends ParamShape> = P & { python: z.ZodDefault<z.ZodString> };
type PythonOutputs<O, S> = { model: typeof Model; metrics: typeof Metrics } & O & S;

const RESERVED_OUTPUTS = ['model', 'metrics'];

/**
 * A command component that trains with a Python script under Lathe's convention (see the module
 * comment and docs/ml.md): inputs, outputs and params reach the script as
 * `lathe_step.context()`; its metrics JSON becomes the `metrics` output and the scalars named in
 * `scalars` become typed outputs for `when`.
 */
export function pythonTrainer<
  P extends ParamShape = {},
  I extends InputShape = { data: typeof Dataset },
  O extends Record<string, ArtifactType> = {},
  S extends ScalarShape = {},
>(options: PythonTrainerOptions<P, I, O, S>): Component<PythonParams<P>, I, PythonOutputs<O, S>> {
  const where = `pythonTrainer '${options.name}'`;
  const inputs = (options.inputs ?? { data: Dataset }) as InputShape;
  const params = (options.params ?? {}) as ParamShape;
  const extraOutputs = (options.outputs ?? {}) as Record<string, ArtifactType>;
  const scalars = (options.scalars ?? {}) as ScalarShape;
  if ('python' in params) {
    throw new TypeError(
      `${where}: the param name 'python' is reserved (set the interpreter with the 'python' option)`,
    );
  }
  for (const name of RESERVED_OUTPUTS) {
    if (name in extraOutputs || name in scalars) {
      throw new TypeError(
        `${where}: the output name '${name}' is reserved (every Python step has 'model' and 'metrics')`,
      );
    }
  }
  for (const [name, type] of Object.entries(extraOutputs)) {
    if (!isArtifactType(type))
      throw new TypeError(
        `${where}: outputs.${name} must be an artifact type; put scalar outputs in 'scalars'`,
      );
    if (name in scalars) throw new TypeError(`${where}: '${name}' is both an artifact output and a scalar`);
  }
  for (const [name, type] of Object.entries(scalars)) {
    if (isArtifactType(type))
      throw new TypeError(`${where}: scalars.${name} must be a zod schema; put artifacts in 'outputs'`);
  }

  const script = scriptPath(options.script, where);
  const files = [...(options.files ?? []), HELPER_FILE];
  // An absolute script is not picked up from the argv (only paths relative to the pipeline's
  // directory are), so it is declared.
  if (isAbsolute(script)) files.push(script);

  const command = ['{{params.python}}', script];
  for (const [name, type] of Object.entries(inputs)) {
    if (type.isList) command.push('--inputs', name, `{{inputs.${name}}}`);
    else command.push('--input', `${name}={{inputs.${name}}}`);
  }
  for (const name of ['model', 'metrics', ...Object.keys(extraOutputs)]) {
    command.push('--output', `${name}={{outputs.${name}}}`);
  }
  for (const name of Object.keys(scalars)) command.push('--scalar', `${name}={{outputs.${name}}}`);
  for (const [name, schema] of Object.entries(params)) {
    command.push(isStringParam(schema) ? '--param-str' : '--param', `${name}={{params.${name}}}`);
  }

  const pythonPath = process.env.PYTHONPATH
    ? `${PYTHON_HELPER_DIR}:${process.env.PYTHONPATH}`
    : PYTHON_HELPER_DIR;
  return component.command({
    name: options.name,
    description: options.description,
    inputs,
    params: {
      ...params,
      python: z
        .string()
        .min(1)
        .default(process.env.LATHE_PYTHON || options.python || DEFAULT_PYTHON),
    },
    outputs: { model: Model, metrics: Metrics, ...extraOutputs, ...scalars },
    command,
    // No __pycache__ written into the package's python/ folder (it may be read-only) or beside the script.
    env: { PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...options.env, PYTHONPATH: pythonPath },
    files,
    retry: options.retry,
    timeout: options.timeout,
    cache: options.cache,
    resources: options.resources,
  }) as unknown as Component<PythonParams<P>, I, PythonOutputs<O, S>>;
}

function scriptPath(script: string | URL, where: string): string {
  if (script instanceof URL) {
    if (script.protocol !== 'file:')
      throw new TypeError(`${where}: script URL '${script}' must be a file: URL`);
    return fileURLToPath(script);
  }
  if (typeof script !== 'string' || script === '')
    throw new TypeError(`${where}: script must be a path or a file: URL`);
  if (script.startsWith('file:')) return fileURLToPath(script);
  if (script.startsWith('-') || script.includes('{{')) {
    throw new TypeError(`${where}: script '${script}' must be a file path`);
  }
  return script;
}

/**
 * A param whose values are strings reaches the command as raw text, others as JSON: the script
 * is told which, so '42' stays a string and 42 a number.
 */
function isStringParam(schema: z.ZodType): boolean {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (json.type === 'string') return true;
  if (typeof json.const === 'string') return true;
  return Array.isArray(json.enum) && json.enum.length > 0 && json.enum.every((v) => typeof v === 'string');
}

/**
 * Converts a Dataset (Parquet, CSV, JSON: whatever lathe/data reads) to a CSV with a header row,
 * in the same row order, for Python steps whose pandas cannot read Parquet.
 */
export const toCsv = component({
  name: 'ml.to-csv',
  description: 'Converts a Dataset (Parquet, CSV or JSON) to CSV with a header row, rows in order (DuckDB).',
  inputs: { dataset: Dataset },
  outputs: { csv: Dataset },
  async run({ inputs, outputs, log }) {
    const source = await datasetSource(inputs.dataset);
    await withEngine(undefined, async (engine) => {
      const table = await loadTable(engine, source);
      await engine.run(
        `COPY (SELECT * EXCLUDE (${ROW_ORDINAL}) FROM ${table.view} ORDER BY ${ROW_ORDINAL}) TO ${quoteString(outputs.csv.path)} (FORMAT csv, HEADER)`,
      );
      outputs.csv.setMetadata({
        format: 'csv',
        rows: table.rowCount,
        columns: table.columns.map(({ name, type }) => ({ name, type })),
      });
      log(`${table.rowCount} rows × ${table.columns.length} columns as CSV`);
    });
  },
});
