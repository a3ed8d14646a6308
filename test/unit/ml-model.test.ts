/**
 * Trained models as JSON documents (src/ml/model.ts), their evaluation (src/ml/evaluate.ts) and
 * hyperparameter search helpers (src/ml/tuning.ts), on the shared real datasets and on small
 * constructed rows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateModel } from '../../src/ml/evaluate.js';
import {
  accuracy,
  confusionMatrix,
  type Label,
  logLoss,
  mae,
  r2,
  rmse,
  rocAuc,
  rocAucOvr,
} from '../../src/ml/metrics.js';
import {
  checkModel,
  defaultTransformSpec,
  type LatheModel,
  loadModel,
  ModelError,
  type Predictor,
  type TrainModelOptions,
  trainModel,
} from '../../src/ml/model.js';
import { applyTransform, fitTransform, type TransformRow } from '../../src/ml/transforms.js';
import { bestTrial, gridSearch, randomSearch, type Trial } from '../../src/ml/tuning.js';

type Row = Record<string, number | string>;

/** A shared dataset as rows: numeric cells as numbers, the rest as strings. */
function dataset(name: 'breast_cancer' | 'wine' | 'iris' | 'diabetes'): Row[] {
  const [header, ...lines] = readFileSync(`/work/shared/datasets/${name}.csv`, 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(
      columns.map((column, j) => {
        const cell = cells[j]!;
        const number = Number(cell);
        return [column, cell !== '' && Number.isFinite(number) ? number : cell];
      }),
    );
  });
}

const breastCancer = dataset('breast_cancer');
const wine = dataset('wine');
const diabetes = dataset('diabetes');

/** Every k-th row (k = 0..folds-1 offset `fold`) as a hold-out set, the rest for training. */
function holdOut<T>(rows: readonly T[], folds = 4, fold = 0): { train: T[]; test: T[] } {
  return {
    train: rows.filter((_, i) => i % folds !== fold),
    test: rows.filter((_, i) => i % folds === fold),
  };
}

const fast = { iterations: 30 } as const;

function argmax(p: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
  return best;
}

function roundTrip(model: LatheModel): Predictor {
  return loadModel(JSON.parse(JSON.stringify(model)));
}

/** Predictions are consistent: one per row, probabilities in [0, 1] summing to 1, argmax = predict. */
function expectConsistentClassifier(predictor: Predictor, rows: readonly TransformRow[]): void {
  const classes = predictor.model.classes!;
  const predicted = predictor.predict(rows);
  const proba = predictor.predictProba(rows);
  expect(predicted).toHaveLength(rows.length);
  expect(proba).toHaveLength(rows.length);
  proba.forEach((p, i) => {
    expect(p).toHaveLength(classes.length);
    for (const q of p) {
      expect(q).toBeGreaterThanOrEqual(0);
      expect(q).toBeLessThanOrEqual(1);
    }
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(predicted[i]).toBe(classes[argmax(p)]);
  });
}

/** A small mixed-type table: a number with missing values, a category, a boolean. */
function mixedRows(n = 120): TransformRow[] {
  return Array.from({ length: n }, (_, i) => ({
    x: i % 10 === 3 ? null : i,
    city: ['paris', 'lyon', 'nice'][i % 3]!,
    member: i % 2 === 0,
    y: i >= n / 2 ? 'high' : 'low',
  }));
}

