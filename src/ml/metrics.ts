/**
 * Evaluation metrics equal to scikit-learn 1.2.1's (numpy 1.24), in pure TypeScript.
 *
 * Numerics: every sum that numpy computes with `np.add.reduce` is computed here with the same
 * pairwise algorithm (`pairwiseSum`, a port of numpy's `pairwise_sum`), in the same order, so
 * results normally agree with scikit-learn bit for bit (and within 1e-12 relative otherwise — the
 * only remaining difference is `Math.log`/`Math.sqrt` vs the C library). Counts are exact integers.
 *
 * Labels are `string | number`; one call must not mix strings and numbers (scikit-learn raises
 * "Mix of label input types"). Classes, when derived, are the sorted union of the labels seen:
 * numbers ascending, strings by Unicode code point (numpy's order).
 *
 * Bad input throws a `RangeError` whose message names the offending argument: length mismatch,
 * empty input, NaN/±Infinity in scores, probabilities or targets, probability rows that do not
 * match `classes`, a single class where ROC is undefined. No function returns NaN: where
 * scikit-learn returns nan with a warning, this module either throws (ROC curve with one class)
 * or returns `null` (`r2` with fewer than two samples) — see each function.
 */

import { pairwiseSum } from '../data/stat-tests.js';

/** numpy's pairwise summation, as `np.sum` of a float64 array (the one lathe/data's statistical tests use). */
export { pairwiseSum };

export type Label = string | number;

// ----------------------------------------------------------------------------------------------
// numerics

/** `np.mean` of a float64 vector: pairwise sum divided by the length. */
function mean(values: ArrayLike<number>): number {
  return pairwiseSum(values) / values.length;
}

/** `np.average(values, weights=weights)`: sum(values * weights) / sum(weights), both pairwise. */
function weightedAverage(values: readonly number[], weights: readonly number[]): number {
  return pairwiseSum(values.map((v, i) => v * weights[i]!)) / pairwiseSum(weights);
}

// ----------------------------------------------------------------------------------------------
// validation

function fail(message: string): never {
  throw new RangeError(message);
}

function checkNonEmpty(name: string, values: ArrayLike<unknown>): void {
  if (values.length === 0) fail(`${name} is empty`);
}

function checkSameLength(aName: string, a: ArrayLike<unknown>, bName: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    fail(`${aName} and ${bName} must have the same length (got ${a.length} and ${b.length})`);
  }
}

