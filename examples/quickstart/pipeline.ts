/**
 * Quickstart: make a seeded synthetic dataset, profile and validate it (lathe/data), split it,
 * train a logistic-regression model for three learning rates in parallel, pick the best on
 * held-out data, and publish it only if it clears the accuracy bar. An exit handler reports the
 * run's outcome either way.
 *
 *   npx lathe run examples/quickstart/pipeline.ts --param rows=5000
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { collect, component, Dataset, Metrics, Model, onExit, parallelFor, pipeline, when, z } from 'lathe';
import { statisticsGen, validateData } from 'lathe/data';
import { makeBlobs, parseCsv, seededRandom, toCsv } from './data.js';
import { accuracy, fitLogistic, type LogisticModel, predictProbability } from './logistic.js';

export const makeData = component({
  name: 'make-data',
  description: 'Two noisy Gaussian classes in four features, from a seeded generator.',
  params: { rows: z.number().int().positive().default(1000), seed: z.number().int().default(42) },
  outputs: { data: Dataset },
  async run({ params, outputs, log }) {
    const rows = makeBlobs(params.rows, params.seed);
    await outputs.data.writeText(toCsv(rows));
    outputs.data.setMetadata({
      rows: rows.length,
      columns: ['x1', 'x2', 'x3', 'x4', 'label'],
      format: 'csv',
    });
    log(`wrote ${rows.length} rows`);
  },
});

export const split = component({
  name: 'split',
  description: 'Seeded shuffle, then a train/test split by ratio.',
  inputs: { data: Dataset },
  params: { testRatio: z.number().gt(0).lt(1).default(0.2), seed: z.number().int().default(7) },
  outputs: { train: Dataset, test: Dataset },
  async run({ inputs, params, outputs }) {
    const rows = parseCsv(await inputs.data.readText());
    const random = seededRandom(params.seed);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const cut = Math.round(rows.length * (1 - params.testRatio));
    await outputs.train.writeText(toCsv(rows.slice(0, cut)));
    await outputs.test.writeText(toCsv(rows.slice(cut)));
    outputs.train.setMetadata({ rows: cut });
    outputs.test.setMetadata({ rows: rows.length - cut });
  },
});

export const train = component({
  name: 'train',
  description: 'Logistic regression by full-batch gradient descent with L2.',
  inputs: { data: Dataset },
  params: {
    lr: z.number().positive(),
    epochs: z.number().int().positive().default(200),
    l2: z.number().min(0).default(1e-3),
  },
  outputs: { model: Model },
  async run({ inputs, params, outputs, log }) {
    const rows = parseCsv(await inputs.data.readText());
    const model = fitLogistic(rows, params);
    await outputs.model.writeJson(model);
    outputs.model.setMetadata({
      algorithm: 'logistic-regression',
      lr: params.lr,
      trainAccuracy: accuracy(model, rows),
    });
    log(`lr=${params.lr}: train accuracy ${accuracy(model, rows).toFixed(4)}`);
  },
});

export const evaluate = component({
  name: 'evaluate',
  inputs: { model: Model, data: Dataset },
  outputs: { metrics: Metrics, accuracy: z.number().min(0).max(1) },
  async run({ inputs, outputs }) {
    const model = await inputs.model.readJson<LogisticModel>();
    const rows = parseCsv(await inputs.data.readText());
    const acc = accuracy(model, rows);
    const logLoss =
      -rows.reduce((sum, r) => {
        const p = Math.min(Math.max(predictProbability(model, r.features), 1e-12), 1 - 1e-12);
        return sum + (r.label === 1 ? Math.log(p) : Math.log(1 - p));
      }, 0) / rows.length;
    await outputs.metrics.writeJson({ accuracy: acc, logLoss, rows: rows.length });
    return { accuracy: acc };
  },
});

export const pickBest = component({
  name: 'pick-best',
  params: { accuracies: z.array(z.number()).min(1) },
  inputs: { models: Model.list() },
  outputs: { model: Model, accuracy: z.number() },
  async run({ params, inputs, outputs, log }) {
    let best = 0;
    params.accuracies.forEach((a, i) => {
      if (a > params.accuracies[best]!) best = i;
    });
    const chosen = inputs.models[best]!;
    await copyFile(chosen.path, outputs.model.path);
    outputs.model.setMetadata({ ...chosen.metadata, testAccuracy: params.accuracies[best] });
    log(`best of ${params.accuracies.length}: #${best} with accuracy ${params.accuracies[best]!.toFixed(4)}`);
    return { accuracy: params.accuracies[best]! };
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
    description: 'Synthetic data to a gated logistic-regression model.',
    params: {
      rows: z.number().int().positive().default(5000),
      minAccuracy: z.number().min(0).max(1).default(0.8),
      learningRates: z.array(z.number().positive()).default([0.3, 0.1, 0.03]),
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
        { expect: 'expect_column_values_to_not_be_null', column: 'label' },
        { expect: 'expect_column_values_to_be_in_set', column: 'label', value_set: [0, 1] },
        { expect: 'expect_column_mean_to_be_between', column: 'label', min_value: 0.2, max_value: 0.8 },
        {
          expect: 'expect_column_values_to_be_between',
          column: 'x1',
          min_value: -20,
          max_value: 20,
          mostly: 0.999,
        },
      ],
    });
    const parts = split({ data: data.outputs.data }).after(checked);
    const trials = parallelFor(
      params.learningRates,
      (lr) => {
        const trained = train({ data: parts.outputs.train, lr });
        // Inside the loop, a ref to train's output means the same iteration's model.
        const scored = evaluate({ model: trained.outputs.model, data: parts.outputs.test });
        return { model: trained.outputs.model, accuracy: scored.outputs.accuracy };
      },
      { parallelism: 2 },
    );
    const best = pickBest({
      accuracies: collect(trials.outputs.accuracy),
      models: collect(trials.outputs.model),
    })
      .retry({ attempts: 3, backoff: '1s', factor: 2 })
      .timeout('10m')
      .resources({ cpu: 1, memory: '2Gi' });
    when(best.outputs.accuracy.gte(params.minAccuracy), () => {
      publish({ model: best.outputs.model });
    }).otherwise(() => {
      alert({ message: 'accuracy below the bar; nothing published' });
    });
    onExit(notify({ status: '{{run.status}}', run: '{{run.id}}' }));
  },
);
