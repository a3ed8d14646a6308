/**
 * Prediction with gradient-boosted trees: the model's trees laid out once (cached per model
 * object) in a WebAssembly memory, walked by the `predict` kernel of gbdt-kernels.wat.
 */
import { type Features, type GbdtModel, readFeatures } from './gbdt.js';
import { kernelsModule } from './gbdt-threads.js';
import type { Label } from './metrics.js';

/** A model's trees in a WebAssembly memory, with room for a block of rows and their scores. */
interface CompiledGbdt {
  nFeatures: number;
  outputs: number;
  trees: number;
  baseline: Float64Array;
  memory: WebAssembly.Memory;
  predict: PredictKernel;
  /** Byte offsets of the regions. */
  at: { nodes: number; values: number; roots: number; depths: number; rows: number; scores: number };
}

type PredictKernel = (
  nodes: number,
  values: number,
  roots: number,
  depths: number,
  trees: number,
  outputs: number,
  x: number,
  n: number,
  p: number,
  scores: number,
) => void;

/** Rows scored per kernel call. */
const BLOCK_ROWS = 4096;
const PAGE = 65_536;

const compiled = new WeakMap<GbdtModel, CompiledGbdt>();

function bad(message: string): never {
  throw new RangeError(`not a valid gradient-boosting model: ${message}`);
}

/**
 * Checks a model (e.g. one read from JSON) and lays its trees out for the kernel: nodes of 16
 * bytes, in breadth-first order so that a node's right child follows its left one.
 */
