import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runJson, task } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('parallelFor and collect over 100 items', () => {
  it('fans out over a literal list and an upstream output, and fans in scalars and artifacts in item order', async () => {
    const summary = await runJson<RunSummary>(
      ['run', fixture('fan-out.ts'), '-p', `dir=${dir}`, '--concurrency', '8'],
      { cwd: dir },
    );
    expect(summary.status).toBe('succeeded');
    // 100 square + 100 double + make-list + gather + sum.
    expect(summary.tasks).toHaveLength(203);
    expect(summary.counts).toMatchObject({ succeeded: 203, failed: 0, skipped: 0 });
    for (const i of range(100)) {
      expect(task(summary, `square[${i}]`).outputs?.y).toBe(i * i);
      expect(task(summary, `double[${i}]`).outputs?.y).toBe((1000 + i) * 2);
    }

    // Fan-in over the literal list: the scalar and the artifact lists are both in item order.
    const gather = task(summary, 'gather');
    expect(gather.status).toBe('succeeded');
    expect(gather.outputs?.count).toBe(100);
    expect(gather.outputs?.ys).toEqual(range(100).map((i) => i * i));
    expect(gather.outputs?.modelXs).toEqual(range(100));

    // Fan-in over the upstream list.
    const sum = task(summary, 'sum');
    expect(sum.outputs?.values).toEqual(range(100).map((i) => (1000 + i) * 2));
    expect(sum.outputs?.total).toBe(range(100).reduce((acc, i) => acc + (1000 + i) * 2, 0));

    // The parallelism cap (4) held, even with --concurrency 8, and iterations did run in parallel.
    const trace = readFileSync(join(dir, 'trace.log'), 'utf8').trim().split('\n');
    expect(trace).toHaveLength(200);
    let running = 0;
    let most = 0;
    const ends: number[] = [];
    for (const line of trace) {
      const [event, x] = line.split(' ');
      if (event === 'start') most = Math.max(most, ++running);
      else {
        running--;
        ends.push(Number(x));
      }
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
    // Iterations finished out of item order, so the ordered fan-in above is meaningful.
    expect(ends).not.toEqual([...ends].sort((a, b) => a - b));

    // The collected artifact list is recorded as list-input lineage, in order.
    const shown = await runJson(['runs', 'show', summary.runId], { cwd: dir });
    const gatherRecord = shown.tasks.find((t: any) => t.name === 'gather');
    expect(gatherRecord.status).toBe('succeeded');
    expect(gatherRecord.outputs.ys).toHaveLength(100);
    const squareModels = range(100).map(
      (i) => shown.tasks.find((t: any) => t.name === `square[${i}]`).artifacts.model.id,
    );
    const lineage = await runJson(['lineage', squareModels[42], '--depth', '1'], { cwd: dir });
    expect(lineage.downstream.map((d: any) => d.task.name)).toEqual(['gather']);
  });

  it('runs the same loop with a small --concurrency and from the cache', async () => {
    const first = await runJson<RunSummary>(
      [
        'run',
        fixture('fan-out.ts'),
        '-p',
        `dir=${dir}`,
        '-p',
        'delayMs=0',
        '-p',
        'n=7',
        '--concurrency',
        '1',
      ],
      { cwd: dir },
    );
    expect(first.status).toBe('succeeded');
    expect(first.tasks).toHaveLength(110);
    expect(task(first, 'sum').outputs?.values).toEqual(range(7).map((i) => (1000 + i) * 2));
    expect(task(first, 'gather').outputs?.modelXs).toEqual(range(100));

    const again = await runJson<RunSummary>(
      ['run', fixture('fan-out.ts'), '-p', `dir=${dir}`, '-p', 'delayMs=0', '-p', 'n=7'],
      { cwd: dir },
    );
    expect(again.counts).toMatchObject({ cached: 110, succeeded: 0 });
    expect(task(again, 'gather').outputs?.modelXs).toEqual(range(100));
    expect(task(again, 'gather').outputs?.ys).toEqual(range(100).map((i) => i * i));
  });
});
