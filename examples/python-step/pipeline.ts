/**
 * A Python step in a TypeScript pipeline: a TS component loads the breast-cancer CSV, a command
 * component trains a scikit-learn random forest with train.py, and a gate reports the model only
 * if its held-out accuracy clears the bar (otherwise it raises an alert).
 *
 *   npx lathe run examples/python-step/pipeline.ts --param maxDepth=4 --param minAccuracy=0.95
 *
 * Needs a Python with scikit-learn: Debian's `apt-get install -y python3-sklearn` gives
 * /usr/bin/python3; pick another interpreter with `--param python=/path/to/python`.
 */
import { copyFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { component, Dataset, Metrics, Model, pipeline, when, z } from 'lathe';

const defaultData = fileURLToPath(new URL('./data/breast_cancer.csv', import.meta.url));

export const loadCsv = component({
  name: 'load-csv',
  description: 'Copies a CSV file into the store as a Dataset, with its row and column counts.',
  params: { path: z.string().min(1).default(defaultData) },
  outputs: { data: Dataset },
  // It reads a file outside the store, so it always runs; its output is content-addressed, so
  // the steps after it still hit the cache when the file has not changed.
  cache: false,
  async run({ params, outputs, log }) {
    // The cache key is this code and the path, not the file's content: after editing the file in
    // place, run with --no-cache.
    const path = resolve(params.path);
    const text = await readFile(path, 'utf8');
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (lines.length < 2) throw new Error(`${path}: expected a header row and at least one data row`);
    const columns = lines[0]!.split(',').map((name) => name.trim());
    await copyFile(path, outputs.data.path);
    outputs.data.setMetadata({ format: 'csv', rows: lines.length - 1, columns });
    log(`loaded ${lines.length - 1} rows, ${columns.length} columns from ${path}`);
  },
});

export const trainSklearn = component.command({
  name: 'train-sklearn',
  description: 'Random forest on a stratified 80/20 split (train.py, scikit-learn).',
  inputs: { data: Dataset },
  params: {
    python: z.string().min(1).default('/usr/bin/python3'),
    label: z.string().min(1).default('diagnosis'),
    maxDepth: z.number().int().positive().default(6),
    seed: z.number().int().default(42),
  },
  outputs: { model: Model, metrics: Metrics, accuracy: z.number().min(0).max(1) },
  // Runs with the pipeline module's directory as its working directory, so `train.py` is found.
  command: [
    '{{params.python}}',
    'train.py',
    '--data',
    '{{inputs.data}}',
    '--label',
    '{{params.label}}',
    '--max-depth',
    '{{params.maxDepth}}',
    '--seed',
    '{{params.seed}}',
    '--model',
    '{{outputs.model}}',
    '--metrics',
    '{{outputs.metrics}}',
    '--accuracy',
    '{{outputs.accuracy}}',
  ],
  env: { PYTHONUNBUFFERED: '1' },
  timeout: '10m',
});

interface TrainMetrics {
  accuracy: number;
  f1: number;
  roc_auc: number;
  n_train: number;
  n_test: number;
}

export const report = component({
  name: 'report',
  description: 'Logs the metrics of a model that passed the gate.',
  inputs: { model: Model, metrics: Metrics },
  async run({ inputs, log }) {
    const m = await inputs.metrics.readJson<TrainMetrics>();
    log(
      `accuracy ${m.accuracy.toFixed(4)}, f1 ${m.f1.toFixed(4)}, roc_auc ${m.roc_auc.toFixed(4)} (${m.n_train} train / ${m.n_test} test rows)`,
    );
    log(`model ${inputs.model.id}: ${inputs.model.size} bytes, ${inputs.model.hash}`);
  },
});

export const accuracyAlert = component({
  name: 'accuracy-alert',
  params: { accuracy: z.number(), minAccuracy: z.number() },
  async run({ params, log }) {
    log.warn(
      `ALERT: accuracy ${params.accuracy.toFixed(4)} is below the bar ${params.minAccuracy}; the model is not reported`,
    );
  },
});

export default pipeline(
  {
    name: 'python-step',
    description: 'Breast-cancer CSV to a gated scikit-learn random forest, trained by a Python script.',
    params: {
      data: z.string().min(1).default(defaultData),
      python: z.string().min(1).default('/usr/bin/python3'),
      maxDepth: z.number().int().positive().default(6),
      seed: z.number().int().default(42),
      minAccuracy: z.number().min(0).max(1).default(0.9),
    },
  },
  ({ params }) => {
    const loaded = loadCsv({ path: params.data });
    const trained = trainSklearn({
      data: loaded.outputs.data,
      python: params.python,
      maxDepth: params.maxDepth,
      seed: params.seed,
    });
    when(trained.outputs.accuracy.gte(params.minAccuracy), () => {
      report({ model: trained.outputs.model, metrics: trained.outputs.metrics });
    }).otherwise(() => {
      accuracyAlert({ accuracy: trained.outputs.accuracy, minAccuracy: params.minAccuracy });
    });
  },
);
