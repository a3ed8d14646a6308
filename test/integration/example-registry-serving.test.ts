/**
 * examples/registry-serving/demo.ts end to end, as a user runs it (real CLI child processes, a
 * real server, real HTTP): train → gate → register → serve → canary → promote.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { makeTempDir, REPO_ROOT } from './cli.js';

const dir = makeTempDir('lathe-example-registry-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the demo registers a champion and a challenger, and the canary promotes the challenger', () => {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', `${REPO_ROOT}/examples/registry-serving/demo.ts`],
    {
      // The repository, so that tsx resolves; the workspace goes to the temp dir.
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, LATHE_HOME: `${dir}/.lathe` },
      timeout: 90_000,
    },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/champion\s+promote\s+-\s+1\s+registered by run/);
  expect(result.stdout).toMatch(/challenger\s+promote\s+-\s+2\s+registered by run/);
  expect(result.stdout).toMatch(/canary decided after \d+ requests: promote/);
  expect(result.stdout).toMatch(/accuracy [\d.]+ vs champion [\d.]+ on labelled requests/);
  expect(result.stdout).toMatch(/champion\s+promote\s+1\s+2\s+canary passed/);
  expect(result.stdout).toMatch(/challenger\s+delete\s+2\s+-\s+promoted to champion by the canary/);
});
