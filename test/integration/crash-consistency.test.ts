/**
 * kill -9 the runner at (seeded) random moments, several times in a row, resuming after each:
 * after every kill the SQLite file passes integrity and foreign-key checks, every recorded
 * artifact's bytes match its hash, every succeeded task has its outputs recorded, and the
 * final resume finishes with the right result without re-running succeeded work.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/quickstart/data.js';
import { hashPath } from '../../src/store/hash-path.js';
import { fixture, makeTempDir, removeDir, runJson, sleep, startCli } from './cli.js';

function executions(dir: string): number {
  const log = join(dir, 'executions.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0;
}

/** Starts the CLI and kill -9s it once `more` further executions have begun (or it exits). */
async function killAfterExecutions(args: string[], dir: string, more: number): Promise<void> {
  const target = executions(dir) + more;
  const child = startCli(args, { cwd: dir });
  let exited = false;
  const done = new Promise((resolve) => child.on('exit', resolve)).then(() => {
    exited = true;
  });
  while (!exited && executions(dir) < target) await sleep(3);
  child.kill('SIGKILL');
  await done;
}

async function checkStore(home: string): Promise<{ runId: string | undefined; succeeded: number }> {
  // Killed before the workspace was even created: nothing to check yet.
  if (!existsSync(join(home, 'lathe.db'))) return { runId: undefined, succeeded: 0 };
  const db = new Database(join(home, 'lathe.db'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const artifacts = db.prepare('SELECT id, uri, hash FROM artifacts').all() as {
      id: string;
      uri: string;
      hash: string;
    }[];
    for (const artifact of artifacts) {
      // A recorded artifact's bytes are always in place and intact: they are stored before the record.
      expect((await hashPath(fileURLToPath(artifact.uri))).hash, artifact.id).toBe(artifact.hash);
    }
    const succeeded = db
      .prepare("SELECT id, name FROM tasks WHERE status = 'succeeded' AND component = 'crash-piece'")
      .all() as { id: string; name: string }[];
    const outputs = db.prepare("SELECT COUNT(*) AS n FROM events WHERE task_id = ? AND kind = 'output'");
    for (const task of succeeded) {
      expect((outputs.get(task.id) as { n: number }).n, task.name).toBe(1);
    }
    const run = db.prepare('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1').get() as
      | { id: string }
      | undefined;
    return { runId: run?.id, succeeded: succeeded.length };
  } finally {
    db.close();
  }
}

describe('kill -9 at random moments', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('leaves a consistent store every time, and resume finishes the run exactly', async () => {
    const random = seededRandom(20261125);
    const home = join(dir, '.lathe');
    const run = ['run', fixture('crash.ts'), '-p', `dir=${dir}`];
    let runId: string | undefined;
    let succeededBefore = 0;
    for (let kill = 0; kill < 4; kill++) {
      // Somewhere in the next 1 to 40 task executions: mid-loop, mid-commit, mid-write.
      const more = 1 + Math.floor(random() * 40);
      await killAfterExecutions(runId ? ['resume', runId] : run, dir, more);
      const state = await checkStore(home);
      runId = state.runId;
      // Progress is never lost: what had succeeded stays succeeded.
      expect(state.succeeded).toBeGreaterThanOrEqual(succeededBefore);
      succeededBefore = state.succeeded;
    }
    expect(runId).toBeDefined();
    const summary = await runJson(['resume', runId!, '--json'], { cwd: dir, timeoutMs: 60_000 });
    expect(summary.status).toBe('succeeded');
    const finish = summary.tasks.find((t: { name: string }) => t.name === 'crash-finish');
    const expected = Array.from({ length: 150 }, (_, i) => i * 3).reduce((a, b) => a + b, 0);
    expect(finish.outputs).toEqual({ done: `sum=${expected}` });
    const total = summary.tasks.find((t: { name: string }) => t.name === 'crash-total');
    expect(total.outputs).toMatchObject({ sum: expected, files: 150 });
    await checkStore(home);
    const db = new Database(join(home, 'lathe.db'), { readonly: true });
    try {
      // Attempts cut short by a kill are recorded as failed ('interrupted'), none left running.
      expect(db.prepare("SELECT COUNT(*) AS n FROM attempts WHERE status = 'running'").get()).toEqual({
        n: 0,
      });
    } finally {
      db.close();
    }

    // A piece runs again only if a kill caught it before its success was committed: each piece
    // ran at least once, and pieces that re-ran are at most the ones in flight at each kill
    // (parallelism 8, plus the commit window), never the whole loop again.
    const lines = readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n');
    const pieceRuns = lines.filter((l) => l.startsWith('piece '));
    expect(new Set(pieceRuns).size).toBe(150);
    expect(pieceRuns.length - 150).toBeLessThanOrEqual(4 * 16);
  });
});
