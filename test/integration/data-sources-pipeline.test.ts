/**
 * Query ingestion, schema inference as an artifact, validation against it with onFailure 'warn',
 * and training/serving skew, in a real pipeline run through the CLI with a real SQLite file.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftReport, ValidationReport } from '../../src/data/index.js';
import { fixture, makeTempDir, type RunSummary, runJson, task } from './cli.js';

const dir = makeTempDir('lathe-data-sources-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function artifactText(output: { uri: string }): string {
  return readFileSync(fileURLToPath(output.uri), 'utf8');
}

describe('query ingestion, schema artifact, warn-only validation, skew', () => {
  it('runs end to end and records what it found', async () => {
    const db = join(dir, 'events.db');
    const sqlite = new Database(db);
    sqlite.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, amount REAL NOT NULL)');
    const insert = sqlite.prepare('INSERT INTO events (kind, amount) VALUES (?, ?)');
    for (let i = 0; i < 300; i++) insert.run(['click', 'view', 'buy'][i % 3], (i % 50) + 0.5);
    sqlite.close();
    // Serving traffic: no 'buy' at all, a new kind, and amounts beyond the training range.
    const serving = [
      'kind,amount',
      ...Array.from({ length: 100 }, (_, i) => `${i % 5 === 0 ? 'share' : i % 2 ? 'click' : 'view'},${i}`),
    ];
    writeFileSync(join(dir, 'serving.csv'), `${serving.join('\n')}\n`);

    const run = await runJson<RunSummary>(
      [
        'run',
        fixture('data-sources.ts'),
        '--home',
        join(dir, 'ws'),
        '-p',
        `db=${db}`,
        '-p',
        `serving=${join(dir, 'serving.csv')}`,
      ],
      { cwd: dir },
    );
    expect(run.status).toBe('succeeded');
    expect(task(run, 'training').outputs?.rows).toBe(300);
    expect(task(run, 'serving').outputs?.rows).toBe(100);

    const schema = artifactText(task(run, 'data.schema').outputs!.schema);
    expect(schema).toMatch(/kind: lathe\.schema/);
    expect(schema).toMatch(/domain:\n\s+- buy\n\s+- click\n\s+- view/);

    // onFailure 'warn': the task succeeds, says it did not pass, and keeps the report.
    const validate = task(run, 'data.validate');
    expect(validate.status).toBe('succeeded');
    expect(validate.outputs?.passed).toBe(false);
    const report = JSON.parse(artifactText(validate.outputs!.report)) as ValidationReport;
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.anomaly);
    expect(failed.sort()).toEqual(['OUT_OF_DOMAIN', 'OUT_OF_RANGE']);
    const domain = report.checks.find((c) => c.anomaly === 'OUT_OF_DOMAIN')!;
    expect(domain.unexpectedCount).toBe(20);
    expect(domain.failingRows?.[0]).toEqual({ row: 1, values: { kind: 'share' } });

    const skew = JSON.parse(artifactText(task(run, 'data.skew').outputs!.report)) as DriftReport;
    const kind = skew.columns.find((c) => c.column === 'kind')!;
    expect(kind.method).toBe('linf');
    // Training: a third each; serving: buy 0, share 0.2, click 0.4, view 0.4 → the largest gap is buy's 1/3.
    expect(kind.statistic).toBeCloseTo(1 / 3, 12);
    expect(kind.drifted).toBe(true);
    expect(skew.columns.find((c) => c.column === 'amount')!.method).toBe('jensenshannon');
  });
});
