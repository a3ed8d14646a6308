/** Binary logistic regression, full-batch gradient descent with L2, on standardized features. */
import type { Row } from './data.js';

export interface LogisticModel {
  weights: number[];
  bias: number;
  mean: number[];
  std: number[];
}

export function predictProbability(model: LogisticModel, features: number[]): number {
  let z = model.bias;
  for (let j = 0; j < features.length; j++) {
    z += model.weights[j]! * ((features[j]! - model.mean[j]!) / model.std[j]!);
  }
  return 1 / (1 + Math.exp(-z));
}

export function accuracy(model: LogisticModel, rows: Row[]): number {
  let correct = 0;
  for (const row of rows)
    if ((predictProbability(model, row.features) >= 0.5 ? 1 : 0) === row.label) correct++;
  return rows.length ? correct / rows.length : 0;
}

export function fitLogistic(rows: Row[], options: { lr: number; epochs: number; l2: number }): LogisticModel {
  if (rows.length === 0) throw new Error('cannot train on an empty dataset');
  const d = rows[0]!.features.length;
  const mean = Array.from(
    { length: d },
    (_, j) => rows.reduce((s, r) => s + r.features[j]!, 0) / rows.length,
  );
  const std = mean.map((m, j) => {
    const variance = rows.reduce((s, r) => s + (r.features[j]! - m) ** 2, 0) / rows.length;
    return Math.sqrt(variance) || 1; // a constant column scales by 1 instead of dividing by 0
  });
  const x = rows.map((r) => r.features.map((v, j) => (v - mean[j]!) / std[j]!));
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const grad = new Array<number>(d).fill(0);
    let gradBias = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      let z = bias;
      for (let j = 0; j < d; j++) z += weights[j]! * xi[j]!;
      const err = 1 / (1 + Math.exp(-z)) - rows[i]!.label;
      for (let j = 0; j < d; j++) grad[j]! += err * xi[j]!;
      gradBias += err;
    }
    for (let j = 0; j < d; j++) weights[j]! -= options.lr * (grad[j]! / x.length + options.l2 * weights[j]!);
    bias -= options.lr * (gradBias / x.length);
  }
  return { weights, bias, mean, std };
}
