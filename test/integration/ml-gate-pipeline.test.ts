/**
 * `ml.gate` in a real pipeline run: the verdict gates a task, and the report keeps the reasons.
 */
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { GateResult } from '../../src/ml/gate.js';
import { fixture, makeTempDir, type RunSummary, runJson, task } from './cli.js';

const dir = makeTempDir('lathe-ml-gate-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(candidate: number, baseline: number): Promise<RunSummary> {
  return runJson<RunSummary>(
    [
      'run',
      fixture('ml-gate.ts'),
      '--home',
      dir,
      '-p',
      `candidate=${candidate}`,
      '-p',
      `baseline=${baseline}`,
    ],
    { cwd: dir },
  );
}

describe('ml.gate', () => {
  it('passes a candidate that clears the threshold and beats the baseline', async () => {
    const summary = await run(0.9, 0.85);
    expect(task(summary, 'ml.gate').outputs?.passed).toBe(true);
    expect(task(summary, 'publish').status).toBe('succeeded');
  });

  it('stops one that does not, and records why', async () => {
    const summary = await run(0.855, 0.85);
    expect(summary.status).toBe('succeeded');
    expect(task(summary, 'ml.gate').outputs?.passed).toBe(false);
    expect(task(summary, 'publish').status).toBe('skipped');
    const report = JSON.parse(
      readFileSync(fileURLToPath(task(summary, 'ml.gate').outputs!.report.uri), 'utf8'),
    ) as GateResult;
    expect(report.reasons).toEqual([
      "accuracy 0.855 does not beat the baseline's 0.85 by 0.01 (needs ≥ 0.86; the change is +0.005)",
    ]);
  });
});
