import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fixture,
  makeTempDir,
  processExists,
  type RunSummary,
  removeDir,
  runCli,
  runJson,
  storedAttempts,
  task,
} from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

// Timer and clock granularity: a delay may be observed a millisecond or two short.
const EPSILON_MS = 5;

describe('retry with backoff', () => {
  it('succeeds on the 3rd attempt, waiting >= 300 ms then >= 600 ms between attempts', async () => {
    const summary = await runJson<RunSummary>(['run', fixture('retry.ts'), '-p', `dir=${dir}`], { cwd: dir });
    expect(summary.status).toBe('succeeded');
    const flaky = task(summary, 'flaky');
    expect(flaky.status).toBe('succeeded');
    expect(flaky.attempts).toBe(3);
    expect(flaky.outputs).toEqual({ attempt: 3 });

    // The stored attempts: two failures, then a success, spaced by the backoff.
    const attempts = await storedAttempts(join(dir, '.lathe'), summary.runId, 'flaky');
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(attempts[0]!.error).toMatch(/flaky failure #1/);
    expect(attempts[1]!.error).toMatch(/flaky failure #2/);
    const gap1 = attempts[1]!.startedAt - attempts[0]!.finishedAt!;
    const gap2 = attempts[2]!.startedAt - attempts[1]!.finishedAt!;
    expect(gap1).toBeGreaterThanOrEqual(300 - EPSILON_MS);
    expect(gap2).toBeGreaterThanOrEqual(600 - EPSILON_MS);

    // The component's own clock agrees: the starts are at least the backoff apart.
    const starts = readFileSync(join(dir, 'attempts.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[1]));
    expect(starts).toHaveLength(3);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(300 - EPSILON_MS);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(600 - EPSILON_MS);

    // The task's stored log shows the retries.
    const logs = await runCli(['logs', summary.runId, 'flaky'], { cwd: dir });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/attempt 1 failed: flaky failure #1; retrying in 300 ms/);
    expect(logs.stdout).toMatch(/attempt 2 failed: flaky failure #2; retrying in 600 ms/);
    expect(logs.stdout).toMatch(/succeeded on attempt 3/);

    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    expect(shown.tasks[0]).toMatchObject({ name: 'flaky', status: 'succeeded', attempts: 3 });
  });

  it('fails after the last attempt when every attempt fails', async () => {
    const result = await runCli(
      ['run', fixture('retry.ts'), '-p', `dir=${dir}`, '-p', 'failures=5', '--json'],
      {
        cwd: dir,
      },
    );
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.status).toBe('failed');
    expect(task(summary, 'flaky')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(task(summary, 'flaky').error).toMatch(/flaky failure #3/);
    expect(readFileSync(join(dir, 'attempts.log'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('timeouts cancel the task', () => {
  it('a TS component honouring ctx.signal is stopped at its 500 ms timeout', async () => {
    const marker = join(dir, 'aborted.txt');
    const result = await runCli(
      ['run', fixture('timeout.ts'), '--pipeline', 'ts-timeout', '-p', `markerFile=${marker}`, '--json'],
      { cwd: dir },
    );
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.status).toBe('failed');
    const slow = task(summary, 'slow');
    expect(slow.status).toBe('failed');
    expect(slow.error).toMatch(/timed out after 500 ms/);
    expect(task(summary, 'after-slow')).toMatchObject({
      status: 'skipped',
      reason: "upstream 'slow' failed",
    });
    // The component saw the abort, with the timeout as the reason.
    expect(readFileSync(marker, 'utf8')).toMatch(/timed out after 500 ms/);
    // Well before the component's natural 20 s.
    expect(result.elapsedMs).toBeLessThan(10_000);
    expect(summary.durationMs).toBeGreaterThanOrEqual(500 - EPSILON_MS);
    expect(summary.durationMs).toBeLessThan(10_000);

    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    expect(shown.status).toBe('failed');
    expect(shown.tasks.find((t: any) => t.name === 'slow').error).toMatch(/timed out after 500 ms/);
  });

  it('a command component (sleep 30) is killed at its 500 ms timeout and its process is gone', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const result = await runCli(
      ['run', fixture('timeout.ts'), '--pipeline', 'command-timeout', '-p', `pidFile=${pidFile}`, '--json'],
      { cwd: dir, env: { LATHE_KILL_GRACE_MS: '1000' } },
    );
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(task(summary, 'sleeper').status).toBe('failed');
    expect(task(summary, 'sleeper').error).toMatch(/timed out after 500 ms/);
    expect(result.elapsedMs).toBeLessThan(15_000);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    expect(processExists(pid)).toBe(false);
  });

  it('a command component ignoring SIGTERM is killed with SIGKILL after the kill grace', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const result = await runCli(
      ['run', fixture('timeout.ts'), '--pipeline', 'stubborn-timeout', '-p', `pidFile=${pidFile}`, '--json'],
      { cwd: dir, env: { LATHE_KILL_GRACE_MS: '1000' } },
    );
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(task(summary, 'stubborn').error).toMatch(/timed out after 500 ms/);
    // It took the timeout plus the grace: SIGTERM was ignored.
    expect(summary.durationMs).toBeGreaterThanOrEqual(1500 - EPSILON_MS);
    expect(result.elapsedMs).toBeLessThan(15_000);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(processExists(pid)).toBe(false);
  });
});
