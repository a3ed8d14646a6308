/**
 * Linear models in pure TypeScript (Float64Array, no dependencies): ridge / ordinary least squares
 * and L2-regularized logistic regression (binary and multinomial), with the objectives of
 * scikit-learn 1.2.1's `Ridge` / `LinearRegression` and `LogisticRegression(solver='lbfgs')`.
 *
 * Models are plain JSON-serializable objects: `JSON.parse(JSON.stringify(model))` predicts the
 * same. `coefficients[k][j]` is the weight of feature `j` for output `k` (one row for linear
 * regression and for binary logistic regression, one row per class for multinomial), in the units
 * of the raw features you passed; `intercepts[k]` is the matching intercept.
 *
 * Bad input throws a `RangeError` naming the row / column: NaN or ±Infinity in X or y, empty X,
 * ragged rows, length mismatch, a single class for logistic regression, a singular least-squares
 * problem with `l2 = 0` (constant or collinear columns, named), a feature-count mismatch at
 * predict time (expected vs got).
 */

import { compareLabels, type Label } from './metrics.js';

export type Matrix = readonly (readonly number[])[] | readonly Float64Array[];

export interface LinearRegressionModel {
  kind: 'linear-regression';
  /** Number of input columns. */
  features: number;
  /** One row: `coefficients[0][j]` is the weight of column `j`. */
  coefficients: number[][];
  /** One entry. */
  intercepts: number[];
  /** The ridge penalty used (0 = ordinary least squares). */
  l2: number;
}

export interface LogisticRegressionModel {
  kind: 'logistic-regression';
  features: number;
  /** Sorted classes (numbers ascending, strings by code point); `predictProba` columns follow it. */
  classes: Label[];
  /**
   * Binary: one row, the weights of the log-odds of `classes[1]` (scikit-learn's layout).
   * Multinomial (> 2 classes): one row per class (softmax logits), rows sum to ~0 per column.
   */
  coefficients: number[][];
  intercepts: number[];
  /** Penalty `l2 = 1 / C`: the objective is sum of log-losses + (l2 / 2)·||W||² (intercepts free). */
  l2: number;
  /** L-BFGS iterations used. */
  iterations: number;
  /** Whether the gradient criterion (`tolerance`) was met. */
  converged: boolean;
  /** Final max-abs gradient of the (preconditioned, per-sample) objective. */
  gradientNorm: number;
  /** Final objective: sum of log-losses + (l2 / 2)·||W||², in scikit-learn's (unscaled) form. */
  objective: number;
}

export interface LinearRegressionOptions {
  /** Ridge penalty alpha (scikit-learn `Ridge(alpha=l2)`); 0 = `LinearRegression`. Default 0. */
  l2?: number;
}

export interface LogisticRegressionOptions {
  /** L2 penalty on the weights, = 1 / C in scikit-learn. Default 1 (C = 1). */
  l2?: number;
  /** L-BFGS iteration cap. Default 200. */
  maxIterations?: number;
  /** Stop when the max-abs gradient of the per-sample objective falls below this. Default 1e-8. */
  tolerance?: number;
}

// ----------------------------------------------------------------------------------------------
// validation

function fail(message: string): never {
  throw new RangeError(message);
}

function checkMatrix(name: string, X: Matrix, expectedFeatures?: number): { n: number; p: number } {
  if (!Array.isArray(X)) fail(`${name} must be an array of rows (got ${typeof X})`);
  if (X.length === 0) fail(`${name} is empty (no rows)`);
  const first = X[0];
  const p = first?.length ?? 0;
  if (expectedFeatures !== undefined && p !== expectedFeatures) {
    fail(
      `${name} has ${p} feature columns but the model expects ${expectedFeatures} (expected ${expectedFeatures}, got ${p})`,
    );
  }
  if (p === 0) fail(`${name}[0] has no columns`);
  for (let i = 0; i < X.length; i++) {
    const row = X[i];
    if (!Array.isArray(row) && !(row instanceof Float64Array)) {
      fail(`${name}[${i}] must be an array or Float64Array (got ${row === null ? 'null' : typeof row})`);
    }
    if (row.length !== p) {
      fail(`${name} is ragged: row ${i} has ${row.length} columns but row 0 has ${p}`);
    }
    for (let j = 0; j < p; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        fail(`${name}[${i}][${j}] (row ${i}, column ${j}) is not a finite number (${v})`);
      }
    }
  }
  return { n: X.length, p };
}

