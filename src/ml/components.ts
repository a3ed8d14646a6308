/**
 * Built-in pipeline components of `lathe/ml`. Their names start with `ml.`.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Artifact, Dataset, Metrics, Model } from '../dsl/artifacts.js';
import { component } from '../dsl/component.js';
import { readDatasetRows } from './dataset-rows.js';
import { evaluateModel } from './evaluate.js';
import { type MetricThreshold, validateCandidate } from './gate.js';
import type { GbdtModel } from './gbdt.js';
import { ALGORITHMS, checkModel, type LatheModel, loadModel, trainModel } from './model.js';
import { loadOnnx, looksLikeOnnx } from './onnx.js';
import { type FittedTransform, fitTransform, type TransformSpec } from './transforms.js';
import { bestTrial, type Trial } from './tuning.js';

const Threshold = z
  .object({
    threshold: z.number().optional(),
    minAbsoluteChange: z.number().min(0).optional(),
    minRelativeChange: z.number().min(0).max(1).optional(),
    greaterIsBetter: z.boolean().default(true),
  })
  .strict();

/** A transform spec's shape; `fitTransform` checks each step in detail. */
const TransformSpecParam = z
  .object({
    columns: z.record(z.string(), z.array(z.object({ kind: z.string() }).passthrough())),
    passthrough: z.array(z.string()).optional(),
    missing: z.enum(['error', 'keep']).optional(),
  })
  .strict();

/** What a Model artifact's metadata says about the model document it holds. */
function modelMetadata(model: LatheModel): Record<string, unknown> {
  const { format, algorithm, task, label, classes, inputs } = model;
  return { format, algorithm, task, label, classes, inputs };
}

/** Reads a Metrics artifact's named numbers (nested values are left out). */
async function numbersOf(artifact: {
  readJson<T>(): Promise<T>;
  name: string;
}): Promise<Record<string, number>> {
  const value = await artifact.readJson<unknown>();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`input '${artifact.name}' is not a JSON object of named numbers`);
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(
      (entry): entry is [string, number] => typeof entry[1] === 'number',
    ),
  );
}

export const modelGate = component({
  name: 'ml.gate',
  description:
    "Model-validation gate (MLflow's MetricThreshold): the candidate's metrics against thresholds and a baseline's metrics.",
  inputs: { candidate: Metrics, baseline: Metrics.optional() },
  params: {
    thresholds: z.record(z.string(), Threshold),
    /**
     * A baseline input with no metrics (ml.evaluate-champion before the first champion): 'error'
     * (default), or 'threshold-only' to judge by the absolute thresholds alone, saying so in
     * the report.
     */
    emptyBaseline: z.enum(['error', 'threshold-only']).default('error'),
  },
  outputs: { report: Metrics, passed: z.boolean() },
  async run({ inputs, params, outputs, log }) {
    const candidate = await numbersOf(inputs.candidate);
    let baseline = inputs.baseline ? await numbersOf(inputs.baseline) : undefined;
    let thresholds = params.thresholds as Record<string, MetricThreshold>;
    const noBaseline = baseline !== undefined && Object.keys(baseline).length === 0;
    if (noBaseline && params.emptyBaseline === 'threshold-only') {
      baseline = undefined;
      thresholds = Object.fromEntries(
        Object.entries(thresholds)
          .filter(([, rule]) => rule.threshold !== undefined)
          .map(([metric, rule]) => [
            metric,
            { threshold: rule.threshold, greaterIsBetter: rule.greaterIsBetter },
          ]),
      );
      if (Object.keys(thresholds).length === 0) {
        throw new RangeError(
          'the baseline has no metrics (no champion yet) and no metric has an absolute threshold to judge the first model by: add a threshold',
        );
      }
      log.warn('the baseline has no metrics (no champion yet): judging by the absolute thresholds only');
    }
    const result = validateCandidate(candidate, thresholds, baseline);
    if (noBaseline && params.emptyBaseline === 'threshold-only') {
      Object.assign(result, { note: 'no baseline metrics: change rules were not applied' });
    }
    await outputs.report.writeJson(result);
    for (const check of result.checks)
      (check.passed ? log : log.warn)(`${check.passed ? 'pass' : 'FAIL'}: ${check.reason}`);
    return { passed: result.passed };
  },
});

