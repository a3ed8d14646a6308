/**
 * The GBDT bench dataset (issue: "GBDT binary classification on synthetic data like
 * scikit-learn's make_classification (1M rows × 20 features, 80/20 split), 100 trees, depth 6,
 * 255 bins, learning rate 0.1").
 *
 * `writeBenchDataset(dir)` generates it with `makeClassification` (BENCH_DATASET, fixed seed),
 * splits it 80/20 (first rows train, last rows test: the generator already shuffled them), writes
 * the files bench/ml_peers.py reads into `dir` and returns the split in memory:
 *
 *   dir/dataset.json  header: rows, features, train, test, file names, dtype, layout
 *   dir/x.f64         features, little-endian float64, column-major (feature 0's rows first)
 *   dir/y.i32         labels, little-endian int32
 *
 * Peers: `/usr/bin/python3 bench/ml_peers.py <dir>` prints one JSON line per peer (xgboost,
 * sklearn_hgb) with fit_seconds, predict_seconds and the holdout auc.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MakeClassificationOptions, makeClassification } from '../src/ml/synthetic.js';

/**
 * The bench's make_classification parameters. Chosen with scikit-learn's own make_classification
 * (1M rows, 80/20, the xgboost settings of bench/ml_peers.py): with 4 clusters per class the
 * holdout AUC is stable across seeds (random_state 0: 0.9657, 1: 0.9625), close to the issue's
 * xgboost AUC ≈ 0.967; with 2 clusters per class it swings by ±0.01 between seeds.
 */
export const BENCH_DATASET = {
  samples: 1_000_000,
  features: 20,
  informative: 10,
  redundant: 5,
  repeated: 0,
  classes: 2,
  clustersPerClass: 4,
  flipY: 0.01,
  classSep: 1,
  seed: 0,
} as const satisfies MakeClassificationOptions;

/** Fraction of rows used for training (the first ones); the rest is the holdout. */
export const TRAIN_FRACTION = 0.8;

/** The Python script that times the peers on a dataset directory. */
export const PEERS_SCRIPT = fileURLToPath(new URL('./ml_peers.py', import.meta.url));

export interface BenchDataset {
  /** Training rows of each feature: views (subarray) of the generated columns, no copy. */
  trainColumns: Float64Array[];
  trainLabels: Int32Array;
  /** Holdout rows of each feature (views). */
  testColumns: Float64Array[];
  testLabels: Int32Array;
  featureNames: string[];
  rows: number;
  train: number;
  test: number;
  /** The options makeClassification was called with. */
  options: MakeClassificationOptions;
  files: { dir: string; header: string; x: string; y: string };
}

export interface BenchDatasetOptions extends Partial<MakeClassificationOptions> {
  /** Default TRAIN_FRACTION. */
  trainFraction?: number;
}

function bytes(a: Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Generates the bench dataset (BENCH_DATASET, overridable, e.g. `{ samples: 100_000 }` for a quick
 * run), writes dataset.json, x.f64 and y.i32 into `dir` (created if missing) and returns the
 * 80/20 split.
 */
export function writeBenchDataset(dir: string, options: BenchDatasetOptions = {}): BenchDataset {
  if (endianness() !== 'LE')
    throw new Error('writeBenchDataset: the binary files assume a little-endian host');
  const { trainFraction = TRAIN_FRACTION, ...overrides } = options;
  const generatorOptions: MakeClassificationOptions = { ...BENCH_DATASET, ...overrides };
  const { columns, labels, featureNames } = makeClassification(generatorOptions);
  const rows = labels.length;
  const train = Math.round(rows * trainFraction);
  if (!(train > 0 && train < rows)) {
    throw new RangeError(`writeBenchDataset: trainFraction ${trainFraction} leaves no train or no test rows`);
  }

  mkdirSync(dir, { recursive: true });
  const files = {
    dir,
    header: join(dir, 'dataset.json'),
    x: join(dir, 'x.f64'),
    y: join(dir, 'y.i32'),
  };
  const fd = openSync(files.x, 'w');
  try {
    for (const column of columns) {
      const b = bytes(column);
      let written = 0;
      while (written < b.length) written += writeSync(fd, b, written, b.length - written);
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(files.y, bytes(labels));
  writeFileSync(
    files.header,
    `${JSON.stringify(
      {
        format: 'lathe-bench-gbdt/1',
        rows,
        features: columns.length,
        train,
        test: rows - train,
        x: 'x.f64',
        y: 'y.i32',
        dtype: 'float64',
        layout: 'column-major',
        generator: { name: 'lathe makeClassification', ...generatorOptions },
      },
      null,
      2,
    )}\n`,
  );

  return {
    trainColumns: columns.map((c) => c.subarray(0, train)),
    trainLabels: labels.subarray(0, train),
    testColumns: columns.map((c) => c.subarray(train)),
    testLabels: labels.subarray(train),
    featureNames,
    rows,
    train,
    test: rows - train,
    options: generatorOptions,
    files,
  };
}