function checkOptionNumber(name: string, value: number, min: number, integer = false): void {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    fail(`${name} must be a finite ${integer ? 'integer' : 'number'} >= ${min} (got ${value})`);
  }
}

/** Column means. */
function columnMeans(X: Matrix, n: number, p: number): Float64Array {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    for (let j = 0; j < p; j++) mean[j]! += row[j]!;
  }
  for (let j = 0; j < p; j++) mean[j]! /= n;
  return mean;
}

// ----------------------------------------------------------------------------------------------
// linear regression

/**
 * Ridge regression with an unpenalized intercept: minimizes ||y − Xw − b||² + l2·||w||², equal to
 * scikit-learn `Ridge(alpha=l2)` (and `LinearRegression()` when `l2 = 0`).
 *
 * Solved by centering X and y, then Householder QR of the augmented matrix [Xc; √l2·I] (no
 * normal equations, so the condition number is not squared). With `l2 = 0` a singular problem —
 * a constant column, or a column that is (to ~1e-10 relative) a linear combination of earlier
 * ones — throws a `RangeError` naming the columns and suggesting `l2 > 0`.
 */
export function fitLinearRegression(
  X: Matrix,
  y: readonly number[] | Float64Array,
  options: LinearRegressionOptions = {},
): LinearRegressionModel {
  const { l2 = 0 } = options;
  checkOptionNumber('l2', l2, 0);
  const { n, p } = checkMatrix('X', X);
  if (!Array.isArray(y) && !(y instanceof Float64Array)) fail('y must be an array of numbers');
  if (y.length !== n) fail(`X and y must have the same number of rows (got ${n} and ${y.length})`);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(`y[${i}] (row ${i}) is not a finite number (${v})`);
  }
  const mean = columnMeans(X, n, p);
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i]!;
  yMean /= n;

  if (l2 === 0) {
    const constant: number[] = [];
    for (let j = 0; j < p; j++) {
      const v0 = X[0]![j]!;
      let same = true;
      for (let i = 1; i < n && same; i++) same = X[i]![j] === v0;
      if (same) constant.push(j);
    }
    if (constant.length > 0) {
      fail(
        `least squares is singular: X column${constant.length > 1 ? 's' : ''} ${constant.join(', ')} ` +
          `${constant.length > 1 ? 'are' : 'is'} constant (collinear with the intercept)` +
          `${n < 2 ? ` (only ${n} row)` : ''}; pass { l2: > 0 } (ridge) or drop ${constant.length > 1 ? 'them' : 'it'}`,
      );
    }
  }

  // Column-major augmented matrix A ((n + p) × p) and right-hand side b.
  const m = l2 > 0 ? n + p : n;
  const A: Float64Array[] = [];
  const colNorm = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const col = new Float64Array(m);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const v = X[i]![j]! - mean[j]!;
      col[i] = v;
      s += v * v;
    }
    colNorm[j] = Math.sqrt(s);
    if (l2 > 0) col[n + j] = Math.sqrt(l2);
    A.push(col);
  }
  const b = new Float64Array(m);
  for (let i = 0; i < n; i++) b[i] = y[i]! - yMean;

  // Householder QR, in place: R in the upper triangle of A.
  const R = householderQR(A, b, m, p);
  if (l2 === 0) {
    for (let j = 0; j < p; j++) {
      if (Math.abs(R[j]![j]!) <= 1e-10 * colNorm[j]! || colNorm[j] === 0) {
        // Which earlier columns explain column j: solve R[:j,:j] c = R[:j,j].
        const c = backSubstitute(R, j, (i) => R[i]![j]!);
        const named: number[] = [];
        for (let i = 0; i < j; i++) if (Math.abs(c[i]!) * colNorm[i]! > 1e-6 * colNorm[j]!) named.push(i);
        fail(
          `least squares is singular: X column ${j} is (nearly) a linear combination of ` +
            `${named.length > 0 ? `column${named.length > 1 ? 's' : ''} ${named.join(', ')}` : 'the intercept'}` +
            ` (collinear columns${n <= p ? `; also only ${n} rows for ${p} columns` : ''}); ` +
            'pass { l2: > 0 } (ridge) or drop a column',
        );
      }
    }
  }
  const w = backSubstitute(R, p, (i) => b[i]!);
  let intercept = yMean;
  for (let j = 0; j < p; j++) intercept -= w[j]! * mean[j]!;
  return {
    kind: 'linear-regression',
    features: p,
    coefficients: [Array.from(w)],
    intercepts: [intercept],
    l2,
  };
}

