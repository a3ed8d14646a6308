import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeWorkDir, removeStaleWorkDirs } from '../../src/executors/work-dirs.js';

const root = mkdtempSync(join(tmpdir(), 'lathe-work-dirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('attempt work directories', () => {
  it("are named after the runner's pid, and removed once that runner is gone", () => {
    const mine = makeWorkDir(root, 'task');
    const tag = /lathe-task-([0-9a-f]{8})-/.exec(mine)![1];
    expect(mine).toContain(`lathe-task-${tag}-${process.pid}-`);
    // pid 2^22 + 1 is above Linux's pid_max: no such process.
    const dead = join(root, `lathe-cmd-${tag}-${2 ** 22 + 1}-abc`);
    mkdirSync(dead);
    // Another host's directory: its pid cannot be checked here, so it stays.
    const otherHost = join(
      root,
      `lathe-cmd-${tag === '00000000' ? '11111111' : '00000000'}-${2 ** 22 + 1}-abc`,
    );
    mkdirSync(otherHost);
    const unrelated = join(root, 'something-else');
    mkdirSync(unrelated);
    expect(removeStaleWorkDirs(root)).toBe(1);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    expect(existsSync(otherHost)).toBe(true);
  });

  it('tolerates a root that does not exist', () => {
    expect(removeStaleWorkDirs(join(root, 'missing'))).toBe(0);
  });
});