describe('trainModel: gradient-boosted trees', () => {
  it('binary classification with string labels on breast_cancer: a JSON model that predicts held-out rows', () => {
    const { train, test } = holdOut(breastCancer);
    const model = trainModel(train, { label: 'diagnosis', task: 'classification', estimator: fast });
    expect(model.format).toBe('lathe-model/v1');
    expect(model.algorithm).toBe('gbdt');
    expect(model.task).toBe('binary');
    expect(model.label).toBe('diagnosis');
    expect(model.classes).toEqual(['benign', 'malignant']);
    expect(model.inputs).toHaveLength(30);
    expect(model.inputs.every((input) => input.type === 'number')).toBe(true);
    expect(model.inputs.map((input) => input.name)).not.toContain('diagnosis');
    expect(model.training.rows).toBe(train.length);
    expect(model.training.options).toEqual(fast);

    const predictor = loadModel(model);
    expectConsistentClassifier(predictor, test);
    const truth = test.map((row) => row.diagnosis as Label);
    expect(accuracy(truth, predictor.predict(test))).toBeGreaterThan(0.9);

    // The label column in the rows to predict is ignored.
    const unlabeled = test.map(({ diagnosis: _, ...rest }) => rest);
    expect(predictor.predict(unlabeled)).toEqual(predictor.predict(test));
  });

  it('multiclass with string labels on wine', () => {
    const { train, test } = holdOut(wine);
    const model = trainModel(train, { label: 'cultivar', task: 'classification', estimator: fast });
    expect(model.task).toBe('multiclass');
    expect(model.classes).toEqual(['class_0', 'class_1', 'class_2']);
    const predictor = loadModel(model);
    expectConsistentClassifier(predictor, test);
    expect(
      accuracy(
        test.map((row) => row.cultivar!),
        predictor.predict(test),
      ),
    ).toBeGreaterThan(0.85);
  });

  it('regression on diabetes: numeric predictions, no probabilities', () => {
    const { train, test } = holdOut(diabetes);
    const model = trainModel(train, { label: 'progression', task: 'regression', estimator: fast });
    expect(model.task).toBe('regression');
    expect(model.classes).toBeNull();
    const predictor = loadModel(model);
    const predicted = predictor.predict(test) as number[];
    expect(predicted).toHaveLength(test.length);
    expect(predicted.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    expect(
      r2(
        test.map((row) => row.progression as number),
        predicted,
      )!,
    ).toBeGreaterThan(0.2);
    expect(() => predictor.predictProba(test)).toThrow(/classification/);
  });

  it('boolean labels train as 0/1 classes', () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({ x: i, positive: i >= 30 }));
    const model = trainModel(rows, {
      label: 'positive',
      task: 'classification',
      estimator: { iterations: 10, minSamplesLeaf: 2 },
    });
    expect(model.classes).toEqual([0, 1]);
    expect(loadModel(model).predict([{ x: 2 }, { x: 55 }])).toEqual([0, 1]);
  });
});

describe('trainModel: linear models', () => {
  it('logistic regression on breast_cancer (binary) and wine (multiclass)', () => {
    const { train, test } = holdOut(breastCancer);
    const binary = trainModel(train, {
      label: 'diagnosis',
      task: 'classification',
      algorithm: 'logistic_regression',
    });
    expect(binary.algorithm).toBe('logistic_regression');
    expect(binary.task).toBe('binary');
    expect(binary.classes).toEqual(['benign', 'malignant']);
    const predictor = loadModel(binary);
    expectConsistentClassifier(predictor, test);
    expect(
      accuracy(
        test.map((row) => row.diagnosis!),
        predictor.predict(test),
      ),
    ).toBeGreaterThan(0.93);

    const split = holdOut(wine);
    const multiclass = trainModel(split.train, {
      label: 'cultivar',
      task: 'classification',
      algorithm: 'logistic_regression',
    });
    expect(multiclass.task).toBe('multiclass');
    expect(multiclass.classes).toEqual(['class_0', 'class_1', 'class_2']);
    const wines = loadModel(multiclass);
    expectConsistentClassifier(wines, split.test);
    expect(
      accuracy(
        split.test.map((row) => row.cultivar!),
        wines.predict(split.test),
      ),
    ).toBeGreaterThan(0.9);
  });

  it('probability columns follow model.classes whatever order the labels arrive in', () => {
    // 'zebra' rows first: the estimator sees it first, the model's classes are sorted.
    const rows = Array.from({ length: 40 }, (_, i) => ({
      x: i < 20 ? 10 + i : i - 20,
      y: i < 20 ? 'zebra' : 'ant',
    }));
    const model = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    expect(model.classes).toEqual(['ant', 'zebra']);
    const predictor = loadModel(model);
    const [low, high] = predictor.predictProba([{ x: 0 }, { x: 30 }]);
    expect(low![0]).toBeGreaterThan(0.5); // P(ant) for a small x
    expect(high![1]).toBeGreaterThan(0.5); // P(zebra) for a large x
    expect(predictor.predict([{ x: 0 }, { x: 30 }])).toEqual(['ant', 'zebra']);
  });

  it('linear regression on diabetes', () => {
    const { train, test } = holdOut(diabetes);
    const model = trainModel(train, {
      label: 'progression',
      task: 'regression',
      algorithm: 'linear_regression',
    });
    expect(model.algorithm).toBe('linear_regression');
    expect(model.task).toBe('regression');
    expect(model.classes).toBeNull();
    const predictor = loadModel(model);
    const predicted = predictor.predict(test) as number[];
    expect(predicted).toHaveLength(test.length);
    expect(
      r2(
        test.map((row) => row.progression as number),
        predicted,
      )!,
    ).toBeGreaterThan(0.35);
  });
});

