/**
 * Scratch directories for task attempts. They live under one root (the workspace's `work/`
 * directory by default, on the same filesystem as the artifact store, so storing an output is a
 * rename, not a copy), named after the runner's pid: a runner killed before it could clean up
 * leaves directories that `removeStaleWorkDirs` recognises and removes later.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeWorkDir(root: string | undefined, kind: 'task' | 'cmd'): string {
  const base = root ?? tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `lathe-${kind}-${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes work directories under `root` whose runner process is gone. Returns how many. */
export function removeStaleWorkDirs(root: string): number {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    const pid = Number(/^lathe-(?:task|cmd)-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(root, entry), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
