/**
 * Trained models as one JSON document: the input columns they read, the fitted feature transform
 * and the estimator (gradient-boosted trees, logistic or linear regression). The same document
 * predicts at evaluation and at serving time, through the same transform: no training/serving
 * skew.
 */
import { type FeatureColumns, fitGbdt, type GbdtModel, type GbdtOptions } from './gbdt.js';
import { gbdtFeatureImportance, gbdtPredictProba, gbdtRawScores } from './gbdt-predict.js';
import {
  fitLinearRegression,
  fitLogisticRegression,
  type LinearRegressionModel,
  type LinearRegressionOptions,
  type LogisticRegressionModel,
  type LogisticRegressionOptions,
  predictProba as logisticProba,
  predictLinear,
} from './linear.js';
import { compareLabels, type Label } from './metrics.js';
import {
  applyTransform,
  type ColumnTransform,
  type FittedTransform,
  fitTransform,
  type TransformRow,
  type TransformSpec,
} from './transforms.js';

export const MODEL_FORMAT = 'lathe-model/v1';
export const ALGORITHMS = ['gbdt', 'logistic_regression', 'linear_regression'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export type InputType = 'number' | 'string' | 'boolean';

export interface ModelInput {
  name: string;
  type: InputType;
}

export interface LatheModel {
  format: typeof MODEL_FORMAT;
  algorithm: Algorithm;
  task: 'binary' | 'multiclass' | 'regression';
  /** The label column it was trained to predict. */
  label: string;
  /** Class labels in probability-column order (classification), else null. */
  classes: Label[] | null;
  /** The columns a row must have to be predicted, with their types at training. */
  inputs: ModelInput[];
  transform: FittedTransform;
  estimator: GbdtModel | LogisticRegressionModel | LinearRegressionModel;
  /** Rows it was trained on and the options used. */
  training: { rows: number; options: Record<string, unknown> };
}

/** Trainer options: the algorithm's own, without what the model decides (task, feature names). */
export type EstimatorOptions =
  | Omit<GbdtOptions, 'task' | 'featureNames'>
  | LogisticRegressionOptions
  | LinearRegressionOptions;

export interface TrainModelOptions {
  /** The column to predict. */
  label: string;
  task: 'classification' | 'regression';
  /** Default 'gbdt'. 'logistic_regression' is for classification, 'linear_regression' for regression. */
  algorithm?: Algorithm;
  /** Input columns. Default: every column of the first row but the label. */
  features?: readonly string[];
  /** How inputs become features. Default: `defaultTransformSpec` for the algorithm. */
  transform?: TransformSpec;
  /** An already fitted transform (e.g. from the ml.transform component); replaces `transform`. */
  fittedTransform?: FittedTransform;
  /** Options of the estimator (fitGbdt, fitLogisticRegression or fitLinearRegression). */
  estimator?: EstimatorOptions;
}

export class ModelError extends RangeError {}

/**
 * The estimator options each algorithm accepts (typed so that a new option must be listed here).
 * An unknown one is an error: a misspelt hyperparameter would otherwise be silently ignored, and
 * every trial of a search would train the same model.
 */
const GBDT_OPTIONS: Record<keyof Omit<GbdtOptions, 'task' | 'featureNames'>, true> = {
  iterations: true,
  learningRate: true,
  maxLeaves: true,
  maxDepth: true,
  minSamplesLeaf: true,
  l2: true,
  maxBins: true,
  earlyStopping: true,
  validationFraction: true,
  earlyStoppingRounds: true,
  tolerance: true,
  seed: true,
  threads: true,
  histogramPoolBytes: true,
};
const LOGISTIC_OPTIONS: Record<keyof LogisticRegressionOptions, true> = {
  l2: true,
  maxIterations: true,
  tolerance: true,
};
const LINEAR_OPTIONS: Record<keyof LinearRegressionOptions, true> = { l2: true };
const ESTIMATOR_OPTIONS: Record<Algorithm, Record<string, true>> = {
  gbdt: GBDT_OPTIONS,
  logistic_regression: LOGISTIC_OPTIONS,
  linear_regression: LINEAR_OPTIONS,
};

function fail(message: string): never {
  throw new ModelError(message);
}

/** The type of a column from its non-missing training values; mixed types are an error. */
function inputType(rows: readonly TransformRow[], column: string): InputType {
  let type: InputType | undefined;
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![column];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
    const t =
      typeof v === 'number'
        ? 'number'
        : typeof v === 'string'
          ? 'string'
          : typeof v === 'boolean'
            ? 'boolean'
            : null;
    if (t === null)
      fail(
        `column '${column}', row ${i}: unsupported value ${String(v)} (numbers, strings and booleans only)`,
      );
    if (type === undefined) type = t;
    else if (type !== t) fail(`column '${column}' mixes ${type} and ${t} values (row ${i})`);
  }
  return type ?? 'number';
}