describe('JSON round trip', () => {
  const { train, test } = holdOut(breastCancer);
  const cases: [string, TrainModelOptions, Row[], Row[]][] = [
    ['gbdt binary', { label: 'diagnosis', task: 'classification', estimator: fast }, train, test],
    [
      'gbdt multiclass',
      { label: 'cultivar', task: 'classification', estimator: fast },
      holdOut(wine).train,
      holdOut(wine).test,
    ],
    [
      'gbdt regression',
      { label: 'progression', task: 'regression', estimator: fast },
      holdOut(diabetes).train,
      holdOut(diabetes).test,
    ],
    [
      'logistic',
      { label: 'diagnosis', task: 'classification', algorithm: 'logistic_regression' },
      train,
      test,
    ],
    [
      'linear',
      { label: 'progression', task: 'regression', algorithm: 'linear_regression' },
      holdOut(diabetes).train,
      holdOut(diabetes).test,
    ],
  ];
  it.each(cases)('%s: the parsed document predicts exactly as the original', (_, options, rows, unseen) => {
    const model = trainModel(rows, options);
    const original = loadModel(model);
    const restored = roundTrip(model);
    expect(restored.predict(unseen)).toEqual(original.predict(unseen));
    if (model.task !== 'regression')
      expect(restored.predictProba(unseen)).toEqual(original.predictProba(unseen));
    expect(restored.featureImportances()).toEqual(original.featureImportances());
  });

  it('mixed inputs with missing values and categories round-trip too', () => {
    const rows = mixedRows();
    const model = trainModel(rows, {
      label: 'y',
      task: 'classification',
      estimator: { iterations: 10, minSamplesLeaf: 2 },
    });
    const probe = [{ x: null, city: 'unseen-town', member: true }, ...rows];
    expect(roundTrip(model).predictProba(probe)).toEqual(loadModel(model).predictProba(probe));
  });
});

