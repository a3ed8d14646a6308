import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decisionFunction,
  fitLinearRegression,
  fitLogisticRegression,
  predictClass,
  predictLinear,
  predictProba,
} from '../../src/ml/linear.js';
import { accuracy, type Label, r2 } from '../../src/ml/metrics.js';

/** Reference values from scikit-learn 1.2.1 / numpy 1.24: test/fixtures/ml/make_linear_fixtures.py. */
interface Fixtures {
  sklearn: string;
  regression: {
    name: string;
    l2: number;
    X: number[][];
    y: number[];
    coefficients: number[];
    intercept: number;
    predictions: number[];
  }[];
  logistic: {
    name: string;
    l2: number;
    X: number[][];
    y: Label[];
    classes: Label[];
    coefficients: number[][];
    intercepts: number[];
    proba: number[][];
    sklearnGradient: number;
    refined: { coefficients: number[][]; intercepts: number[] };
    refinedGradient: number;
  }[];
  logisticRaw: {
    dataset: string;
    label: string;
    l2: number;
    objective: number;
    sklearnAccuracy: number;
    proba: number[][];
  }[];
  cv: { dataset: string; label: string; model: string; folds: number[][]; scores: number[]; mean: number }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/ml/linear-fixtures.json', import.meta.url), 'utf8'),
) as Fixtures;

const DATASETS = '/work/shared/datasets';

