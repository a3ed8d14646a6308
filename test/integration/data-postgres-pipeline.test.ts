/**
 * A Postgres query as a pipeline's data source, with the connection URL from an environment
 * variable: real Postgres at 127.0.0.1:5432 (LATHE_TEST_PG_URL overrides; skipped with a warning
 * when none is reachable, like the other Postgres tests).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetStatistics } from '../../src/data/index.js';
import { fixture, makeTempDir, type RunSummary, runJson, task } from './cli.js';
import { PG_URL } from './postgres.js';

const TABLE = `lathe_pipeline_${process.pid}`;
const dir = makeTempDir('lathe-data-pg-');
let available = true;

beforeAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await client.query(`CREATE TABLE ${TABLE} (id int8 PRIMARY KEY, amount float8, label text)`);
    await client.query(
      `INSERT INTO ${TABLE} SELECT g, g * 1.5, CASE WHEN g % 4 = 0 THEN 'yes' ELSE 'no' END FROM generate_series(1, 400) g`,
    );
  } catch (error) {
    available = false;
    console.warn(`data-postgres-pipeline: no Postgres at ${PG_URL} (${error}); skipped`);
  } finally {
    await client.end().catch(() => {});
  }
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!available) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.end();
});

describe('ingestQuery from Postgres in a pipeline', () => {
  it('reads the rows, keeps the URL out of the recorded params, and profiles them', async (context) => {
    if (!available) context.skip();
    const home = join(dir, 'ws');
    const run = await runJson<RunSummary>(
      ['run', fixture('data-postgres.ts'), '--home', home, '-p', `table=${TABLE}`],
      {
        cwd: dir,
        env: { LATHE_PG_URL: PG_URL },
      },
    );
    expect(run.status).toBe('succeeded');
    expect(task(run, 'data.ingest-query').outputs?.rows).toBe(400);
    const stats = JSON.parse(
      readFileSync(fileURLToPath(task(run, 'data.statistics').outputs!.statistics.uri), 'utf8'),
    ) as DatasetStatistics;
    expect(stats.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'BIGINT'],
      ['amount', 'DOUBLE'],
      ['label', 'VARCHAR'],
    ]);
    expect(stats.columns[1]!.numeric).toMatchObject({ min: 1.5, max: 600, mean: 300.75 });
    expect(stats.columns[2]!.string?.topValues).toEqual([
      { value: 'no', count: 300 },
      { value: 'yes', count: 100 },
    ]);
    // Nothing stored in the workspace's database holds the URL.
    const stored = readdirSync(home)
      .filter((name) => name.startsWith('lathe.db'))
      .map((name) => readFileSync(join(home, name)).toString('latin1'))
      .join('');
    expect(stored).toContain('LATHE_PG_URL');
    expect(stored).not.toContain(PG_URL);
  });

  it('says which variable is missing when the environment lacks it', async (context) => {
    if (!available) context.skip();
    const run = await runJson<RunSummary>(
      ['run', fixture('data-postgres.ts'), '--home', join(dir, 'ws2'), '-p', `table=${TABLE}`],
      { cwd: dir, env: { LATHE_PG_URL: undefined } },
      1,
    );
    expect(task(run, 'data.ingest-query').error).toMatch(/environment variable LATHE_PG_URL is not set/);
  });
});
