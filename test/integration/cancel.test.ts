import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fixture,
  makeTempDir,
  type RunSummary,
  removeDir,
  runJson,
  startCli,
  statuses,
  task,
  waitFor,
} from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

function executions(): string[] {
  return readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n').filter(Boolean);
}

/** Starts the cancel fixture, sends `signal` once `wait` is running, and returns what happened. */
async function cancelRun(
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stderr: string; summary: RunSummary; elapsedMs: number }> {
  writeFileSync(join(dir, 'hold'), '');
  const child = startCli(['run', fixture('cancel.ts'), '-p', `dir=${dir}`, '--json'], { cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started = Date.now();
  try {
    await waitFor('wait to start', () => (existsSync(join(dir, 'wait-started')) ? true : undefined));
    child.kill(signal);
    const code = await exited;
    let summary: RunSummary;
    try {
      summary = JSON.parse(stdout);
    } catch {
      throw new Error(`no JSON summary (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    }
    return { code, stderr, summary, elapsedMs: Date.now() - started };
  } finally {
    child.kill('SIGKILL');
    unlinkSync(join(dir, 'hold'));
  }
}

describe('canceling a run', () => {
  it('SIGINT cancels the running task, skips the rest, runs the exit handler, exits 1; resume completes it', async () => {
    const { code, stderr, summary, elapsedMs } = await cancelRun('SIGINT');
    expect(code, stderr).toBe(1);
    // Canceled promptly, not after the task's 30 s.
    expect(elapsedMs).toBeLessThan(15_000);
    expect(stderr).toMatch(/canceling the run/);
    expect(summary.status).toBe('canceled');
    expect(task(summary, 'wait')).toMatchObject({ status: 'failed', error: 'run canceled' });
    expect(task(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'run canceled' });
    // The TS exit handler ran, after everything else, and saw the cancellation.
    const lines = executions();
    expect(lines[0]).toBe('wait');
    expect(lines).toContain('report canceled');
    expect(lines).not.toContain('after');

    const [listed] = await runJson(['runs', 'list'], { cwd: dir });
    expect(listed.status).toBe('canceled');

    // A canceled run can be resumed to completion.
    const resumed = await runJson<RunSummary>(['resume', summary.runId], { cwd: dir });
    expect(resumed.status).toBe('succeeded');
    expect(statuses(resumed)).toEqual({
      after: 'succeeded',
      'command-report': 'succeeded',
      report: 'succeeded',
      wait: 'succeeded',
    });
    const resumedLines = executions().slice(lines.length);
    expect(resumedLines.slice(0, 2)).toEqual(['wait', 'after']);
    expect(resumedLines.slice(2).sort()).toEqual(['command-report succeeded', 'report succeeded']);
  });

  it('SIGTERM cancels the run the same way', async () => {
    const { code, stderr, summary } = await cancelRun('SIGTERM');
    expect(code, stderr).toBe(1);
    expect(summary.status).toBe('canceled');
    expect(task(summary, 'wait').status).toBe('failed');
    expect(task(summary, 'after').status).toBe('skipped');
    expect(executions()).toContain('report canceled');
    expect(executions()).not.toContain('after');
  });

  // Regression: RunExecution.runAttempt's no-timeout fast path handed every task the run's own
  // AbortSignal, so after a cancel the exit handlers got an already-aborted signal: a TS handler's
  // result was discarded ("run canceled") and a command handler never started. Exit handlers now
  // get a signal that canceling the run does not abort.
  it('the exit handlers of a canceled run run and succeed (TS and command)', async () => {
    const { summary } = await cancelRun('SIGINT');
    expect(summary.status).toBe('canceled');
    expect(task(summary, 'report')).toMatchObject({ status: 'succeeded' });
    expect(task(summary, 'command-report')).toMatchObject({ status: 'succeeded' });
    expect(executions()).toContain('command-report canceled');
  });
});
