/**
 * The built-in data components in a real pipeline run through the CLI: the data-quality example
 * ingests, profiles, validates, checks drift and splits; a bad batch stops at validation; a
 * re-run with the same bytes is a cache hit downstream of ingestion (the data version is the
 * content hash).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DatasetStatistics, DriftReport } from '../../src/data/index.js';
import { makeTempDir, REPO_ROOT, type RunSummary, runJson, statuses, task } from './cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples/data-quality/pipeline.ts');
const dirs: string[] = [];

function workspace(): string {
  const dir = makeTempDir('lathe-data-pipeline-');
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function artifactJson<T>(output: { uri: string }): T {
  return JSON.parse(readFileSync(fileURLToPath(output.uri), 'utf8')) as T;
}

describe('data components in a pipeline', () => {
  it('ingest → statistics → validate → drift → split, then cache hits on a re-run', async () => {
    const home = workspace();
    const first = await runJson<RunSummary>(['run', EXAMPLE, '--home', home], { cwd: home });
    expect(first.status).toBe('succeeded');
    expect(statuses(first)).toEqual({
      'data.drift': 'succeeded',
      'data.split': 'succeeded',
      'data.statistics': 'succeeded',
      'data.validate': 'succeeded',
      'ingest-batch': 'succeeded',
      'ingest-reference': 'succeeded',
      'retrain-notice': 'succeeded',
    });
    expect(task(first, 'ingest-batch').outputs?.rows).toBe(120);
    expect(task(first, 'data.validate').outputs?.passed).toBe(true);

    const stats = artifactJson<DatasetStatistics>(task(first, 'data.statistics').outputs!.statistics);
    expect(stats.kind).toBe('lathe.statistics');
    expect(stats.rowCount).toBe(120);
    const alcohol = stats.columns.find((c) => c.name === 'alcohol')!;
    expect(alcohol.numeric?.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(120);

    const drift = artifactJson<DriftReport>(task(first, 'data.drift').outputs!.report);
    expect(task(first, 'data.drift').outputs?.driftDetected).toBe(true);
    const drifted = drift.columns.filter((c) => c.drifted).map((c) => c.column);
    // make-batches.ts shifts exactly these two columns.
    expect(drifted.sort()).toEqual(['alcohol', 'color_intensity']);
    // Every column is reported, drifted or not, with its statistic and p-value.
    expect(drift.columns).toHaveLength(14);
    for (const column of drift.columns) {
      expect(column.method).toMatch(/ks|chisquare/);
      expect(column.pValue).toBeGreaterThanOrEqual(0);
    }

    const again = await runJson<RunSummary>(['run', EXAMPLE, '--home', home], { cwd: home });
    expect(again.status).toBe('succeeded');
    // Ingestion and validation read files every run; everything fed only by the datasets is cached.
    expect(task(again, 'ingest-batch').status).toBe('succeeded');
    expect(task(again, 'data.statistics').status).toBe('cached');
    expect(task(again, 'data.drift').status).toBe('cached');
    expect(task(again, 'data.split').status).toBe('cached');
    expect(task(again, 'ingest-batch').outputs!.dataset.hash).toBe(
      task(first, 'ingest-batch').outputs!.dataset.hash,
    );
  });

  it('a bad batch fails validation and stops the pipeline before drift and split', async () => {
    const home = workspace();
    const run = await runJson<RunSummary>(
      ['run', EXAMPLE, '--home', home, '--param', 'batch=bad'],
      { cwd: home },
      1,
    );
    expect(run.status).toBe('failed');
    const validate = task(run, 'data.validate');
    expect(validate.status).toBe('failed');
    expect(validate.error).toMatch(/data validation failed: 5 check\(s\) failed/);
    expect(validate.error).toMatch(/schema\.alcohol\.range/);
    expect(task(run, 'data.drift').status).toBe('skipped');
    expect(task(run, 'data.split').status).toBe('skipped');
  });
});
