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

describe('canceling a run', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} cancels the running task, skips the rest, still runs the exit handler, and exits 1`, async () => {
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
        expect(code, stderr).toBe(1);
      } finally {
        child.kill('SIGKILL');
        unlinkSync(join(dir, 'hold'));
      }
      // Canceled promptly, not after the task's 30 s.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(stderr).toMatch(/canceling the run/);

      const summary = JSON.parse(stdout) as RunSummary;
      expect(summary.status).toBe('canceled');
      expect(statuses(summary)).toEqual({ after: 'skipped', report: 'succeeded', wait: 'failed' });
      expect(task(summary, 'wait').error).toMatch(/canceled/);
      expect(task(summary, 'after').reason).toMatch(/canceled/);
      // The exit handler ran last and saw the cancellation.
      expect(executions()).toEqual(['wait', 'report canceled']);

      const [listed] = await runJson(['runs', 'list'], { cwd: dir });
      expect(listed.status).toBe('canceled');

      // A canceled run can be resumed to completion.
      const resumed = await runJson<RunSummary>(['resume', summary.runId], { cwd: dir });
      expect(resumed.status).toBe('succeeded');
      expect(statuses(resumed)).toEqual({ after: 'succeeded', report: 'succeeded', wait: 'succeeded' });
      expect(executions().slice(2)).toEqual(['wait', 'after', 'report succeeded']);
    });
  }
});
