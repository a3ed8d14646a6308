import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe('param validation', () => {
  it('a pipeline param that is not a number exits 2 naming the param', async () => {
    const result = await runCli(['run', fixture('params.ts'), '--param', 'rows=abc'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/param 'rows'/);
    expect(result.stderr).toMatch(/'abc' is not a finite number/);
    expect(result.stdout).not.toMatch(/run succeeded|run failed/);
  });

  it('an unknown pipeline param exits 2 naming it and listing the known ones', async () => {
    const result = await runCli(['run', fixture('params.ts'), '--param', 'unknown=1'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/param 'unknown'/);
    expect(result.stderr).toMatch(/no such param/);
    expect(result.stderr).toMatch(/rows, lr/);
    // No run was recorded.
    const runs = await runJson(['runs', 'list'], { cwd: dir });
    expect(runs).toEqual([]);
  });

  it('a pipeline param that breaks its schema, or a malformed --param, exits 2', async () => {
    const notInt = await runCli(['run', fixture('params.ts'), '-p', 'rows=2.5'], { cwd: dir });
    expect(notInt.code).toBe(2);
    expect(notInt.stderr).toMatch(/param 'rows': 2\.5 is invalid/);
    const malformed = await runCli(['run', fixture('params.ts'), '-p', 'rows'], { cwd: dir });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--param 'rows': expected name=value/);
  });

  it('a component param that fails its schema at run time fails that task, naming the task and the param', async () => {
    // lr=-1 satisfies the pipeline's z.number(), not train's z.number().positive().
    const result = await runCli(['run', fixture('params.ts'), '-p', 'lr=-1', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.status).toBe('failed');
    const train = task(summary, 'train');
    expect(train.status).toBe('failed');
    expect(train.error).toMatch(/task 'train', param 'lr': -1 is invalid/);
    // A bad param is permanent: the retry policy (3 attempts) does not apply.
    expect(train.attempts).toBeLessThanOrEqual(1);
    // Independent work still ran.
    expect(task(summary, 'make').status).toBe('succeeded');
    expect(task(summary, 'check').status).toBe('succeeded');
    expect(summary.error).toMatch(/train/);

    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    expect(shown.tasks.find((t: any) => t.name === 'train').error).toMatch(/param 'lr'/);
  });

  it('a component param bound to an upstream output is validated when the task starts', async () => {
    // rows=30 -> make outputs ratio 3, and check.ratio must be <= 1.
    const result = await runCli(['run', fixture('params.ts'), '-p', 'rows=30', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    const check = task(summary, 'check');
    expect(check.status).toBe('failed');
    expect(check.error).toMatch(/task 'check', param 'ratio': 3 is invalid/);
    expect(task(summary, 'train').status).toBe('succeeded');
  });
});
