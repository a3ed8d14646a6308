/**
 * Histogram-based gradient-boosted trees (the algorithm of scikit-learn's
 * HistGradientBoosting and LightGBM) for regression, binary and multiclass classification.
 *
 * Features are binned once (255 value bins + 1 for missing values); each tree grows best-first
 * from per-node gradient histograms (the smaller child built, the larger by subtraction), built
 * on all cores by feature (gbdt-threads.ts). Missing values go to the side learned at each split.
 * Training is seeded and deterministic: the same data and options give the same model bytes on
 * any machine and any thread count.
 */
import {
  binColumn,
  type ColumnReader,
  fitBins,
  MAX_BINS,
  MISSING_BIN,
  sampleIndices,
  seededUniform,
} from './gbdt-binning.js';
import {
  BIN_STRIDE,
  defaultThreads,
  FEATURE_STRIDE,
  HistogramBuilder,
  TrainingMemory,
} from './gbdt-threads.js';
import type { Matrix } from './linear.js';
import { compareLabels, type Label } from './metrics.js';

// ----------------------------------------------------------------------------------------------
// public types

/** Feature columns (one array per feature, all the same length): the fast input for large data. */
export interface FeatureColumns {
  readonly columns: readonly ArrayLike<number>[];
}

/** Rows (`Matrix`) or columns. NaN is a missing value; ±Infinity sort beyond every other value. */
export type Features = Matrix | FeatureColumns;

export interface GbdtOptions {
  /** 'classification' (binary or multiclass, by the number of labels) or 'regression'. */
  task: 'classification' | 'regression';
  /** Boosting iterations (trees per class). Default 100. */
  iterations?: number;
  /** Shrinkage of each tree. Default 0.1. */
  learningRate?: number;
  /** Leaves per tree (best-first growth). Default 31; null for no limit (then set maxDepth). */
  maxLeaves?: number | null;
  /** Edges from the root to the deepest leaf. Default null (no limit). */
  maxDepth?: number | null;
  /** Fewest training rows in a leaf. Default 20. */
  minSamplesLeaf?: number;
  /** L2 penalty on leaf values. Default 0. */
  l2?: number;
  /** Value bins per feature, 2–255. Default 255. */
  maxBins?: number;
  /**
   * Stop when the validation loss has not improved by `tolerance` for `earlyStoppingRounds`
   * iterations. 'auto' (default): on when there are more than 10,000 rows, as scikit-learn.
   */
  earlyStopping?: boolean | 'auto';
  /** Share of the rows held out (stratified for classification) for early stopping. Default 0.1. */
  validationFraction?: number;
  /** Default 10. */
  earlyStoppingRounds?: number;
  /** Default 1e-7. */
  tolerance?: number;
  /** Seeds the validation split and the binning sample. Default 0. */
  seed?: number;
  /** Threads for building histograms. Default: the machine's cores (at most 8). */
  threads?: number;
  /**
   * Memory for the histograms kept between splits (LightGBM's histogram_pool_size). Beyond it,
   * some histograms are rebuilt instead of derived; the model is the same. Default 512 MiB.
   */
  histogramPoolBytes?: number;
  /** Names of the feature columns. Default x0, x1, … */
  featureNames?: readonly string[];
}

/** One tree as parallel arrays; node 0 is the root, a leaf has `left === -1`. */
export interface GbdtTree {
  feature: number[];
  /**
   * Go left when `x <= threshold`. +Infinity (null in JSON) for a split of the missing values
   * (right) from all others (left).
   */
  threshold: number[];
  /** 1 when missing values (NaN) go left. */
  missingLeft: number[];
  left: number[];
  right: number[];
  /** Leaf values (learning rate applied); 0 at split nodes. */
  value: number[];
  /** Loss reduction of each split; 0 at leaves. */
  gain: number[];
  /** Training rows that reached the node. */
  count: number[];
}

export interface GbdtModel {
  kind: 'gbdt';
  task: 'regression' | 'binary' | 'multiclass';
  features: string[];
  /** Class labels (sorted) for classification, null for regression. */
  classes: Label[] | null;
  /** Raw score before the first tree, per output (one for regression and binary). */
  baseline: number[];
  /** Trees per iteration: the number of classes for multiclass, else 1. */
  treesPerIteration: number;
  /** Iteration-major: tree `i * treesPerIteration + k` is iteration i's tree for output k. */
  trees: GbdtTree[];
  iterations: number;
  /** Per feature: total split gain and number of splits. */
  featureImportance: { gain: number[]; splits: number[] };
  /**
   * Loss after each iteration, half squared error (regression) or log loss (classification), on
   * the training rows (a fixed sample of 10,000 when there are more).
   */
  trainingLoss: number[];
  /** The same on the held-out rows when early stopping was on, else null. */
  validationLoss: number[] | null;
  stoppedEarly: boolean;
  trainingRows: number;
  validationRows: number;
  /** The options used, defaults filled in (threads left out: they do not change the model). */
  options: Required<Omit<GbdtOptions, 'threads' | 'featureNames' | 'histogramPoolBytes'>>;
}