/**
 * The default transform of each input type, by algorithm. Trees: numbers and booleans as they
 * are (missing values kept: the trees route them), text as ordinal codes (missing text is its own
 * category; a category not seen in training is -1). Linear models: numbers imputed with the
 * median and standardized, booleans imputed with the most frequent value, text imputed and
 * one-hot encoded (an unseen category is all zeros).
 */
export function defaultTransformSpec(inputs: readonly ModelInput[], algorithm: Algorithm): TransformSpec {
  const columns: Record<string, ColumnTransform[]> = {};
  const passthrough: string[] = [];
  for (const { name, type } of inputs) {
    if (algorithm === 'gbdt') {
      if (type === 'string') {
        columns[name] = [
          { kind: 'impute', strategy: 'constant', value: '(missing)' },
          { kind: 'ordinal', unseen: 'value', unseenValue: -1 },
        ];
      } else passthrough.push(name);
    } else if (type === 'string') {
      columns[name] = [
        { kind: 'impute', strategy: 'most_frequent' },
        { kind: 'one_hot', unseen: 'ignore' },
      ];
    } else if (type === 'boolean') {
      columns[name] = [{ kind: 'impute', strategy: 'most_frequent' }];
    } else {
      columns[name] = [{ kind: 'impute', strategy: 'median' }, { kind: 'standard_scale' }];
    }
  }
  return algorithm === 'gbdt' ? { columns, passthrough, missing: 'keep' } : { columns, passthrough };
}

function toColumns(matrix: readonly Float64Array[], width: number): FeatureColumns {
  const columns = Array.from({ length: width }, () => new Float64Array(matrix.length));
  for (let i = 0; i < matrix.length; i++) {
    const row = matrix[i]!;
    for (let j = 0; j < width; j++) columns[j]![i] = row[j]!;
  }
  return { columns };
}

/**
 * Fits the transform on the rows, then the estimator on the transformed features. The label must
 * be present in every row (a missing label is an error naming the row).
 */