export const fitFeatureTransform = component({
  name: 'ml.transform',
  description:
    'Fits a feature transform (scalers, encoders, imputers, expressions) on a Dataset; the fitted transform is an artifact that training and serving apply the same way.',
  inputs: { data: Dataset },
  params: { spec: TransformSpecParam },
  outputs: { transform: Artifact },
  async run({ inputs, params, outputs, log }) {
    const spec = params.spec as TransformSpec;
    const { rows } = await readDatasetRows(inputs.data);
    const fitted = fitTransform(spec, rows);
    await outputs.transform.writeJson(fitted);
    outputs.transform.setMetadata({ kind: 'fitted-transform', features: fitted.features, rows: rows.length });
    log(`fitted on ${rows.length} rows: ${fitted.features.length} features`);
  },
});

export const trainer = component({
  name: 'ml.train',
  description:
    'Trains a model (gradient-boosted trees by default, or logistic/linear regression) on a Dataset. The Model artifact holds the input columns, the fitted transform and the estimator.',
  inputs: { data: Dataset, fittedTransform: Artifact.optional() },
  params: {
    label: z.string().min(1),
    task: z.enum(['classification', 'regression']),
    algorithm: z.enum(ALGORITHMS).default('gbdt'),
    /** Input columns; default every column but the label. */
    features: z.array(z.string().min(1)).min(1).optional(),
    /** A transform spec to fit here (not with a `fittedTransform` input). */
    transform: TransformSpecParam.optional(),
    /** Options of the estimator, e.g. { iterations: 200, learningRate: 0.05 } for trees. */
    estimator: z.record(z.string(), z.unknown()).default({}),
  },
  outputs: { model: Model, metrics: Metrics },
  async run({ inputs, params, outputs, log, task }) {
    if (inputs.fittedTransform && params.transform) {
      throw new RangeError('give either a fittedTransform input or a transform param, not both');
    }
    const fittedTransform = inputs.fittedTransform
      ? await inputs.fittedTransform.readJson<FittedTransform>()
      : undefined;
    const { rows } = await readDatasetRows(inputs.data);
    const started = performance.now();
    const model = trainModel(rows, {
      label: params.label,
      task: params.task,
      algorithm: params.algorithm,
      features: params.features,
      transform: params.transform as TransformSpec | undefined,
      fittedTransform,
      estimator: params.estimator,
    });
    const seconds = (performance.now() - started) / 1000;
    await outputs.model.writeJson(model);
    const importances = loadModel(model).featureImportances().slice(0, 10);
    outputs.model.setMetadata({
      ...modelMetadata(model),
      features: model.transform.features.length,
      rows: rows.length,
    });
    const training: Record<string, unknown> = { rows: rows.length, seconds };
    if (model.algorithm === 'gbdt') {
      const gbdt = model.estimator as GbdtModel;
      Object.assign(training, {
        iterations: gbdt.iterations,
        stopped_early: gbdt.stoppedEarly ? 1 : 0,
        training_loss: gbdt.trainingLoss.at(-1),
        ...(gbdt.validationLoss ? { validation_loss: gbdt.validationLoss.at(-1) } : {}),
        loss_curve: { training: gbdt.trainingLoss, validation: gbdt.validationLoss },
      });
    }
    training.feature_importances = importances;
    // Tracking: the options and the loss curves, named by task so that the trials of a search
    // (one task each) keep theirs apart.
    log.param(`${task.name}.algorithm`, model.algorithm);
    for (const [key, value] of Object.entries(params.estimator)) log.param(`${task.name}.${key}`, value);
    if (model.algorithm === 'gbdt') {
      const gbdt = model.estimator as GbdtModel;
      for (const [step, loss] of gbdt.trainingLoss.entries()) {
        log.metric(`${task.name}.training_loss`, loss, { step });
      }
      for (const [step, loss] of (gbdt.validationLoss ?? []).entries()) {
        log.metric(`${task.name}.validation_loss`, loss, { step });
      }
    }
    await outputs.metrics.writeJson(training);
    log(
      `${model.algorithm} (${model.task}) on ${rows.length} rows × ${model.inputs.length} inputs in ${seconds.toFixed(2)} s; top features: ${importances
        .slice(0, 3)
        .map((f) => `${f.feature} ${(f.importance * 100).toFixed(0)}%`)
        .join(', ')}`,
    );
  },
});

