import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  calibrationCurve,
  confusionMatrix,
  type Label,
  logLoss,
  mae,
  mape,
  meanSquaredError,
  pairwiseSum,
  precisionRecallF1,
  r2,
  rmse,
  rocAuc,
  rocAucOvr,
  rocCurve,
  slicedMetrics,
} from '../../src/ml/metrics.js';

type Average = 'binary' | 'macro' | 'weighted' | 'micro';

/** Reference values from scikit-learn 1.2.1 / numpy 1.24: test/fixtures/ml/make_metric_fixtures.py. */
interface Fixtures {
  sklearn: string;
  classification: {
    name: string;
    yTrue: Label[];
    yPred: Label[];
    accuracy: number;
    confusion: { labels: Label[]; matrix: number[][] };
    labels?: Label[];
    confusionWithLabels?: number[][];
    positiveLabel?: Label;
    prf: {
      average: Average;
      zeroDivision: 0 | 1;
      withLabels: boolean;
      precision: number;
      recall: number;
      f1: number;
    }[];
  }[];
  scores: {
    name: string;
    yTrue: Label[];
    scores: number[];
    positiveLabel: Label;
    rocCurve: { fpr: number[]; tpr: number[]; thresholds: number[] };
    rocAuc: number;
    logLoss?: { classes: Label[]; probabilities: number[][]; value: number };
    calibration: { bins: number; strategy: 'uniform' | 'quantile'; probTrue: number[]; probPred: number[] }[];
  }[];
  probabilities: {
    name: string;
    yTrue: Label[];
    probabilities: number[][];
    classes: Label[];
    logLoss: { eps: number | null; value: number }[];
    rocAucOvr?: { macro: number; weighted: number };
  }[];
  regression: {
    name: string;
    yTrue: number[];
    yPred: number[];
    mse: number;
    rmse: number;
    mae: number;
    mape: number;
    r2: number | null;
  }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/ml/metric-fixtures.json', import.meta.url), 'utf8'),
) as Fixtures;

/**
 * Relative tolerance for every comparison with scikit-learn. The port sums in numpy's pairwise
 * order, so most values are bit-identical; 1e-12 leaves room for Math.log vs libm's log.
 */
const REL = 1e-12;

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || actual === null) {
    expect(actual, what).toBe(expected);
    return;
  }
  expect(Number.isFinite(actual), `${what}: ${actual} is not finite`).toBe(true);
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(REL);
}

function closeAll(actual: number[], expected: number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  expected.forEach((e, i) => {
    close(actual[i]!, e, `${what}[${i}]`);
  });
}

describe('fixtures', () => {
  it('come from scikit-learn 1.2.1', () => {
    expect(fixtures.sklearn).toBe('1.2.1');
  });
});

describe('classification metrics vs scikit-learn', () => {
  for (const c of fixtures.classification) {
    it(c.name, () => {
      close(accuracy(c.yTrue, c.yPred), c.accuracy, 'accuracy');
      expect(confusionMatrix(c.yTrue, c.yPred)).toEqual(c.confusion);
      if (c.labels) {
        expect(confusionMatrix(c.yTrue, c.yPred, c.labels)).toEqual({
          labels: c.labels,
          matrix: c.confusionWithLabels,
        });
      }
      for (const e of c.prf) {
        const got = precisionRecallF1(c.yTrue, c.yPred, {
          average: e.average,
          zeroDivision: e.zeroDivision,
          ...(e.average === 'binary' ? { positiveLabel: c.positiveLabel! } : {}),
          ...(e.withLabels ? { labels: c.labels! } : {}),
        });
        const what = `${e.average} zd=${e.zeroDivision} labels=${e.withLabels}`;
        close(got.precision, e.precision, `${what} precision`);
        close(got.recall, e.recall, `${what} recall`);
        close(got.f1, e.f1, `${what} f1`);
      }
    });
  }
});

