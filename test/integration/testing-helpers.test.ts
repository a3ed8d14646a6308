/**
 * lathe/testing: run a pipeline or one component from a test, read its artifacts, and compare
 * metrics with a stored baseline.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Dataset, Metrics } from '../../src/dsl/artifacts.js';
import { component } from '../../src/dsl/component.js';
import { pipeline } from '../../src/dsl/pipeline.js';
import { z } from '../../src/index.js';
import { expectMetricsNear, runComponent, runPipeline } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-testing-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mlGate = fileURLToPath(new URL('../fixtures/pipelines/ml-gate.ts', import.meta.url));

const countRows = component({
  name: 'testing-helpers.count-rows',
  inputs: { data: Dataset },
  params: { header: z.boolean().default(true) },
  outputs: { metrics: Metrics, rows: z.number() },
  async run({ inputs, params, outputs, log }) {
    const lines = (await inputs.data.readText()).split('\n').filter((line) => line !== '');
    const rows = lines.length - (params.header ? 1 : 0);
    log(`counted ${rows} rows`);
    await outputs.metrics.writeJson({ rows, mean: rows / 2 });
    return { rows };
  },
});

const makeRows = component({
  name: 'testing-helpers.make-rows',
  params: { rows: z.number().int().positive() },
  outputs: { data: Dataset },
  async run({ params, outputs }) {
    const lines = ['x'];
    for (let i = 0; i < params.rows; i++) lines.push(String(i));
    await outputs.data.writeText(`${lines.join('\n')}\n`);
  },
});

const small = pipeline(
  { name: 'testing-helpers-small', params: { rows: z.number().int().positive().default(10) } },
  ({ params }) => {
    const data = makeRows({ rows: params.rows });
    countRows({ data: data.outputs.data });
  },
);

const failing = pipeline({ name: 'testing-helpers-failing' }, () => {
  component({
    name: 'testing-helpers.boom',
    run() {
      throw new Error('boom');
    },
  })({});
});

describe('runPipeline', () => {
  it('runs a pipeline object quietly in a temp workspace and reads its artifacts', async () => {
    const run = await runPipeline(small, { params: { rows: 25 } });
    try {
      expect(run.status).toBe('succeeded');
      expect(Object.keys(run.tasks).sort()).toEqual([
        'testing-helpers.count-rows',
        'testing-helpers.make-rows',
      ]);
      const counted = run.tasks['testing-helpers.count-rows']!;
      expect(counted.status).toBe('succeeded');
      expect(counted.outputs.rows).toBe(25);
      expect(counted.logs).toEqual(['counted 25 rows']);
      expect(await run.artifactJson('testing-helpers.count-rows', 'metrics')).toEqual({
        rows: 25,
        mean: 12.5,
      });
      expect((await run.artifactText('testing-helpers.make-rows', 'data')).split('\n')[1]).toBe('0');
      expect(existsSync(await run.artifactPath('testing-helpers.make-rows', 'data'))).toBe(true);
      await expect(run.artifactPath('nope', 'data')).rejects.toThrow(/no task 'nope'/);
      await expect(run.artifactPath('testing-helpers.count-rows', 'rows')).rejects.toThrow(
        /no artifact output 'rows' \(artifact outputs: metrics\)/,
      );
      expect(existsSync(run.home)).toBe(true);
    } finally {
      await run.close();
    }
    expect(existsSync(run.home)).toBe(false);
  });

  it('runs a pipeline module by path, like lathe run, with its params', async () => {
    const run = await runPipeline(mlGate, { params: { candidate: 0.9, baseline: 0.85 } });
    try {
      expect(run.status).toBe('succeeded');
      expect(run.tasks['ml.gate']?.outputs.passed).toBe(true);
      expect(run.tasks.publish?.status).toBe('succeeded');
      expect(await run.artifactJson('candidate', 'metrics')).toEqual({ accuracy: 0.9, rows: 100 });
    } finally {
      await run.close();
    }
  });

  it('reports a failed run without throwing, and disposes with Symbol.asyncDispose', async () => {
    const run = await runPipeline(failing);
    expect(run.status).toBe('failed');
    expect(run.tasks['testing-helpers.boom']?.error).toMatch(/boom/);
    await expect(run.artifactPath('testing-helpers.boom', 'x')).rejects.toThrow(/failed: .*boom/);
    await run[Symbol.asyncDispose]();
    expect(existsSync(run.home)).toBe(false);
  });

  it('keeps a workspace passed as home, and rejects bad params before running', async () => {
    const home = join(dir, 'kept');
    const run = await runPipeline(small, { home, params: { rows: 3 } });
    await run.close();
    expect(existsSync(join(home, 'lathe.db'))).toBe(true);
    await expect(runPipeline(small, { params: { rows: -1 } })).rejects.toThrow(/rows/);
  });
});

describe('runComponent', () => {
  it('runs one component on a local file, with defaults for the params left out', async () => {
    const data = join(dir, 'rows.csv');
    writeFileSync(data, 'x\n1\n2\n3\n');
    const run = await runComponent(countRows, { inputs: { data } });
    try {
      expect(run.status).toBe('succeeded');
      expect(run.tasks['testing-helpers.count-rows']?.outputs.rows).toBe(3);
      expect(run.tasks['input.data']?.status).toBe('succeeded');
      expect(await run.artifactText('input.data', 'file')).toBe('x\n1\n2\n3\n');
    } finally {
      await run.close();
    }
    const noHeader = await runComponent(countRows, { inputs: { data }, params: { header: false } });
    expect(noHeader.tasks['testing-helpers.count-rows']?.outputs.rows).toBe(4);
    await noHeader.close();
  });

  it('says what is missing or unknown', async () => {
    await expect(runComponent(countRows)).rejects.toThrow(/needs input 'data'/);
    await expect(runComponent(countRows, { inputs: { data: 'x', other: 'y' } })).rejects.toThrow(
      /no input 'other'/,
    );
    await expect(runComponent(makeRows, { params: { row: 1 } })).rejects.toThrow(/no param 'row'/);
  });
});

describe('expectMetricsNear', () => {
  it('creates the baseline, passes within tolerance, fails outside it, and updates', () => {
    const baseline = join(dir, 'baselines', 'metrics.json');
    expectMetricsNear({ accuracy: 0.9, loss: 0.25 }, baseline, { update: false });
    expect(JSON.parse(readFileSync(baseline, 'utf8'))).toEqual({ accuracy: 0.9, loss: 0.25 });

    expectMetricsNear({ accuracy: 0.9 + 1e-9, loss: 0.25 }, baseline, { update: false });
    expectMetricsNear({ accuracy: 0.91, loss: 0.26 }, baseline, { tolerance: 0.02, update: false });
    expectMetricsNear({ accuracy: 0.905, loss: 0.25 }, baseline, {
      tolerance: { accuracy: 0.01 },
      update: false,
    });

    let message = '';
    try {
      expectMetricsNear({ accuracy: 0.8, f1: 0.5 }, baseline, { tolerance: 0.05, update: false });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('3 problems');
    expect(message).toMatch(/accuracy: got 0\.8, baseline 0\.9 \(difference 0\.1\d* > tolerance 0\.05\)/);
    expect(message).toContain('f1: not in the baseline (got 0.5)');
    expect(message).toContain('loss: missing from the metrics (baseline 0.25)');

    expectMetricsNear({ accuracy: 0.8 }, baseline, { update: true });
    expect(JSON.parse(readFileSync(baseline, 'utf8'))).toEqual({ accuracy: 0.8 });
  });

  it('updates when LATHE_UPDATE_BASELINES=1', () => {
    const baseline = join(dir, 'env-baseline.json');
    writeFileSync(baseline, '{"accuracy": 0.5}\n');
    const before = process.env.LATHE_UPDATE_BASELINES;
    process.env.LATHE_UPDATE_BASELINES = '1';
    try {
      expectMetricsNear({ accuracy: 0.7 }, baseline);
    } finally {
      if (before === undefined) delete process.env.LATHE_UPDATE_BASELINES;
      else process.env.LATHE_UPDATE_BASELINES = before;
    }
    expect(JSON.parse(readFileSync(baseline, 'utf8'))).toEqual({ accuracy: 0.7 });
    expect(() => expectMetricsNear({ accuracy: 0.5 }, baseline, { update: false })).toThrow(
      /accuracy: got 0\.5, baseline 0\.7/,
    );
  });
});
