/**
 * Evaluation of a trained model on labelled rows: the metrics a gate compares (flat numbers) and
 * what a UI plots (confusion matrix, ROC and calibration curves, metrics by slice).
 */
import {
  accuracy,
  calibrationCurve,
  confusionMatrix,
  type Label,
  logLoss,
  mae,
  mape,
  meanSquaredError,
  precisionRecallF1,
  r2,
  rmse,
  rocAuc,
  rocAucOvr,
  rocCurve,
  type SliceKey,
  slicedMetrics,
} from './metrics.js';
import type { Predictor } from './model.js';
import type { TransformRow } from './transforms.js';

export interface EvaluateOptions {
  /** Also compute the headline metrics per value of this column (it need not be a feature). */
  sliceBy?: string;
  /** Bins of the calibration curve (binary). Default 10. */
  calibrationBins?: number;
}

/** Flat numbers (for gates and comparisons) plus nested plot data. */
export interface Evaluation {
  [metric: string]: unknown;
  rows: number;
}

function labelOf(row: TransformRow, label: string, i: number): Label {
  const v = row[label];
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw new RangeError(`row ${i}: the label '${label}' is missing or not a label (${String(v)})`);
}

function classificationHeadline(yTrue: Label[], yPred: Label[], labels: Label[]): Record<string, number> {
  const out: Record<string, number> = { accuracy: accuracy(yTrue, yPred) };
  for (const average of ['macro', 'weighted'] as const) {
    const prf = precisionRecallF1(yTrue, yPred, { average, labels });
    out[`precision_${average}`] = prf.precision;
    out[`recall_${average}`] = prf.recall;
    out[`f1_${average}`] = prf.f1;
  }
  return out;
}

function regressionHeadline(yTrue: number[], yPred: number[]): Record<string, number | null> {
  return {
    rmse: rmse(yTrue, yPred),
    mse: meanSquaredError(yTrue, yPred),
    mae: mae(yTrue, yPred),
    mape: mape(yTrue, yPred),
    r2: r2(yTrue, yPred),
  };
}

/**
 * Evaluates `predictor` on `rows`, which must hold the model's label column. Classification:
 * accuracy, precision/recall/F1 (macro and weighted, plus the positive class's for binary), ROC
 * AUC (binary, or one-vs-rest macro and weighted), log loss, the confusion matrix, ROC curve
 * points (per class one-vs-rest for multiclass) and the calibration curve (binary). Regression:
 * RMSE, MSE, MAE, MAPE, R². Each equals scikit-learn's function of the same name.
 */
export function evaluateModel(
  predictor: Predictor,
  rows: readonly TransformRow[],
  options: EvaluateOptions = {},
): Evaluation {
  const model = predictor.model;
  if (rows.length === 0) throw new RangeError('no rows to evaluate on');
  if (!Object.hasOwn(rows[0]!, model.label)) {
    throw new RangeError(`the label column '${model.label}' is not in the evaluation data`);
  }
  const sliceColumn = options.sliceBy
    ? rows.map((row, i) => {
        if (!Object.hasOwn(row, options.sliceBy!))
          throw new RangeError(`row ${i} has no slice column '${options.sliceBy}'`);
        const v = row[options.sliceBy!];
        return (
          v === undefined || (typeof v === 'number' && Number.isNaN(v))
            ? null
            : typeof v === 'boolean'
              ? String(v)
              : v
        ) as SliceKey;
      })
    : null;

  if (model.task === 'regression') {
    const yTrue = rows.map((row, i) => {
      const v = labelOf(row, model.label, i);
      if (typeof v !== 'number') throw new RangeError(`row ${i}: the label '${model.label}' is not a number`);
      return v;
    });
    const yPred = predictor.predict(rows) as number[];
    const out: Evaluation = { rows: rows.length, ...regressionHeadline(yTrue, yPred) };
    if (sliceColumn) {
      out.slices = slicedMetrics(sliceColumn, (ix) =>
        regressionHeadline(
          ix.map((i) => yTrue[i]!),
          ix.map((i) => yPred[i]!),
        ),
      );
    }
    return out;
  }

  const classes = model.classes!;
  const yTrue = rows.map((row, i) => labelOf(row, model.label, i));
  const probabilities = predictor.predictProba(rows);
  const yPred = probabilities.map((p) => {
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    return classes[best]!;
  });
  const known = new Set(classes);
  const unknown = yTrue.find((y) => !known.has(y));
  if (unknown !== undefined) {
    throw new RangeError(
      `the evaluation data has label ${JSON.stringify(unknown)}, which the model never saw in training (classes: ${classes.map((c) => JSON.stringify(c)).join(', ')})`,
    );
  }
  const out: Evaluation = { rows: rows.length, ...classificationHeadline(yTrue, yPred, classes) };
  out.log_loss = logLoss(yTrue, probabilities, classes);
  const present = new Set(yTrue);
  if (classes.length === 2) {
    const positive = classes[1]!;
    const prf = precisionRecallF1(yTrue, yPred, { average: 'binary', positiveLabel: positive });
    out.precision = prf.precision;
    out.recall = prf.recall;
    out.f1 = prf.f1;
    const scores = probabilities.map((p) => p[1]!);
    if (present.size === 2) {
      out.roc_auc = rocAuc(yTrue, scores, { positiveLabel: positive });
      out.roc_curve = rocCurve(yTrue, scores, positive);
    }
    out.calibration_curve = calibrationCurve(yTrue, scores, positive, {
      bins: options.calibrationBins ?? 10,
    });
  } else if (present.size === classes.length) {
    out.roc_auc_ovr_macro = rocAucOvr(yTrue, probabilities, classes, { average: 'macro' });
    out.roc_auc_ovr_weighted = rocAucOvr(yTrue, probabilities, classes, { average: 'weighted' });
    out.roc_curves = classes.map((c, k) => ({
      class: c,
      // One-vs-rest: the class against all others (rocCurve needs a binary target).
      ...rocCurve(
        yTrue.map((y) => (y === c ? 1 : 0)),
        probabilities.map((p) => p[k]!),
        1,
      ),
    }));
  }
  out.confusion_matrix = confusionMatrix(yTrue, yPred, classes);
  if (sliceColumn) {
    out.slices = slicedMetrics(sliceColumn, (ix) =>
      classificationHeadline(
        ix.map((i) => yTrue[i]!),
        ix.map((i) => yPred[i]!),
        classes,
      ),
    );
  }
  return out;
}
