/**
 * A Python step in a TypeScript pipeline: lathe/data ingests the breast-cancer CSV as a Parquet
 * Dataset, `ml.to-csv` hands it to Python as CSV, a `pythonTrainer` runs train.py (a
 * scikit-learn random forest, or xgboost's XGBClassifier with `--param algorithm=xgboost`), and
 * a gate reports the model only if its held-out accuracy clears the bar (else it raises an alert).
 *
 *   npx lathe run examples/python-step/pipeline.ts --param maxDepth=4 --param minAccuracy=0.95
 *
 * Needs a Python with scikit-learn (and python3-xgboost for the xgboost mode): Debian's
 * `apt-get install -y python3-sklearn` gives /usr/bin/python3; pick another interpreter with
 * `--param python=/path/to/python` or $LATHE_PYTHON.
 */
import { fileURLToPath } from 'node:url';
import { component, Metrics, Model, pipeline, when, z } from 'lathe';
import { ingestFile } from 'lathe/data';
import { pythonTrainer, toCsv } from 'lathe/ml';

const defaultData = fileURLToPath(new URL('./data/breast_cancer.csv', import.meta.url));

export const trainSklearn = pythonTrainer({
  name: 'train-sklearn',
  description: 'A random forest or XGBClassifier on a stratified held-out split (train.py).',
  // Relative to this directory, where the step runs; its content is part of the cache key.
  script: 'train.py',
  params: {
    algorithm: z.enum(['random-forest', 'xgboost']).default('random-forest'),
    label: z.string().min(1).default('diagnosis'),
    positive: z.string().min(1).optional(),
    maxDepth: z.number().int().positive().default(6),
    nEstimators: z.number().int().positive().default(200),
    testSize: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().default(42),
  },
  scalars: { accuracy: z.number().min(0).max(1) },
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
    description:
      'Breast-cancer CSV to a gated scikit-learn (or xgboost) classifier, trained by a Python script.',
    params: {
      data: z.string().min(1).default(defaultData),
      algorithm: z.enum(['random-forest', 'xgboost']).default('random-forest'),
      python: z
        .string()
        .min(1)
        .default(process.env.LATHE_PYTHON || '/usr/bin/python3'),
      maxDepth: z.number().int().positive().default(6),
      seed: z.number().int().default(42),
      minAccuracy: z.number().min(0).max(1).default(0.9),
    },
  },
  ({ params }) => {
    const ingested = ingestFile({ path: params.data });
    const csv = toCsv({ dataset: ingested.outputs.dataset });
    const trained = trainSklearn({
      data: csv.outputs.csv,
      algorithm: params.algorithm,
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
