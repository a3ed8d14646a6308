/**
 * On a terminal, `lathe run` keeps a live status line (done/total and the running tasks), redrawn
 * in place, with colours; elsewhere it prints plain lines. The terminal is a real pseudo-TTY made
 * by util-linux `script`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeTempDir, REPO_ROOT, removeDir, runCli } from './cli.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const pipeline = `${REPO_ROOT}/examples/quickstart/pipeline.ts`;

describe('terminal output', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it.skipIf(!hasScript)('draws a live status line on a TTY', () => {
    const out = execFileSync(
      'script',
      ['-qec', `${process.execPath} ${CLI} run ${pipeline} --no-cache`, '/dev/null'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '', COLUMNS: '120' },
      },
    );
    // The status line: [done/total] running: ..., erased with \r ESC[K before the next line.
    expect(out).toMatch(/\[\d+\/18\] running: /);
    expect(out).toContain('\r\x1b[K');
    expect(out).toContain('\x1b[32m'); // colour on a terminal
    expect(out).toMatch(/run succeeded/);
    expect(out).not.toMatch(/\[0\/0\]/);
  });

  it('prints plain lines, without escape codes, when not on a TTY', async () => {
    const result = await runCli(['run', pipeline, '--no-cache'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\x1b[');
    expect(result.stdout).toMatch(/• make-data started/);
    expect(result.stdout).toMatch(/✓ make-data \d+ ms/);
  });
});