// ----------------------------------------------------------------------------------------------
// validation

function fail(message: string): never {
  throw new RangeError(message);
}

function isFeatureColumns(X: Features): X is FeatureColumns {
  return typeof X === 'object' && X !== null && !Array.isArray(X) && 'columns' in X;
}

/**
 * Column access to rows or columns, after checking the shape and that every value is a number
 * (NaN allowed: missing).
 */
export function readFeatures(X: Features, name: string, expectedFeatures?: number): ColumnReader {
  let nRows: number;
  let nFeatures: number;
  let column: (f: number) => ArrayLike<number>;
  if (isFeatureColumns(X)) {
    const columns = X.columns;
    if (!Array.isArray(columns) || columns.length === 0) fail(`${name}.columns must be a non-empty array`);
    nFeatures = columns.length;
    nRows = columns[0]!.length;
    columns.forEach((c, f) => {
      if (c.length !== nRows) fail(`${name}.columns[${f}] has ${c.length} values but column 0 has ${nRows}`);
    });
    column = (f) => columns[f]!;
  } else {
    if (!Array.isArray(X)) fail(`${name} must be an array of rows or { columns } (got ${typeof X})`);
    nRows = X.length;
    nFeatures = nRows > 0 ? (X[0]?.length ?? 0) : 0;
    X.forEach((row, i) => {
      if (!Array.isArray(row) && !(row instanceof Float64Array))
        fail(`${name}[${i}] must be an array or Float64Array (got ${row === null ? 'null' : typeof row})`);
      if (row.length !== nFeatures)
        fail(`${name} is ragged: row ${i} has ${row.length} columns but row 0 has ${nFeatures}`);
    });
    column = (f) => {
      const out = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) {
        const v = X[i]![f];
        // Checked here: the Float64Array would turn null into 0 and '1' into 1.
        if (typeof v !== 'number') fail(`${name}: row ${i}, column ${f} is not a number (${String(v)})`);
        out[i] = v;
      }
      return out;
    };
  }
  if (nRows === 0) fail(`${name} is empty (no rows)`);
  if (nFeatures === 0) fail(`${name} has no feature columns`);
  if (expectedFeatures !== undefined && nFeatures !== expectedFeatures) {
    fail(`${name} has ${nFeatures} feature columns but the model expects ${expectedFeatures}`);
  }
  const cache = new Map<number, ArrayLike<number>>();
  return {
    nRows,
    nFeatures,
    column(f) {
      let c = cache.get(f);
      if (!c) {
        c = column(f);
        // Typed arrays hold numbers only; other columns are checked (rows were, when copied).
        if (!ArrayBuffer.isView(c))
          for (let i = 0; i < nRows; i++) {
            if (typeof c[i] !== 'number')
              fail(`${name}: row ${i}, column ${f} is not a number (${String(c[i])})`);
          }
        if (!isFeatureColumns(X)) cache.set(f, c);
      }
      return c;
    },
  };
}

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(
      `option ${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (got ${value})`,
    );
  }
  return value;
}

function checkNumber(name: string, value: number, min: number, max: number, open = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (open && value === min)
  ) {
    fail(
      `option ${name} must be a number ${open ? '>' : '>='} ${min}${max < Infinity ? ` and <= ${max}` : ''} (got ${value})`,
    );
  }
  return value;
}

function resolveOptions(
  options: GbdtOptions,
): Required<Omit<GbdtOptions, 'threads' | 'featureNames' | 'histogramPoolBytes'>> {
  if (options.task !== 'classification' && options.task !== 'regression') {
    fail(`option task must be 'classification' or 'regression' (got ${JSON.stringify(options.task)})`);
  }
  const maxLeaves = options.maxLeaves === undefined ? 31 : options.maxLeaves;
  const maxDepth = options.maxDepth ?? null;
  if (maxLeaves !== null) checkInteger('maxLeaves', maxLeaves, 2);
  if (maxDepth !== null) checkInteger('maxDepth', maxDepth, 1, 30);
  if (maxLeaves === null && maxDepth === null)
    fail('set maxLeaves or maxDepth: both unlimited would grow trees without bound');
  const earlyStopping = options.earlyStopping ?? 'auto';
  if (earlyStopping !== 'auto' && typeof earlyStopping !== 'boolean') {
    fail(`option earlyStopping must be true, false or 'auto' (got ${JSON.stringify(earlyStopping)})`);
  }
  return {
    task: options.task,
    iterations: checkInteger('iterations', options.iterations ?? 100, 1),
    learningRate: checkNumber('learningRate', options.learningRate ?? 0.1, 0, Infinity, true),
    maxLeaves,
    maxDepth,
    minSamplesLeaf: checkInteger('minSamplesLeaf', options.minSamplesLeaf ?? 20, 1),
    l2: checkNumber('l2', options.l2 ?? 0, 0, Infinity),
    maxBins: checkInteger('maxBins', options.maxBins ?? MAX_BINS, 2, MAX_BINS),
    earlyStopping,
    validationFraction: checkNumber('validationFraction', options.validationFraction ?? 0.1, 0, 1, true),
    earlyStoppingRounds: checkInteger('earlyStoppingRounds', options.earlyStoppingRounds ?? 10, 1),
    tolerance: checkNumber('tolerance', options.tolerance ?? 1e-7, 0, Infinity),
    seed: checkInteger('seed', options.seed ?? 0, 0, 2 ** 32 - 1),
  };
}