describe('default transforms', () => {
  const inputs = [
    { name: 'x', type: 'number' as const },
    { name: 'city', type: 'string' as const },
    { name: 'member', type: 'boolean' as const },
  ];

  it('trees: text becomes ordinal codes (unseen -1), numbers and booleans pass through, missing kept', () => {
    expect(defaultTransformSpec(inputs, 'gbdt')).toEqual({
      columns: {
        city: [
          { kind: 'impute', strategy: 'constant', value: '(missing)' },
          { kind: 'ordinal', unseen: 'value', unseenValue: -1 },
        ],
      },
      passthrough: ['x', 'member'],
      missing: 'keep',
    });
  });

  it('linear models: text is imputed and one-hot encoded, numbers imputed and standardized', () => {
    const spec = defaultTransformSpec(inputs, 'logistic_regression');
    expect(spec).toEqual({
      columns: {
        x: [{ kind: 'impute', strategy: 'median' }, { kind: 'standard_scale' }],
        city: [
          { kind: 'impute', strategy: 'most_frequent' },
          { kind: 'one_hot', unseen: 'ignore' },
        ],
        member: [{ kind: 'impute', strategy: 'most_frequent' }],
      },
      passthrough: [],
    });
    expect(defaultTransformSpec(inputs, 'linear_regression')).toEqual(spec);
  });

  it('trainModel infers input types and applies the defaults by algorithm', () => {
    const rows = mixedRows();
    const trees = trainModel(rows, {
      label: 'y',
      task: 'classification',
      estimator: { iterations: 5, minSamplesLeaf: 2 },
    });
    expect(trees.inputs).toEqual(inputs);
    expect(trees.transform.features).toEqual(['city', 'x', 'member']);
    const ordinal = trees.transform.columns.find((c) => c.column === 'city')!.steps[1];
    expect(ordinal).toMatchObject({ kind: 'ordinal', categories: ['lyon', 'nice', 'paris'] });

    const linear = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    expect(linear.inputs).toEqual(inputs);
    expect(linear.transform.features).toEqual(['x', 'city_lyon', 'city_nice', 'city_paris', 'member']);
  });

  it('trees keep a missing number as NaN and route it; linear models impute the median', () => {
    // Missingness is the signal: x is missing exactly for the 'high' rows.
    const rows = Array.from({ length: 100 }, (_, i) => ({
      x: i % 2 === 0 ? null : i,
      z: (i * 7) % 13,
      y: i % 2 === 0 ? 'high' : 'low',
    }));
    const trees = trainModel(rows, {
      label: 'y',
      task: 'classification',
      estimator: { iterations: 10, minSamplesLeaf: 2 },
    });
    const treeFeatures = applyTransform(trees.transform, [{ x: null, z: 1 }]).matrix[0]!;
    expect(Number.isNaN(treeFeatures[trees.transform.features.indexOf('x')]!)).toBe(true);
    const treePredictor = loadModel(trees);
    expect(
      treePredictor.predict([
        { x: null, z: 3 },
        { x: Number.NaN, z: 3 },
        { x: 51, z: 3 },
      ]),
    ).toEqual(['high', 'high', 'low']);
    expect(treePredictor.predictProba([{ x: null, z: 3 }])[0]![0]).toBeGreaterThan(0.75);

    const linear = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    const impute = linear.transform.columns.find((c) => c.column === 'x')!.steps[0];
    expect(impute).toEqual({ kind: 'impute', strategy: 'median', fill: 50 });
    const [missing, median] = applyTransform(linear.transform, [
      { x: null, z: 1 },
      { x: 50, z: 1 },
    ]).matrix;
    expect(Array.from(missing!)).toEqual(Array.from(median!));
    expect(Array.from(missing!).every(Number.isFinite)).toBe(true);
  });

  it('booleans are read as 1/0 for both families', () => {
    const rows = mixedRows();
    const trees = trainModel(rows, { label: 'y', task: 'classification', estimator: { iterations: 3 } });
    const linear = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    const probe = [
      { x: 1, city: 'lyon', member: true },
      { x: 1, city: 'lyon', member: false },
    ];
    for (const model of [trees, linear]) {
      const j = model.transform.features.indexOf('member');
      const [yes, no] = applyTransform(model.transform, probe).matrix;
      expect([yes![j], no![j]]).toEqual([1, 0]);
    }
  });

  it('an unseen category: code -1 for trees, all zeros for linear models, and no crash', () => {
    const rows = mixedRows();
    const probe = [{ x: 5, city: 'marseille', member: true }];
    const trees = trainModel(rows, { label: 'y', task: 'classification', estimator: { iterations: 5 } });
    const treeRow = applyTransform(trees.transform, probe).matrix[0]!;
    expect(treeRow[trees.transform.features.indexOf('city')]).toBe(-1);
    expectConsistentClassifier(loadModel(trees), probe);

    const linear = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    const linearRow = applyTransform(linear.transform, probe).matrix[0]!;
    const oneHot = linear.transform.features.flatMap((f, j) => (f.startsWith('city_') ? [linearRow[j]] : []));
    expect(oneHot).toEqual([0, 0, 0]);
    expectConsistentClassifier(loadModel(linear), probe);
  });

  it('a missing category is its own category for trees and imputed for linear models', () => {
    const rows = mixedRows();
    rows[5]!.city = null;
    const trees = trainModel(rows, { label: 'y', task: 'classification', estimator: { iterations: 3 } });
    const ordinal = trees.transform.columns.find((c) => c.column === 'city')!.steps[1];
    expect(ordinal).toMatchObject({ categories: ['(missing)', 'lyon', 'nice', 'paris'] });
    const linear = trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' });
    expectConsistentClassifier(loadModel(linear), [{ x: 1, city: null, member: false }]);
  });

  it('an explicit transform spec or features list replaces the default', () => {
    const rows = mixedRows();
    const model = trainModel(rows, {
      label: 'y',
      task: 'classification',
      algorithm: 'logistic_regression',
      features: ['x'],
      transform: { columns: { x: [{ kind: 'impute', strategy: 'mean' }, { kind: 'min_max_scale' }] } },
    });
    expect(model.inputs).toEqual([{ name: 'x', type: 'number' }]);
    expect(model.transform.features).toEqual(['x']);
    expect(model.transform.columns[0]!.steps.map((s) => s.kind)).toEqual(['impute', 'min_max_scale']);
    // A fitted transform is used as is.
    const fitted = fitTransform({ columns: {}, passthrough: ['member'] }, rows);
    const withFitted = trainModel(rows, {
      label: 'y',
      task: 'classification',
      algorithm: 'logistic_regression',
      fittedTransform: fitted,
    });
    expect(withFitted.transform).toEqual(fitted);
  });
});

