import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  makeTempDir,
  REPO_ROOT,
  type RunSummary,
  removeDir,
  runCli,
  runJson,
  startCli,
  statuses,
  task,
  waitFor,
} from './cli.js';

function executions(dir: string): string[] {
  return readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n').filter(Boolean);
}

interface Killed {
  runId: string;
  /** `runs list --json` entry right after the kill. */
  listed: any;
  /** `runs show --json` right after the kill. */
  shown: any;
  /** executions.log right after the kill. */
  executionsAtKill: string[];
}

/**
 * Starts `lathe run module` in `dir` with `dir/hold` present (so `second` keeps running), waits
 * until `first` has succeeded in the store and `second` is running, then kills the runner with
 * SIGKILL.
 */
async function runAndKill(module: string, dir: string): Promise<Killed> {
  writeFileSync(join(dir, 'hold'), '');
  const child = startCli(['run', module, '-p', `dir=${dir}`], { cwd: dir });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    await waitFor('second to start', () => (existsSync(join(dir, 'second-started')) ? true : undefined));
    const runId = await waitFor('the run in `runs list`', async () => {
      const runs = await runJson(['runs', 'list'], { cwd: dir });
      return runs[0]?.id as string | undefined;
    });
    await waitFor(
      'first succeeded and second running in the store',
      async () => {
        const shown = await runJson(['runs', 'show', runId], { cwd: dir });
        const byName = Object.fromEntries(shown.tasks.map((t: any) => [t.name, t.status]));
        return byName.first === 'succeeded' && byName.second === 'running' ? true : undefined;
      },
      20_000,
      100,
    );
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    const listed = (await runJson(['runs', 'list'], { cwd: dir })).find((r: any) => r.id === runId);
    const shown = await runJson(['runs', 'show', runId], { cwd: dir });
    return { runId, listed, shown, executionsAtKill: executions(dir) };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\nrunner output:\n${output}`);
  } finally {
    unlinkSync(join(dir, 'hold'));
  }
}

describe('resume after kill -9', () => {
  let dir: string;
  let killed: Killed;
  let resumed: RunSummary;
  let resumeCode: number | null;
  let afterResume: string[];

  beforeAll(async () => {
    dir = makeTempDir();
    killed = await runAndKill(fixture('resume.ts'), dir);
    const result = await runCli(['resume', killed.runId, '--json'], { cwd: dir });
    resumeCode = result.code;
    resumed = JSON.parse(result.stdout);
    afterResume = executions(dir);
  });
  afterAll(() => removeDir(dir));

  it('shows the killed run as interrupted, and the store stays readable', () => {
    expect(killed.executionsAtKill).toEqual(['first', 'second']);
    expect(['interrupted', 'running']).toContain(killed.listed.status);
    expect(killed.listed.status).toBe('interrupted');
    expect(killed.shown.status).toBe('interrupted');
    const byName = Object.fromEntries(killed.shown.tasks.map((t: any) => [t.name, t]));
    expect(byName.first.status).toBe('succeeded');
    expect(byName.first.outputs).toEqual({ n: 41 });
    expect(byName.first.artifacts.data.type).toBe('Dataset');
    expect(byName.second.status).toBe('running');
    expect(byName.third).toBeUndefined();
  });

  it('resumes under the same run id: first is not re-run, second and third run, the run succeeds', async () => {
    expect(resumeCode).toBe(0);
    expect(resumed.runId).toBe(killed.runId);
    expect(resumed.status).toBe('succeeded');
    expect(statuses(resumed)).toEqual({ first: 'succeeded', second: 'succeeded', third: 'succeeded' });
    expect(task(resumed, 'third').outputs).toEqual({ result: '42/v1' });
    // first ran once in all; second and third ran during the resume.
    expect(afterResume.filter((n) => n === 'first')).toHaveLength(1);
    const duringResume = afterResume.slice(killed.executionsAtKill.length);
    expect(duringResume).toContain('second');
    expect(duringResume).toContain('third');
    expect(duringResume).not.toContain('first');
    // first kept its artifact (same id) across the resume.
    expect(task(resumed, 'first').outputs?.data.id).toBe(
      killed.shown.tasks.find((t: any) => t.name === 'first').artifacts.data.id,
    );

    const shown = await runJson(['runs', 'show', killed.runId], { cwd: dir });
    expect(shown.status).toBe('succeeded');
    expect(shown.finishedAt).toBeGreaterThan(0);
    const runs = await runJson(['runs', 'list'], { cwd: dir });
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('succeeded');

    const again = await runCli(['resume', killed.runId], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already succeeded/);
  });

  // Regression (fixed in 718cdf0): on resume `first` completed synchronously from its prior record
  // inside createScope's dispatch loop, so `second` was dispatched twice and ran twice concurrently.
  it('runs the interrupted task exactly once on resume', () => {
    const duringResume = afterResume.slice(killed.executionsAtKill.length);
    expect(duringResume.filter((n) => n === 'second')).toHaveLength(1);
  });

  // BUG (src/engine/run-engine.ts, RunExecution.onDependenciesDone, the resume branch
  // `node.startedAt = prior.record.startedAt; this.complete(node, ...)`): a task kept from the
  // prior run gets its original startedAt but finishedAt = now (complete() sets
  // `task.finishedAt ?? Date.now()`), so the resume summary's durationMs for it is the time since
  // it first started, including the time the run was dead (here seconds for a task of a few ms;
  // days if the resume comes days later). It should be the stored finishedAt - startedAt (the
  // stored task record itself stays right).
  it("reports a kept task's own duration in the resume summary", () => {
    const first = killed.shown.tasks.find((t: any) => t.name === 'first');
    expect(task(resumed, 'first').durationMs).toBe(first.finishedAt - first.startedAt);
  });
});

describe('resume picks up changed component code', () => {
  let dir: string;
  let moduleDir: string;

  beforeAll(() => {
    dir = makeTempDir();
    // The copy lives outside the repository; `node_modules/lathe` points at it so that the copy
    // can still `import ... from 'lathe'` (and gets the very modules the CLI runs).
    moduleDir = makeTempDir('lathe-it-module-');
    mkdirSync(join(moduleDir, 'node_modules'));
    symlinkSync(REPO_ROOT, join(moduleDir, 'node_modules', 'lathe'), 'dir');
    writeFileSync(join(moduleDir, 'package.json'), '{ "type": "module" }\n');
  });
  afterAll(() => {
    removeDir(dir);
    removeDir(moduleDir);
  });

  it('runs the edited module when resuming', async () => {
    const module = join(moduleDir, 'resume-edit.ts');
    copyFileSync(fixture('resume.ts'), module);
    const killed = await runAndKill(module, dir);

    const source = readFileSync(module, 'utf8');
    expect(source).toContain("const VERSION = 'v1';");
    writeFileSync(module, source.replace("const VERSION = 'v1';", "const VERSION = 'v2';"));

    const resumed = await runJson<RunSummary>(['resume', killed.runId], { cwd: dir });
    expect(resumed.status).toBe('succeeded');
    expect(task(resumed, 'second').outputs).toEqual({ n: 42, version: 'v2' });
    expect(task(resumed, 'third').outputs).toEqual({ result: '42/v2' });
    expect(executions(dir).filter((n) => n === 'first')).toHaveLength(1);
  });
});