/**
 * Householder QR of the column-major m × p matrix A (modified in place), applying Qᵀ to b.
 * Returns R as row arrays (R[i][j], i <= j).
 */
function householderQR(A: Float64Array[], b: Float64Array, m: number, p: number): Float64Array[] {
  const R: Float64Array[] = [];
  for (let i = 0; i < p; i++) R.push(new Float64Array(p));
  for (let k = 0; k < p && k < m; k++) {
    const a = A[k]!;
    let norm = 0;
    for (let i = k; i < m; i++) norm = Math.hypot(norm, a[i]!);
    if (norm === 0) {
      R[k]![k] = 0;
      for (let j = k + 1; j < p; j++) R[k]![j] = A[j]![k]!;
      continue;
    }
    const alpha = a[k]! > 0 ? -norm : norm;
    // v = a[k..] - alpha e_k, stored in a[k..]; H = I - 2 v vᵀ / (vᵀv).
    a[k] = a[k]! - alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += a[i]! * a[i]!;
    const apply = (x: Float64Array): void => {
      let s = 0;
      for (let i = k; i < m; i++) s += a[i]! * x[i]!;
      const f = (2 * s) / vv;
      for (let i = k; i < m; i++) x[i] = x[i]! - f * a[i]!;
    };
    for (let j = k + 1; j < p; j++) apply(A[j]!);
    apply(b);
    R[k]![k] = alpha;
    for (let j = k + 1; j < p; j++) R[k]![j] = A[j]![k]!;
  }
  return R;
}

/** Solves R[:size,:size] x = rhs by back substitution (zero pivots give 0). */
function backSubstitute(R: Float64Array[], size: number, rhs: (i: number) => number): Float64Array {
  const x = new Float64Array(size);
  for (let i = size - 1; i >= 0; i--) {
    let s = rhs(i);
    const row = R[i]!;
    for (let j = i + 1; j < size; j++) s -= row[j]! * x[j]!;
    x[i] = row[i] === 0 ? 0 : s / row[i]!;
  }
  return x;
}

// ----------------------------------------------------------------------------------------------
// logistic regression

/**
 * L2-regularized logistic regression, the objective of scikit-learn 1.2.1
 * `LogisticRegression(C = 1 / l2, solver='lbfgs')`: binary (2 classes, one weight row for the
 * log-odds of `classes[1]`) or multinomial softmax (> 2 classes, one row per class):
 *
 *     minimize  Σᵢ log-loss(yᵢ, softmax(W xᵢ + b)) + (l2 / 2)·||W||²     (b unpenalized)
 *
 * Optimizer: L-BFGS (memory 10, Armijo backtracking) on the objective divided by n, started at 0.
 * Deterministic. Conditioning: the optimization runs in a change of variables u = Lᵀw, where
 * L Lᵀ = Cov(X)/4 + (l2/n)·I (Cholesky; the per-sample Hessian at w = 0), on the centered,
 * whitened design L⁻¹(x − mean), with the penalty (l2/2)·||L⁻ᵀu||² carried over exactly. So the
 * objective minimized is exactly scikit-learn's on the raw features — this is a preconditioner,
 * not a different model (no need to standardize first; the penalty is NOT rescaled, so fitting
 * raw features gives sklearn's raw-feature model, not its StandardScaler pipeline's). Raw, badly
 * scaled, collinear features converge (breast_cancer raw: ~100 iterations). Above 400 features
 * only the diagonal of that matrix is used (≈ internal standardization).
 * The coefficients returned are in the raw feature units. Multinomial intercepts are centered to
 * sum to 0 (softmax is invariant to a common shift; scikit-learn's sum to 0 as well).
 *
 * `tolerance` bounds the max-abs gradient of that per-sample, preconditioned objective;
 * `converged` / `iterations` / `gradientNorm` report how it ended (no throw if the cap is hit).
 */
