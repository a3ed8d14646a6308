/**
 * The lathe/ml components end to end in real pipeline runs (src/testing's runPipeline: the same
 * compile/workspace/engine wiring as `lathe run`): ingest a real CSV → split → fit a transform →
 * train → evaluate → gate; a grid search fanned out with parallelFor and fanned in by
 * ml.select-best; cache hits on a re-run; and the failures a user meets first.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestFile, splitDataset } from '../../src/data/components.js';
import { parallelFor, pipeline } from '../../src/dsl/pipeline.js';
import { collect } from '../../src/dsl/refs.js';
import {
  evaluator,
  fitFeatureTransform,
  importModel,
  modelGate,
  selectBest,
  trainer,
} from '../../src/ml/components.js';
import type { GateResult } from '../../src/ml/gate.js';
import { type LatheModel, loadModel, trainModel } from '../../src/ml/model.js';
import type { FittedTransform } from '../../src/ml/transforms.js';
import { gridSearch } from '../../src/ml/tuning.js';
import { runPipeline } from '../../src/testing/index.js';
import { makeTempDir } from './cli.js';

const BREAST_CANCER = '/work/shared/datasets/breast_cancer.csv';
const dir = makeTempDir('lathe-ml-pipeline-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A few columns, so that runs stay quick; the trees see the rest through passthrough. */
const PASSTHROUGH = ['worst_perimeter', 'worst_concave_points', 'mean_texture', 'worst_area'];

const trainEvaluateGate = pipeline({ name: 'ml-pipeline-end-to-end' }, () => {
  const data = ingestFile({ path: BREAST_CANCER });
  const parts = splitDataset({ data: data.outputs.dataset, seed: 1, stratifyBy: 'diagnosis' });
  const transform = fitFeatureTransform({
    data: parts.outputs.train,
    spec: {
      columns: { mean_radius: [{ kind: 'standard_scale' }], mean_area: [{ kind: 'standard_scale' }] },
      passthrough: PASSTHROUGH,
    },
  });
  const trained = trainer({
    data: parts.outputs.train,
    fittedTransform: transform.outputs.transform,
    label: 'diagnosis',
    task: 'classification',
    estimator: { iterations: 40 },
  });
  const evaluated = evaluator({ model: trained.outputs.model, data: parts.outputs.test });
  modelGate({ candidate: evaluated.outputs.metrics, thresholds: { accuracy: { threshold: 0.9 } } });
});

const GRID = gridSearch({ learningRate: [0.05, 0.3], maxLeaves: [3, 15] });

const search = pipeline({ name: 'ml-pipeline-grid' }, () => {
  const data = ingestFile({ path: BREAST_CANCER });
  const parts = splitDataset({ data: data.outputs.dataset, seed: 2 });
  const trials = parallelFor(GRID, (candidate) => {
    const trained = trainer({
      data: parts.outputs.train,
      label: 'diagnosis',
      task: 'classification',
      features: PASSTHROUGH,
      estimator: candidate,
    });
    const scored = evaluator({ model: trained.outputs.model, data: parts.outputs.eval });
    return { model: trained.outputs.model, metrics: scored.outputs.metrics };
  });
  selectBest({
    models: collect(trials.outputs.model),
    metrics: collect(trials.outputs.metrics),
    metric: 'log_loss',
    greaterIsBetter: false,
  });
});

interface Report {
  metric: string;
  greaterIsBetter: boolean;
  best: number;
  trials: { index: number; params: Record<string, unknown>; metrics: Record<string, number> }[];
}