export function trainModel(rows: readonly TransformRow[], options: TrainModelOptions): LatheModel {
  if (!Array.isArray(rows) || rows.length === 0) fail('no training rows');
  const { label, task } = options;
  const algorithm = options.algorithm ?? 'gbdt';
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    fail(`algorithm must be one of ${ALGORITHMS.join(', ')} (got ${JSON.stringify(algorithm)})`);
  }
  if (task !== 'classification' && task !== 'regression') {
    fail(`task must be 'classification' or 'regression' (got ${JSON.stringify(task)})`);
  }
  if (algorithm === 'logistic_regression' && task !== 'classification')
    fail('logistic_regression is for classification');
  if (algorithm === 'linear_regression' && task !== 'regression') fail('linear_regression is for regression');
  if (!Object.hasOwn(rows[0]!, label)) {
    fail(`the label column '${label}' is not in the data (columns: ${Object.keys(rows[0]!).join(', ')})`);
  }
  const features = options.features
    ? [...options.features]
    : Object.keys(rows[0]!).filter((c) => c !== label);
  if (features.includes(label)) fail(`the label column '${label}' is also listed as a feature`);
  if (features.length === 0) fail('no feature columns');
  for (const f of features) if (!Object.hasOwn(rows[0]!, f)) fail(`feature column '${f}' is not in the data`);
  const declared = features.map((name) => ({ name, type: inputType(rows, name) }));

  const y = rows.map((row, i) => {
    const v = row[label];
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) {
      fail(`row ${i}: the label '${label}' is missing (${String(v)}); remove unlabeled rows before training`);
    }
    if (task === 'regression' && typeof v !== 'number')
      fail(`row ${i}: the label '${label}' is not a number (${JSON.stringify(v)})`);
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number' && typeof v !== 'string')
      fail(`row ${i}: the label '${label}' is not a number or text`);
    return v;
  });
  const transform =
    options.fittedTransform ??
    fitTransform(options.transform ?? defaultTransformSpec(declared, algorithm), rows);
  // A transform that reads the label leaks it into the features (and needs it at serving time).
  const leak = transform.columns.find((c) => c.column === label && c.steps[0]?.kind !== 'expression');
  if (leak) fail(`the transform reads the label column '${label}': leave it out of the transform's columns`);
  // The inputs are the columns the transform reads (all declared features when an expression
  // reads the row, since which fields it uses is not known).
  const read = new Set(
    transform.columns.filter((c) => c.steps[0]?.kind !== 'expression').map((c) => c.column),
  );
  const hasExpression = transform.columns.some((c) => c.steps[0]?.kind === 'expression');
  const inputs = hasExpression ? declared : declared.filter((input) => read.has(input.name));
  for (const column of read) {
    if (!declared.some((input) => input.name === column)) {
      fail(
        `the transform reads column '${column}', which is not a feature (features: ${features.join(', ')})`,
      );
    }
  }
  if (task === 'classification' && new Set(y).size < 2) {
    fail(
      `the label '${label}' has a single class (${JSON.stringify(y[0])}): a classifier needs at least two`,
    );
  }
  const { features: featureNames, matrix } = applyTransform(transform, rows);
  const estimatorOptions = (options.estimator ?? {}) as Record<string, unknown>;
  const known = ESTIMATOR_OPTIONS[algorithm];
  for (const name of Object.keys(estimatorOptions)) {
    if (!Object.hasOwn(known, name))
      fail(`${algorithm} has no option '${name}' (options: ${Object.keys(known).join(', ')})`);
  }
  let estimator: LatheModel['estimator'];
  let classes: Label[] | null = null;
  let kind: LatheModel['task'];
  if (algorithm === 'gbdt') {
    const gbdt = fitGbdt(toColumns(matrix, featureNames.length), y as Label[], {
      ...(estimatorOptions as Omit<GbdtOptions, 'task' | 'featureNames'>),
      task,
      featureNames,
    });
    estimator = gbdt;
    classes = gbdt.classes;
    kind = gbdt.task;
  } else if (algorithm === 'logistic_regression') {
    const logistic = fitLogisticRegression(
      matrix,
      y as Label[],
      estimatorOptions as LogisticRegressionOptions,
    );
    estimator = logistic;
    classes = [...logistic.classes].sort(compareLabels);
    kind = classes.length === 2 ? 'binary' : 'multiclass';
  } else {
    estimator = fitLinearRegression(matrix, y as number[], estimatorOptions as LinearRegressionOptions);
    kind = 'regression';
  }
  return {
    format: MODEL_FORMAT,
    algorithm,
    task: kind,
    label,
    classes,
    inputs,
    transform,
    estimator,
    training: { rows: rows.length, options: { ...estimatorOptions } },
  };
}

/** Predictions of a model: methods over rows of raw input columns. */
export interface Predictor {
  readonly model: LatheModel;
  /** Class labels (classification) or values (regression), one per row. */
  predict(rows: readonly TransformRow[]): Label[];
  /** Class probabilities in `model.classes` order. Classification only. */
  predictProba(rows: readonly TransformRow[]): number[][];
  /** Features by importance (sums to 1): total split gain for trees, |coefficient| of standardized features for linear models. */
  featureImportances(): { feature: string; importance: number }[];
}