describe('binary score metrics vs scikit-learn', () => {
  for (const c of fixtures.scores) {
    it(c.name, () => {
      const curve = rocCurve(c.yTrue, c.scores, c.positiveLabel);
      closeAll(curve.fpr, c.rocCurve.fpr, 'fpr');
      closeAll(curve.tpr, c.rocCurve.tpr, 'tpr');
      closeAll(curve.thresholds, c.rocCurve.thresholds, 'thresholds');
      close(rocAuc(c.yTrue, c.scores, { positiveLabel: c.positiveLabel }), c.rocAuc, 'rocAuc');
      if (c.logLoss) {
        close(logLoss(c.yTrue, c.logLoss.probabilities, c.logLoss.classes), c.logLoss.value, 'logLoss');
      }
      for (const e of c.calibration) {
        const got = calibrationCurve(c.yTrue, c.scores, c.positiveLabel, {
          bins: e.bins,
          strategy: e.strategy,
        });
        closeAll(got.probTrue, e.probTrue, `${e.strategy}/${e.bins} probTrue`);
        closeAll(got.probPred, e.probPred, `${e.strategy}/${e.bins} probPred`);
      }
    });
  }
});

describe('probability metrics vs scikit-learn', () => {
  for (const c of fixtures.probabilities) {
    it(c.name, () => {
      for (const e of c.logLoss) {
        const got = logLoss(c.yTrue, c.probabilities, c.classes, e.eps === null ? {} : { eps: e.eps });
        close(got, e.value, `logLoss eps=${e.eps}`);
      }
      if (c.rocAucOvr) {
        close(
          rocAucOvr(c.yTrue, c.probabilities, c.classes, { average: 'macro' }),
          c.rocAucOvr.macro,
          'macro',
        );
        close(
          rocAucOvr(c.yTrue, c.probabilities, c.classes, { average: 'weighted' }),
          c.rocAucOvr.weighted,
          'weighted',
        );
      }
    });
  }

  it('accept classes in any order with matching columns', () => {
    const c = fixtures.probabilities.find((p) => p.name === 'three-strings')!;
    const perm = [2, 0, 1];
    const classes = perm.map((k) => c.classes[k]!);
    const probs = c.probabilities.map((row) => perm.map((k) => row[k]!));
    close(logLoss(c.yTrue, probs, classes), c.logLoss[0]!.value, 'logLoss permuted');
    close(rocAucOvr(c.yTrue, probs, classes, { average: 'macro' }), c.rocAucOvr!.macro, 'ovr permuted');
  });
});

describe('regression metrics vs scikit-learn', () => {
  for (const c of fixtures.regression) {
    it(c.name, () => {
      close(meanSquaredError(c.yTrue, c.yPred), c.mse, 'mse');
      close(rmse(c.yTrue, c.yPred), c.rmse, 'rmse');
      close(mae(c.yTrue, c.yPred), c.mae, 'mae');
      close(mape(c.yTrue, c.yPred), c.mape, 'mape');
      close(r2(c.yTrue, c.yPred), c.r2, 'r2');
    });
  }
});

describe('pairwiseSum', () => {
  it('sums exactly representable values exactly at every block size', () => {
    for (const n of [0, 1, 7, 8, 9, 127, 128, 129, 300, 1000]) {
      const xs = Array.from({ length: n }, (_, i) => i + 0.5);
      expect(pairwiseSum(xs)).toBe((n * n) / 2);
    }
  });
});

describe('slicedMetrics', () => {
  it('groups row indices by slice value, numbers then strings then null', () => {
    const column = ['b', 2, null, 'a', 2, 'b', 10, null];
    const out = slicedMetrics(column, (ix) => ({ first: ix[0]!, n: ix.length }));
    expect(out).toEqual([
      { slice: 2, count: 2, metrics: { first: 1, n: 2 } },
      { slice: 10, count: 1, metrics: { first: 6, n: 1 } },
      { slice: 'a', count: 1, metrics: { first: 3, n: 1 } },
      { slice: 'b', count: 2, metrics: { first: 0, n: 2 } },
      { slice: null, count: 2, metrics: { first: 2, n: 2 } },
    ]);
  });

  it('computes per-slice metrics from the indices', () => {
    const yTrue = [1, 0, 1, 1, 0, 0];
    const yPred = [1, 0, 0, 1, 1, 0];
    const region = ['n', 'n', 's', 's', 's', 'n'];
    const out = slicedMetrics(region, (ix) => ({
      accuracy: accuracy(
        ix.map((i) => yTrue[i]!),
        ix.map((i) => yPred[i]!),
      ),
    }));
    expect(out.map((s) => [s.slice, s.count, s.metrics.accuracy])).toEqual([
      ['n', 3, 1],
      ['s', 3, 1 / 3],
    ]);
  });

  it('rejects non-finite slice values', () => {
    expect(() => slicedMetrics([1, Number.NaN], () => ({}))).toThrow(/sliceColumn\[1\]/);
  });
});

