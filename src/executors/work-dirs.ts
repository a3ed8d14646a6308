/**
 * Scratch directories for task attempts. They live under one root (the workspace's `work/`
 * directory by default, on the same filesystem as the artifact store, so storing an output is a
 * rename, not a copy), named after the runner's pid: a runner killed before it could clean up
 * leaves directories that `removeStaleWorkDirs` recognises and removes later. Names carry a tag of
 * the host too, since a pid means nothing on another machine sharing the workspace.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/** This machine, as a short tag: a workspace may be shared by several hosts. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

export function makeWorkDir(root: string | undefined, kind: 'task' | 'cmd'): string {
  const base = root ?? tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `lathe-${kind}-${HOST_TAG}-${process.pid}-`));
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
    const match = /^lathe-(?:task|cmd)-([0-9a-f]{8})-(\d+)-/.exec(entry);
    const pid = Number(match?.[2]);
    // Only this host's runners can be checked; another host's directories are left alone.
    if (!match || match[1] !== HOST_TAG || pid === process.pid || alive(pid)) continue;
    rmSync(join(root, entry), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
