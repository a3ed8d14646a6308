import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe("isolation: 'process'", () => {
  it('runs the component in a child process of the runner', async () => {
    const result = await runCli(['run', fixture('isolation.ts'), '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.status).toBe('succeeded');
    const isolated = task(summary, 'isolated');
    expect(isolated.status).toBe('succeeded');
    // Not the `lathe` process we spawned, but a child of it.
    expect(isolated.outputs?.pid).not.toBe(result.pid);
    expect(isolated.outputs?.ppid).toBe(result.pid);
    // An inline component runs in the runner itself, and reads the isolated one's artifact.
    const inline = task(summary, 'inline');
    expect(inline.outputs?.pid).toBe(result.pid);
    expect(inline.outputs?.text).toBe(`written by ${isolated.outputs?.pid}`);

    // Its log lines reach the stored logs through the parent.
    const logs = await runCli(['logs', summary.runId, 'isolated'], { cwd: dir });
    expect(logs.stdout).toContain(`isolated task in pid ${isolated.outputs?.pid}`);

    // The second run is served from the cache, without starting a process.
    const again = await runJson<RunSummary>(['run', fixture('isolation.ts')], { cwd: dir });
    expect(task(again, 'isolated')).toMatchObject({ status: 'cached' });
    expect(task(again, 'isolated').outputs?.pid).toBe(isolated.outputs?.pid);
  });
});
