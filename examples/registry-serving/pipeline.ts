/**
 * Train → gate against the champion → register: the training half of the registry-serving
 * example. Each run trains gradient-boosted trees on the Breast Cancer Wisconsin data, evaluates
 * them and the registry's current champion on the same test split, and registers the new model
 * under `alias` only if it is at least as good (the first model is judged by the absolute bars).
 *
 *   npx lathe run examples/registry-serving/pipeline.ts --param alias=champion
 *   npx lathe run examples/registry-serving/pipeline.ts --param alias=challenger \
 *     --param 'estimator={"iterations": 60, "learningRate": 0.2}'
 */
import { fileURLToPath } from 'node:url';
import { pipeline, when, z } from 'lathe';
import { ingestFile, splitDataset } from 'lathe/data';
import { evaluateChampion, evaluator, modelGate, registerModel, trainer } from 'lathe/ml';

// The UCI Breast Cancer Wisconsin (Diagnostic) data shipped with the python-step example.
const DATA = fileURLToPath(new URL('../python-step/data/breast_cancer.csv', import.meta.url));

export default pipeline(
  {
    name: 'registry-serving',
    description: 'Train, gate against the champion on the same data, register under an alias.',
    params: {
      alias: z.string().default('champion'),
      estimator: z.record(z.string(), z.unknown()).default({ iterations: 30 }),
    },
  },
  ({ params }) => {
    const data = ingestFile({ path: DATA });
    const parts = splitDataset({
      data: data.outputs.dataset,
      train: 0.7,
      eval: 0,
      test: 0.3,
      seed: 1,
      stratifyBy: 'diagnosis',
    });
    const trained = trainer({
      data: parts.outputs.train,
      label: 'diagnosis',
      task: 'classification',
      estimator: params.estimator,
    });
    const candidate = evaluator({ model: trained.outputs.model, data: parts.outputs.test });
    const champion = evaluateChampion({ data: parts.outputs.test, name: 'breast-cancer' });
    const gate = modelGate({
      candidate: candidate.outputs.metrics,
      baseline: champion.outputs.metrics,
      thresholds: {
        accuracy: { threshold: 0.9, minAbsoluteChange: 0 },
        roc_auc: { threshold: 0.95, minAbsoluteChange: 0 },
      },
      emptyBaseline: 'threshold-only',
    });
    when(gate.outputs.passed.eq(true), () => {
      registerModel({ model: trained.outputs.model, name: 'breast-cancer', alias: params.alias });
    });
  },
);
