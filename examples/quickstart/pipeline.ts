/**
 * Quickstart: make a seeded synthetic customer dataset, profile and validate it (lathe/data),
 * split it, train gradient-boosted trees for a small grid of hyperparameters in parallel, pick
 * the best on the evaluation split, check it on the held-out test split with the model gate,
 * and publish it only if it passes. An exit handler reports the run's outcome either way.
 *
 *   npx lathe run examples/quickstart/pipeline.ts --param rows=5000
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { collect, component, Dataset, Model, onExit, parallelFor, pipeline, when, z } from 'lathe';
import { splitDataset, statisticsGen, validateData } from 'lathe/data';
import { evaluator, gridSearch, modelGate, selectBest, trainer } from 'lathe/ml';
import { makeCustomersCsv } from './data.js';

export const makeData = component({
  name: 'make-data',
  description: 'Synthetic customers and whether they churned, from a seeded generator.',
  params: { rows: z.number().int().positive().default(5000), seed: z.number().int().default(42) },
  outputs: { data: Dataset },
  async run({ params, outputs, log }) {
    await outputs.data.writeText(makeCustomersCsv(params.rows, params.seed));
    outputs.data.setMetadata({ format: 'csv', rows: params.rows });
    log(`wrote ${params.rows} customers`);
  },
});

export const publish = component({
  name: 'publish',
  description: 'Copies the gated model to published/<pipeline>/model.json, beside the workspace.',
  inputs: { model: Model },
  params: { directory: z.string().default('published/quickstart') },
  cache: false,
  async run({ inputs, params, log }) {
    const directory = resolve(params.directory);
    await mkdir(directory, { recursive: true });
    await copyFile(inputs.model.path, join(directory, 'model.json'));
    log(`published ${inputs.model.id} to ${join(directory, 'model.json')}`);
  },
});

export const alert = component({
  name: 'alert',
  params: { message: z.string() },
  async run({ params, log }) {
    log.warn(`ALERT: ${params.message}`);
  },
});

export const notify = component({
  name: 'notify',
  params: { status: z.string(), run: z.string() },
  cache: false,
  async run({ params, log }) {
    log(`run ${params.run} finished: ${params.status}`);
  },
});

export default pipeline(
  {
    name: 'quickstart',
    description: 'Synthetic data to a tuned, gated gradient-boosted-trees model.',
    params: {
      rows: z.number().int().positive().default(5000),
      // The gate's bars on the test split (MLflow MetricThreshold semantics).
      thresholds: z
        .record(z.string(), z.object({ threshold: z.number() }))
        .default({ accuracy: { threshold: 0.8 }, roc_auc: { threshold: 0.85 } }),
    },
  },
  ({ params }) => {
    const data = makeData({ rows: params.rows });
    // Data checks before any training: a profile for the record, and expectations that stop the
    // run (the validate task fails, nothing downstream runs) when the data is not as expected.
    statisticsGen({ data: data.outputs.data });
    const checked = validateData({
      data: data.outputs.data,
      expectations: [
        { expect: 'expect_table_row_count_to_be_between', min_value: 100 },
        { expect: 'expect_column_values_to_not_be_null', column: 'churned' },
        { expect: 'expect_column_values_to_be_in_set', column: 'churned', value_set: [0, 1] },
        {
          expect: 'expect_column_values_to_be_in_set',
          column: 'segment',
          value_set: ['consumer', 'small-business', 'enterprise'],
        },
        { expect: 'expect_column_values_to_not_be_null', column: 'usage_hours', mostly: 0.9 },
        {
          expect: 'expect_column_values_to_be_between',
          column: 'tenure_months',
          min_value: 0,
          max_value: 120,
        },
      ],
    });
    const parts = splitDataset({
      data: data.outputs.data,
      train: 0.6,
      eval: 0.2,
      test: 0.2,
      stratifyBy: 'churned',
    }).after(checked);
    // Hyperparameter search: one training task per candidate, in parallel; each is scored on the
    // evaluation split, and the best is chosen by accuracy.
    const trials = parallelFor(gridSearch({ learningRate: [0.05, 0.1], maxLeaves: [7, 31] }), (candidate) => {
      const trained = trainer({
        data: parts.outputs.train,
        label: 'churned',
        task: 'classification',
        estimator: candidate,
      });
      const scored = evaluator({ model: trained.outputs.model, data: parts.outputs.eval });
      return { model: trained.outputs.model, metrics: scored.outputs.metrics };
    });
    const best = selectBest({
      models: collect(trials.outputs.model),
      metrics: collect(trials.outputs.metrics),
      metric: 'accuracy',
    })
      .retry({ attempts: 3, backoff: '1s', factor: 2 })
      .timeout('10m')
      .resources({ cpu: 1, memory: '2Gi' });
    // The gate judges the chosen model on data no choice has seen: the test split.
    const tested = evaluator({ model: best.outputs.model, data: parts.outputs.test, sliceBy: 'segment' });
    const gate = modelGate({
      candidate: tested.outputs.metrics,
      thresholds: params.thresholds,
    });
    when(gate.outputs.passed.eq(true), () => {
      publish({ model: best.outputs.model });
    }).otherwise(() => {
      alert({ message: 'the model did not pass the gate; nothing published' });
    });
    onExit(notify({ status: '{{run.status}}', run: '{{run.id}}' }));
  },
);
