/**
 * Tracking beyond metrics and params: artifacts logged from outside a pipeline (lathe/tracking's
 * logArtifact), and what a failing command logged, in real workspaces.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { component } from '../../src/dsl/component.js';
import { pipeline } from '../../src/dsl/pipeline.js';
import { openWorkspace } from '../../src/runtime/workspace.js';
import { runPipeline } from '../../src/testing/index.js';
import { trackRun } from '../../src/tracking/index.js';
import { makeTempDir } from './cli.js';

const dir = makeTempDir('lathe-tracking-artifacts-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('logArtifact stores a file content-addressed as an output of the run, listed with the run', async () => {
  const home = join(dir, '.lathe');
  const file = join(dir, 'weights.json');
  writeFileSync(file, '{"w": [1, 2, 3]}\n');
  const run = await trackRun({ experiment: 'notebook', home });
  run.logMetric('loss', 0.5, 1);
  const id = await run.logArtifact(file, {
    name: 'weights',
    type: 'Model',
    metadata: { framework: 'hand-made' },
  });
  await expect(run.logArtifact(file, { name: 'weights' })).rejects.toThrow(
    /already has an artifact named 'weights'/,
  );
  await expect(run.logArtifact(file, { name: 'x', type: 'Nope' as never })).rejects.toThrow(
    /artifact type 'Nope' is not one of/,
  );
  await expect(run.logArtifact(join(dir, 'missing.json'), { name: 'gone' })).rejects.toThrow();
  await run.end();
  await expect(run.logArtifact(file, { name: 'late' })).rejects.toThrow(/has ended/);

  const workspace = openWorkspace({ home, existing: true });
  try {
    const artifact = (await workspace.store.getArtifact(id))!;
    expect(artifact).toMatchObject({ type: 'Model', metadata: { framework: 'hand-made' } });
    expect(readFileSync(await workspace.artifacts.localPath(artifact.uri), 'utf8')).toBe(
      '{"w": [1, 2, 3]}\n',
    );
    const events = await workspace.store.listEvents({ runId: run.id });
    expect(events.map((e) => [e.kind, e.name, e.artifactId])).toEqual([['output', 'weights', id]]);
    const tasks = await workspace.store.listTasks(run.id);
    expect(tasks.map((t) => [t.name, t.status])).toEqual([['tracked', 'succeeded']]);
    expect((await workspace.store.lineage(id))?.producers.map((t) => t.id)).toEqual([`${run.id}/tracked`]);
    expect((await workspace.store.getRun(run.id))?.status).toBe('succeeded');
  } finally {
    await workspace.close();
  }
});

it('a command that fails still records what it logged for tracking before failing', async () => {
  const crash = component.command({
    name: 'crash-after-logging',
    command: [
      'sh',
      '-c',
      'echo \'{"metric": "loss", "value": 0.7, "step": 0}\' >> "$LATHE_TRACKING_FILE"; echo \'{"metric": "loss", "value": 0.5, "step": 1}\' >> "$LATHE_TRACKING_FILE"; exit 3',
    ],
  });
  const run = await runPipeline(
    pipeline({ name: 'crashing' }, () => {
      crash({});
    }),
    { home: join(dir, 'crash') },
  );
  try {
    expect(run.status).toBe('failed');
    const workspace = openWorkspace({ home: join(dir, 'crash'), existing: true });
    try {
      const points = await workspace.store.listMetrics(run.runId, 'loss');
      expect(points.map((p) => [p.step, p.value])).toEqual([
        [0, 0.7],
        [1, 0.5],
      ]);
    } finally {
      await workspace.close();
    }
  } finally {
    await run.close();
  }
});