export function fitLogisticRegression(
  X: Matrix,
  y: readonly Label[],
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const { l2 = 1, maxIterations = 200, tolerance = 1e-8 } = options;
  checkOptionNumber('l2', l2, 0);
  checkOptionNumber('maxIterations', maxIterations, 0, true);
  checkOptionNumber('tolerance', tolerance, 0);
  const { n, p } = checkMatrix('X', X);
  if (!Array.isArray(y)) fail('y must be an array of labels');
  if (y.length !== n) fail(`X and y must have the same number of rows (got ${n} and ${y.length})`);
  let kind: string | undefined;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    const k = typeof v;
    if (k === 'number') {
      if (!Number.isFinite(v)) fail(`y[${i}] (row ${i}) is not a finite label (${v})`);
    } else if (k !== 'string') fail(`y[${i}] (row ${i}) must be a string or a number (got ${k})`);
    if (kind === undefined) kind = k;
    else if (kind !== k) fail(`y[${i}] (row ${i}): labels mix strings and numbers`);
  }
  const classes = [...new Set(y)].sort(compareLabels);
  if (classes.length < 2) {
    fail(`y has a single class (${JSON.stringify(classes[0])}); logistic regression needs at least 2`);
  }
  const classIndex = new Map<Label, number>(classes.map((c, i) => [c, i]));
  const target = new Int32Array(n);
  for (let i = 0; i < n; i++) target[i] = classIndex.get(y[i]!)!;

  const K = classes.length;
  const binary = K === 2;
  const rowsOut = binary ? 1 : K;

  // Preconditioner: u = Lᵀw with L Lᵀ = M = Cov(X)/4 + (l2/n)·I (the Hessian of the per-sample
  // objective at w = 0 for the binary case), so the optimization sees a whitened design
  // Z_i = L⁻¹(x_i − mean) with a Hessian near the identity even for collinear, badly scaled
  // columns. Above MAX_WHITEN features only the diagonal of M is used (≈ standardizing).
  const mean = columnMeans(X, n, p);
  const L = preconditioner(X, mean, n, p, l2);
  const Z = new Float64Array(n * p);
  const xc = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    for (let j = 0; j < p; j++) xc[j] = row[j]! - mean[j]!;
    L.forward(xc, Z.subarray(i * p, (i + 1) * p));
  }
  const wBuf = new Float64Array(p);
  const gBuf = new Float64Array(p);
  const penaltyScale = l2 / n;

  // Parameters: for output k, theta[k*(p+1) .. +p) weights, theta[k*(p+1)+p] intercept.
  const stride = p + 1;
  const dim = rowsOut * stride;
  const logits = new Float64Array(n * rowsOut);
  const resid = new Float64Array(n * rowsOut);

  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    // logits
    for (let i = 0; i < n; i++) {
      const zi = i * p;
      for (let k = 0; k < rowsOut; k++) {
        const base = k * stride;
        let s = theta[base + p]!;
        for (let j = 0; j < p; j++) s += theta[base + j]! * Z[zi + j]!;
        logits[i * rowsOut + k] = s;
      }
    }
    let loss = 0;
    if (binary) {
      for (let i = 0; i < n; i++) {
        const z = logits[i]!;
        const t = target[i]!;
        // log(1 + e^z) - t z, and sigmoid(z) - t
        const sp = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
        loss += sp - t * z;
        const sig = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        resid[i] = sig - t;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = i * K;
        let mx = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < K; k++) mx = Math.max(mx, logits[o + k]!);
        let se = 0;
        for (let k = 0; k < K; k++) se += Math.exp(logits[o + k]! - mx);
        const lse = mx + Math.log(se);
        loss += lse - logits[o + target[i]!]!;
        for (let k = 0; k < K; k++) resid[o + k] = Math.exp(logits[o + k]! - lse) - (k === target[i] ? 1 : 0);
      }
    }
    let pen = 0;
    grad.fill(0);
    for (let k = 0; k < rowsOut; k++) {
      const base = k * stride;
      for (let i = 0; i < n; i++) {
        const r = resid[i * rowsOut + k]!;
        if (r === 0) continue;
        const zi = i * p;
        for (let j = 0; j < p; j++) grad[base + j]! += r * Z[zi + j]!;
        grad[base + p]! += r;
      }
      for (let j = 0; j < stride; j++) grad[base + j]! /= n;
      if (penaltyScale > 0) {
        // w = L⁻ᵀu; penalty (l2/2n)||w||², gradient in u: (l2/n) L⁻¹w.
        L.backward(theta.subarray(base, base + p), wBuf);
        let ww = 0;
        for (let j = 0; j < p; j++) ww += wBuf[j]! * wBuf[j]!;
        pen += 0.5 * penaltyScale * ww;
        L.forward(wBuf, gBuf);
        for (let j = 0; j < p; j++) grad[base + j]! += penaltyScale * gBuf[j]!;
      }
    }
    return loss / n + pen;
  };

  const theta = new Float64Array(dim);
  const result = lbfgs(evaluate, theta, maxIterations, tolerance);

  // Map back to raw units: w = L⁻ᵀu, b = b' − w·mean.
  const coefficients: number[][] = [];
  const intercepts: number[] = [];
  for (let k = 0; k < rowsOut; k++) {
    const base = k * stride;
    L.backward(theta.subarray(base, base + p), wBuf);
    const w = Array.from(wBuf);
    let b = theta[base + p]!;
    for (let j = 0; j < p; j++) b -= w[j]! * mean[j]!;
    coefficients.push(w);
    intercepts.push(b);
  }
  if (!binary) {
    let s = 0;
    for (const b of intercepts) s += b;
    s /= K;
    for (let k = 0; k < K; k++) intercepts[k] = intercepts[k]! - s;
  }
  return {
    kind: 'logistic-regression',
    features: p,
    classes,
    coefficients,
    intercepts,
    l2,
    iterations: result.iterations,
    converged: result.converged,
    gradientNorm: result.gradientNorm,
    objective: result.value * n,
  };
}

