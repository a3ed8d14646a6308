/**
 * The registry closing the loop in real pipeline runs sharing one workspace: the first run finds
 * no champion, is judged by absolute thresholds and registers version 1 as champion; the next
 * runs evaluate the champion on the same test data as the candidate and register the candidate
 * only if it beats it (ml.evaluate-champion → ml.gate → ml.register under when).
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestFile, splitDataset } from '../../src/data/components.js';
import { pipeline, when } from '../../src/dsl/pipeline.js';
import { z } from '../../src/index.js';
import { evaluateChampion, evaluator, modelGate, registerModel, trainer } from '../../src/ml/components.js';
import type { GateResult } from '../../src/ml/gate.js';
import { openWorkspace } from '../../src/runtime/workspace.js';
import { runPipeline } from '../../src/testing/index.js';
import { makeTempDir } from './cli.js';

const BREAST_CANCER = '/work/shared/datasets/breast_cancer.csv';
const home = makeTempDir('lathe-ml-registry-');
afterAll(() => rmSync(home, { recursive: true, force: true }));

const retrain = pipeline(
  {
    name: 'retrain-breast-cancer',
    params: { estimator: z.record(z.string(), z.unknown()).default({ iterations: 30 }) },
  },
  ({ params }) => {
    const data = ingestFile({ path: BREAST_CANCER });
    const parts = splitDataset({ data: data.outputs.dataset, seed: 3, stratifyBy: 'diagnosis' });
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
        log_loss: { greaterIsBetter: false, minAbsoluteChange: 0 },
      },
      emptyBaseline: 'threshold-only',
    });
    when(gate.outputs.passed.eq(true), () => {
      registerModel({ model: trained.outputs.model, name: 'breast-cancer', alias: 'champion' });
    });
  },
);

async function registry() {
  const workspace = openWorkspace({ home, existing: true });
  return { registry: workspace.store.registry, close: () => workspace.close() };
}

describe('ml.evaluate-champion, ml.gate and ml.register in one workspace', () => {
  it('the first run has no champion: judged by thresholds only, registered as version 1 and champion', async () => {
    const run = await runPipeline(retrain, { home, params: { estimator: { iterations: 30 } } });
    try {
      expect(run.status).toBe('succeeded');
      expect(run.tasks['ml.evaluate-champion']!.outputs).toMatchObject({ found: false, version: 0 });
      const report = await run.artifactJson<GateResult & { note?: string }>('ml.gate', 'report');
      expect(report.passed).toBe(true);
      expect(report.note).toMatch(/no baseline/);
      expect(report.checks.map((c) => c.rule)).toEqual(['threshold']);
      expect(run.tasks['ml.register']!.outputs).toEqual({ version: 1 });
    } finally {
      await run.close();
    }
    const { registry: r, close } = await registry();
    try {
      const champion = await r.resolveModelVersion('breast-cancer', 'champion');
      expect(champion?.version).toBe(1);
      expect(champion?.runId).toBeTruthy();
      expect(champion?.taskId).toMatch(/\/ml\.register$/);
      const history = await r.aliasHistory('breast-cancer', 'champion');
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ fromVersion: null, toVersion: 1, kind: 'promote' });
    } finally {
      await close();
    }
  });

  it('the same model again: the champion is the baseline, no improvement needed at 0, not registered twice', async () => {
    const run = await runPipeline(retrain, { home, params: { estimator: { iterations: 30 } } });
    try {
      expect(run.status).toBe('succeeded');
      expect(run.tasks['ml.evaluate-champion']!.outputs).toMatchObject({ found: true, version: 1 });
      const report = await run.artifactJson<GateResult>('ml.gate', 'report');
      // Identical metrics: minAbsoluteChange 0 passes (≥), and the baseline values are recorded.
      expect(report.passed).toBe(true);
      const change = report.checks.find((c) => c.rule === 'minAbsoluteChange' && c.metric === 'accuracy');
      expect(change?.baseline).toBe(change?.candidate);
      expect(run.tasks['ml.register']!.outputs).toEqual({ version: 1 });
      expect(run.tasks['ml.register']!.logs.join('\n')).toMatch(
        /already has this model \(same content\) as version 1/,
      );
    } finally {
      await run.close();
    }
  });

  it('a worse candidate fails the gate against the champion and is not registered', async () => {
    const run = await runPipeline(retrain, { home, params: { estimator: { iterations: 1 } } });
    try {
      expect(run.status).toBe('succeeded');
      const report = await run.artifactJson<GateResult>('ml.gate', 'report');
      expect(report.passed).toBe(false);
      expect(report.checks.some((c) => !c.passed && c.rule === 'minAbsoluteChange')).toBe(true);
      expect(run.tasks['ml.register']!.status).toBe('skipped');
    } finally {
      await run.close();
    }
    const { registry: r, close } = await registry();
    try {
      expect((await r.listModelVersions('breast-cancer')).map((v) => v.version)).toEqual([1]);
      expect((await r.resolveModelVersion('breast-cancer', 'champion'))?.version).toBe(1);
    } finally {
      await close();
    }
  });

  it('without emptyBaseline, a gate with change rules and no champion is an error naming it', async () => {
    const strict = pipeline({ name: 'strict-gate' }, () => {
      const data = ingestFile({ path: BREAST_CANCER });
      const parts = splitDataset({ data: data.outputs.dataset, seed: 3 });
      const trained = trainer({
        data: parts.outputs.train,
        label: 'diagnosis',
        task: 'classification',
        estimator: { iterations: 5 },
      });
      const candidate = evaluator({ model: trained.outputs.model, data: parts.outputs.test });
      const champion = evaluateChampion({ data: parts.outputs.test, name: 'nobody-registered-this' });
      modelGate({
        candidate: candidate.outputs.metrics,
        baseline: champion.outputs.metrics,
        thresholds: { accuracy: { minAbsoluteChange: 0.01 } },
      });
    });
    const run = await runPipeline(strict, { home });
    try {
      expect(run.status).toBe('failed');
      expect(run.tasks['ml.gate']!.error).toMatch(/accuracy/);
    } finally {
      await run.close();
    }
  });
});