export const evaluator = component({
  name: 'ml.evaluate',
  description:
    "Evaluates a Model on a labelled Dataset: scikit-learn's metrics, the confusion matrix, ROC and calibration curves, metrics by slice. `score` is accuracy (classification) or R² (regression).",
  inputs: { model: Model, data: Dataset },
  params: { sliceBy: z.string().min(1).optional() },
  outputs: { metrics: Metrics, score: z.number() },
  async run({ inputs, params, outputs, log }) {
    const predictor = loadModel(await inputs.model.readJson());
    const { rows } = await readDatasetRows(inputs.data);
    const evaluation = evaluateModel(predictor, rows, { sliceBy: params.sliceBy });
    await outputs.metrics.writeJson(evaluation);
    const score = predictor.model.task === 'regression' ? evaluation.r2 : evaluation.accuracy;
    if (typeof score !== 'number') {
      throw new RangeError(`the score is undefined on ${rows.length} rows (R² needs at least two)`);
    }
    log(
      `${predictor.model.task === 'regression' ? 'R²' : 'accuracy'} ${score.toFixed(4)} on ${rows.length} rows`,
    );
    return { score };
  },
});

export const selectBest = component({
  name: 'ml.select-best',
  description:
    'Hyperparameter search: picks the best of a fan-out of trained models by an evaluation metric; the report lists every trial with its params and metrics.',
  inputs: { models: Model.list(), metrics: Metrics.list() },
  params: { metric: z.string().min(1), greaterIsBetter: z.boolean().default(true) },
  outputs: { model: Model, metrics: Metrics, report: Metrics, best: z.number() },
  async run({ inputs, params, outputs, log }) {
    if (inputs.models.length !== inputs.metrics.length) {
      throw new RangeError(
        `models and metrics must pair up: ${inputs.models.length} models, ${inputs.metrics.length} metrics`,
      );
    }
    const trials: Trial[] = [];
    for (let index = 0; index < inputs.models.length; index++) {
      const model = await inputs.models[index]!.readJson<LatheModel>();
      trials.push({
        index,
        params: { algorithm: model.algorithm, ...model.training.options },
        metrics: await numbersOf(inputs.metrics[index]!),
      });
    }
    const best = bestTrial(trials, params.metric, params.greaterIsBetter);
    await copyFile(inputs.models[best.index]!.path, outputs.model.path);
    outputs.model.setMetadata({ ...inputs.models[best.index]!.metadata, trial: best.index });
    await copyFile(inputs.metrics[best.index]!.path, outputs.metrics.path);
    await outputs.report.writeJson({
      metric: params.metric,
      greaterIsBetter: params.greaterIsBetter,
      best: best.index,
      trials,
    });
    for (const trial of trials) {
      log(
        `${trial.index === best.index ? '*' : ' '} trial ${trial.index}: ${params.metric} ${trial.metrics[params.metric]} ${JSON.stringify(trial.params)}`,
      );
    }
    return { best: best.metrics[params.metric]! };
  },
});

export const importModel = component({
  name: 'ml.import-model',
  description:
    'Stores a model from a file as a Model artifact, after checking it: a lathe-model/v1 document (e.g. the current production model, to evaluate as a baseline) or an ONNX graph (to register and serve).',
  params: { path: z.string().min(1) },
  outputs: { model: Model },
  // It reads a file outside the store, so it always runs; its output is content-addressed, so the
  // steps after it still hit the cache when the file has not changed.
  cache: false,
  async run({ params, outputs, log }) {
    const path = resolve(params.path);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new RangeError(`cannot read the model file ${path}: ${(error as Error).message}`);
    }
    if (looksLikeOnnx(bytes)) {
      const onnx = await loadOnnx(bytes);
      await writeFile(outputs.model.path, bytes);
      const tensors = (list: typeof onnx.inputs) =>
        list.map(({ name, type, shape }) => ({ name, type, shape }));
      outputs.model.setMetadata({
        format: 'onnx',
        inputs: tensors(onnx.inputs),
        outputs: tensors(onnx.outputs),
        source: path,
      });
      await onnx.session.release();
      log(`imported an ONNX graph (inputs ${onnx.inputs.map((t) => t.name).join(', ')}) from ${path}`);
      return;
    }
    const text = bytes.toString('utf8');
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new RangeError(`${path} is not JSON: ${(error as Error).message}`);
    }
    const model = checkModel(document);
    await outputs.model.writeText(text);
    outputs.model.setMetadata({ ...modelMetadata(model), source: path });
    log(`imported ${model.algorithm} (${model.task}) from ${path}`);
  },
});