/** Class index per row (classification) after checking the labels. */
function encodeLabels(y: readonly Label[], n: number): { classes: Label[]; index: Int32Array } {
  if (!Array.isArray(y)) fail(`y must be an array of labels (got ${typeof y})`);
  if (y.length !== n) fail(`y has ${y.length} labels but X has ${n} rows`);
  let kind: string | undefined;
  const seen = new Map<Label, number>();
  for (let i = 0; i < n; i++) {
    const v = y[i];
    const k = typeof v;
    if ((k !== 'number' && k !== 'string') || (k === 'number' && !Number.isFinite(v))) {
      fail(
        `y[${i}] is not a label: ${String(v)} (labels are finite numbers or strings; missing labels must be removed)`,
      );
    }
    if (kind === undefined) kind = k;
    else if (k !== kind) fail(`y[${i}]: labels mix strings and numbers`);
    if (!seen.has(v as Label)) seen.set(v as Label, 0);
  }
  const classes = [...seen.keys()].sort(compareLabels);
  if (classes.length < 2) {
    fail(`y has a single class (${JSON.stringify(classes[0])}): a classifier needs at least two`);
  }
  const position = new Map(classes.map((c, i) => [c, i]));
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = position.get(y[i]!)!;
  return { classes, index };
}

function encodeTargets(y: readonly number[], n: number): Float64Array {
  if (!Array.isArray(y) && !ArrayBuffer.isView(y)) fail(`y must be an array of numbers (got ${typeof y})`);
  if (y.length !== n) fail(`y has ${y.length} targets but X has ${n} rows`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`y[${i}] is not a finite number (${String(v)})`);
    out[i] = v;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------
// training

/** Loss of the current raw scores, and the gradients and hessians for the next tree. */
interface Objective {
  outputs: number;
  constantHessian: boolean;
  baseline(rows: Uint32Array): number[];
  /** Fills gradients/hessians of output k for the training rows; returns nothing. */
  gradients(
    raw: Float64Array,
    k: number,
    g: Float32Array,
    h: Float32Array,
    probabilities: Float64Array,
  ): void;
  /** Computes class probabilities (classification) before the iteration's trees. */
  prepare(raw: Float64Array, probabilities: Float64Array, n: number): void;
  /**
   * Mean loss over `positions` (all when null) of `raw`, whose position i holds the scores of
   * row `rows[i]`.
   */
  loss(raw: Float64Array, rows: Uint32Array, positions: Uint32Array | null): number;
}

function squaredError(target: Float64Array, train: Uint32Array): Objective {
  return {
    outputs: 1,
    constantHessian: true,
    baseline(rows) {
      let sum = 0;
      for (let i = 0; i < rows.length; i++) sum += target[rows[i]!]!;
      return [sum / rows.length];
    },
    prepare() {},
    gradients(raw, _k, g) {
      for (let i = 0; i < train.length; i++) g[i] = raw[i]! - target[train[i]!]!;
    },
    loss(raw, rows, positions) {
      const m = positions ? positions.length : rows.length;
      let sum = 0;
      for (let j = 0; j < m; j++) {
        const i = positions ? positions[j]! : j;
        const d = raw[i]! - target[rows[i]!]!;
        sum += d * d;
      }
      return (0.5 * sum) / m;
    },
  };
}

const PROBABILITY_EPS = 2 ** -52;

function binomial(labels: Int32Array, train: Uint32Array): Objective {
  return {
    outputs: 1,
    constantHessian: false,
    baseline(rows) {
      let positives = 0;
      for (let i = 0; i < rows.length; i++) positives += labels[rows[i]!]!;
      const p = Math.min(1 - PROBABILITY_EPS, Math.max(PROBABILITY_EPS, positives / rows.length));
      return [Math.log(p / (1 - p))];
    },
    prepare() {},
    gradients(raw, _k, g, h) {
      for (let i = 0; i < train.length; i++) {
        const p = 1 / (1 + Math.exp(-raw[i]!));
        g[i] = p - labels[train[i]!]!;
        h[i] = p * (1 - p);
      }
    },
    loss(raw, rows, positions) {
      const m = positions ? positions.length : rows.length;
      let sum = 0;
      for (let j = 0; j < m; j++) {
        const i = positions ? positions[j]! : j;
        const r = raw[i]!;
        // log(1 + e^r) − y·r, computed without overflow
        const softplus = r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r));
        sum += softplus - labels[rows[i]!]! * r;
      }
      return sum / m;
    },
  };
}