function checkFinite(name: string, values: readonly number[]): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name}[${i}] is not a finite number (${v})`);
  }
}

/** Labels must be strings or finite numbers, and one call must not mix the two kinds. */
function checkLabels(
  name: string,
  values: readonly Label[],
  kind?: 'string' | 'number',
): 'string' | 'number' {
  let seen = kind;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const k = typeof v;
    if (k === 'number') {
      if (!Number.isFinite(v)) fail(`${name}[${i}] is not a finite label (${v})`);
    } else if (k !== 'string') {
      fail(`${name}[${i}] must be a string or a number (got ${k})`);
    }
    if (seen === undefined) seen = k as 'string' | 'number';
    else if (seen !== k) fail(`${name}[${i}]: labels mix strings and numbers`);
  }
  return seen ?? 'number';
}

/** Numbers ascending; text by code point (numpy's order for unicode labels). */
export function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  // Compare by code point (numpy's unicode order), not by UTF-16 code unit.
  const ia = sa[Symbol.iterator]();
  const ib = sb[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function sortedUnion(...arrays: (readonly Label[])[]): Label[] {
  const set = new Set<Label>();
  for (const a of arrays) for (const v of a) set.add(v);
  return [...set].sort(compareLabels);
}

function checkClassList(
  name: string,
  classes: readonly Label[],
  kind?: 'string' | 'number',
): Map<Label, number> {
  checkNonEmpty(name, classes);
  checkLabels(name, classes, kind);
  const index = new Map<Label, number>();
  classes.forEach((c, i) => {
    if (index.has(c)) fail(`${name} contains ${JSON.stringify(c)} twice`);
    index.set(c, i);
  });
  return index;
}

function checkPairedLabels(yTrue: readonly Label[], yPred: readonly Label[]): 'string' | 'number' {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'yPred', yPred);
  const kind = checkLabels('yTrue', yTrue);
  checkLabels('yPred', yPred, kind);
  return kind;
}

function checkProbabilities(name: string, rows: readonly (readonly number[])[], width: number): void {
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width) {
      fail(
        `${name}[${i}] must have one probability per class (${width}), got ${Array.isArray(row) ? row.length : typeof row}`,
      );
    }
    row.forEach((p, j) => {
      if (typeof p !== 'number' || !Number.isFinite(p))
        fail(`${name}[${i}][${j}] is not a finite number (${p})`);
      if (p < 0 || p > 1) fail(`${name}[${i}][${j}] = ${p} is outside [0, 1]`);
    });
  });
}

// ----------------------------------------------------------------------------------------------
// classification

/** `sklearn.metrics.accuracy_score(y_true, y_pred)`: the fraction of exact matches. */
export function accuracy(yTrue: readonly Label[], yPred: readonly Label[]): number {
  checkPairedLabels(yTrue, yPred);
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

export interface ConfusionMatrix {
  /** Row/column order. */
  labels: Label[];
  /** `matrix[i][j]`: samples whose true label is `labels[i]` and predicted label is `labels[j]`. */
  matrix: number[][];
}

/**
 * `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=labels)`: rows are true labels,
 * columns predicted. Without `labels` the order is the sorted union of both inputs. With
 * `labels` (any order, no duplicates), samples whose true or predicted label is not listed are
 * ignored, and at least one listed label must occur in `yTrue` (as in scikit-learn).
 */
export function confusionMatrix(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  labels?: readonly Label[],
): ConfusionMatrix {
  const kind = checkPairedLabels(yTrue, yPred);
  let order: Label[];
  if (labels === undefined) {
    order = sortedUnion(yTrue, yPred);
  } else {
    checkClassList('labels', labels, kind);
    order = [...labels];
    const trueSet = new Set(yTrue);
    if (!order.some((l) => trueSet.has(l))) fail('labels: at least one label must occur in yTrue');
  }
  const index = new Map(order.map((l, i) => [l, i] as const));
  const matrix = order.map(() => order.map(() => 0));
  for (let i = 0; i < yTrue.length; i++) {
    const r = index.get(yTrue[i]!);
    const c = index.get(yPred[i]!);
    if (r !== undefined && c !== undefined) matrix[r]![c]!++;
  }
  return { labels: order, matrix };
}

export interface PrecisionRecallF1Options {
  /**
   * `binary`: scores of `positiveLabel` only (at most two distinct labels across both inputs);
   * `macro`: unweighted mean over labels; `weighted`: mean weighted by each label's support
   * (true count); `micro`: from the totals of true positives, predictions and true samples.
   */
  average: 'binary' | 'macro' | 'weighted' | 'micro';
  /** Positive class for `average: 'binary'` (scikit-learn's `pos_label`, default 1); ignored otherwise. */
  positiveLabel?: Label;
  /**
   * Value for a precision (no predictions of a label) or recall (no true samples of a label) that
   * divides by zero. Default 0 — scikit-learn's default `"warn"` also yields 0 (plus a warning,
   * which is not reproduced here).
   */
  zeroDivision?: 0 | 1;
  /** Labels to score for macro/weighted/micro (scikit-learn's `labels`); default: the sorted union. */
  labels?: readonly Label[];
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * `sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, beta=1, average=...,
 * pos_label=..., zero_division=..., labels=...)` without the support. Per label:
 * precision = tp / predicted, recall = tp / true (zero denominators → `zeroDivision`),
 * F1 = 2PR / (P + R) (0 when P + R = 0), then averaged as `average` says. For `weighted` with no
 * true samples of any scored label, returns scikit-learn's special values.
 */
export function precisionRecallF1(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  options: PrecisionRecallF1Options,
): PrecisionRecallF1 {
  const kind = checkPairedLabels(yTrue, yPred);
  const { average } = options;
  const zeroDivision = options.zeroDivision ?? 0;
  if (zeroDivision !== 0 && zeroDivision !== 1)
    fail(`options.zeroDivision must be 0 or 1 (got ${zeroDivision})`);
  const present = sortedUnion(yTrue, yPred);
  let labels: readonly Label[];
  if (average === 'binary') {
    const pos = options.positiveLabel ?? 1;
    if (present.length > 2) {
      fail(
        `yTrue/yPred: average 'binary' needs at most two classes, got ${present.length}; use macro, weighted or micro`,
      );
    }
    if (!present.includes(pos) && present.length >= 2) {
      fail(
        `options.positiveLabel ${JSON.stringify(pos)} is not one of the labels ${JSON.stringify(present)}`,
      );
    }
    labels = [pos];
  } else if (average === 'macro' || average === 'weighted' || average === 'micro') {
    if (options.labels !== undefined) checkClassList('options.labels', options.labels, kind);
    labels = options.labels ?? present;
  } else {
    fail(`options.average must be 'binary', 'macro', 'weighted' or 'micro' (got ${String(average)})`);
  }

  const index = new Map(labels.map((l, i) => [l, i] as const));
  let tp = labels.map(() => 0);
  let predSum = labels.map(() => 0);
  let trueSum = labels.map(() => 0);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined) trueSum[t]!++;
    if (p !== undefined) predSum[p]!++;
    if (t !== undefined && t === p) tp[t]!++;
  }
  if (average === 'micro') {
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    tp = [total(tp)];
    predSum = [total(predSum)];
    trueSum = [total(trueSum)];
  }
  const divide = (num: number[], den: number[]) =>
    num.map((x, i) => (den[i] === 0 ? zeroDivision : x / den[i]!));
  const precision = divide(tp, predSum);
  const recall = divide(tp, trueSum);
  const f1 = precision.map((p, i) => {
    const r = recall[i]!;
    const denom = p + r;
    return (2 * p * r) / (denom === 0 ? 1 : denom);
  });

  if (average === 'weighted') {
    const weightTotal = trueSum.reduce((a, b) => a + b, 0);
    if (weightTotal === 0) {
      const z = zeroDivision;
      if (predSum.reduce((a, b) => a + b, 0) === 0) return { precision: z, recall: z, f1: z };
      return { precision: 0, recall: z, f1: 0 };
    }
    return {
      precision: weightedAverage(precision, trueSum),
      recall: weightedAverage(recall, trueSum),
      f1: weightedAverage(f1, trueSum),
    };
  }
  return { precision: mean(precision), recall: mean(recall), f1: mean(f1) };
}

// ----------------------------------------------------------------------------------------------
// ranking

function binaryTargets(name: string, yTrue: readonly Label[], positiveLabel: Label): boolean[] {
  const kind = checkLabels(name, yTrue);
  checkLabels('positiveLabel', [positiveLabel], kind);
  const distinct = new Set(yTrue);
  if (distinct.size > 2) fail(`${name} has ${distinct.size} classes; a binary target is required`);
  return yTrue.map((v) => v === positiveLabel);
}

export interface RocCurve {
  /** False-positive rate at each threshold, increasing from 0 to 1. */
  fpr: number[];
  /** True-positive rate at each threshold, increasing from 0 to 1. */
  tpr: number[];
  /** Decreasing score thresholds; the first is `max(scores) + 1` (scikit-learn 1.2.1's convention). */
  thresholds: number[];
}

/**
 * `sklearn.metrics.roc_curve(y_true, scores, pos_label=positiveLabel, drop_intermediate=True)`,
 * point for point. A sample is predicted positive when `score >= threshold`. The extra first
 * threshold is `thresholds[0] + 1`, as in scikit-learn 1.2.1 (1.3+ uses +Infinity).
 * Throws where scikit-learn would return NaN rates: `yTrue` must contain both the positive label
 * and some other label.
 */
export function rocCurve(yTrue: readonly Label[], scores: readonly number[], positiveLabel: Label): RocCurve {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'scores', scores);
  checkFinite('scores', scores);
  const positive = binaryTargets('yTrue', yTrue, positiveLabel);
  const nPos = positive.filter(Boolean).length;
  if (nPos === 0)
    fail(`yTrue has no samples of positiveLabel ${JSON.stringify(positiveLabel)}; ROC is undefined`);
  if (nPos === positive.length) fail('yTrue has only positive samples; ROC is undefined');

  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (positive[i]) tp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thresholds.push(scores[i]!);
    }
  }
  // drop_intermediate: keep the end points and every point where the curve changes slope.
  const keep: number[] = [];
  for (let j = 0; j < fps.length; j++) {
    if (fps.length <= 2 || j === 0 || j === fps.length - 1) {
      keep.push(j);
      continue;
    }
    const d2f = fps[j + 1]! - fps[j]! - (fps[j]! - fps[j - 1]!);
    const d2t = tps[j + 1]! - tps[j]! - (tps[j]! - tps[j - 1]!);
    if (d2f !== 0 || d2t !== 0) keep.push(j);
  }
  const fpsK = [0, ...keep.map((j) => fps[j]!)];
  const tpsK = [0, ...keep.map((j) => tps[j]!)];
  const thr = keep.map((j) => thresholds[j]!);
  const fpTotal = fpsK[fpsK.length - 1]!;
  const tpTotal = tpsK[tpsK.length - 1]!;
  return {
    fpr: fpsK.map((f) => f / fpTotal),
    tpr: tpsK.map((t) => t / tpTotal),
    thresholds: [thr[0]! + 1, ...thr],
  };
}

/** `np.trapz(y, x)`: sum(diff(x) * (y[1:] + y[:-1]) / 2), pairwise. */
function trapezoid(x: readonly number[], y: readonly number[]): number {
  const parts: number[] = [];
  for (let i = 1; i < x.length; i++) parts.push(((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2);
  return pairwiseSum(parts);
}

/**
 * Binary ROC AUC: `sklearn.metrics.roc_auc_score(y_true == positiveLabel, scores)`, where `scores`
 * rank the positive class (e.g. P(positive)). The trapezoidal area under `rocCurve`. Throws a
 * `RangeError` when `yTrue` holds a single class (scikit-learn raises too).
 */
export function rocAuc(
  yTrue: readonly Label[],
  scores: readonly number[],
  options: { positiveLabel: Label },
): number {
  const { fpr, tpr } = rocCurve(yTrue, scores, options.positiveLabel);
  return trapezoid(fpr, tpr);
}

/** scikit-learn's `np.allclose(1, row_sums)`: |1 - s| <= 1e-8 + 1e-5 * |s|. */
function sumsToOne(row: readonly number[]): boolean {
  const s = pairwiseSum(row);
  return Math.abs(1 - s) <= 1e-8 + 1e-5 * Math.abs(s);
}

/**
 * `sklearn.metrics.roc_auc_score(y_true, probabilities, multi_class='ovr', average=...,
 * labels=classes)`: one-vs-rest AUC of each class's column, averaged unweighted (`macro`) or by
 * class support (`weighted`). `probabilities[i][k]` is P(classes[k]) for sample i; `classes` may
 * be in any order (scikit-learn requires them sorted, with columns to match). Needs ≥ 3 classes
 * (use `rocAuc` for two), rows summing to 1 (scikit-learn's allclose check), every class present
 * in `yTrue` and no label outside `classes`.
 */
export function rocAucOvr(
  yTrue: readonly Label[],
  probabilities: readonly (readonly number[])[],
  classes: readonly Label[],
  options: { average: 'macro' | 'weighted' },
): number {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'probabilities', probabilities);
  const kind = checkLabels('yTrue', yTrue);
  const index = checkClassList('classes', classes, kind);
  if (classes.length < 3)
    fail(`classes: one-vs-rest AUC needs at least 3 classes (got ${classes.length}); use rocAuc`);
  if (options.average !== 'macro' && options.average !== 'weighted') {
    fail(`options.average must be 'macro' or 'weighted' (got ${String(options.average)})`);
  }
  checkProbabilities('probabilities', probabilities, classes.length);
  probabilities.forEach((row, i) => {
    if (!sumsToOne(row)) fail(`probabilities[${i}] does not sum to 1`);
  });
  const support = classes.map(() => 0);
  yTrue.forEach((y, i) => {
    const k = index.get(y);
    if (k === undefined) fail(`yTrue[${i}] = ${JSON.stringify(y)} is not in classes`);
    support[k]!++;
  });
  const aucs = classes.map((c, k) => {
    if (support[k] === 0)
      fail(`classes: ${JSON.stringify(c)} never occurs in yTrue; its one-vs-rest AUC is undefined`);
    if (support[k] === yTrue.length) fail(`yTrue holds only ${JSON.stringify(c)}; ROC AUC is undefined`);
    const { fpr, tpr } = rocCurve(
      yTrue.map((y) => (y === c ? 1 : 0)),
      probabilities.map((row) => row[k]!),
      1,
    );
    return trapezoid(fpr, tpr);
  });
  return options.average === 'macro' ? mean(aucs) : weightedAverage(aucs, support);
}

// ----------------------------------------------------------------------------------------------
// probabilistic

/** 2^-52, `np.finfo(np.float64).eps`: scikit-learn 1.2.1's `eps='auto'` for float64 input. */
export const FLOAT64_EPSILON = Number.EPSILON;

/**
 * `sklearn.metrics.log_loss(y_true, probabilities, labels=classes, eps=eps)` (natural log, mean
 * over samples). As in 1.2.1: each probability is clipped to [eps, 1 - eps] (default
 * `eps` = 2^-52, i.e. `'auto'` for float64), each row is then renormalised to sum to 1, and the
 * loss is the mean of -log p(true class). `classes` gives the column order (any order, ≥ 2);
 * every `yTrue` label must be in `classes` (scikit-learn silently scores unknown labels as 0
 * loss; this throws). Probabilities must lie in [0, 1] (scikit-learn clips anything); rows need
 * not sum to 1. `eps` must be in (0, 0.5).
 */
export function logLoss(
  yTrue: readonly Label[],
  probabilities: readonly (readonly number[])[],
  classes: readonly Label[],
  options: { eps?: number } = {},
): number {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'probabilities', probabilities);
  const kind = checkLabels('yTrue', yTrue);
  const index = checkClassList('classes', classes, kind);
  if (classes.length < 2) fail('classes: log loss needs at least two classes');
  const eps = options.eps ?? FLOAT64_EPSILON;
  if (!(eps > 0 && eps < 0.5)) fail(`options.eps must be in (0, 0.5) (got ${eps})`);
  checkProbabilities('probabilities', probabilities, classes.length);
  const hi = 1 - eps;
  const losses = yTrue.map((y, i) => {
    const k = index.get(y);
    if (k === undefined) fail(`yTrue[${i}] = ${JSON.stringify(y)} is not in classes`);
    const clipped = probabilities[i]!.map((p) => Math.min(Math.max(p, eps), hi));
    const total = pairwiseSum(clipped);
    return -Math.log(clipped[k]! / total);
  });
  return mean(losses);
}

export interface CalibrationCurve {
  /** Fraction of positives in each non-empty bin. */
  probTrue: number[];
  /** Mean predicted probability in each non-empty bin. */
  probPred: number[];
}

/** `np.percentile(sorted, q * 100)` with numpy 1.24's default linear method. */
function percentileLinear(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  const quantile = (q * 100) / 100;
  const virtual = (n - 1) * quantile;
  // At or past the last index numpy interpolates between the last value and itself.
  if (virtual >= n - 1) return sorted[n - 1]!;
  const prev = Math.floor(virtual);
  const a = sorted[prev]!;
  const b = sorted[prev + 1]!;
  const gamma = virtual - prev;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/**
 * `sklearn.calibration.calibration_curve(y_true, probPositive, pos_label=positiveLabel,
 * n_bins=bins, strategy=strategy)`. `uniform`: `bins` equal-width bins on [0, 1]; `quantile`:
 * edges at the percentiles of `probPositive` (numpy's linear interpolation), so bins may merge.
 * A value equal to an inner edge falls in the lower bin (`np.searchsorted(..., side='left')`).
 * Empty bins are omitted. `yTrue` may hold at most two labels; `probPositive` must be in [0, 1].
 */
export function calibrationCurve(
  yTrue: readonly Label[],
  probPositive: readonly number[],
  positiveLabel: Label,
  options: { bins?: number; strategy?: 'uniform' | 'quantile' } = {},
): CalibrationCurve {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'probPositive', probPositive);
  checkFinite('probPositive', probPositive);
  const positive = binaryTargets('yTrue', yTrue, positiveLabel);
  probPositive.forEach((p, i) => {
    if (p < 0 || p > 1) fail(`probPositive[${i}] = ${p} is outside [0, 1]`);
  });
  const bins = options.bins ?? 5;
  if (!Number.isInteger(bins) || bins < 1) fail(`options.bins must be a positive integer (got ${bins})`);
  const strategy = options.strategy ?? 'uniform';
  const step = 1 / bins;
  const grid = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? 1 : i * step));
  let edges: number[];
  if (strategy === 'uniform') {
    edges = grid;
  } else if (strategy === 'quantile') {
    const sorted = [...probPositive].sort((a, b) => a - b);
    edges = grid.map((q) => percentileLinear(sorted, q));
  } else {
    fail(`options.strategy must be 'uniform' or 'quantile' (got ${String(strategy)})`);
  }
  const inner = edges.slice(1, -1);
  const sums = new Array<number>(bins + 1).fill(0);
  const trues = new Array<number>(bins + 1).fill(0);
  const totals = new Array<number>(bins + 1).fill(0);
  probPositive.forEach((p, i) => {
    // searchsorted(inner, p, side='left'): the number of inner edges strictly below p.
    let lo = 0;
    let hi = inner.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inner[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    sums[lo]! += p;
    if (positive[i]) trues[lo]!++;
    totals[lo]!++;
  });
  const probTrue: number[] = [];
  const probPred: number[] = [];
  totals.forEach((t, b) => {
    if (t === 0) return;
    probTrue.push(trues[b]! / t);
    probPred.push(sums[b]! / t);
  });
  return { probTrue, probPred };
}

// ----------------------------------------------------------------------------------------------
// regression

function checkRegression(yTrue: readonly number[], yPred: readonly number[]): void {
  checkNonEmpty('yTrue', yTrue);
  checkSameLength('yTrue', yTrue, 'yPred', yPred);
  checkFinite('yTrue', yTrue);
  checkFinite('yPred', yPred);
}

/** `sklearn.metrics.mean_squared_error(y_true, y_pred)`: mean of (yTrue - yPred)². */
export function meanSquaredError(yTrue: readonly number[], yPred: readonly number[]): number {
  checkRegression(yTrue, yPred);
  return mean(
    yTrue.map((t, i) => {
      const d = t - yPred[i]!;
      return d * d;
    }),
  );
}

/** `sklearn.metrics.mean_squared_error(y_true, y_pred, squared=False)` (1.2.1): √MSE. */
export function rmse(yTrue: readonly number[], yPred: readonly number[]): number {
  return Math.sqrt(meanSquaredError(yTrue, yPred));
}

/** `sklearn.metrics.mean_absolute_error(y_true, y_pred)`: mean of |yPred - yTrue|. */
export function mae(yTrue: readonly number[], yPred: readonly number[]): number {
  checkRegression(yTrue, yPred);
  return mean(yTrue.map((t, i) => Math.abs(yPred[i]! - t)));
}

/**
 * `sklearn.metrics.mean_absolute_percentage_error(y_true, y_pred)`: mean of
 * |yPred - yTrue| / max(|yTrue|, 2^-52). A fraction, not a percentage; like scikit-learn, a zero
 * target gives a huge (but finite) term instead of Infinity.
 */
export function mape(yTrue: readonly number[], yPred: readonly number[]): number {
  checkRegression(yTrue, yPred);
  return mean(yTrue.map((t, i) => Math.abs(yPred[i]! - t) / Math.max(Math.abs(t), FLOAT64_EPSILON)));
}

/**
 * `sklearn.metrics.r2_score(y_true, y_pred)` (force_finite=True): 1 - SS_res / SS_tot. Constant
 * `yTrue`: 1 when predictions are perfect, else 0 (scikit-learn's force_finite values). Fewer than
 * two samples: `null` (scikit-learn returns nan with an UndefinedMetricWarning).
 */
export function r2(yTrue: readonly number[], yPred: readonly number[]): number | null {
  checkRegression(yTrue, yPred);
  if (yTrue.length < 2) return null;
  const numerator = pairwiseSum(
    yTrue.map((t, i) => {
      const d = t - yPred[i]!;
      return d * d;
    }),
  );
  const yMean = mean(yTrue);
  const denominator = pairwiseSum(
    yTrue.map((t) => {
      const d = t - yMean;
      return d * d;
    }),
  );
  if (numerator === 0) return 1;
  if (denominator === 0) return 0;
  return 1 - numerator / denominator;
}

// ----------------------------------------------------------------------------------------------
// slicing

export type SliceKey = string | number | null;

export interface SliceMetrics<M> {
  /** The slice value (`null` = missing). */
  slice: SliceKey;
  /** Rows in the slice. */
  count: number;
  /** What `compute` returned for the slice's row indices. */
  metrics: M;
}

/**
 * Metrics sliced by a column: groups row indices by `sliceColumn[i]` and calls `compute` with
 * each group's indices (ascending), e.g.
 * `slicedMetrics(region, (ix) => ({ acc: accuracy(ix.map((i) => yTrue[i]), ix.map((i) => yPred[i])) }))`.
 * Result order: numbers ascending, then strings by code point, then `null` (missing values).
 * `1` and `'1'` are different slices; NaN/±Infinity slice values throw. No scikit-learn equivalent.
 * Errors thrown by `compute` (e.g. a single-class slice for `rocAuc`) propagate; catch them in
 * `compute` to record a `null` instead.
 */
export function slicedMetrics<M = Record<string, number | null>>(
  sliceColumn: readonly SliceKey[],
  compute: (indices: number[]) => M,
): SliceMetrics<M>[] {
  const groups = new Map<SliceKey, number[]>();
  sliceColumn.forEach((key, i) => {
    if (key !== null && typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      fail(`sliceColumn[${i}] must be a string, a finite number or null (got ${String(key)})`);
    }
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const keys = [...groups.keys()].sort((a, b) => {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
    return compareLabels(a, b);
  });
  return keys.map((slice) => {
    const indices = groups.get(slice)!;
    return { slice, count: indices.length, metrics: compute(indices) };
  });
}