/** Checks a model document (e.g. read from a Model artifact) and returns its predictor. */
export function loadModel(value: unknown): Predictor {
  const model = checkModel(value);
  const features = (rows: readonly TransformRow[]) => {
    checkInputTypes(model.inputs, rows);
    return applyTransform(model.transform, rows).matrix;
  };
  const probabilities = (rows: readonly TransformRow[]): number[][] => {
    if (model.task === 'regression')
      fail('predictProba needs a classification model (this one is regression)');
    const X = features(rows);
    if (model.algorithm === 'gbdt') return gbdtPredictProba(model.estimator as GbdtModel, X);
    const logistic = model.estimator as LogisticRegressionModel;
    // Columns in the model's (sorted) class order.
    const order = model.classes!.map((c) => logistic.classes.indexOf(c));
    return logisticProba(logistic, X).map((row) => order.map((j) => row[j]!));
  };
  return {
    model,
    predict(rows) {
      if (model.task === 'regression') {
        const X = features(rows);
        return model.algorithm === 'gbdt'
          ? Array.from(gbdtRawScores(model.estimator as GbdtModel, X))
          : predictLinear(model.estimator as LinearRegressionModel, X);
      }
      return probabilities(rows).map((p) => {
        let best = 0;
        for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
        return model.classes![best]!;
      });
    },
    predictProba: probabilities,
    featureImportances() {
      if (model.algorithm === 'gbdt') return gbdtFeatureImportance(model.estimator as GbdtModel);
      const linear = model.estimator as LinearRegressionModel | LogisticRegressionModel;
      // Binary and regression: one coefficient row; multinomial: one per class (summed).
      const weights = model.transform.features.map((_, j) =>
        linear.coefficients.reduce((sum, row) => sum + Math.abs(row[j]!), 0),
      );
      const total = weights.reduce((a, b) => a + b, 0);
      return model.transform.features
        .map((feature, j) => ({ feature, importance: total > 0 ? weights[j]! / total : 0 }))
        .sort((a, b) => b.importance - a.importance);
    },
  };
}

/**
 * Each input cell must have the type seen in training (or be missing): a number where text was
 * trained (a zip code read as a number at serving time, say) is an error, not an unseen category.
 */
function checkInputTypes(inputs: readonly ModelInput[], rows: readonly TransformRow[]): void {
  if (!Array.isArray(rows)) fail('rows must be an array of row objects');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) fail(`row ${i} must be an object`);
    for (const { name, type } of inputs) {
      if (!Object.hasOwn(row, name))
        fail(
          `column '${name}', row ${i}: the column is missing (the model reads ${inputs.map((x) => x.name).join(', ')})`,
        );
      const v = row[name];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
      if (typeof v !== type) {
        fail(
          `column '${name}', row ${i}: ${typeof v} ${JSON.stringify(v)} where the model was trained on ${type} values`,
        );
      }
    }
  }
}

/** Structural check of a model document; throws a ModelError saying what is wrong. */
export function checkModel(value: unknown): LatheModel {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('a model must be a JSON object');
  const m = value as Partial<LatheModel>;
  if (m.format !== MODEL_FORMAT)
    fail(`not a Lathe model: format is ${JSON.stringify(m.format)}, expected '${MODEL_FORMAT}'`);
  if (!ALGORITHMS.includes(m.algorithm as Algorithm))
    fail(`unknown algorithm ${JSON.stringify(m.algorithm)}`);
  if (m.task !== 'binary' && m.task !== 'multiclass' && m.task !== 'regression')
    fail(`unknown task ${JSON.stringify(m.task)}`);
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) fail('the model lists no inputs');
  if (typeof m.transform !== 'object' || m.transform === null) fail('the model has no transform');
  if (typeof m.estimator !== 'object' || m.estimator === null) fail('the model has no estimator');
  if (m.task !== 'regression' && (!Array.isArray(m.classes) || m.classes.length < 2))
    fail('a classifier needs its classes');
  return m as LatheModel;
}
