/**
 * Experiment tracking throughput (lathe/tracking):
 *   tracking.log100k.seconds  trackRun + 100,000 logMetric calls + end() on a fresh workspace
 *                             (a real SQLite file; every point stored), median of 3. Floor: the
 *                             same 100,000 rows inserted by a bare better-sqlite3 prepared INSERT
 *                             in one transaction into an identical table (with its index) in a
 *                             temp file.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { trackRun } from '../src/tracking/index.js';
import { median, report, tempDir } from './bench-util.js';

const POINTS = 100_000;
const REPEATS = 3;

async function tracked(): Promise<number> {
  const dir = tempDir('lathe-bench-tracking-');
  try {
    const start = performance.now();
    const run = await trackRun({ experiment: 'bench', home: dir.path });
    for (let step = 0; step < POINTS; step++) run.logMetric('loss', 1 / (step + 1), step);
    await run.end();
    return (performance.now() - start) / 1000;
  } finally {
    dir.remove();
  }
}

function bare(): number {
  const dir = tempDir('lathe-bench-tracking-floor-');
  try {
    const db = new Database(join(dir.path, 'floor.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // As migration 3 creates it (without the foreign key, whose check needs a runs row).
    db.exec(`CREATE TABLE run_metrics (
        run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, step INTEGER NOT NULL,
        ts INTEGER NOT NULL, task_id TEXT
      );
      CREATE INDEX run_metrics_key ON run_metrics (run_id, key, step, ts);`);
    const insert = db.prepare(
      'INSERT INTO run_metrics (run_id, key, value, step, ts, task_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const start = performance.now();
    db.transaction(() => {
      for (let step = 0; step < POINTS; step++) {
        insert.run('r_bench', 'loss', 1 / (step + 1), step, Date.now(), null);
      }
    })();
    const seconds = (performance.now() - start) / 1000;
    const count = db.prepare('SELECT count(*) FROM run_metrics').pluck().get();
    if (count !== POINTS) throw new Error(`floor stored ${count} rows`);
    db.close();
    return seconds;
  } finally {
    dir.remove();
  }
}

async function main(): Promise<void> {
  await tracked(); // warm-up (module loading, JIT)
  bare();
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    runs.push(await tracked());
    floors.push(bare());
  }
  const seconds = median(runs);
  const floor = median(floors);
  report({
    name: 'tracking.log100k.seconds',
    value: seconds,
    unit: 's',
    floor,
    ratio: seconds / floor,
    note: `${Math.round(POINTS / seconds).toLocaleString('en')} points/s vs ${Math.round(POINTS / floor).toLocaleString('en')} rows/s bare insert; median of ${REPEATS}`,
  });
}

await main();
