import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, statuses, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe('onExit', () => {
  it('runs after a failure, sees {{run.status}} = failed, and the run exits 1', async () => {
    const result = await runCli(['run', fixture('exit-handler.ts'), '-p', `dir=${dir}`, '--json'], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.status).toBe('failed');
    expect(statuses(summary)).toEqual({
      boom: 'failed',
      downstream: 'skipped',
      notify: 'succeeded',
      prepare: 'succeeded',
    });
    expect(task(summary, 'boom').error).toMatch(/boom: deliberate failure/);
    expect(task(summary, 'downstream').reason).toBe("upstream 'boom' failed");
    expect(summary.error).toMatch(/boom: deliberate failure/);

    // The handler saw the final status and the run id through its templates.
    const seen = JSON.parse(readFileSync(join(dir, 'notify.json'), 'utf8'));
    expect(seen).toEqual({ status: 'failed', runId: summary.runId });
    const logs = await runCli(['logs', summary.runId, 'notify'], { cwd: dir });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(`notify: run ${summary.runId} finished with status failed`);

    // Stored: the run failed, the handler's params are the rendered templates.
    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    expect(shown.status).toBe('failed');
    const notify = shown.tasks.find((t: any) => t.name === 'notify');
    expect(notify.status).toBe('succeeded');
    expect(notify.params).toMatchObject({ status: 'failed', runId: summary.runId });
    expect(notify.startedAt).toBeGreaterThanOrEqual(
      shown.tasks.find((t: any) => t.name === 'boom').finishedAt,
    );

    // Human output: the failure, the skip and the handler.
    const human = await runCli(['run', fixture('exit-handler.ts'), '-p', `dir=${dir}`], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/boom failed: boom: deliberate failure/);
    expect(human.stdout).toMatch(/downstream skipped: upstream 'boom' failed/);
    expect(human.stdout).toMatch(/finished with status failed/);
    expect(human.stdout).toMatch(/run failed/);
  });
});
