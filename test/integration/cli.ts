/**
 * Helpers for the CLI integration tests: run the built `lathe` CLI (dist/cli/main.js) as a real
 * child process in a scratch directory, and read back what it printed and stored.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttemptRecord } from '../../src/store/metadata-store.js';
import { SqliteMetadataStore } from '../../src/store/sqlite/sqlite-metadata-store.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist/cli/main.js');
export const FIXTURES = join(REPO_ROOT, 'test/fixtures/pipelines');

/** Absolute path of a fixture pipeline module. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** pid of the `lathe` process that ran. */
  pid: number;
  elapsedMs: number;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  // The workspace must come from the cwd (or --home), never from the environment of the test runner.
  if (!('LATHE_HOME' in extra)) delete env.LATHE_HOME;
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

/** Starts `lathe <args>` and returns the child process (stdout/stderr are pipes). */
export function startCli(args: string[], options: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `lathe <args>` to completion. Kills it (and fails the test) after timeoutMs. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `lathe ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid!, elapsedMs: Date.now() - started });
    });
  });
}

/** Parses the JSON a command printed on stdout, with the output in the error when it is not JSON. */
export function parseJson<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `expected JSON on stdout (exit ${result.code})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/** `lathe <args> --json`, expecting exit code `code`; returns the parsed JSON. */
export async function runJson<T = any>(args: string[], options: CliOptions, code = 0): Promise<T> {
  const result = await runCli([...args, '--json'], options);
  if (result.code !== code) {
    throw new Error(
      `lathe ${args.join(' ')} --json: exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return parseJson<T>(result);
}

export interface TaskSummary {
  name: string;
  status: string;
  attempts: number;
  durationMs: number | null;
  error?: string;
  reason?: string;
  outputs?: Record<string, any>;
}

export interface RunSummary {
  runId: string;
  pipeline: string;
  status: string;
  durationMs: number;
  counts: Record<string, number>;
  tasks: TaskSummary[];
  error?: string;
}

/** The summary's task by instance name (fails loudly when missing). */
export function task(summary: { tasks: TaskSummary[] }, name: string): TaskSummary {
  const found = summary.tasks.find((t) => t.name === name);
  if (!found) {
    throw new Error(
      `no task '${name}' in the summary (tasks: ${summary.tasks.map((t) => t.name).join(', ')})`,
    );
  }
  return found;
}

/** Task name -> status, for whole-run comparisons. */
export function statuses(summary: {
  tasks: Array<{ name: string; status: string }>;
}): Record<string, string> {
  return Object.fromEntries(
    [...summary.tasks].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, t.status]),
  );
}

/** A fresh scratch directory for one test. */
export function makeTempDir(prefix = 'lathe-it-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a directory tree, making read-only parts (stored artifacts) writable first. */
export function removeDir(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    const makeWritable = (path: string) => {
      // lstat: never follow a symlink out of the directory being removed.
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat || stat.isSymbolicLink()) return;
      if (stat.isDirectory()) {
        chmodSync(path, 0o755);
        for (const entry of readdirSync(path)) makeWritable(join(path, entry));
      } else chmodSync(path, 0o644);
    };
    makeWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** True when a process with this pid exists (a zombie counts as existing). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The attempts stored for `runId/taskName` in the workspace at `home` (read straight from SQLite). */
export async function storedAttempts(
  home: string,
  runId: string,
  taskName: string,
): Promise<AttemptRecord[]> {
  const store = SqliteMetadataStore.open(join(home, 'lathe.db'));
  try {
    return await store.listAttempts(`${runId}/${taskName}`);
  } finally {
    await store.close();
  }
}
