import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, statuses, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe('when / elif / otherwise', () => {
  it('takes the matching branch and skips the others with a reason (upstream output vs param)', async () => {
    const summary = await runJson<RunSummary>(['run', fixture('conditions.ts')], { cwd: dir });
    expect(summary.status).toBe('succeeded');
    // value 0.7: not >= high (0.9), but >= low (0.5) -> the elif branch.
    expect(statuses(summary)).toEqual({
      high: 'skipped',
      low: 'skipped',
      measure: 'succeeded',
      medium: 'succeeded',
      'report-high': 'skipped',
    });
    expect(task(summary, 'medium').outputs).toEqual({ label: 'medium' });
    expect(task(summary, 'high').reason).toBe('condition is false');
    expect(task(summary, 'low').reason).toBe('condition is false');
    expect(task(summary, 'report-high').reason).toBe("upstream 'high' was skipped");
    expect(summary.counts).toMatchObject({ succeeded: 2, skipped: 3, failed: 0 });

    // What is stored agrees with the summary.
    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    const stored = Object.fromEntries(shown.tasks.map((t: any) => [t.name, t]));
    expect(stored.high.status).toBe('skipped');
    expect(stored.high.reason).toBe('condition is false');
    expect(stored.high.attempts).toBe(0);
    expect(stored.medium.status).toBe('succeeded');
    expect(shown.status).toBe('succeeded');
  });

  it('takes the first branch when its condition holds, and the otherwise branch when none does', async () => {
    const high = await runJson<RunSummary>(['run', fixture('conditions.ts'), '--param', 'value=0.95'], {
      cwd: dir,
    });
    expect(high.status).toBe('succeeded');
    expect(statuses(high)).toMatchObject({
      high: 'succeeded',
      'report-high': 'succeeded',
      medium: 'skipped',
      low: 'skipped',
    });
    expect(task(high, 'report-high').outputs).toEqual({ text: 'reported high' });

    // The param side of the comparison moves too: value 0.3 with low=0.2 is the elif branch.
    const viaParam = await runJson<RunSummary>(
      ['run', fixture('conditions.ts'), '-p', 'value=0.3', '-p', 'low=0.2'],
      { cwd: dir },
    );
    expect(statuses(viaParam)).toMatchObject({ high: 'skipped', medium: 'succeeded', low: 'skipped' });

    const result = await runCli(['run', fixture('conditions.ts'), '-p', 'value=0.1'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/low started/);
    expect(result.stdout).toMatch(/high skipped: condition is false/);
    expect(result.stdout).toMatch(/medium skipped: condition is false/);
    expect(result.stdout).toMatch(/run succeeded/);
  });

  // Regression (fixed in 718cdf0): RunExecution.createScope dispatched a node twice when its
  // dependencies settled synchronously during the dispatch loop (here `b[i]`, skipped at once with
  // `a[i]`). It was settled twice, so the loop ended early, `gather` collected a partial list, and
  // the exit handler ran while tasks were still running, in a run reported as succeeded.
  it('a condition on a loop item does not end the loop early (collect sees every iteration)', async () => {
    const summary = await runJson<RunSummary>(
      ['run', fixture('conditions-loop.ts'), '-p', `dir=${dir}`, '--concurrency', '8'],
      { cwd: dir },
    );
    expect(summary.status).toBe('succeeded');
    for (const i of [0, 1, 2]) {
      expect(task(summary, `a[${i}]`).reason).toBe('condition is false');
      expect(task(summary, `b[${i}]`).reason).toBe(`upstream 'a[${i}]' was skipped`);
    }
    expect(task(summary, 'b[3]').status).toBe('succeeded');
    expect(task(summary, 'gather').outputs).toEqual({ xs: [1, 2, 3, 10] });

    const log = readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n');
    // Every slow iteration ended before gather started, and the exit handler ran last.
    for (const i of [0, 1, 2, 3]) {
      expect(log.indexOf(`end slow[${i}]`)).toBeGreaterThanOrEqual(0);
      expect(log.indexOf(`end slow[${i}]`)).toBeLessThan(log.indexOf('gather'));
    }
    expect(log.at(-1)).toBe('exit-handler succeeded');

    // A skipped task is reported once.
    const human = await runCli(['run', fixture('conditions-loop.ts'), '-p', `dir=${dir}`], { cwd: dir });
    expect(human.stdout.match(/b\[0\] skipped/g)).toHaveLength(1);
  });
});
