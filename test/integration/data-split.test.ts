/**
 * Splitting datasets: ratios, seeded determinism (byte-identical Parquet), stratification and
 * time order, on real DuckDB and Parquet files.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataEngine, DataUsageError, loadTable, splitTable } from '../../src/data/index.js';
import { makeTempDir } from './cli.js';

let engine: DataEngine;
let dir: string;

beforeAll(async () => {
  engine = await DataEngine.open();
  dir = makeTempDir('lathe-split-');
  // 1,000 rows: a label with classes in 70/20/10 proportions and a timestamp in shuffled order.
  await engine.run(
    `COPY (SELECT range AS id,
                  CASE WHEN range % 10 < 7 THEN 'a' WHEN range % 10 < 9 THEN 'b' ELSE 'c' END AS label,
                  TIMESTAMP '2024-01-01' + INTERVAL (((range * 7919) % 1000)) MINUTE AS at
           FROM range(1000)) TO '${join(dir, 'data.parquet')}' (FORMAT parquet)`,
  );
});

afterAll(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

function paths(prefix: string): { train: string; eval: string; test: string } {
  return {
    train: join(dir, `${prefix}-train.parquet`),
    eval: join(dir, `${prefix}-eval.parquet`),
    test: join(dir, `${prefix}-test.parquet`),
  };
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function ids(path: string): Promise<number[]> {
  const rows = await engine.rows<{ id: number }>(`SELECT id FROM '${path}'`);
  return rows.map((row) => row.id);
}

describe('splitTable', () => {
  it('splits by ratios, every row exactly once, keeping input order within a part', async () => {
    const table = await loadTable(engine, join(dir, 'data.parquet'));
    const out = paths('plain');
    const parts = await splitTable(
      engine,
      table,
      { ratios: { train: 0.8, eval: 0.1, test: 0.1 }, seed: 3 },
      out,
    );
    expect(parts).toEqual([
      { name: 'train', rows: 800 },
      { name: 'eval', rows: 100 },
      { name: 'test', rows: 100 },
    ]);
    const all = [...(await ids(out.train)), ...(await ids(out.eval)), ...(await ids(out.test))];
    expect(new Set(all).size).toBe(1000);
    const train = await ids(out.train);
    expect(train).toEqual([...train].sort((a, b) => a - b));
    // A shuffle, not the first 800 rows.
    expect(train.slice(0, 800)).not.toEqual(Array.from({ length: 800 }, (_, i) => i));
  });

  it('is deterministic: the same seed gives byte-identical files, another seed other rows', async () => {
    const table = await loadTable(engine, join(dir, 'data.parquet'));
    const a = paths('seed-a');
    const b = paths('seed-b');
    const c = paths('seed-c');
    await splitTable(engine, table, { ratios: { train: 0.8, eval: 0.1, test: 0.1 }, seed: 11 }, a);
    await splitTable(engine, table, { ratios: { train: 0.8, eval: 0.1, test: 0.1 }, seed: 11 }, b);
    await splitTable(engine, table, { ratios: { train: 0.8, eval: 0.1, test: 0.1 }, seed: 12 }, c);
    expect(sha(a.train)).toBe(sha(b.train));
    expect(sha(a.test)).toBe(sha(b.test));
    expect(await ids(a.test)).not.toEqual(await ids(c.test));
  });

  it('stratifies: every part keeps the label proportions', async () => {
    const table = await loadTable(engine, join(dir, 'data.parquet'));
    const out = paths('strat');
    await splitTable(
      engine,
      table,
      { ratios: { train: 0.5, eval: 0.3, test: 0.2 }, seed: 1, stratifyBy: 'label' },
      out,
    );
    for (const [part, share] of [
      ['train', 0.5],
      ['eval', 0.3],
      ['test', 0.2],
    ] as const) {
      const counts = await engine.rows<{ label: string; n: number }>(
        `SELECT label, count(*) AS n FROM '${out[part]}' GROUP BY label ORDER BY label`,
      );
      expect(counts).toEqual([
        { label: 'a', n: 700 * share },
        { label: 'b', n: 200 * share },
        { label: 'c', n: 100 * share },
      ]);
    }
  });

  it('splits by time: train holds the earliest rows, test the latest', async () => {
    const table = await loadTable(engine, join(dir, 'data.parquet'));
    const out = paths('time');
    await splitTable(engine, table, { ratios: { train: 0.6, eval: 0.2, test: 0.2 }, timeColumn: 'at' }, out);
    const range = async (path: string) =>
      engine.row<{ lo: string; hi: string; n: number }>(
        `SELECT min("at")::VARCHAR AS lo, max("at")::VARCHAR AS hi, count(*) AS n FROM '${path}'`,
      );
    const train = await range(out.train);
    const evalPart = await range(out.eval);
    const test = await range(out.test);
    expect([train.n, evalPart.n, test.n]).toEqual([600, 200, 200]);
    expect(train.hi < evalPart.lo).toBe(true);
    expect(evalPart.hi < test.lo).toBe(true);
  });

  it('rejects bad options with errors that name the problem', async () => {
    const table = await loadTable(engine, join(dir, 'data.parquet'));
    const out = paths('bad');
    await expect(splitTable(engine, table, { ratios: { train: 0.8, test: 0.1 } }, out)).rejects.toThrow(
      /sum to 0\.9/,
    );
    await expect(
      splitTable(engine, table, { ratios: { train: 0.8, test: 0.2 }, stratifyBy: 'nope' }, out),
    ).rejects.toThrow(/column 'nope' is not in/);
    await expect(splitTable(engine, table, { ratios: { train: 1.5, test: -0.5 } }, out)).rejects.toThrow(
      DataUsageError,
    );
    await expect(
      splitTable(
        engine,
        table,
        { ratios: { train: 0.5, test: 0.5 }, stratifyBy: 'label', timeColumn: 'at' },
        out,
      ),
    ).rejects.toThrow(/not both/);
  });

  it('refuses a time column with nulls', async () => {
    await engine.run(
      `COPY (SELECT range AS id, CASE WHEN range = 5 THEN NULL ELSE range END AS t FROM range(10)) TO '${join(dir, 'nulls.parquet')}' (FORMAT parquet)`,
    );
    const table = await loadTable(engine, join(dir, 'nulls.parquet'));
    await expect(
      splitTable(engine, table, { ratios: { train: 0.5, test: 0.5 }, timeColumn: 't' }, paths('nulls')),
    ).rejects.toThrow(/1 null value/);
  });
});