/** Above this many features the preconditioner is diagonal (a p³ Cholesky is not worth it). */
const MAX_WHITEN = 400;

interface Preconditioner {
  /** out = L⁻¹ x. */
  forward(x: ArrayLike<number>, out: Float64Array): void;
  /** out = L⁻ᵀ x. */
  backward(x: ArrayLike<number>, out: Float64Array): void;
}

/**
 * Lower-triangular L with L Lᵀ = Cov(X)/4 + (l2/n)·I (+ a 1e-10 relative jitter so that constant or
 * collinear columns with l2 = 0 still factor); diagonal only when p > MAX_WHITEN.
 */
function preconditioner(X: Matrix, mean: Float64Array, n: number, p: number, l2: number): Preconditioner {
  const M = new Float64Array(p * p);
  const full = p <= MAX_WHITEN;
  const xc = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    for (let j = 0; j < p; j++) xc[j] = row[j]! - mean[j]!;
    if (full) {
      for (let a = 0; a < p; a++) {
        const va = xc[a]!;
        if (va === 0) continue;
        const o = a * p;
        for (let c = 0; c <= a; c++) M[o + c]! += va * xc[c]!;
      }
    } else {
      for (let a = 0; a < p; a++) M[a * p + a]! += xc[a]! * xc[a]!;
    }
  }
  let maxDiag = 0;
  for (let a = 0; a < p; a++) {
    for (let c = 0; c <= a; c++) M[a * p + c] = M[a * p + c]! / (4 * n);
    M[a * p + a]! += l2 / n;
    maxDiag = Math.max(maxDiag, M[a * p + a]!);
  }
  const jitter = maxDiag > 0 ? 1e-10 * maxDiag : 1;
  const floor = maxDiag > 0 ? 1e-12 * maxDiag : 1;
  // In-place Cholesky of the lower triangle; a non-positive pivot (rounding) is floored.
  for (let a = 0; a < p; a++) {
    M[a * p + a]! += jitter;
    const limit = full ? a : 0;
    for (let c = 0; c <= a; c++) {
      if (!full && c !== a) continue;
      let s = M[a * p + c]!;
      for (let k = 0; k < Math.min(c, limit); k++) s -= M[a * p + k]! * M[c * p + k]!;
      if (c === a) M[a * p + a] = Math.sqrt(Math.max(s, floor));
      else M[a * p + c] = s / M[c * p + c]!;
    }
  }
  if (!full) {
    return {
      forward(x, out) {
        for (let j = 0; j < p; j++) out[j] = x[j]! / M[j * p + j]!;
      },
      backward(x, out) {
        for (let j = 0; j < p; j++) out[j] = x[j]! / M[j * p + j]!;
      },
    };
  }
  return {
    forward(x, out) {
      for (let a = 0; a < p; a++) {
        let s = x[a]!;
        const o = a * p;
        for (let k = 0; k < a; k++) s -= M[o + k]! * out[k]!;
        out[a] = s / M[o + a]!;
      }
    },
    backward(x, out) {
      for (let a = p - 1; a >= 0; a--) {
        let s = x[a]!;
        for (let k = a + 1; k < p; k++) s -= M[k * p + a]! * out[k]!;
        out[a] = s / M[a * p + a]!;
      }
    },
  };
}