function loadCsv(name: string, label: string): { X: number[][]; y: string[]; yNum: number[] } {
  const lines = readFileSync(`${DATASETS}/${name}.csv`, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  const li = header.indexOf(label);
  const X: number[][] = [];
  const y: string[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    X.push(cells.filter((_, j) => j !== li).map(Number));
    y.push(cells[li]!);
  }
  return { X, y, yNum: y.map(Number) };
}

/** StandardScaler fitted on `train` rows (population std; constant columns scaled by 1). */
function standardizer(X: number[][], train: number[]): (row: number[]) => number[] {
  const p = X[0]!.length;
  const mean = new Array<number>(p).fill(0);
  const sd = new Array<number>(p).fill(0);
  for (const i of train) {
    X[i]!.forEach((v, j) => {
      mean[j]! += v;
    });
  }
  for (let j = 0; j < p; j++) mean[j]! /= train.length;
  for (const i of train) {
    X[i]!.forEach((v, j) => {
      sd[j]! += (v - mean[j]!) ** 2;
    });
  }
  for (let j = 0; j < p; j++) sd[j] = Math.sqrt(sd[j]! / train.length) || 1;
  return (row) => row.map((v, j) => (v - mean[j]!) / sd[j]!);
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

describe('fixtures', () => {
  it('come from scikit-learn 1.2.1', () => {
    expect(fixtures.sklearn).toBe('1.2.1');
  });
});

describe('fitLinearRegression equals sklearn Ridge / LinearRegression', () => {
  for (const c of fixtures.regression) {
    it(c.name, () => {
      const model = fitLinearRegression(c.X, c.y, { l2: c.l2 });
      expect(model.kind).toBe('linear-regression');
      expect(model.features).toBe(c.X[0]!.length);
      const scale = Math.max(1, ...c.coefficients.map(Math.abs));
      expect(maxAbsDiff(model.coefficients[0]!, c.coefficients)).toBeLessThan(1e-8 * scale);
      expect(Math.abs(model.intercepts[0]! - c.intercept)).toBeLessThan(
        1e-8 * Math.max(1, Math.abs(c.intercept)),
      );
      expect(maxAbsDiff(predictLinear(model, c.X), c.predictions)).toBeLessThan(1e-8);
      // Float64Array rows and a JSON round trip predict the same.
      const again = JSON.parse(JSON.stringify(model));
      expect(
        predictLinear(
          again,
          c.X.map((r) => Float64Array.from(r)),
        ),
      ).toEqual(predictLinear(model, c.X));
    });
  }
});

describe('fitLogisticRegression equals sklearn LogisticRegression(lbfgs)', () => {
  for (const c of fixtures.logistic) {
    it(c.name, () => {
      const model = fitLogisticRegression(c.X, c.y, { l2: c.l2 });
      expect(model.converged).toBe(true);
      expect(model.classes).toEqual(c.classes);
      expect(model.coefficients.length).toBe(c.coefficients.length);
      // sklearn's lbfgs stops early (scipy's default ftol): allow 1e-5 plus its own distance from
      // the exact optimum (Newton-refined in the fixture script); ours is within 1e-6 of the latter.
      const sklearnOff = Math.max(
        maxAbsDiff(c.intercepts, c.refined.intercepts),
        ...c.coefficients.map((row, k) => maxAbsDiff(row, c.refined.coefficients[k]!)),
      );
      model.coefficients.forEach((row, k) => {
        expect(maxAbsDiff(row, c.refined.coefficients[k]!)).toBeLessThan(1e-6);
        expect(maxAbsDiff(row, c.coefficients[k]!)).toBeLessThan(1e-5 + sklearnOff);
      });
      expect(maxAbsDiff(model.intercepts, c.refined.intercepts)).toBeLessThan(1e-6);
      expect(maxAbsDiff(model.intercepts, c.intercepts)).toBeLessThan(1e-5 + sklearnOff);
      const proba = predictProba(model, c.X);
      proba.forEach((row, i) => {
        expect(maxAbsDiff(row, c.proba[i]!)).toBeLessThan(1e-5 + sklearnOff);
      });
      const predicted = predictClass(model, c.X);
      const expected = c.proba.map((row) => c.classes[row.indexOf(Math.max(...row))]!);
      expect(accuracy(expected, predicted)).toBe(1);
      expect(decisionFunction(model, c.X).length).toBe(c.X.length);
      const again = JSON.parse(JSON.stringify(model));
      expect(predictProba(again, c.X)).toEqual(proba);
    });
  }

  for (const c of fixtures.logisticRaw) {
    it(`reaches the exact optimum on raw, badly scaled features (${c.dataset})`, () => {
      // The internal change of variables is a preconditioner only: the objective is sklearn's on
      // the raw features. Reference: Newton-refined optimum (sklearn's own lbfgs stops far off).
      const { X, y } = loadCsv(c.dataset, c.label);
      const model = fitLogisticRegression(X, y, { l2: c.l2 });
      expect(model.converged).toBe(true);
      expect(Math.abs(model.objective - c.objective)).toBeLessThan(1e-9 * c.objective);
      const proba = predictProba(model, X);
      proba.forEach((row, i) => {
        expect(maxAbsDiff(row, c.proba[i]!)).toBeLessThan(1e-6);
      });
      expect(accuracy(y, predictClass(model, X))).toBeGreaterThanOrEqual(c.sklearnAccuracy);
    });
  }
});

describe('5-fold CV on real datasets is within 0.02 of scikit-learn', () => {
  for (const c of fixtures.cv) {
    it(`${c.dataset}: ${c.model}`, () => {
      const { X, y, yNum } = loadCsv(c.dataset, c.label);
      const scores: number[] = [];
      for (const test of c.folds) {
        const inTest = new Set(test);
        const train = X.map((_, i) => i).filter((i) => !inTest.has(i));
        if (c.model === 'LinearRegression') {
          const model = fitLinearRegression(
            train.map((i) => X[i]!),
            train.map((i) => yNum[i]!),
          );
          scores.push(
            r2(
              test.map((i) => yNum[i]!),
              predictLinear(
                model,
                test.map((i) => X[i]!),
              ),
            )!,
          );
          continue;
        }
        const scale = standardizer(X, train);
        const Xtr = train.map((i) => scale(X[i]!));
        const Xte = test.map((i) => scale(X[i]!));
        if (c.model.includes('Ridge')) {
          const model = fitLinearRegression(
            Xtr,
            train.map((i) => yNum[i]!),
            { l2: 1 },
          );
          scores.push(
            r2(
              test.map((i) => yNum[i]!),
              predictLinear(model, Xte),
            )!,
          );
        } else {
          const model = fitLogisticRegression(
            Xtr,
            train.map((i) => y[i]!),
            { l2: 1 },
          );
          expect(model.converged).toBe(true);
          scores.push(
            accuracy(
              test.map((i) => y[i]!),
              predictClass(model, Xte),
            ),
          );
        }
      }
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      expect(Math.abs(mean - c.mean), `ours ${mean} vs sklearn ${c.mean}`).toBeLessThan(0.02);
    });
  }
});

describe('edge cases', () => {
  it('l2 = 0 on overlapping classes, Float64Array rows, constant column', () => {
    const X = [
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [1.5, 1],
      [2.5, 1],
    ].map((r) => Float64Array.from(r));
    const y = ['a', 'a', 'b', 'b', 'b', 'a'];
    const model = fitLogisticRegression(X, y, { l2: 0 });
    expect(model.converged).toBe(true);
    expect(model.coefficients[0]![1]).toBeCloseTo(0, 8);
    // Unpenalized: the gradient of the log-loss vanishes, so Σ(p − t) = 0 and Σ(p − t)x = 0.
    const proba = predictProba(model, X);
    const resid = proba.map((r, i) => r[1]! - (y[i] === 'b' ? 1 : 0));
    expect(Math.abs(resid.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
    expect(Math.abs(resid.reduce((a, r, i) => a + r * X[i]![0]!, 0))).toBeLessThan(1e-6);
  });
  it('maxIterations caps the work and reports converged = false', () => {
    const fx = fixtures.logistic[3]!;
    const model = fitLogisticRegression(fx.X, fx.y, { l2: fx.l2, maxIterations: 2 });
    expect(model.iterations).toBe(2);
    expect(model.converged).toBe(false);
  });
});

describe('bad input', () => {
  const X = [
    [1, 2],
    [2, 1],
    [3, 5],
    [4, 3],
  ];
  const y = [1, 2, 3, 5];
  it('NaN / Infinity in X or y names the row and column', () => {
    expect(() =>
      fitLinearRegression(
        [
          [1, 2],
          [3, Number.NaN],
          [1, 1],
        ],
        [1, 2, 3],
      ),
    ).toThrow(/X\[1\]\[1\] \(row 1, column 1\) is not a finite number \(NaN\)/);
    expect(() => fitLogisticRegression([[1], [Number.POSITIVE_INFINITY]], ['a', 'b'])).toThrow(
      /row 1, column 0.*Infinity/,
    );
    expect(() => fitLinearRegression(X, [1, 2, Number.NaN, 4])).toThrow(/y\[2\] \(row 2\)/);
    expect(() => fitLogisticRegression(X, [0, 1, Number.NaN, 1])).toThrow(/y\[2\] \(row 2\)/);
  });
  it('empty, ragged, length mismatch', () => {
    expect(() => fitLinearRegression([], [])).toThrow(RangeError);
    expect(() => fitLinearRegression([], [])).toThrow(/empty/);
    expect(() => fitLinearRegression([[1, 2], [3]], [1, 2])).toThrow(
      /ragged: row 1 has 1 columns but row 0 has 2/,
    );
    expect(() => fitLinearRegression(X, [1, 2, 3])).toThrow(/same number of rows \(got 4 and 3\)/);
    expect(() => fitLogisticRegression(X, ['a', 'b'])).toThrow(RangeError);
  });
  it('single class, mixed label types', () => {
    expect(() => fitLogisticRegression(X, ['a', 'a', 'a', 'a'])).toThrow(/single class \("a"\)/);
    expect(() => fitLogisticRegression(X, ['a', 1, 'a', 1])).toThrow(/y\[1\] \(row 1\): labels mix/);
  });
  it('singular least squares with l2 = 0 names the columns', () => {
    const constant = X.map((r) => [...r, 7]);
    expect(() => fitLinearRegression(constant, y)).toThrow(/column 2 is constant.*l2/);
    const collinear = X.map((r) => [r[0]!, r[1]!, 2 * r[0]! - r[1]!]);
    expect(() => fitLinearRegression(collinear, y)).toThrow(
      /column 2 is \(nearly\) a linear combination of columns 0, 1/,
    );
    // ridge is fine
    const model = fitLinearRegression(collinear, y, { l2: 0.1 });
    expect(model.coefficients[0]!.every(Number.isFinite)).toBe(true);
    expect(fitLinearRegression(constant, y, { l2: 0.1 }).coefficients[0]![2]).toBe(0);
  });
  it('feature count mismatch at predict names expected vs got', () => {
    const lin = fitLinearRegression(X, y);
    expect(() => predictLinear(lin, [[1, 2, 3]])).toThrow(/expected 2, got 3/);
    const log = fitLogisticRegression(X, ['a', 'b', 'a', 'b']);
    expect(() => predictProba(log, [[1]])).toThrow(/expected 2, got 1/);
    expect(() => predictClass(log, [[1, Number.NaN]])).toThrow(/row 0, column 1/);
  });
  it('bad options', () => {
    expect(() => fitLinearRegression(X, y, { l2: -1 })).toThrow(/l2/);
    expect(() => fitLogisticRegression(X, [0, 1, 0, 1], { maxIterations: 1.5 })).toThrow(/maxIterations/);
  });
});
