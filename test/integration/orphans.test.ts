/**
 * A command outlives a runner killed with kill -9 (it runs in its own process group). Resume
 * stops it, identified by its pid and LATHE_* environment, before running the task again, and
 * records the killed attempt as interrupted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, removeDir, runJson, sleep, startCli, waitFor } from './cli.js';

/** Running, not a zombie: an orphan adopted by a pid 1 that does not reap stays a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

describe('a command left running by a killed runner', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('is stopped by resume, and the task runs again', async () => {
    const child = startCli(['run', fixture('orphan.ts'), '-p', `dir=${dir}`], {
      cwd: dir,
      env: { LATHE_KILL_GRACE_MS: '500' },
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const pid = await waitFor('the command to record its pid', () => {
      const text = existsSync(join(dir, 'pid')) ? readFileSync(join(dir, 'pid'), 'utf8').trim() : '';
      return text ? Number(text) : undefined;
    });
    await sleep(300); // let the runner commit the attempt's pid
    child.kill('SIGKILL');
    await exited;
    expect(running(pid)).toBe(true);

    const runs = await runJson(['runs', 'list', '--json'], { cwd: dir });
    const summary = await runJson(['resume', runs[0].id, '--json'], {
      cwd: dir,
      env: { LATHE_KILL_GRACE_MS: '500' },
    });
    expect(summary.status).toBe('succeeded');
    expect(summary.tasks[0].outputs).toEqual({ note: 'second' });
    expect(running(pid)).toBe(false);

    const shown = await runJson(['runs', 'show', runs[0].id, '--json'], { cwd: dir });
    expect(shown.tasks[0].attempts).toBe(2);
  });
});