function multinomial(labels: Int32Array, classes: number, train: Uint32Array): Objective {
  return {
    outputs: classes,
    constantHessian: false,
    baseline(rows) {
      const counts = new Float64Array(classes);
      for (let i = 0; i < rows.length; i++) counts[labels[rows[i]!]!]! += 1;
      const logs = [...counts].map((c) =>
        Math.log(Math.min(1 - PROBABILITY_EPS, Math.max(PROBABILITY_EPS, c / rows.length))),
      );
      const mean = logs.reduce((a, b) => a + b, 0) / classes;
      return logs.map((l) => l - mean);
    },
    prepare(raw, probabilities, n) {
      softmaxRows(raw, probabilities, n, classes);
    },
    gradients(_raw, k, g, h, probabilities) {
      for (let i = 0; i < train.length; i++) {
        const p = probabilities[i * classes + k]!;
        g[i] = p - (labels[train[i]!] === k ? 1 : 0);
        h[i] = p * (1 - p);
      }
    },
    loss(raw, rows, positions) {
      const m = positions ? positions.length : rows.length;
      let sum = 0;
      for (let j = 0; j < m; j++) {
        const i = positions ? positions[j]! : j;
        let max = -Infinity;
        for (let k = 0; k < classes; k++) max = Math.max(max, raw[i * classes + k]!);
        let total = 0;
        for (let k = 0; k < classes; k++) total += Math.exp(raw[i * classes + k]! - max);
        sum += max + Math.log(total) - raw[i * classes + labels[rows[i]!]!]!;
      }
      return sum / m;
    },
  };
}

function softmaxRows(raw: Float64Array, out: Float64Array, n: number, classes: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, raw[o + k]!);
    let total = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp(raw[o + k]! - max);
      out[o + k] = e;
      total += e;
    }
    for (let k = 0; k < classes; k++) out[o + k]! /= total;
  }
}

