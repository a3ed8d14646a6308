import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, task } from './cli.js';

describe('lathe lineage', () => {
  let dir: string;
  let summary: RunSummary;
  let datasetId: string;
  let modelId: string;
  let metricsId: string;

  beforeAll(async () => {
    dir = makeTempDir();
    summary = await runJson<RunSummary>(['run', fixture('lineage.ts')], { cwd: dir });
    datasetId = task(summary, 'make-data').outputs?.data.id;
    modelId = task(summary, 'train').outputs?.model.id;
    metricsId = task(summary, 'evaluate').outputs?.metrics.id;
  });
  afterAll(() => removeDir(dir));

  it('shows the model produced by train, whose input is the dataset', async () => {
    expect(summary.status).toBe('succeeded');
    const lineage = await runJson(['lineage', modelId], { cwd: dir });
    expect(lineage.artifact).toMatchObject({ id: modelId, type: 'Model' });
    expect(lineage.upstream).toHaveLength(1);
    const producer = lineage.upstream[0];
    expect(producer.task).toMatchObject({ name: 'train', runId: summary.runId, status: 'succeeded' });
    expect(producer.inputs).toHaveLength(1);
    expect(producer.inputs[0].artifact).toMatchObject({ id: datasetId, type: 'Dataset' });
    expect(producer.inputs[0].artifact.metadata).toEqual({ rows: 20 });
    // One more step up: the dataset came from make-data, which had no inputs.
    expect(producer.inputs[0].producedBy.map((p: any) => p.task.name)).toEqual(['make-data']);
    expect(producer.inputs[0].producedBy[0].inputs).toEqual([]);
    // Downstream of the model: evaluate, and its Metrics output.
    expect(lineage.downstream.map((d: any) => d.task.name)).toEqual(['evaluate']);
    expect(lineage.downstream[0].outputs.map((o: any) => o.artifact.id)).toContain(metricsId);
  });

  it('shows the consumers of the dataset', async () => {
    const lineage = await runJson(['lineage', datasetId], { cwd: dir });
    expect(lineage.artifact).toMatchObject({ id: datasetId, type: 'Dataset' });
    expect(lineage.upstream.map((p: any) => p.task.name)).toEqual(['make-data']);
    const consumers = lineage.downstream.map((d: any) => d.task.name).sort();
    expect(consumers).toEqual(['evaluate', 'train']);
    const train = lineage.downstream.find((d: any) => d.task.name === 'train');
    expect(train.outputs.map((o: any) => o.artifact.id)).toEqual([modelId]);

    // The human form says the same, and the artifact can be named by a hash prefix.
    const hash = task(summary, 'make-data').outputs?.data.hash as string;
    const text = await runCli(['lineage', hash.slice(0, 20)], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Dataset ${datasetId}`);
    expect(text.stdout).toMatch(/<- produced by make-data/);
    expect(text.stdout).toMatch(/-> consumed by train/);
    expect(text.stdout).toMatch(/-> consumed by evaluate/);
  });

  it('--depth 0 shows the artifact only, and an unknown artifact exits 2', async () => {
    const shallow = await runJson(['lineage', modelId, '--depth', '0'], { cwd: dir });
    expect(shallow.artifact.id).toBe(modelId);
    expect(shallow.upstream).toEqual([]);
    expect(shallow.downstream).toEqual([]);
    const unknown = await runCli(['lineage', 'a_doesnotexist'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no artifact matches 'a_doesnotexist'/);
  });
});

describe('lathe lineage after many runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('grows with the pipeline, not with the number of runs: cache reuses are counted, not repeated', async () => {
    const first = await runJson<RunSummary>(['run', fixture('lineage.ts')], { cwd: dir });
    const datasetId = task(first, 'make-data').outputs?.data.id;
    const once = await runCli(['lineage', datasetId], { cwd: dir });
    for (let i = 0; i < 4; i++) await runJson<RunSummary>(['run', fixture('lineage.ts')], { cwd: dir });
    const after = await runCli(['lineage', datasetId], { cwd: dir });
    expect(after.stdout.split('\n').length).toBe(once.stdout.split('\n').length);
    const json = await runJson(['lineage', datasetId, '--json'], { cwd: dir });
    expect(json.upstream[0].reusedByCachedRuns).toBe(4);
    expect(json.downstream.every((step: { runs: number }) => step.runs === 5)).toBe(true);
  });
});