function compile(model: GbdtModel): CompiledGbdt {
  const cached = compiled.get(model);
  if (cached) return cached;
  if (typeof model !== 'object' || model === null || model.kind !== 'gbdt') bad("kind is not 'gbdt'");
  if (!Array.isArray(model.features) || model.features.length === 0) bad('features is not a non-empty array');
  if (!Array.isArray(model.trees) || model.trees.length === 0) bad('trees is not a non-empty array');
  const outputs = model.treesPerIteration;
  if (!Number.isInteger(outputs) || outputs < 1 || model.trees.length % outputs !== 0) {
    bad(`treesPerIteration (${outputs}) does not divide the ${model.trees.length} trees`);
  }
  if (!Array.isArray(model.baseline) || model.baseline.length !== outputs)
    bad('baseline needs one value per output');
  if (model.task === 'regression' || model.task === 'binary' || model.task === 'multiclass') {
    const classes = model.task === 'regression' ? 0 : model.task === 'binary' ? 2 : outputs;
    if (model.task === 'regression' ? model.classes !== null : !Array.isArray(model.classes))
      bad(`classes must be ${model.task === 'regression' ? 'null' : 'an array'} for task ${model.task}`);
    if (
      (model.task === 'multiclass' ? outputs < 3 : outputs !== 1) ||
      (classes > 0 && model.classes!.length !== classes)
    )
      bad(`${outputs} outputs and ${model.classes?.length ?? 0} classes do not fit task ${model.task}`);
  } else bad(`task ${JSON.stringify(model.task)} is not regression, binary or multiclass`);
  const nFeatures = model.features.length;
  let total = 0;
  model.trees.forEach((tree, t) => {
    const size = Array.isArray(tree?.feature) ? tree.feature.length : 0;
    if (size === 0) bad(`tree ${t} has no nodes`);
    for (const key of ['threshold', 'missingLeft', 'left', 'right', 'value'] as const) {
      if (!Array.isArray(tree[key]) || tree[key].length !== size)
        bad(`tree ${t}: ${key} has not ${size} entries`);
    }
    total += size;
  });
  const trees = model.trees.length;
  const nodesBytes = total * 16;
  const rootsBytes = Math.ceil((trees * 4) / 16) * 16;
  const rowsBytes = BLOCK_ROWS * nFeatures * 8;
  const scoresBytes = BLOCK_ROWS * outputs * 8;
  const valuesBytes = total * 8;
  const at = { nodes: 0, values: nodesBytes, roots: 0, depths: 0, rows: 0, scores: 0 };
  at.roots = at.values + valuesBytes;
  at.depths = at.roots + rootsBytes;
  at.rows = at.depths + rootsBytes;
  at.scores = at.rows + rowsBytes;
  const pages = Math.ceil((at.scores + scoresBytes) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const view = new DataView(memory.buffer);
  const roots = new Int32Array(memory.buffer, at.roots, trees);
  const depths = new Int32Array(memory.buffer, at.depths, trees);
  const values = new Float64Array(memory.buffer, at.values, total);
  let next = 0;
  model.trees.forEach((tree, t) => {
    const size = tree.feature.length;
    // Breadth-first: the children of each split node get two adjacent places.
    const place = new Int32Array(size).fill(-1);
    const depth = new Int32Array(size);
    const order: number[] = [0];
    place[0] = next;
    let placed = next + 1;
    roots[t] = next;
    for (let q = 0; q < order.length; q++) {
      const i = order[q]!;
      const at16 = place[i]! * 16;
      const leaf = tree.left[i] === -1;
      if (leaf) {
        const value = tree.value[i]!;
        if (typeof value !== 'number' || !Number.isFinite(value))
          bad(`tree ${t}, node ${i}: leaf value ${value}`);
        // A leaf leads to itself: x > +Infinity is never true, and NaN goes left (bit 31 clear).
        values[place[i]!] = value;
        view.setFloat64(at16, Infinity, true);
        view.setInt32(at16 + 8, 0, true);
        view.setInt32(at16 + 12, place[i]!, true);
        depths[t] = Math.max(depths[t]!, depth[i]!);
        continue;
      }
      const f = tree.feature[i]!;
      if (!Number.isInteger(f) || f < 0 || f >= nFeatures)
        bad(`tree ${t}, node ${i}: feature ${f} out of range`);
      // JSON writes the +Infinity of a split on missing values as null.
      const threshold = tree.threshold[i] === null ? Infinity : tree.threshold[i]!;
      if (typeof threshold !== 'number' || Number.isNaN(threshold))
        bad(`tree ${t}, node ${i}: threshold ${threshold}`);
      const children = [tree.left[i]!, tree.right[i]!];
      for (const child of children) {
        // Children come after their parent, so every walk ends.
        if (!Number.isInteger(child) || child <= i || child >= size || place[child] !== -1) {
          bad(`tree ${t}, node ${i}: child ${child} out of range or shared`);
        }
      }
      place[children[0]!] = placed;
      place[children[1]!] = placed + 1;
      depth[children[0]!] = depth[i]! + 1;
      depth[children[1]!] = depth[i]! + 1;
      order.push(children[0]!, children[1]!);
      view.setFloat64(at16, threshold, true);
      view.setInt32(at16 + 8, f, true);
      view.setInt32(at16 + 12, (placed | (tree.missingLeft[i] ? 0 : 0x80000000)) >>> 0, true);
      placed += 2;
    }
    if (order.length !== size) bad(`tree ${t}: ${size - order.length} nodes cannot be reached from the root`);
    next = placed;
  });
  const instance = new WebAssembly.Instance(kernelsModule(), { env: { memory } });
  const out: CompiledGbdt = {
    nFeatures,
    outputs,
    trees,
    baseline: Float64Array.from(model.baseline),
    memory,
    predict: instance.exports.predict as PredictKernel,
    at,
  };
  compiled.set(model, out);
  return out;
}

/**
 * Raw scores (before the link function): row-major, `n × treesPerIteration` (the log-odds for
 * binary classification, a score per class for multiclass, the prediction for regression).
 * NaN is a missing value (it goes where training sent missing values); ±Infinity compare as
 * numbers.
 */
export function gbdtRawScores(model: GbdtModel, X: Features): Float64Array {
  const c = compile(model);
  const reader = readFeatures(X, 'X', c.nFeatures);
  const n = reader.nRows;
  const p = c.nFeatures;
  const K = c.outputs;
  const result = new Float64Array(n * K);
  const columns = Array.from({ length: p }, (_, f) => reader.column(f));
  const rows = new Float64Array(c.memory.buffer, c.at.rows, BLOCK_ROWS * p);
  const scores = new Float64Array(c.memory.buffer, c.at.scores, BLOCK_ROWS * K);
  for (let start = 0; start < n; start += BLOCK_ROWS) {
    const end = Math.min(n, start + BLOCK_ROWS);
    const size = end - start;
    for (let f = 0; f < p; f++) {
      const column = columns[f]!;
      for (let i = start; i < end; i++) rows[(i - start) * p + f] = column[i]!;
    }
    for (let i = 0; i < size; i++) for (let k = 0; k < K; k++) scores[i * K + k] = c.baseline[k]!;
    c.predict(c.at.nodes, c.at.values, c.at.roots, c.at.depths, c.trees, K, c.at.rows, size, p, c.at.scores);
    result.set(scores.subarray(0, size * K), start * K);
  }
  return result;
}

/** Class probabilities (columns in `model.classes` order). Classification models only. */
export function gbdtPredictProba(model: GbdtModel, X: Features): number[][] {
  if (model.task === 'regression')
    throw new RangeError('predictProba needs a classification model (this one is regression)');
  const raw = gbdtRawScores(model, X);
  const K = model.treesPerIteration;
  const n = raw.length / K;
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (K === 1) {
      const p = 1 / (1 + Math.exp(-raw[i]!));
      out[i] = [1 - p, p];
    } else {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, raw[i * K + k]!);
      const row = new Array<number>(K);
      let total = 0;
      for (let k = 0; k < K; k++) {
        row[k] = Math.exp(raw[i * K + k]! - max);
        total += row[k]!;
      }
      for (let k = 0; k < K; k++) row[k]! /= total;
      out[i] = row;
    }
  }
  return out;
}

/** Predicted class labels (classification) or values (regression). */
export function gbdtPredict(model: GbdtModel, X: Features): Label[] {
  const raw = gbdtRawScores(model, X);
  if (model.task === 'regression') return Array.from(raw);
  const K = model.treesPerIteration;
  const classes = model.classes!;
  const n = raw.length / K;
  const out: Label[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (K === 1) out[i] = classes[raw[i]! > 0 ? 1 : 0]!;
    else {
      let best = 0;
      for (let k = 1; k < K; k++) if (raw[i * K + k]! > raw[i * K + best]!) best = k;
      out[i] = classes[best]!;
    }
  }
  return out;
}

/** Feature importances normalized to sum to 1: by total split gain (default) or split count. */
export function gbdtFeatureImportance(
  model: GbdtModel,
  kind: 'gain' | 'splits' = 'gain',
): { feature: string; importance: number }[] {
  const values = model.featureImportance[kind];
  const total = values.reduce((a, b) => a + b, 0);
  return model.features
    .map((feature, f) => ({ feature, importance: total > 0 ? values[f]! / total : 0 }))
    .sort((a, b) => b.importance - a.importance);
}
