import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, runCli } from './cli.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));

const COMMANDS = ['run', 'compile', 'runs list', 'runs show', 'logs', 'resume', 'lineage'];

describe('lathe --help', () => {
  it('prints the command list and exits 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = await runCli([flag], { cwd: dir });
      expect(result.code, flag).toBe(0);
      expect(result.stdout).toMatch(/^Usage: lathe <command> \[options\]/);
      for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command} `);
    }
  });

  it('prints usage for every command and exits 0', async () => {
    const results = await Promise.all(
      COMMANDS.map((command) => runCli([...command.split(' '), '--help'], { cwd: dir })),
    );
    results.forEach((result, i) => {
      const command = COMMANDS[i]!;
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toMatch(new RegExp(`^Usage: lathe ${command}\\b`));
      expect(result.stdout, command).toMatch(/Options:/);
      expect(result.stdout, command).toMatch(/--help/);
      expect(result.stderr, command).toBe('');
    });
    // A command's own options are listed.
    expect(results[0]!.stdout).toMatch(/--param <name=value>/);
    expect(results[0]!.stdout).toMatch(/--no-cache/);
    expect(results[1]!.stdout).toMatch(/--output <file>/);
  });

  it('-h works like --help, also after arguments', async () => {
    const result = await runCli(['runs', 'show', 'some-run', '-h'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: lathe runs show <run>/);
  });
});

describe('bad usage', () => {
  it('a command group with --help lists its commands and exits 0', async () => {
    for (const [group, first] of [
      ['runs', 'runs list'],
      ['models', 'models list'],
      ['data', 'data stats'],
    ] as const) {
      const result = await runCli([group, '--help'], { cwd: dir });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: lathe ${group} <command>`));
      expect(result.stdout).toContain(first);
      expect(result.stdout).not.toMatch(/lathe run <pipeline/);
    }
  });

  it('an unknown command exits 2 and shows the command list', async () => {
    const result = await runCli(['frobnicate'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(result.stderr).toMatch(/Usage: lathe <command>/);
  });

  it('no command, an unknown `runs` subcommand, an unknown flag or a missing argument exit 2', async () => {
    const [none, runs, flag, missing] = await Promise.all([
      runCli([], { cwd: dir }),
      runCli(['runs', 'delete'], { cwd: dir }),
      runCli(['run', '--bogus'], { cwd: dir }),
      runCli(['runs', 'show'], { cwd: dir }),
    ]);
    expect(none.code).toBe(2);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toMatch(/expected 'list', 'show' or 'compare'/);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/bogus/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing argument <run>/);
  });

  it('a missing pipeline file or an unknown run exit 2', async () => {
    const [file, run] = await Promise.all([
      runCli(['run', 'nope.ts'], { cwd: dir }),
      runCli(['runs', 'show', 'nope'], { cwd: dir }),
    ]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/nope\.ts: no such file/);
    expect(run.code).toBe(2);
    // No workspace here yet: read-only commands say so instead of creating one.
    expect(run.stderr).toMatch(/no Lathe workspace at/);
  });
});
