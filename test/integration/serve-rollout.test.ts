/**
 * Rollout in a real `lathe serve` server (startModelServer on 127.0.0.1, real HTTP, a real
 * workspace): a canary promoted or rolled back with the decision in the registry's history,
 * accuracy from labels fed back, shadow comparisons, and sampled predictions written as Dataset
 * artifacts of the server's run.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LatheModel, loadModel, trainModel } from '../../src/ml/model.js';
import { openWorkspace, type Workspace } from '../../src/runtime/workspace.js';
import { PredictionLog } from '../../src/serve/prediction-log.js';
import { DEFAULT_CANARY } from '../../src/serve/rollout.js';
import { type ModelServer, startModelServer } from '../../src/serve/server.js';
import { makeTempDir } from './cli.js';

const home = makeTempDir('lathe-serve-rollout-');
let workspace: Workspace;

const [header, ...lines] = readFileSync('/work/shared/datasets/breast_cancer.csv', 'utf8')
  .trim()
  .split(/\r?\n/);
const columns = header!.split(',');
const rows = lines.map((line) => {
  const cells = line.split(',');
  return Object.fromEntries(columns.map((c, j) => [c, c === 'diagnosis' ? cells[j] : Number(cells[j])]));
});
const features = ['mean_radius', 'mean_texture', 'worst_area', 'worst_concave_points'];
const good = trainModel(rows, {
  label: 'diagnosis',
  task: 'classification',
  features,
  estimator: { iterations: 30 },
});
// A deliberately weak model on the same inputs: one stump, barely moved from the class prior.
const weak = trainModel(rows, {
  label: 'diagnosis',
  task: 'classification',
  features,
  estimator: { iterations: 1, maxLeaves: 2, learningRate: 0.01 },
});

async function register(model: LatheModel, file: string): Promise<number> {
  const path = join(home, file);
  writeFileSync(path, JSON.stringify(model));
  const stored = await workspace.artifacts.put(path);
  const id = `a_${file.replace(/\W/g, '')}`;
  await workspace.store.commit([
    {
      op: 'putArtifact',
      artifact: {
        id,
        type: 'Model',
        uri: stored.uri,
        hash: stored.hash,
        size: stored.size,
        metadata: {},
        createdAt: Date.now(),
      },
    },
  ]);
  return (await workspace.store.registry.registerModelVersion({ name: 'cancer', artifactId: id })).version;
}

function request(sample: Record<string, unknown>[], id?: string): unknown {
  return {
    ...(id ? { id } : {}),
    inputs: features.map((name) => ({
      name,
      datatype: 'FP64',
      shape: [sample.length],
      data: sample.map((r) => r[name]),
    })),
  };
}

async function infer(
  server: ModelServer,
  body: unknown,
): Promise<{ model_version: string; outputs: { name: string; data: unknown[] }[] }> {
  const response = await fetch(`${server.url}/v2/models/cancer/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as never;
}

beforeAll(async () => {
  workspace = openWorkspace({ home });
  const v1 = await register(good, 'good.json');
  const v2 = await register(weak, 'weak.json');
  const v3 = await register(good, 'good-again.json');
  expect([v1, v2, v3]).toEqual([1, 2, 3]);
});

afterAll(async () => {
  await workspace.close();
  rmSync(home, { recursive: true, force: true });
});

describe('canary', () => {
  it('a worse challenger (by labels fed back) is rolled back; the champion stays; the decision is in the history', async () => {
    const registry = workspace.store.registry;
    await registry.setAlias({ name: 'cancer', alias: 'champion', version: 1 });
    await registry.setAlias({ name: 'cancer', alias: 'challenger', version: 2 });
    const server = await startModelServer({
      registry,
      models: [{ name: 'cancer', ref: 'champion' }],
      port: 0,
      canary: { ...DEFAULT_CANARY, percent: 50, minRequests: 20, minLabels: 20, maxLatencyIncrease: 100 },
    });
    try {
      const versions = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const sample = rows.slice(i * 5, i * 5 + 5);
        const result = await infer(server, request(sample, `req-${i}`));
        versions.add(result.model_version);
        const status = (await (await fetch(`${server.url}/v2/models/cancer/rollout`)).json()) as {
          canary: unknown;
        };
        if (!status.canary) break;
        const feedback = await fetch(`${server.url}/v2/models/cancer/feedback`, {
          method: 'POST',
          body: JSON.stringify({ id: `req-${i}`, labels: sample.map((r) => r.diagnosis) }),
        });
        expect(feedback.status).toBe(200);
      }
      expect(versions).toEqual(new Set(['1', '2']));
      const status = (await (await fetch(`${server.url}/v2/models/cancer/rollout`)).json()) as {
        canary: unknown;
        version: number;
        decisions: { decision: string; reasons: string[] }[];
      };
      expect(status.canary).toBeNull();
      expect(status.version).toBe(1);
      expect(status.decisions).toHaveLength(1);
      expect(status.decisions[0]!.decision).toBe('rollback');
      expect(status.decisions[0]!.reasons.join(' ')).toMatch(/^accuracy 0\.\d+ vs champion 0\.9/);
      // Every request after the decision goes to the champion.
      expect((await infer(server, request(rows.slice(0, 3)))).model_version).toBe('1');
    } finally {
      await server.close();
    }
    expect((await registry.resolveModelVersion('cancer', 'champion'))?.version).toBe(1);
    expect(await registry.resolveModelVersion('cancer', 'challenger')).toBeUndefined();
    const last = (await registry.aliasHistory('cancer', 'challenger')).at(-1)!;
    expect(last).toMatchObject({ kind: 'delete', fromVersion: 2, toVersion: null });
    expect(last.reason).toMatch(/^canary rolled back: accuracy/);
  });

  it('an equal challenger is promoted: champion moves, served at once, recorded with the figures', async () => {
    const registry = workspace.store.registry;
    await registry.setAlias({ name: 'cancer', alias: 'challenger', version: 3 });
    const server = await startModelServer({
      registry,
      models: [{ name: 'cancer', ref: 'champion' }],
      port: 0,
      canary: { ...DEFAULT_CANARY, percent: 25, minRequests: 12, maxLatencyIncrease: 100 },
    });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 80; i++)
        seen.push((await infer(server, request(rows.slice(i, i + 1)))).model_version);
      expect(seen.slice(0, 8)).toEqual(['1', '1', '1', '3', '1', '1', '1', '3']);
      // Decided after 12 canary requests (request 48); from then on, all go to version 3.
      expect(seen.slice(48).every((v) => v === '3')).toBe(true);
    } finally {
      await server.close();
    }
    expect((await registry.resolveModelVersion('cancer', 'champion'))?.version).toBe(3);
    const promotion = (await registry.aliasHistory('cancer', 'champion')).at(-1)!;
    expect(promotion).toMatchObject({ kind: 'promote', fromVersion: 1, toVersion: 3 });
    expect(promotion.reason).toMatch(/^canary passed: error rate 0 vs champion 0/);
  });

  it('a champion moved by hand during a canary ends it (recorded), and labels fed back must be classes', async () => {
    const registry = workspace.store.registry;
    await registry.setAlias({ name: 'cancer', alias: 'champion', version: 3 });
    await registry.setAlias({ name: 'cancer', alias: 'challenger', version: 1 });
    const server = await startModelServer({
      registry,
      models: [{ name: 'cancer', ref: 'champion' }],
      port: 0,
      canary: { ...DEFAULT_CANARY, percent: 50, minRequests: 1000 },
    });
    try {
      await infer(server, request(rows.slice(0, 2), 'lbl'));
      const wrong = await fetch(`${server.url}/v2/models/cancer/feedback`, {
        method: 'POST',
        body: JSON.stringify({ id: 'lbl', labels: ['yes', 'no'] }),
      });
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toMatch(
        /label "yes" is not a class of 'cancer' \(classes: "benign", "malignant"\)/,
      );
      await registry.setAlias({ name: 'cancer', alias: 'champion', version: 2, reason: 'by hand' });
      await server.reload();
      const status = (await (await fetch(`${server.url}/v2/models/cancer/rollout`)).json()) as {
        canary: unknown;
        version: number;
        decisions: { decision: string; reasons: string[] }[];
      };
      expect(status.version).toBe(2);
      expect(status.canary).toBeNull();
      expect(status.decisions.at(-1)).toMatchObject({ decision: 'ended', champion: 3, challenger: 1 });
    } finally {
      await server.close();
    }
    await registry.setAlias({ name: 'cancer', alias: 'champion', version: 3 });
  });

  it('feedback for an unknown request id is a 404; malformed feedback a 400', async () => {
    const server = await startModelServer({
      registry: workspace.store.registry,
      models: [{ name: 'cancer', ref: 'champion' }],
      port: 0,
    });
    try {
      const unknown = await fetch(`${server.url}/v2/models/cancer/feedback`, {
        method: 'POST',
        body: '{"id": "nope", "labels": [1]}',
      });
      expect(unknown.status).toBe(404);
      const bad = await fetch(`${server.url}/v2/models/cancer/feedback`, {
        method: 'POST',
        body: '{"labels": 1}',
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/feedback is/);
    } finally {
      await server.close();
    }
  });
});

describe('shadow and prediction log', () => {
  it('the shadow runs on every request without being served; predictions are logged as Dataset artifacts', async () => {
    const registry = workspace.store.registry;
    await registry.setAlias({ name: 'cancer', alias: 'candidate', version: 2 });
    const log = new PredictionLog({
      store: workspace.store,
      artifacts: workspace.artifacts,
      workRoot: join(home, 'work'),
      sampleRate: 0.5,
      flushRows: 1000,
      params: { models: ['cancer'] },
    });
    await log.start();
    const server = await startModelServer({
      registry,
      models: [{ name: 'cancer', ref: 'champion' }],
      port: 0,
      shadow: 'candidate',
      predictionLog: log,
    });
    const served = loadModel(good);
    try {
      for (let i = 0; i < 10; i++) {
        const sample = rows.slice(i * 10, i * 10 + 10);
        const result = await infer(server, request(sample, `s-${i}`));
        expect(result.model_version).toBe('3');
        expect(result.outputs.find((o) => o.name === 'label')!.data).toEqual(served.predict(sample));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const status = (await (await fetch(`${server.url}/v2/models/cancer/rollout`)).json()) as {
        shadow: { version: number; rows: number; agreement: number };
      };
      expect(status.shadow).toMatchObject({ version: 2, rows: 100 });
      expect(status.shadow.agreement).toBeGreaterThan(0);
      expect(status.shadow.agreement).toBeLessThan(1);
    } finally {
      await server.close();
    }
    const outputs = (await workspace.store.listEvents({ runId: log.runId })).filter(
      (e) => e.kind === 'output',
    );
    expect(outputs.map((e) => e.name)).toEqual(['predictions[0]']);
    const artifact = (await workspace.store.getArtifact(outputs[0]!.artifactId))!;
    expect(artifact).toMatchObject({ type: 'Dataset', metadata: { format: 'ndjson', models: ['cancer@3'] } });
    // Half of 100 rows, drawn by a seeded generator: about 50, from every position of a request.
    const kept = artifact.metadata.rows as number;
    expect(kept).toBeGreaterThan(30);
    expect(kept).toBeLessThan(70);
    const logged = readFileSync(await workspace.artifacts.localPath(artifact.uri), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logged).toHaveLength(kept);
    expect(Object.keys(logged[0])).toEqual([
      ...features,
      '_model',
      '_model_version',
      '_prediction',
      '_request_id',
      '_timestamp',
    ]);
    expect(logged.every((row) => /^s-\d$/.test(row._request_id))).toBe(true);
    // Rows of every position in the 10-row requests are kept, not the same ones each time.
    const positions = new Set(
      logged.map((row) => rows.findIndex((r) => r.mean_radius === row.mean_radius) % 10),
    );
    expect(positions.size).toBeGreaterThan(5);
    expect((await workspace.store.getRun(log.runId))?.status).toBe('succeeded');
  });
});
