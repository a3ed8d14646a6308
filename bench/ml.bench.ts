/**
 * ML benchmarks (issue: ML), on bench/ml-data.ts's make_classification-like dataset (1M rows ×
 * 20 features, 80/20 split):
 * - ml.gbdt1m.fit.seconds: fitGbdt, binary, 100 trees, depth 6, 255 bins, learning rate 0.1, no
 *   early stopping, on the 800k training rows; peer = xgboost's fit seconds (tree_method hist,
 *   2 threads, Debian's python3-xgboost) on the same rows, ratio = ours ÷ xgboost's. The
 *   scikit-learn HistGradientBoosting time is printed in the note.
 * - ml.gbdt1m.auc: holdout ROC AUC of our model; peer = xgboost's.
 * - ml.gbdt.predict200k.seconds: gbdtRawScores on the 200k holdout rows; peer = xgboost's
 *   predict_proba on the same rows.
 * Set LATHE_BENCH_GBDT_ROWS to scale the dataset down. The peers run after ours, one at a time,
 * so they do not compete for the two cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fitGbdt } from '../src/ml/gbdt.js';
import { gbdtRawScores } from '../src/ml/gbdt-predict.js';
import { rocAuc } from '../src/ml/metrics.js';
import { report, tempDir } from './bench-util.js';
import { PEERS_SCRIPT, writeBenchDataset } from './ml-data.js';

const PYTHON = '/usr/bin/python3';
const rows = Number(process.env.LATHE_BENCH_GBDT_ROWS ?? 1_000_000);

interface Peer {
  peer: string;
  fit_seconds?: number;
  predict_seconds?: number;
  auc?: number;
  missing?: boolean;
}

const dir = tempDir('lathe-bench-ml-');
try {
  const data = writeBenchDataset(dir.path, { samples: rows });
  const labels = Array.from(data.trainLabels);
  const started = performance.now();
  const model = fitGbdt({ columns: data.trainColumns }, labels, {
    task: 'classification',
    iterations: 100,
    maxDepth: 6,
    maxLeaves: null,
    learningRate: 0.1,
    maxBins: 255,
    earlyStopping: false,
    // xgboost's defaults for the rest: no minimum rows per leaf beyond its hessian floor.
    minSamplesLeaf: 1,
  });
  const fitSeconds = (performance.now() - started) / 1000;
  const predictStarted = performance.now();
  const scores = gbdtRawScores(model, { columns: data.testColumns });
  const predictSeconds = (performance.now() - predictStarted) / 1000;
  const auc = rocAuc(Array.from(data.testLabels), Array.from(scores), { positiveLabel: 1 });

  const peers = new Map<string, Peer>();
  if (existsSync(PYTHON)) {
    const run = spawnSync(PYTHON, [PEERS_SCRIPT, dir.path], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (run.status !== 0) process.stderr.write(`ml_peers.py failed: ${run.stderr}\n`);
    for (const line of run.stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const peer = JSON.parse(line) as Peer;
      if (!peer.missing) peers.set(peer.peer, peer);
    }
  }
  const xgb = peers.get('xgboost');
  const hgb = peers.get('sklearn_hgb');
  const hgbNote = hgb
    ? `; scikit-learn HistGradientBoosting ${hgb.fit_seconds!.toFixed(2)} s, AUC ${hgb.auc!.toFixed(4)}`
    : '';
  report({
    name: 'ml.gbdt1m.fit.seconds',
    value: fitSeconds,
    unit: 's',
    peer: xgb?.fit_seconds,
    ratio: xgb ? fitSeconds / xgb.fit_seconds! : undefined,
    note: `${data.train} training rows, 100 trees, depth 6${xgb ? '' : '; xgboost not installed'}${hgbNote}`,
  });
  report({
    name: 'ml.gbdt1m.auc',
    value: auc,
    unit: 'auc',
    peer: xgb?.auc,
    note: `${data.test} holdout rows`,
  });
  report({
    name: 'ml.gbdt.predict200k.seconds',
    value: predictSeconds,
    unit: 's',
    peer: xgb?.predict_seconds,
    ratio: xgb ? predictSeconds / xgb.predict_seconds! : undefined,
    note: `${data.test} rows, raw scores`,
  });
} finally {
  dir.remove();
}