interface LbfgsResult {
  value: number;
  iterations: number;
  converged: boolean;
  gradientNorm: number;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with memory 10 and a backtracking
 * Armijo line search (quadratic interpolation, safeguarded). Minimizes `f` in place from `x`.
 * Stops when max|∇f| <= tolerance, or when no step decreases f any more (then converged only if
 * the gradient is within 1000 × tolerance: the optimum is reached to rounding).
 */
function lbfgs(
  f: (x: Float64Array, grad: Float64Array) => number,
  x: Float64Array,
  maxIterations: number,
  tolerance: number,
): LbfgsResult {
  const dim = x.length;
  const memory = 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const g = new Float64Array(dim);
  let fx = f(x, g);
  let gNorm = maxAbs(g);
  const dir = new Float64Array(dim);
  const xNew = new Float64Array(dim);
  const gNew = new Float64Array(dim);
  const alphaBuf = new Float64Array(memory);
  let it = 0;
  let converged = gNorm <= tolerance;
  while (!converged && it < maxIterations) {
    // Two-loop recursion: dir = -H g.
    dir.set(g);
    for (let m = S.length - 1; m >= 0; m--) {
      const a = rho[m]! * dot(S[m]!, dir);
      alphaBuf[m] = a;
      const ym = Y[m]!;
      for (let i = 0; i < dim; i++) dir[i] = dir[i]! - a * ym[i]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < dim; i++) dir[i] = dir[i]! * gamma;
    } else {
      const scale = 1 / Math.max(1, gNorm);
      for (let i = 0; i < dim; i++) dir[i] = dir[i]! * scale;
    }
    for (let m = 0; m < S.length; m++) {
      const b = rho[m]! * dot(Y[m]!, dir);
      const sm = S[m]!;
      const a = alphaBuf[m]!;
      for (let i = 0; i < dim; i++) dir[i] = dir[i]! + (a - b) * sm[i]!;
    }
    for (let i = 0; i < dim; i++) dir[i] = -dir[i]!;
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (should not happen for a convex f): restart with steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      const scale = 1 / Math.max(1, gNorm);
      for (let i = 0; i < dim; i++) dir[i] = -g[i]! * scale;
      slope = dot(g, dir);
    }
    // Backtracking Armijo line search.
    let step = 1;
    let fNew = Number.NaN;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < dim; i++) xNew[i] = x[i]! + step * dir[i]!;
      fNew = f(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // Quadratic interpolation of phi(step), safeguarded to [0.1, 0.5] × step.
      const denom = 2 * (fNew - fx - step * slope);
      let next = Number.isFinite(fNew) && denom > 0 ? (-slope * step * step) / denom : step / 2;
      next = Math.min(Math.max(next, 0.1 * step), 0.5 * step);
      step = next;
    }
    it++;
    if (!accepted) {
      converged = gNorm <= 1000 * tolerance;
      break;
    }
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      s[i] = xNew[i]! - x[i]!;
      yv[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv)) && sy > 0) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fOld = fx;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    gNorm = maxAbs(g);
    converged = gNorm <= tolerance;
    if (!converged && fOld - fx <= 1e-16 * Math.max(1, Math.abs(fx)) && gNorm <= 1000 * tolerance) {
      converged = true;
    }
  }
  return { value: fx, iterations: it, converged, gradientNorm: gNorm };
}