export const registerModel = component({
  name: 'ml.register',
  description:
    'Registers a Model artifact as a new version of a registered model (linked to this run and task), optionally moving an alias such as champion to it. Run it under the gate: when(gate.outputs.passed.eq(true), ...).',
  inputs: { model: Model },
  params: {
    name: z.string().min(1),
    /** Move this alias (e.g. 'champion', 'challenger') to the new version. */
    alias: z.string().min(1).optional(),
    description: z.string().optional(),
    tags: z.record(z.string(), z.string()).default({}),
    reason: z.string().optional(),
  },
  outputs: { version: z.number().int().positive() },
  // A side effect on the registry: it must run every time. The same bytes (same content hash) are
  // not registered twice: a re-run of an unchanged pipeline finds its version.
  cache: false,
  async run({ inputs, params, log, registry, run, task }) {
    // A lathe-model/v1 document is checked; an ONNX graph was checked when it was imported.
    const bytes = await readFile(inputs.model.path);
    if (!looksLikeOnnx(bytes)) checkModel(JSON.parse(bytes.toString('utf8')));
    const existing = (await registry.getRegisteredModel(params.name))
      ? (await registry.listModelVersions(params.name)).find((v) => v.artifactHash === inputs.model.hash)
      : undefined;
    const version =
      existing ??
      (await registry.registerModelVersion({
        name: params.name,
        artifactId: inputs.model.id,
        runId: run.id,
        taskId: `${run.id}/${task.name}`,
        description: params.description ?? null,
        tags: params.tags,
      }));
    log(
      existing
        ? `model '${params.name}' already has this model (same content) as version ${version.version}`
        : `registered '${params.name}' version ${version.version}`,
    );
    if (params.alias) {
      const current = await registry.resolveModelVersion(params.name, params.alias);
      if (current?.version === version.version) {
        log(`alias '${params.alias}' already points to version ${version.version}`);
      } else {
        await registry.setAlias({
          name: params.name,
          alias: params.alias,
          version: version.version,
          reason: params.reason ?? `registered by run ${run.id}, task ${task.name}`,
        });
        log(
          `moved '${params.alias}' of '${params.name}' from ${current ? `version ${current.version}` : 'nowhere'} to version ${version.version}`,
        );
      }
    }
    return { version: version.version };
  },
});

export const evaluateChampion = component({
  name: 'ml.evaluate-champion',
  description:
    "Evaluates the registry's current model under an alias (champion by default) on a labelled Dataset: the baseline for ml.gate, on the same data as the candidate. `found` is false (and the metrics empty) before the first champion.",
  inputs: { data: Dataset },
  params: {
    name: z.string().min(1),
    alias: z.string().min(1).default('champion'),
    sliceBy: z.string().min(1).optional(),
  },
  outputs: { metrics: Metrics, found: z.boolean(), version: z.number().int().min(0) },
  // The alias can move between runs: look it up every time.
  cache: false,
  async run({ inputs, params, outputs, log, registry }) {
    const version = (await registry.getRegisteredModel(params.name))
      ? await registry.resolveModelVersion(params.name, params.alias)
      : undefined;
    if (!version) {
      await outputs.metrics.writeJson({});
      log(`model '${params.name}' has no '${params.alias}' yet: no baseline`);
      return { found: false, version: 0 };
    }
    const path = fileURLToPath(version.artifactUri);
    const predictor = loadModel(JSON.parse(await readFile(path, 'utf8')));
    const { rows } = await readDatasetRows(inputs.data);
    const evaluation = evaluateModel(predictor, rows, { sliceBy: params.sliceBy });
    await outputs.metrics.writeJson({ ...evaluation, model: params.name, version: version.version });
    outputs.metrics.setMetadata({ model: params.name, alias: params.alias, version: version.version });
    log(
      `'${params.alias}' is version ${version.version} of '${params.name}'; evaluated on ${rows.length} rows`,
    );
    return { found: true, version: version.version };
  },
});