describe('bad input', () => {
  const rangeError = (fn: () => unknown, name: RegExp) => {
    expect(fn).toThrow(RangeError);
    expect(fn).toThrow(name);
  };

  it('length mismatch names both arguments', () => {
    rangeError(() => accuracy([1, 0], [1]), /yTrue and yPred/);
    rangeError(() => confusionMatrix([1, 0], [1]), /yTrue and yPred/);
    rangeError(() => precisionRecallF1([1], [1, 0], { average: 'macro' }), /yTrue and yPred/);
    rangeError(() => rocCurve([0, 1], [0.5], 1), /yTrue and scores/);
    rangeError(() => rocAuc([0, 1, 1], [0.5, 0.2], { positiveLabel: 1 }), /yTrue and scores/);
    rangeError(() => logLoss([0, 1], [[0.5, 0.5]], [0, 1]), /yTrue and probabilities/);
    rangeError(
      () => rocAucOvr([0, 1, 2], [[1, 0, 0]], [0, 1, 2], { average: 'macro' }),
      /yTrue and probabilities/,
    );
    rangeError(() => calibrationCurve([0, 1], [0.3], 1), /yTrue and probPositive/);
    rangeError(() => meanSquaredError([1, 2], [1]), /yTrue and yPred/);
    rangeError(() => r2([1, 2], [1, 2, 3]), /yTrue and yPred/);
  });

  it('empty input', () => {
    rangeError(() => accuracy([], []), /yTrue is empty/);
    rangeError(() => rocCurve([], [], 1), /yTrue is empty/);
    rangeError(() => logLoss([], [], [0, 1]), /yTrue is empty/);
    rangeError(() => calibrationCurve([], [], 1), /yTrue is empty/);
    rangeError(() => mae([], []), /yTrue is empty/);
    rangeError(() => mape([], []), /yTrue is empty/);
    rangeError(() => rmse([], []), /yTrue is empty/);
    rangeError(() => confusionMatrix([0], [0], []), /labels is empty/);
  });

  it('NaN or Infinity in scores, probabilities, targets or labels', () => {
    rangeError(() => rocCurve([0, 1], [0.1, Number.NaN], 1), /scores\[1\]/);
    rangeError(() => rocAuc([0, 1], [Number.POSITIVE_INFINITY, 0], { positiveLabel: 1 }), /scores\[0\]/);
    rangeError(() => calibrationCurve([0, 1], [0.1, Number.NaN], 1), /probPositive\[1\]/);
    rangeError(() => calibrationCurve([0, 1], [0.1, 1.5], 1), /probPositive\[1\]/);
    rangeError(
      () =>
        logLoss(
          [0, 1],
          [
            [0.5, 0.5],
            [Number.NaN, 1],
          ],
          [0, 1],
        ),
      /probabilities\[1\]\[0\]/,
    );
    rangeError(() => r2([1, Number.NaN], [1, 2]), /yTrue\[1\]/);
    rangeError(() => mape([1, 2], [1, Number.NEGATIVE_INFINITY]), /yPred\[1\]/);
    rangeError(() => accuracy([1, Number.NaN], [1, 1]), /yTrue\[1\]/);
    rangeError(() => accuracy(['a', 1], ['a', 'a']), /yTrue\[1\].*mix/);
    rangeError(() => accuracy(['a', 'b'], [1, 2]), /yPred\[0\].*mix/);
  });

  it('probability rows that do not match classes', () => {
    rangeError(
      () => logLoss([0, 1], [[0.5, 0.5], [1]], [0, 1]),
      /probabilities\[1\] must have one probability per class \(2\)/,
    );
    rangeError(() => logLoss([0, 1], [[0.5, 0.5, 0]], [0, 1]), /probabilities/);
    rangeError(
      () =>
        logLoss(
          [0, 2],
          [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
          [0, 1],
        ),
      /yTrue\[1\] = 2 is not in classes/,
    );
    rangeError(() => logLoss([0, 1], [[-0.1, 1.1]], [0, 1]), /yTrue and probabilities/);
    rangeError(
      () =>
        logLoss(
          [0, 1],
          [
            [-0.1, 1.1],
            [0.5, 0.5],
          ],
          [0, 1],
        ),
      /probabilities\[0\]\[0\] = -0.1 is outside \[0, 1\]/,
    );
    rangeError(() => logLoss([0, 0], [[1], [1]], [0]), /classes: log loss needs at least two classes/);
    rangeError(
      () =>
        logLoss(
          [0, 1],
          [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
          [0, 0],
        ),
      /classes contains 0 twice/,
    );
    rangeError(
      () =>
        logLoss(
          [0, 1],
          [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
          [0, 1],
          { eps: 0 },
        ),
      /options.eps/,
    );
    const y = [0, 1, 2, 0];
    const p = [
      [0.8, 0.1, 0.1],
      [0.1, 0.8, 0.1],
      [0.1, 0.1, 0.8],
      [0.6, 0.3, 0.1],
    ];
    rangeError(
      () => rocAucOvr(y, p, [0, 1, 2, 3], { average: 'macro' }),
      /probabilities\[0\] must have one probability per class \(4\)/,
    );
    rangeError(
      () => rocAucOvr(y, [...p.slice(0, 3), [0.6, 0.3, 0.3]], [0, 1, 2], { average: 'macro' }),
      /probabilities\[3\] does not sum to 1/,
    );
    rangeError(
      () => rocAucOvr([0, 1, 3, 0], p, [0, 1, 2], { average: 'macro' }),
      /yTrue\[2\] = 3 is not in classes/,
    );
    rangeError(
      () =>
        rocAucOvr(
          [0, 1],
          [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
          [0, 1],
          { average: 'macro' },
        ),
      /at least 3 classes/,
    );
  });

  it('a single class where ROC AUC is undefined', () => {
    rangeError(() => rocAuc([1, 1, 1], [0.2, 0.5, 0.9], { positiveLabel: 1 }), /only positive samples/);
    rangeError(() => rocAuc([0, 0], [0.2, 0.5], { positiveLabel: 1 }), /no samples of positiveLabel 1/);
    rangeError(() => rocCurve(['a', 'a'], [0.2, 0.5], 'b'), /yTrue has no samples of positiveLabel "b"/);
    rangeError(() => rocCurve([0, 1, 2], [0.2, 0.5, 0.1], 1), /yTrue has 3 classes/);
    const p = [
      [0.8, 0.1, 0.1],
      [0.1, 0.8, 0.1],
      [0.6, 0.3, 0.1],
    ];
    rangeError(() => rocAucOvr([0, 1, 0], p, [0, 1, 2], { average: 'weighted' }), /2 never occurs in yTrue/);
  });

  it('invalid options and labels', () => {
    rangeError(() => precisionRecallF1([0, 1, 2], [0, 1, 1], { average: 'binary' }), /at most two classes/);
    rangeError(
      () => precisionRecallF1(['a', 'b'], ['a', 'b'], { average: 'binary', positiveLabel: 'c' }),
      /options.positiveLabel "c"/,
    );
    rangeError(() => precisionRecallF1([0, 1], [0, 1], { average: 'samples' as never }), /options.average/);
    rangeError(
      () => precisionRecallF1([0, 1], [0, 1], { average: 'macro', zeroDivision: 2 as never }),
      /zeroDivision/,
    );
    rangeError(
      () => confusionMatrix([0, 1], [0, 1], [5, 6]),
      /labels: at least one label must occur in yTrue/,
    );
    rangeError(() => confusionMatrix([0, 1], [0, 1], ['0']), /labels\[0\].*mix/);
    rangeError(() => calibrationCurve([0, 1], [0.2, 0.4], 1, { bins: 0 }), /options.bins/);
    rangeError(() => calibrationCurve([0, 1, 2], [0.2, 0.4, 0.1], 1), /yTrue has 3 classes/);
    rangeError(
      () => calibrationCurve([0, 1], [0.2, 0.4], 1, { strategy: 'kmeans' as never }),
      /options.strategy/,
    );
  });

  it('returns null, not NaN, where scikit-learn returns nan', () => {
    expect(r2([3], [2.5])).toBeNull();
  });
});