describe('bad input', () => {
  const rows = mixedRows();
  const trees = loadModel(
    trainModel(rows, { label: 'y', task: 'classification', estimator: { iterations: 5 } }),
  );
  const linear = loadModel(
    trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' }),
  );

  it('a row missing an input column is an error naming the column and the row', () => {
    for (const predictor of [trees, linear]) {
      expect(() =>
        predictor.predict([
          { x: 1, city: 'lyon', member: true },
          { city: 'lyon', member: true },
        ]),
      ).toThrow(/column 'x', row 1: the column is missing/);
    }
  });

  it('a string where a number was trained is an error naming the column', () => {
    for (const predictor of [trees, linear]) {
      expect(() => predictor.predict([{ x: 'twelve', city: 'lyon', member: true }])).toThrow(
        /column 'x', row 0: .*"twelve"/,
      );
    }
  });

  it('a number where text was trained is an error naming the column, not an unseen category', () => {
    for (const predictor of [trees, linear]) {
      expect(() => predictor.predict([{ x: 1, city: 75001, member: true }])).toThrow(
        /column 'city', row 0: number 75001 where the model was trained on string values/,
      );
    }
  });

  it('the model lists as inputs only the columns its transform reads', () => {
    const model = trainModel(rows, {
      label: 'y',
      task: 'classification',
      transform: { columns: { x: [{ kind: 'impute', strategy: 'mean' }, { kind: 'standard_scale' }] } },
      algorithm: 'logistic_regression',
    });
    expect(model.inputs.map((input) => input.name)).toEqual(['x']);
    // A row with only that column predicts.
    expect(loadModel(model).predict([{ x: 3 }])).toHaveLength(1);
  });

  it('the label column missing from the data is a ModelError naming it', () => {
    const train = () => trainModel(rows, { label: 'target', task: 'classification' });
    expect(train).toThrow(ModelError);
    expect(train).toThrow(/label column 'target' is not in the data \(columns: x, city, member, y\)/);
  });

  it('a row without a label is an error naming the row', () => {
    const unlabeled = rows.map((row, i) => (i === 7 ? { ...row, y: null } : row));
    expect(() => trainModel(unlabeled, { label: 'y', task: 'classification' })).toThrow(
      /row 7: the label 'y' is missing/,
    );
    const nan = diabetes.map((row, i) => (i === 3 ? { ...row, progression: Number.NaN } : row));
    expect(() => trainModel(nan, { label: 'progression', task: 'regression' })).toThrow(
      /row 3: the label 'progression' is missing/,
    );
  });

  it('a single-class label is an error', () => {
    const single = rows.map((row) => ({ ...row, y: 'same' }));
    expect(() => trainModel(single, { label: 'y', task: 'classification' })).toThrow(/single class/);
    expect(() =>
      trainModel(single, { label: 'y', task: 'classification', algorithm: 'logistic_regression' }),
    ).toThrow(/class/);
  });

  it('algorithm and task must agree, and a regression label must be numeric', () => {
    expect(() =>
      trainModel(diabetes, { label: 'progression', task: 'regression', algorithm: 'logistic_regression' }),
    ).toThrow(/logistic_regression is for classification/);
    expect(() =>
      trainModel(breastCancer, {
        label: 'diagnosis',
        task: 'classification',
        algorithm: 'linear_regression',
      }),
    ).toThrow(/linear_regression is for regression/);
    expect(() => trainModel(rows, { label: 'y', task: 'regression' })).toThrow(
      /row 0: the label 'y' is not a number \("low"\)/,
    );
    expect(() =>
      trainModel(rows, { label: 'y', task: 'classification', algorithm: 'svm' as 'gbdt' }),
    ).toThrow(/algorithm must be one of gbdt, logistic_regression, linear_regression/);
    expect(() => trainModel([], { label: 'y', task: 'classification' })).toThrow(/no training rows/);
  });

  it('features: unknown, the label itself, or mixed types are errors', () => {
    expect(() => trainModel(rows, { label: 'y', task: 'classification', features: ['x', 'age'] })).toThrow(
      /feature column 'age' is not in the data/,
    );
    expect(() => trainModel(rows, { label: 'y', task: 'classification', features: ['x', 'y'] })).toThrow(
      /label column 'y' is also listed as a feature/,
    );
    const mixed = rows.map((row, i) => (i === 4 ? { ...row, x: 'four' } : row));
    expect(() => trainModel(mixed, { label: 'y', task: 'classification' })).toThrow(
      /column 'x' mixes number and string values \(row 4\)/,
    );
  });

  it('a transform that reads the label is refused (leakage)', () => {
    expect(() =>
      trainModel(rows, {
        label: 'y',
        task: 'classification',
        transform: { columns: { y: [{ kind: 'ordinal' }] }, passthrough: ['member'] },
      }),
    ).toThrow(/transform reads the label column 'y'/);
    // The same with a transform fitted elsewhere (ml.transform) that passes the label through.
    const flagged = rows.map((row) => ({ ...row, flag: row.y === 'high' ? 1 : 0 }));
    const fitted = fitTransform({ columns: {}, passthrough: ['member', 'flag'] }, flagged);
    expect(() =>
      trainModel(flagged, { label: 'flag', task: 'classification', fittedTransform: fitted }),
    ).toThrow(/transform reads the label column 'flag'/);
  });

  it('an unknown (e.g. misspelt) estimator option is an error listing the known ones', () => {
    expect(() =>
      trainModel(rows, {
        label: 'y',
        task: 'classification',
        estimator: { learningrate: 0.5 } as TrainModelOptions['estimator'],
      }),
    ).toThrow(/gbdt has no option 'learningrate' \(options: iterations, learningRate, /);
    expect(() =>
      trainModel(rows, {
        label: 'y',
        task: 'classification',
        algorithm: 'logistic_regression',
        estimator: { iterations: 5 } as TrainModelOptions['estimator'],
      }),
    ).toThrow(/logistic_regression has no option 'iterations' \(options: l2, maxIterations, tolerance\)/);
    const model = trainModel(rows, {
      label: 'y',
      task: 'classification',
      algorithm: 'logistic_regression',
      estimator: { l2: 0.5, maxIterations: 50 },
    });
    expect(model.training.options).toEqual({ l2: 0.5, maxIterations: 50 });
  });

  it('checkModel / loadModel reject garbage and other formats clearly', () => {
    expect(() => checkModel('garbage')).toThrow(/a model must be a JSON object/);
    expect(() => checkModel(null)).toThrow(ModelError);
    expect(() => checkModel([1, 2])).toThrow(/JSON object/);
    expect(() => loadModel({ format: 'onnx' })).toThrow(
      /not a Lathe model: format is "onnx", expected 'lathe-model\/v1'/,
    );
    const model = JSON.parse(JSON.stringify(trees.model)) as Record<string, unknown>;
    expect(() => checkModel({ ...model, algorithm: 'svm' })).toThrow(/unknown algorithm "svm"/);
    expect(() => checkModel({ ...model, task: 'ranking' })).toThrow(/unknown task "ranking"/);
    expect(() => checkModel({ ...model, inputs: [] })).toThrow(/no inputs/);
    expect(() => checkModel({ ...model, estimator: null })).toThrow(/no estimator/);
    expect(() => checkModel({ ...model, classes: null })).toThrow(/classifier needs its classes/);
    expect(checkModel(model)).toBe(model);
  });
});

describe('featureImportances', () => {
  // y depends on `signal` only; `noise` is unrelated.
  const rows = Array.from({ length: 200 }, (_, i) => {
    const signal = (i * 37) % 100;
    return { noise: (i * 53) % 17, signal, other: (i * 11) % 7, y: signal > 50 ? 'yes' : 'no' };
  });
  const regression = rows.map(({ y: _, ...row }) => ({ ...row, target: 3 * row.signal + 0.1 * row.noise }));

  it.each([
    ['gbdt', rows, { label: 'y', task: 'classification', estimator: { iterations: 10 } }],
    ['logistic_regression', rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' }],
    [
      'linear_regression',
      regression,
      { label: 'target', task: 'regression', algorithm: 'linear_regression' },
    ],
  ] as [string, TransformRow[], TrainModelOptions][])(
    '%s: sums to 1, one per feature, the informative feature first',
    (_, data, options) => {
      const importances = loadModel(trainModel(data, options)).featureImportances();
      expect(importances.map((f) => f.feature).sort()).toEqual(['noise', 'other', 'signal']);
      expect(importances.reduce((sum, f) => sum + f.importance, 0)).toBeCloseTo(1, 10);
      expect(importances[0]!.feature).toBe('signal');
      for (let k = 1; k < importances.length; k++)
        expect(importances[k]!.importance).toBeLessThanOrEqual(importances[k - 1]!.importance);
    },
  );
});

describe('evaluateModel', () => {
  it('binary: the headline metrics equal the metric functions on the predictions', () => {
    const { train, test } = holdOut(breastCancer);
    const predictor = loadModel(
      trainModel(train, { label: 'diagnosis', task: 'classification', estimator: fast }),
    );
    const evaluation = evaluateModel(predictor, test);
    const truth = test.map((row) => row.diagnosis as Label);
    const proba = predictor.predictProba(test);
    expect(evaluation.rows).toBe(test.length);
    expect(evaluation.accuracy).toBe(accuracy(truth, predictor.predict(test)));
    expect(evaluation.roc_auc).toBe(
      rocAuc(
        truth,
        proba.map((p) => p[1]!),
        { positiveLabel: 'malignant' },
      ),
    );
    expect(evaluation.log_loss).toBe(logLoss(truth, proba, ['benign', 'malignant']));
    expect(evaluation.accuracy as number).toBeGreaterThan(0.9);
    expect(evaluation.roc_auc as number).toBeGreaterThan(0.95);
    for (const metric of ['precision', 'recall', 'f1', 'precision_macro', 'recall_weighted', 'f1_macro']) {
      expect(evaluation[metric]).toEqual(expect.any(Number));
    }
    const cm = evaluation.confusion_matrix as { labels: Label[]; matrix: number[][] };
    expect(cm).toEqual(confusionMatrix(truth, predictor.predict(test), ['benign', 'malignant']));
    const roc = evaluation.roc_curve as { fpr: number[]; tpr: number[] };
    expect(roc.fpr[0]).toBe(0);
    expect(roc.tpr.at(-1)).toBe(1);
    expect(evaluation.calibration_curve).toBeDefined();
  });

  it('multiclass: one-vs-rest AUC, per-class ROC curves and a 3×3 confusion matrix whose rows count each class', () => {
    const { train, test } = holdOut(wine);
    const predictor = loadModel(
      trainModel(train, { label: 'cultivar', task: 'classification', estimator: fast }),
    );
    const evaluation = evaluateModel(predictor, test);
    const classes = ['class_0', 'class_1', 'class_2'];
    const truth = test.map((row) => row.cultivar as Label);
    expect(evaluation.roc_auc_ovr_macro).toBe(
      rocAucOvr(truth, predictor.predictProba(test), classes, { average: 'macro' }),
    );
    expect(evaluation.roc_auc_ovr_macro as number).toBeGreaterThan(0.9);
    expect(evaluation.roc_auc_ovr_weighted).toEqual(expect.any(Number));
    expect(evaluation.roc_auc).toBeUndefined();
    const cm = evaluation.confusion_matrix as { labels: Label[]; matrix: number[][] };
    expect(cm.labels).toEqual(classes);
    expect(cm.matrix).toHaveLength(3);
    for (const row of cm.matrix) expect(row).toHaveLength(3);
    expect(cm.matrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual(
      classes.map((c) => truth.filter((y) => y === c).length),
    );
    const curves = evaluation.roc_curves as { class: Label; fpr: number[]; tpr: number[] }[];
    expect(curves.map((c) => c.class)).toEqual(classes);
    for (const curve of curves) {
      expect(curve.fpr[0]).toBe(0);
      expect(curve.tpr.at(-1)).toBe(1);
    }
  });

  it('regression: r2, rmse and mae equal the metric functions', () => {
    const { train, test } = holdOut(diabetes);
    const predictor = loadModel(
      trainModel(train, { label: 'progression', task: 'regression', algorithm: 'linear_regression' }),
    );
    const evaluation = evaluateModel(predictor, test);
    const truth = test.map((row) => row.progression as number);
    const predicted = predictor.predict(test) as number[];
    expect(evaluation.r2).toBe(r2(truth, predicted));
    expect(evaluation.rmse).toBe(rmse(truth, predicted));
    expect(evaluation.mae).toBe(mae(truth, predicted));
    expect(evaluation.mape).toEqual(expect.any(Number));
    expect(evaluation.accuracy).toBeUndefined();
  });

  it('sliceBy: one slice per value, counts summing to the rows', () => {
    const rows = mixedRows();
    const predictor = loadModel(
      trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' }),
    );
    const evaluation = evaluateModel(predictor, rows, { sliceBy: 'city' });
    const slices = evaluation.slices as { slice: string; count: number; metrics: Record<string, number> }[];
    expect(slices.map((s) => s.slice)).toEqual(['lyon', 'nice', 'paris']);
    expect(slices.reduce((sum, s) => sum + s.count, 0)).toBe(rows.length);
    for (const s of slices) expect(s.metrics.accuracy).toEqual(expect.any(Number));

    const regression = loadModel(
      trainModel(diabetes, { label: 'progression', task: 'regression', algorithm: 'linear_regression' }),
    );
    const bySex = evaluateModel(regression, diabetes, { sliceBy: 'sex' }).slices as {
      slice: number;
      count: number;
      metrics: Record<string, number>;
    }[];
    expect(bySex.map((s) => s.slice)).toEqual([1, 2]);
    expect(bySex.reduce((sum, s) => sum + s.count, 0)).toBe(diabetes.length);
    expect(() => evaluateModel(predictor, rows, { sliceBy: 'region' })).toThrow(/slice column 'region'/);
  });

  it('a label the model never saw, or no label column, is an error naming it', () => {
    const rows = mixedRows();
    const predictor = loadModel(
      trainModel(rows, { label: 'y', task: 'classification', algorithm: 'logistic_regression' }),
    );
    const withNew = rows.map((row, i) => (i === 3 ? { ...row, y: 'medium' } : row));
    expect(() => evaluateModel(predictor, withNew)).toThrow(/label "medium", which the model never saw/);
    const noLabel = rows.map(({ y: _, ...row }) => row);
    expect(() => evaluateModel(predictor, noLabel)).toThrow(/label column 'y' is not in the evaluation data/);
    expect(() => evaluateModel(predictor, [])).toThrow(/no rows/);
  });
});

describe('tuning', () => {
  it('gridSearch: every combination, the last parameter fastest', () => {
    const grid = gridSearch({ learningRate: [0.05, 0.1], maxLeaves: [7, 15, 31], loss: ['log'] });
    expect(grid).toHaveLength(6);
    expect(grid).toEqual([
      { learningRate: 0.05, maxLeaves: 7, loss: 'log' },
      { learningRate: 0.05, maxLeaves: 15, loss: 'log' },
      { learningRate: 0.05, maxLeaves: 31, loss: 'log' },
      { learningRate: 0.1, maxLeaves: 7, loss: 'log' },
      { learningRate: 0.1, maxLeaves: 15, loss: 'log' },
      { learningRate: 0.1, maxLeaves: 31, loss: 'log' },
    ]);
    expect(() => gridSearch({})).toThrow(/search space is empty/);
    expect(() => gridSearch({ learningRate: [] })).toThrow(/'learningRate' needs a non-empty list/);
  });

  it('randomSearch: deterministic by seed, within ranges, log and integer ranges', () => {
    const space = {
      learningRate: { min: 0.001, max: 0.3, log: true },
      maxLeaves: { min: 4, max: 64, integer: true },
      l2: { min: 0, max: 1 },
      loss: ['log', 'hinge'],
    };
    const a = randomSearch(space, { trials: 50, seed: 7 });
    expect(a).toHaveLength(50);
    expect(randomSearch(space, { trials: 50, seed: 7 })).toEqual(a);
    expect(randomSearch(space, { trials: 50, seed: 8 })).not.toEqual(a);
    for (const c of a) {
      expect(c.learningRate as number).toBeGreaterThanOrEqual(0.001);
      expect(c.learningRate as number).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(c.maxLeaves)).toBe(true);
      expect(c.maxLeaves as number).toBeGreaterThanOrEqual(4);
      expect(c.maxLeaves as number).toBeLessThanOrEqual(64);
      expect(c.l2 as number).toBeGreaterThanOrEqual(0);
      expect(c.l2 as number).toBeLessThanOrEqual(1);
      expect(['log', 'hinge']).toContain(c.loss);
    }
    // Log-uniform: about half the draws fall below the geometric midpoint sqrt(0.001 * 0.3) ≈ 0.017.
    const below = a.filter((c) => (c.learningRate as number) < Math.sqrt(0.001 * 0.3)).length;
    expect(below).toBeGreaterThan(10);
    expect(below).toBeLessThan(40);
    // Both choices of the list come up.
    expect(new Set(a.map((c) => c.loss)).size).toBe(2);
  });

  it('randomSearch rejects bad spaces', () => {
    expect(() => randomSearch({ a: [1] }, { trials: 0 })).toThrow(/trials must be an integer >= 1/);
    expect(() => randomSearch({ a: [1] }, { trials: 1.5 })).toThrow(/trials/);
    expect(() => randomSearch({}, { trials: 3 })).toThrow(/search space is empty/);
    expect(() => randomSearch({ a: [] }, { trials: 3 })).toThrow(/'a' needs a non-empty list/);
    expect(() => randomSearch({ a: { min: 2, max: 1 } }, { trials: 3 })).toThrow(
      /'a' needs finite min <= max/,
    );
    expect(() => randomSearch({ a: { min: 0, max: 1, log: true } }, { trials: 3 })).toThrow(
      /'a' is log-uniform, so min must be > 0/,
    );
    expect(() => randomSearch({ a: { min: 1.2, max: 1.8, integer: true } }, { trials: 3 })).toThrow(
      /'a' .*no integer/,
    );
  });

  it('bestTrial: the best by the metric, the first on ties, an error naming a trial without it', () => {
    const trials: Trial[] = [
      { index: 0, params: { a: 1 }, metrics: { accuracy: 0.8, log_loss: 0.5 } },
      { index: 1, params: { a: 2 }, metrics: { accuracy: 0.9, log_loss: 0.3 } },
      { index: 2, params: { a: 3 }, metrics: { accuracy: 0.9, log_loss: 0.3 } },
      { index: 3, params: { a: 4 }, metrics: { accuracy: 0.7, log_loss: 0.2 } },
    ];
    expect(bestTrial(trials, 'accuracy').index).toBe(1);
    expect(bestTrial(trials, 'log_loss', false).index).toBe(3);
    expect(bestTrial(trials.slice(1, 3), 'log_loss', false).index).toBe(1);
    const broken = [...trials, { index: 4, params: {}, metrics: { log_loss: 0.1 } }];
    expect(() => bestTrial(broken, 'accuracy')).toThrow(
      /trial 4 has no finite 'accuracy' \(metrics: log_loss\)/,
    );
    const nan = [...trials, { index: 5, params: {}, metrics: { accuracy: Number.NaN } }];
    expect(() => bestTrial(nan, 'accuracy')).toThrow(/trial 5/);
    expect(() => bestTrial([], 'accuracy')).toThrow(/no trials/);
  });
});