describe('ml components in a pipeline', () => {
  it('ingest → split → transform → train → evaluate → gate on breast_cancer, then the cache on a re-run', async () => {
    const home = join(dir, 'end-to-end');
    const first = await runPipeline(trainEvaluateGate, { home, cache: true });
    try {
      expect(first.status).toBe('succeeded');
      expect(Object.keys(first.tasks).sort()).toEqual([
        'data.ingest',
        'data.split',
        'ml.evaluate',
        'ml.gate',
        'ml.train',
        'ml.transform',
      ]);
      for (const t of Object.values(first.tasks)) expect(t.status).toBe('succeeded');

      const fitted = await first.artifactJson<FittedTransform>('ml.transform', 'transform');
      expect(fitted.features).toEqual(['mean_radius', 'mean_area', ...PASSTHROUGH]);
      // Fitted on the training split only (80% by default).
      expect(fitted.nTrainingRows).toBeGreaterThan(440);
      expect(fitted.nTrainingRows).toBeLessThan(470);

      const model = await first.artifactJson<LatheModel>('ml.train', 'model');
      expect(model.format).toBe('lathe-model/v1');
      expect(model.algorithm).toBe('gbdt');
      expect(model.task).toBe('binary');
      expect(model.classes).toEqual(['benign', 'malignant']);
      // The model carries the fitted transform it was given, unchanged.
      expect(model.transform).toEqual(fitted);
      // The document predicts on its own, from raw columns.
      const predictor = loadModel(model);
      const row = Object.fromEntries(model.inputs.map((input) => [input.name, 0]));
      expect(predictor.predictProba([row])[0]).toHaveLength(2);

      const trainingMetrics = await first.artifactJson<Record<string, unknown>>('ml.train', 'metrics');
      expect(trainingMetrics.rows).toBe(fitted.nTrainingRows);
      expect(trainingMetrics.iterations).toBe(40);

      const evaluation = await first.artifactJson<Record<string, unknown>>('ml.evaluate', 'metrics');
      expect(evaluation.accuracy as number).toBeGreaterThan(0.9);
      expect(evaluation.roc_auc as number).toBeGreaterThan(0.95);
      expect(first.tasks['ml.evaluate']!.outputs.score).toBe(evaluation.accuracy);
      expect(evaluation.rows as number).toBeGreaterThan(50);

      expect(first.tasks['ml.gate']!.outputs.passed).toBe(true);
      const gate = await first.artifactJson<GateResult>('ml.gate', 'report');
      expect(gate.passed).toBe(true);
      expect(gate.reasons).toEqual([]);
    } finally {
      await first.close();
    }

    // Same bytes in, same params: everything downstream of ingestion comes from the cache.
    const again = await runPipeline(trainEvaluateGate, { home, cache: true });
    try {
      expect(again.status).toBe('succeeded');
      expect(again.tasks['data.ingest']!.status).toBe('succeeded'); // reads the file every run
      for (const name of ['data.split', 'ml.transform', 'ml.train', 'ml.evaluate', 'ml.gate'])
        expect([name, again.tasks[name]!.status]).toEqual([name, 'cached']);
      expect(again.tasks['ml.train']!.outputs.model).toEqual(first.tasks['ml.train']!.outputs.model);
    } finally {
      await again.close();
    }
  });

  it('a grid search fanned out with parallelFor; ml.select-best reports every trial and picks the best', async () => {
    const run = await runPipeline(search);
    try {
      expect(run.status).toBe('succeeded');
      const best = run.tasks['ml.select-best']!;
      expect(best.status).toBe('succeeded');
      const report = await run.artifactJson<Report>('ml.select-best', 'report');
      expect(report.metric).toBe('log_loss');
      expect(report.greaterIsBetter).toBe(false);
      expect(report.trials).toHaveLength(GRID.length);
      report.trials.forEach((trial, i) => {
        expect(trial.index).toBe(i);
        // Trials are in the grid's order, each with its params and its evaluation's numbers.
        expect(trial.params).toEqual({ algorithm: 'gbdt', ...GRID[i] });
        expect(trial.metrics.log_loss).toEqual(expect.any(Number));
        expect(trial.metrics.accuracy).toEqual(expect.any(Number));
      });
      const losses = report.trials.map((t) => t.metrics.log_loss!);
      const lowest = Math.min(...losses);
      expect(report.best).toBe(losses.indexOf(lowest));
      expect(best.outputs.best).toBe(lowest);
      // The chosen model and metrics are the winning trial's.
      const chosen = await run.artifactJson<LatheModel>('ml.select-best', 'model');
      expect(chosen.training.options).toEqual(GRID[report.best]);
      const chosenMetrics = await run.artifactJson<Record<string, number>>('ml.select-best', 'metrics');
      expect(chosenMetrics.log_loss).toBe(lowest);
      // Different hyperparameters really gave different models.
      expect(new Set(losses).size).toBeGreaterThan(1);
    } finally {
      await run.close();
    }
  });

  it('ml.import-model stores a model file for evaluation, and refuses a file that is not a model', async () => {
    const [header, ...lines] = readFileSync(BREAST_CANCER, 'utf8').trim().split(/\r?\n/);
    const columns = header!.split(',');
    const rows = lines.map((line) =>
      Object.fromEntries(line.split(',').map((cell, j) => [columns[j]!, j < 30 ? Number(cell) : cell])),
    );
    const good = join(dir, 'production-model.json');
    writeFileSync(
      good,
      JSON.stringify(
        trainModel(rows, {
          label: 'diagnosis',
          task: 'classification',
          algorithm: 'logistic_regression',
          features: PASSTHROUGH,
        }),
      ),
    );
    const bad = join(dir, 'not-a-model.json');
    writeFileSync(bad, JSON.stringify({ format: 'onnx' }));
    const imported = (path: string) =>
      pipeline({ name: 'ml-pipeline-import' }, () => {
        const data = ingestFile({ path: BREAST_CANCER });
        const model = importModel({ path });
        evaluator({ model: model.outputs.model, data: data.outputs.dataset });
      });

    const run = await runPipeline(imported(good));
    try {
      expect(run.status).toBe('succeeded');
      expect(await run.artifactText('ml.import-model', 'model')).toBe(readFileSync(good, 'utf8'));
      const evaluation = await run.artifactJson<Record<string, number>>('ml.evaluate', 'metrics');
      expect(evaluation.rows).toBe(rows.length);
      expect(evaluation.accuracy).toBeGreaterThan(0.9);
    } finally {
      await run.close();
    }
    const refused = await runPipeline(imported(bad));
    try {
      expect(refused.status).toBe('failed');
      expect(refused.tasks['ml.import-model']!.error).toMatch(/not a Lathe model: format is "onnx"/);
    } finally {
      await refused.close();
    }
  });

  it('ml.train with a label that is not in the data fails the task, naming the label', async () => {
    const wrongLabel = pipeline({ name: 'ml-pipeline-wrong-label' }, () => {
      const data = ingestFile({ path: BREAST_CANCER });
      const trained = trainer({ data: data.outputs.dataset, label: 'diagnoses', task: 'classification' });
      evaluator({ model: trained.outputs.model, data: data.outputs.dataset });
    });
    const run = await runPipeline(wrongLabel);
    try {
      expect(run.status).toBe('failed');
      expect(run.tasks['ml.train']!.status).toBe('failed');
      expect(run.tasks['ml.train']!.error).toMatch(/the label column 'diagnoses' is not in the data/);
      expect(run.tasks['ml.evaluate']!.status).not.toBe('succeeded');
    } finally {
      await run.close();
    }
  });

  it('a misspelt hyperparameter in a search fails the trials instead of training identical models', async () => {
    const typo = pipeline({ name: 'ml-pipeline-typo' }, () => {
      const data = ingestFile({ path: BREAST_CANCER });
      parallelFor(gridSearch({ learning_rate: [0.05, 0.3] }), (candidate) =>
        trainer({
          data: data.outputs.dataset,
          label: 'diagnosis',
          task: 'classification',
          estimator: candidate,
        }),
      );
    });
    const run = await runPipeline(typo);
    try {
      expect(run.status).toBe('failed');
      const trials = Object.entries(run.tasks).filter(([name]) => name.startsWith('ml.train'));
      expect(trials).toHaveLength(2);
      for (const [, trial] of trials) {
        expect(trial.status).toBe('failed');
        expect(trial.error).toMatch(/gbdt has no option 'learning_rate'/);
      }
    } finally {
      await run.close();
    }
  });

  it('ml.train given both a fittedTransform input and a transform param fails clearly', async () => {
    const both = pipeline({ name: 'ml-pipeline-both-transforms' }, () => {
      const data = ingestFile({ path: BREAST_CANCER });
      const transform = fitFeatureTransform({
        data: data.outputs.dataset,
        spec: { columns: {}, passthrough: ['mean_radius'] },
      });
      trainer({
        data: data.outputs.dataset,
        fittedTransform: transform.outputs.transform,
        transform: { columns: {}, passthrough: ['mean_area'] },
        label: 'diagnosis',
        task: 'classification',
      });
    });
    const run = await runPipeline(both);
    try {
      expect(run.status).toBe('failed');
      expect(run.tasks['ml.transform']!.status).toBe('succeeded');
      expect(run.tasks['ml.train']!.status).toBe('failed');
      expect(run.tasks['ml.train']!.error).toMatch(
        /give either a fittedTransform input or a transform param, not both/,
      );
    } finally {
      await run.close();
    }
  });
});