// ----------------------------------------------------------------------------------------------
// prediction

function checkModel(model: LinearRegressionModel | LogisticRegressionModel, kind: string): void {
  if (model === null || typeof model !== 'object' || model.kind !== kind) {
    fail(
      `expected a ${kind} model (got ${model === null || typeof model !== 'object' ? typeof model : model.kind})`,
    );
  }
  const rows = model.coefficients;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length !== model.intercepts.length) {
    fail(`${kind} model: coefficients and intercepts do not match`);
  }
  for (const r of rows) {
    if (!Array.isArray(r) || r.length !== model.features) {
      fail(`${kind} model: every coefficient row must have ${model.features} entries`);
    }
  }
}

/** Linear scores: out[i][k] = intercepts[k] + Σ_j coefficients[k][j] · X[i][j]. */
function scores(model: LinearRegressionModel | LogisticRegressionModel, X: Matrix): number[][] {
  const { n, p } = checkMatrix('X', X, model.features);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    const o: number[] = [];
    for (let k = 0; k < model.coefficients.length; k++) {
      const w = model.coefficients[k]!;
      let s = model.intercepts[k]!;
      for (let j = 0; j < p; j++) s += w[j]! * row[j]!;
      o.push(s);
    }
    out.push(o);
  }
  return out;
}

/** Predictions of a linear-regression model, one per row of X. */
export function predictLinear(model: LinearRegressionModel, X: Matrix): number[] {
  checkModel(model, 'linear-regression');
  return scores(model, X).map((r) => r[0]!);
}

/**
 * Decision function of a logistic-regression model (scikit-learn `decision_function`): binary →
 * one column (log-odds of `classes[1]`), multinomial → one logit per class.
 */
export function decisionFunction(model: LogisticRegressionModel, X: Matrix): number[][] {
  checkModel(model, 'logistic-regression');
  return scores(model, X);
}

/** Class probabilities, one row per row of X, columns in `model.classes` order. */
export function predictProba(model: LogisticRegressionModel, X: Matrix): number[][] {
  const z = decisionFunction(model, X);
  if (model.classes.length === 2 && model.coefficients.length === 1) {
    return z.map(([v]) => {
      const p1 = v! >= 0 ? 1 / (1 + Math.exp(-v!)) : Math.exp(v!) / (1 + Math.exp(v!));
      return [1 - p1, p1];
    });
  }
  if (z[0]!.length !== model.classes.length) {
    fail('logistic-regression model: one coefficient row per class expected');
  }
  return z.map((row) => {
    let mx = Number.NEGATIVE_INFINITY;
    for (const v of row) mx = Math.max(mx, v);
    const e = row.map((v) => Math.exp(v - mx));
    let s = 0;
    for (const v of e) s += v;
    return e.map((v) => v / s);
  });
}

/** Most probable class per row (ties → the first class in `model.classes`, like np.argmax). */
export function predictClass(model: LogisticRegressionModel, X: Matrix): Label[] {
  const z = decisionFunction(model, X);
  if (model.classes.length === 2 && model.coefficients.length === 1) {
    return z.map(([v]) => model.classes[v! > 0 ? 1 : 0]!);
  }
  return z.map((row) => {
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
    return model.classes[best]!;
  });
}