/** Rows held out for early stopping: stratified by class for classification, seeded. */
function splitForValidation(
  n: number,
  fraction: number,
  classIndex: Int32Array | null,
  classes: number,
  random: () => number,
): { train: Uint32Array; validation: Uint32Array } {
  const groups: number[][] = classIndex ? Array.from({ length: classes }, () => []) : [[]];
  for (let i = 0; i < n; i++) groups[classIndex ? classIndex[i]! : 0]!.push(i);
  const held = new Uint8Array(n);
  let heldCount = 0;
  for (const group of groups) {
    const take = Math.round(group.length * fraction);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(random() * (group.length - i));
      const t = group[i]!;
      group[i] = group[j]!;
      group[j] = t;
      held[group[i]!] = 1;
      heldCount++;
    }
  }
  if (heldCount === 0 || heldCount === n) {
    fail(
      `validationFraction leaves ${heldCount === 0 ? 'no validation' : 'no training'} rows out of ${n}; change it or turn earlyStopping off`,
    );
  }
  const train = new Uint32Array(n - heldCount);
  const validation = new Uint32Array(heldCount);
  let t = 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    if (held[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  gradientLeft: number;
  hessianLeft: number;
  countLeft: number;
}

interface GrowingNode {
  id: number;
  start: number;
  end: number;
  depth: number;
  gradient: number;
  hessian: number;
  count: number;
  /** Histogram slot, -1 when it has none. */
  slot: number;
  split: Split | null;
  left: GrowingNode | null;
  right: GrowingNode | null;
}

const MIN_HESSIAN_TO_SPLIT = 1e-3;
const LEAF_EPS = 1e-15;
const TRAINING_LOSS_SAMPLE = 10_000;
/** Bytes of histograms kept for the subtraction trick. */
const HISTOGRAM_MEMORY = 512 * 2 ** 20;

interface TreeContext {
  buffers: TrainingMemory;
  builder: HistogramBuilder;
  nonMissingBins: Int32Array;
  hasMissing: Uint8Array;
  options: Required<Omit<GbdtOptions, 'threads' | 'featureNames' | 'histogramPoolBytes'>>;
  freeSlots: number[];
}

/** Best split of a node from its histogram (scikit-learn's splitter: both missing-value sides). */
function findSplit(ctx: TreeContext, node: GrowingNode): Split | null {
  const { histograms, nFeatures } = ctx.buffers;
  const { l2, minSamplesLeaf } = ctx.options;
  const G = node.gradient;
  const H = node.hessian;
  const C = node.count;
  const parentTerm = (G * G) / (H + l2);
  let best: Split | null = null;
  let bestGain = 0;
  for (let f = 0; f < nFeatures; f++) {
    const base = node.slot * nFeatures * FEATURE_STRIDE + f * FEATURE_STRIDE;
    const bins = ctx.nonMissingBins[f]!;
    // Missing values (bin 255) go right: scan value bins left to right. With missing values,
    // the last value bin too: all values left, missing values right (scikit-learn's "split on
    // NaN", threshold +Infinity).
    let gl = 0;
    let hl = 0;
    let cl = 0;
    const end = bins - 1 + ctx.hasMissing[f]!;
    for (let b = 0; b < end; b++) {
      const o = base + b * BIN_STRIDE;
      gl += histograms[o]!;
      cl += histograms[o + 2]!;
      hl += histograms[o + 1]!;
      if (cl < minSamplesLeaf) continue;
      if (C - cl < minSamplesLeaf) break;
      const hr = H - hl;
      if (hl < MIN_HESSIAN_TO_SPLIT) continue;
      if (hr < MIN_HESSIAN_TO_SPLIT) break;
      const gr = G - gl;
      const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentTerm;
      if (gain > bestGain) {
        bestGain = gain;
        best = {
          gain,
          feature: f,
          bin: b,
          missingLeft: false,
          gradientLeft: gl,
          hessianLeft: hl,
          countLeft: cl,
        };
      }
    }
    if (!ctx.hasMissing[f]) continue;
    // Missing values go left: scan right to left.
    let gr = 0;
    let hr = 0;
    let cr = 0;
    for (let b = bins - 1; b > 0; b--) {
      const o = base + b * BIN_STRIDE;
      gr += histograms[o]!;
      cr += histograms[o + 2]!;
      hr += histograms[o + 1]!;
      if (cr < minSamplesLeaf) continue;
      const cl2 = C - cr;
      if (cl2 < minSamplesLeaf) break;
      const hl2 = H - hr;
      if (hr < MIN_HESSIAN_TO_SPLIT) continue;
      if (hl2 < MIN_HESSIAN_TO_SPLIT) break;
      const gl2 = G - gr;
      const gain = (gl2 * gl2) / (hl2 + l2) + (gr * gr) / (hr + l2) - parentTerm;
      if (gain > bestGain) {
        bestGain = gain;
        best = {
          gain,
          feature: f,
          bin: b - 1,
          missingLeft: true,
          gradientLeft: gl2,
          hessianLeft: hl2,
          countLeft: cl2,
        };
      }
    }
  }
  // A feature without missing values in training sends them to the child with more rows.
  if (best && !ctx.hasMissing[best.feature]) best.missingLeft = best.countLeft > C - best.countLeft;
  return best;
}

/**
 * A free histogram slot. When the pool is used up (it is capped in memory), the histogram of the
 * waiting node with the smallest gain is dropped: that node's children are then built directly
 * instead of by subtraction.
 */
function takeSlot(ctx: TreeContext, waiting: readonly GrowingNode[]): number {
  let slot = ctx.freeSlots.pop();
  if (slot === undefined) {
    let victim: GrowingNode | undefined;
    for (const node of waiting) {
      if (node.slot >= 0 && (!victim || node.split!.gain < victim.split!.gain)) victim = node;
    }
    if (!victim) throw new Error('internal error: no free histogram slot');
    slot = victim.slot;
    victim.slot = -1;
  }
  return slot;
}

function releaseSlot(ctx: TreeContext, node: GrowingNode): void {
  if (node.slot >= 0) ctx.freeSlots.push(node.slot);
  node.slot = -1;
}

function canSplit(ctx: TreeContext, node: GrowingNode): boolean {
  const { maxDepth, minSamplesLeaf } = ctx.options;
  return (
    (maxDepth === null || node.depth < maxDepth) &&
    node.count >= 2 * minSamplesLeaf &&
    node.hessian >= 2 * MIN_HESSIAN_TO_SPLIT
  );
}

/** Stable partition of the node's rows by its split; returns the first position of the right child. */
function partition(ctx: TreeContext, node: GrowingNode, split: Split): number {
  return ctx.builder.partition(node.start, node.end, split.feature, split.bin, split.missingLeft);
}

function subtractHistograms(ctx: TreeContext, into: number, minus: number): void {
  const { histograms, nFeatures } = ctx.buffers;
  const size = nFeatures * FEATURE_STRIDE;
  const a = into * size;
  const b = minus * size;
  for (let i = 0; i < size; i++) histograms[a + i]! -= histograms[b + i]!;
}

/** Grows one tree on the current gradients; the nodes in creation order (root first). */
function growTree(ctx: TreeContext, gradientSum: number, hessianSum: number): GrowingNode[] {
  const { nRows, rows } = ctx.buffers;
  const { maxLeaves } = ctx.options;
  for (let i = 0; i < nRows; i++) rows[i] = i;
  const nodes: GrowingNode[] = [];
  const makeNode = (
    start: number,
    end: number,
    depth: number,
    gradient: number,
    hessian: number,
  ): GrowingNode => {
    const node: GrowingNode = {
      id: nodes.length,
      start,
      end,
      depth,
      gradient,
      hessian,
      count: end - start,
      slot: -1,
      split: null,
      left: null,
      right: null,
    };
    nodes.push(node);
    return node;
  };
  const root = makeNode(0, nRows, 0, gradientSum, hessianSum);
  const splittable: GrowingNode[] = [];
  if (canSplit(ctx, root)) {
    root.slot = takeSlot(ctx, splittable);
    ctx.builder.build(0, nRows, root.slot * ctx.buffers.nFeatures * FEATURE_STRIDE);
    root.split = findSplit(ctx, root);
    if (root.split) splittable.push(root);
    else releaseSlot(ctx, root);
  }
  let leaves = 1;
  while (splittable.length > 0 && (maxLeaves === null || leaves < maxLeaves)) {
    // Best-first: the splittable node with the largest gain (the earliest on ties).
    let at = 0;
    for (let i = 1; i < splittable.length; i++)
      if (splittable[i]!.split!.gain > splittable[at]!.split!.gain) at = i;
    const node = splittable.splice(at, 1)[0]!;
    const split = node.split!;
    const middle = partition(ctx, node, split);
    const gl = split.gradientLeft;
    const hl = split.hessianLeft;
    const left = makeNode(node.start, middle, node.depth + 1, gl, hl);
    const right = makeNode(middle, node.end, node.depth + 1, node.gradient - gl, node.hessian - hl);
    node.left = left;
    node.right = right;
    leaves++;
    const full = maxLeaves !== null && leaves >= maxLeaves;
    const splitLeft = !full && canSplit(ctx, left);
    const splitRight = !full && canSplit(ctx, right);
    if (splitLeft || splitRight) {
      const [small, large] = left.count <= right.count ? [left, right] : [right, left];
      const largeNeeded = large === left ? splitLeft : splitRight;
      small.slot = takeSlot(ctx, splittable);
      ctx.builder.build(small.start, small.end, small.slot * ctx.buffers.nFeatures * FEATURE_STRIDE);
      if (largeNeeded && node.slot >= 0) {
        subtractHistograms(ctx, node.slot, small.slot);
        large.slot = node.slot;
        node.slot = -1;
      } else if (largeNeeded) {
        // The parent's histogram was dropped for memory: build the larger child's directly.
        large.slot = takeSlot(ctx, splittable);
        ctx.builder.build(large.start, large.end, large.slot * ctx.buffers.nFeatures * FEATURE_STRIDE);
      }
      for (const child of [left, right]) {
        if (child.slot < 0) continue;
        child.split = canSplit(ctx, child) ? findSplit(ctx, child) : null;
        if (child.split) splittable.push(child);
        else releaseSlot(ctx, child);
      }
    }
    releaseSlot(ctx, node);
  }
  for (const node of splittable) releaseSlot(ctx, node);
  return nodes;
}

/** Leaf value: the Newton step −G/(H + l2), shrunk by the learning rate. */
function leafValue(node: GrowingNode, ctx: TreeContext): number {
  return (-ctx.options.learningRate * node.gradient) / (node.hessian + ctx.options.l2 + LEAF_EPS);
}

/** Tree arrays plus, for the held-out rows, the same tree on bins. */
function finishTree(
  ctx: TreeContext,
  nodes: GrowingNode[],
  thresholds: Float64Array[],
): {
  tree: GbdtTree;
  binTree: {
    feature: Int32Array;
    bin: Int32Array;
    missingLeft: Uint8Array;
    left: Int32Array;
    right: Int32Array;
    value: Float64Array;
  };
} {
  const n = nodes.length;
  const tree: GbdtTree = {
    feature: [],
    threshold: [],
    missingLeft: [],
    left: [],
    right: [],
    value: [],
    gain: [],
    count: [],
  };
  const binTree = {
    feature: new Int32Array(n),
    bin: new Int32Array(n),
    missingLeft: new Uint8Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    value: new Float64Array(n),
  };
  for (const node of nodes) {
    const isLeaf = node.left === null;
    const split = node.split;
    const value = isLeaf ? leafValue(node, ctx) : 0;
    tree.feature.push(isLeaf ? -1 : split!.feature);
    // The split on missing values (past the last threshold) sends every value left: +Infinity.
    tree.threshold.push(isLeaf ? 0 : (thresholds[split!.feature]![split!.bin] ?? Infinity));
    tree.missingLeft.push(!isLeaf && split!.missingLeft ? 1 : 0);
    tree.left.push(isLeaf ? -1 : node.left!.id);
    tree.right.push(isLeaf ? -1 : node.right!.id);
    tree.value.push(value);
    tree.gain.push(isLeaf ? 0 : split!.gain);
    tree.count.push(node.count);
    binTree.feature[node.id] = isLeaf ? -1 : split!.feature;
    binTree.bin[node.id] = isLeaf ? 0 : split!.bin;
    binTree.missingLeft[node.id] = !isLeaf && split!.missingLeft ? 1 : 0;
    binTree.left[node.id] = isLeaf ? -1 : node.left!.id;
    binTree.right[node.id] = isLeaf ? -1 : node.right!.id;
    binTree.value[node.id] = value;
  }
  return { tree, binTree };
}

/**
 * Trains gradient-boosted trees. `y` holds labels (numbers or strings) for classification and
 * finite numbers for regression. Throws a `RangeError` naming the option, row or column of the
 * first bad input. Synchronous: it blocks the calling thread (and uses worker threads).
 */
export function fitGbdt(
  X: Features,
  y: readonly Label[] | readonly number[],
  options: GbdtOptions,
): GbdtModel {
  const resolved = resolveOptions(options);
  const threads =
    options.threads === undefined ? defaultThreads() : checkInteger('threads', options.threads, 1);
  const reader = readFeatures(X, 'X');
  const n = reader.nRows;
  const p = reader.nFeatures;
  const features = options.featureNames
    ? [...options.featureNames]
    : Array.from({ length: p }, (_, f) => `x${f}`);
  if (features.length !== p) fail(`featureNames has ${features.length} names but X has ${p} columns`);
  const isClassification = resolved.task === 'classification';
  const labels = isClassification ? encodeLabels(y as readonly Label[], n) : null;
  const targets = isClassification ? null : encodeTargets(y as readonly number[], n);
  const nClasses = labels ? labels.classes.length : 0;

  const random = seededUniform(resolved.seed);
  const earlyStopping = resolved.earlyStopping === 'auto' ? n > 10_000 : resolved.earlyStopping;
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const { train, validation } = earlyStopping
    ? splitForValidation(n, resolved.validationFraction, labels?.index ?? null, nClasses, random)
    : { train: all, validation: new Uint32Array(0) };
  const nTrain = train.length;

  // Bin thresholds from the training rows; bins of training rows (shared) and held-out rows.
  const trainReader: ColumnReader =
    train === all
      ? reader
      : {
          nRows: nTrain,
          nFeatures: p,
          column: (f) => {
            const c = reader.column(f);
            const out = new Float64Array(nTrain);
            for (let i = 0; i < nTrain; i++) out[i] = c[train[i]!]!;
            return out;
          },
        };
  const thresholds = fitBins(trainReader, resolved.maxBins, random);
  const leafCap = Math.min(
    resolved.maxLeaves ?? Infinity,
    resolved.maxDepth === null ? Infinity : 2 ** resolved.maxDepth,
    Math.max(1, Math.floor(nTrain / resolved.minSamplesLeaf)),
  );
  // A histogram slot for each node that may still be split, plus one for a split in progress,
  // within HISTOGRAM_MEMORY (beyond it, some children are built directly, not by subtraction).
  const poolBytes = options.histogramPoolBytes ?? HISTOGRAM_MEMORY;
  if (typeof poolBytes !== 'number' || !(poolBytes > 0)) {
    fail(`option histogramPoolBytes must be a number > 0 (got ${poolBytes})`);
  }
  const slots = Math.max(3, Math.min(leafCap + 1, Math.floor(poolBytes / (p * FEATURE_STRIDE * 8))));
  const memory = new TrainingMemory(nTrain, p, slots);
  const binned = memory.binned;
  const validationBinned = new Uint8Array(p * validation.length);
  const nonMissingBins = new Int32Array(p);
  const hasMissing = new Uint8Array(p);
  for (let f = 0; f < p; f++) {
    const column = reader.column(f);
    const out = binned.subarray(f * nTrain, (f + 1) * nTrain);
    binColumn(column, thresholds[f]!, out, train === all ? null : train);
    if (validation.length > 0)
      binColumn(
        column,
        thresholds[f]!,
        validationBinned.subarray(f * validation.length, (f + 1) * validation.length),
        validation,
      );
    nonMissingBins[f] = thresholds[f]!.length + 1;
    for (let i = 0; i < nTrain; i++)
      if (out[i] === MISSING_BIN) {
        hasMissing[f] = 1;
        break;
      }
  }

  const objective = labels
    ? nClasses === 2
      ? binomial(labels.index, train)
      : multinomial(labels.index, nClasses, train)
    : squaredError(targets!, train);
  const K = objective.outputs;
  // Squared error has a hessian of 1 everywhere: set once.
  if (objective.constantHessian) memory.hessians.fill(1);
  const buffers = memory;
  const builder = new HistogramBuilder(memory, threads);
  const ctx: TreeContext = {
    buffers,
    builder,
    nonMissingBins,
    hasMissing,
    options: resolved,
    freeSlots: Array.from({ length: slots }, (_, i) => slots - 1 - i),
  };

  const baseline = objective.baseline(train);
  const raw = new Float64Array(nTrain * K);
  const validationRaw = new Float64Array(validation.length * K);
  fillRows(raw, nTrain, baseline);
  // The training loss curve is measured on a fixed sample of rows, as scikit-learn does.
  const lossSample =
    nTrain > TRAINING_LOSS_SAMPLE ? sampleIndices(nTrain, TRAINING_LOSS_SAMPLE, random).sort() : null;
  fillRows(validationRaw, validation.length, baseline);
  const probabilities = new Float64Array(K > 1 ? nTrain * K : 0);
  const trees: GbdtTree[] = [];
  const gainByFeature = new Array<number>(p).fill(0);
  const splitsByFeature = new Array<number>(p).fill(0);
  const trainingLoss: number[] = [];
  const validationScores: number[] = [];
  const validationLoss: number[] | null = earlyStopping ? [] : null;
  let stoppedEarly = false;
  try {
    if (earlyStopping) validationScores.push(-objective.loss(validationRaw, validation, null));
    for (let iteration = 0; iteration < resolved.iterations; iteration++) {
      objective.prepare(raw, probabilities, nTrain);
      for (let k = 0; k < K; k++) {
        objective.gradients(raw, k, buffers.gradients, buffers.hessians, probabilities);
        const gradientSum = sum(buffers.gradients, nTrain);
        const hessianSum = sum(buffers.hessians, nTrain);
        const nodes = growTree(ctx, gradientSum, hessianSum);
        const { tree, binTree } = finishTree(ctx, nodes, thresholds);
        trees.push(tree);
        for (const node of nodes) {
          if (node.left === null) {
            addLeafValue(raw, buffers.rows, node.start, node.end, K, k, binTree.value[node.id]!);
          } else {
            gainByFeature[node.split!.feature]! += node.split!.gain;
            splitsByFeature[node.split!.feature]! += 1;
          }
        }
        if (validation.length > 0)
          addBinnedTree(binTree, validationBinned, validation.length, validationRaw, K, k);
      }
      trainingLoss.push(objective.loss(raw, train, lossSample));
      if (earlyStopping) {
        const loss = objective.loss(validationRaw, validation, null);
        validationLoss!.push(loss);
        validationScores.push(-loss);
        if (shouldStop(validationScores, resolved.earlyStoppingRounds, resolved.tolerance)) {
          stoppedEarly = iteration + 1 < resolved.iterations;
          break;
        }
      }
    }
  } finally {
    builder.close();
  }
  return {
    kind: 'gbdt',
    task: labels ? (nClasses === 2 ? 'binary' : 'multiclass') : 'regression',
    features,
    classes: labels ? labels.classes : null,
    baseline,
    treesPerIteration: K,
    trees,
    iterations: trees.length / K,
    featureImportance: { gain: gainByFeature, splits: splitsByFeature },
    trainingLoss,
    validationLoss,
    stoppedEarly,
    trainingRows: nTrain,
    validationRows: validation.length,
    options: resolved,
  };
}

function sum(values: Float32Array, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i]!;
  return total;
}

