/**
 * The runner survives misbehaving components: an error thrown outside a component's awaited
 * chain fails that task only; process.stdout writes are captured per task; a CPU-bound component
 * that overruns its timeout is failed; a command printing megabytes without a newline is logged
 * cut, not kept whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, removeDir, runCli, task } from './cli.js';

describe('misbehaving components', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('fails only the task whose stray async error escaped, and captures its stdout writes', async () => {
    const result = await runCli(['run', fixture('robustness.ts'), '--pipeline', 'stray', '--json'], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(task(summary, 'stray-throw')).toMatchObject({ status: 'failed' });
    expect(task(summary, 'stray-throw').error).toMatch(/thrown from a timer/);
    expect(task(summary, 'stray-rejection').error).toMatch(/rejected and never awaited/);
    expect(task(summary, 'writes-stdout').status).toBe('succeeded');
    const logs = await runCli(['logs', summary.runId, 'writes-stdout'], { cwd: dir });
    expect(logs.stdout).toBe('partial line\nsecond line without newline\n');
    // ctx.log lines are stored once, and nothing the reporter prints is taken for task output.
    expect(task(summary, 'quick').status).toBe('succeeded');
    const quickLogs = await runCli(['logs', summary.runId, 'quick'], { cwd: dir });
    expect(quickLogs.stdout).toBe('once\n');
  });

  it('fails a CPU-bound task past its timeout, and cuts a huge log line', async () => {
    const result = await runCli(['run', fixture('robustness.ts'), '--pipeline', 'limits', '--json'], {
      cwd: dir,
    });
    const summary = JSON.parse(result.stdout);
    expect(task(summary, 'busy').status).toBe('failed');
    expect(task(summary, 'busy').error).toMatch(/timed out after 300 ms/);
    expect(task(summary, 'huge-line').status).toBe('succeeded');
    const logs = await runCli(['logs', summary.runId, 'huge-line'], { cwd: dir });
    const lines = logs.stdout.split('\n');
    expect(lines[0]!.length).toBeLessThan(20_000);
    expect(lines[0]).toMatch(/\[line cut: \d+ more characters\]$/);
    // A carriage return keeps only what follows it, as a terminal shows it.
    expect(lines[1]).toBe('done');
  });
});
