import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, statuses, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

/** Task names that really executed (not from the cache), from the fixture's executions log. */
function executions(): string[] {
  try {
    return readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function run(...args: string[]): Promise<RunSummary> {
  return runJson<RunSummary>(['run', fixture('cache.ts'), '-p', `dir=${dir}`, ...args], { cwd: dir });
}

const ALL_CACHED = {
  'consume-a': 'cached',
  'consume-b': 'cached',
  'produce-a': 'cached',
  'produce-b': 'cached',
};
const ALL_RAN = {
  'consume-a': 'succeeded',
  'consume-b': 'succeeded',
  'produce-a': 'succeeded',
  'produce-b': 'succeeded',
};

describe('caching', () => {
  it('hits on a second run, runs everything with --no-cache, and misses only downstream of a changed param', async () => {
    const first = await run();
    expect(statuses(first)).toEqual(ALL_RAN);
    expect(task(first, 'consume-a').outputs?.text).toBe('a=1');
    expect(executions()).toHaveLength(4);

    const second = await run();
    expect(statuses(second)).toEqual(ALL_CACHED);
    expect(executions()).toHaveLength(4);
    // Same results, same bytes.
    expect(task(second, 'consume-a').outputs?.text).toBe('a=1');
    expect(task(second, 'produce-a').outputs?.data.hash).toBe(task(first, 'produce-a').outputs?.data.hash);
    const shown = await runJson(['runs', 'show', second.runId], { cwd: dir });
    const produceA = shown.tasks.find((t: any) => t.name === 'produce-a');
    expect(produceA.cachedFrom).toBe(`${first.runId}/produce-a`);

    const noCache = await run('--no-cache');
    expect(statuses(noCache)).toEqual(ALL_RAN);
    expect(executions()).toHaveLength(8);

    // Changing `a` re-runs produce-a and its consumer only.
    const changed = await run('-p', 'a=5');
    expect(statuses(changed)).toEqual({
      'consume-a': 'succeeded',
      'consume-b': 'cached',
      'produce-a': 'succeeded',
      'produce-b': 'cached',
    });
    expect(task(changed, 'consume-a').outputs?.text).toBe('a=5');
    expect(executions().slice(8).sort()).toEqual(['consume-a', 'produce-a']);

    // The original value is still cached.
    const back = await run();
    expect(statuses(back)).toEqual(ALL_CACHED);
    expect(task(back, 'consume-a').outputs?.text).toBe('a=1');
    expect(executions()).toHaveLength(10);
  });

  // Regression (fixed in 718cdf0): LocalArtifactStore.put kept whatever file was already at the
  // content's hash path, so after tampering the re-run producer left the wrong bytes under the
  // right hash: every later run missed again, and a consumer that really ran read the wrong data.
  it('a tampered stored artifact is a miss for its producer, never a wrong hit, and the re-run repairs it', async () => {
    const first = await run();
    const path = fileURLToPath(task(first, 'produce-a').outputs?.data.uri as string);
    expect(readFileSync(path, 'utf8')).toBe('a=1\n');
    // Stored artifacts are read-only: make this one writable and change it.
    chmodSync(path, 0o644);
    writeFileSync(path, 'a=999\n');

    const second = await run();
    // The producer's cache entry no longer verifies: it runs again.
    expect(task(second, 'produce-a').status).toBe('succeeded');
    expect(executions().filter((name) => name === 'produce-a')).toHaveLength(2);
    // The other chain is untouched.
    expect(task(second, 'produce-b').status).toBe('cached');
    expect(task(second, 'consume-b').status).toBe('cached');
    // consume-a's result never comes from the tampered bytes.
    expect(task(second, 'consume-a').outputs?.text).toBe('a=1');
    // The artifact the re-run recorded holds the bytes its hash says.
    const secondPath = fileURLToPath(task(second, 'produce-a').outputs?.data.uri as string);
    expect(readFileSync(secondPath, 'utf8')).toBe('a=1\n');

    // A consumer that really runs reads the right data.
    const noCache = await run('--no-cache');
    expect(task(noCache, 'consume-a').outputs?.text).toBe('a=1');
    // And the cache has healed: a plain run is all hits.
    expect(statuses(await run())).toEqual(ALL_CACHED);
  });

  it('a failed task leaves no cache entry: re-running it runs it again', async () => {
    const args = ['run', fixture('cache.ts'), '--pipeline', 'cache-failure', '-p', `dir=${dir}`, '--json'];
    const first = await runCli(args, { cwd: dir });
    expect(first.code).toBe(1);
    expect(task(JSON.parse(first.stdout), 'always-fails').status).toBe('failed');

    const second = await runCli(args, { cwd: dir });
    expect(second.code).toBe(1);
    const summary = JSON.parse(second.stdout) as RunSummary;
    expect(task(summary, 'always-fails')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(task(summary, 'always-fails').error).toMatch(/always fails/);
    expect(executions()).toEqual(['always-fails', 'always-fails']);
  });
});