function addLeafValue(
  raw: Float64Array,
  rows: Uint32Array,
  start: number,
  end: number,
  K: number,
  k: number,
  value: number,
): void {
  for (let i = start; i < end; i++) raw[rows[i]! * K + k]! += value;
}

function fillRows(raw: Float64Array, n: number, values: readonly number[]): void {
  const K = values.length;
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) raw[i * K + k] = values[k]!;
}

/** scikit-learn's `_should_stop`: no score in the last `rounds` beat the one before by `tolerance`. */
function shouldStop(scores: number[], rounds: number, tolerance: number): boolean {
  const reference = rounds + 1;
  if (scores.length < reference) return false;
  const referenceScore = scores[scores.length - reference]! + tolerance;
  for (let i = scores.length - reference + 1; i < scores.length; i++)
    if (scores[i]! > referenceScore) return false;
  return true;
}

function addBinnedTree(
  tree: {
    feature: Int32Array;
    bin: Int32Array;
    missingLeft: Uint8Array;
    left: Int32Array;
    right: Int32Array;
    value: Float64Array;
  },
  binned: Uint8Array,
  n: number,
  raw: Float64Array,
  K: number,
  k: number,
): void {
  for (let i = 0; i < n; i++) {
    let node = 0;
    while (tree.left[node]! >= 0) {
      const bin = binned[tree.feature[node]! * n + i]!;
      const goLeft = bin === MISSING_BIN ? tree.missingLeft[node] === 1 : bin <= tree.bin[node]!;
      node = goLeft ? tree.left[node]! : tree.right[node]!;
    }
    raw[i * K + k]! += tree.value[node]!;
  }
}
