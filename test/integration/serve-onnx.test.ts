/**
 * ONNX models end to end: ml.import-model stores an ONNX graph (made by
 * test/fixtures/serve/make_onnx_model.py with Debian's python3-onnx) as a Model artifact, the
 * registry registers it, and `lathe serve` runs it with onnxruntime-node over the Open
 * Inference Protocol, checking names, datatypes and shapes against the graph.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/dsl/pipeline.js';
import { importModel } from '../../src/ml/components.js';
import { openWorkspace, type Workspace } from '../../src/runtime/workspace.js';
import { type ModelServer, startModelServer } from '../../src/serve/server.js';
import { runPipeline } from '../../src/testing/index.js';
import { makeTempDir } from './cli.js';

const ONNX = new URL('../fixtures/serve/logistic.onnx', import.meta.url).pathname;
const expected = JSON.parse(
  readFileSync(new URL('../fixtures/serve/onnx-expected.json', import.meta.url), 'utf8'),
) as {
  x: number[][];
  prob: number[][];
  score: number[][];
};
const home = makeTempDir('lathe-serve-onnx-');
let workspace: Workspace;
let server: ModelServer;

beforeAll(async () => {
  const run = await runPipeline(
    pipeline({ name: 'import-onnx' }, () => {
      importModel({ path: ONNX });
    }),
    { home },
  );
  expect(run.status).toBe('succeeded');
  await run.close();
  workspace = openWorkspace({ home });
  const events = await workspace.store.listEvents({ runId: run.runId });
  const output = events.find((e) => e.kind === 'output' && e.name === 'model')!;
  const artifact = (await workspace.store.getArtifact(output.artifactId))!;
  expect(artifact.metadata).toMatchObject({
    format: 'onnx',
    inputs: [{ name: 'x', type: 'float32', shape: [-1, 3] }],
    outputs: [
      { name: 'prob', type: 'float32', shape: [-1, 1] },
      { name: 'score', type: 'float32', shape: [-1, 1] },
    ],
  });
  await workspace.store.registry.registerModelVersion({ name: 'logistic', artifactId: output.artifactId });
  await workspace.store.registry.setAlias({ name: 'logistic', alias: 'champion', version: 1 });
  server = await startModelServer({
    registry: workspace.store.registry,
    models: [{ name: 'logistic', ref: 'champion' }],
    port: 0,
  });
});

afterAll(async () => {
  await server?.close();
  await workspace?.close();
  rmSync(home, { recursive: true, force: true });
});

async function post(body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}/v2/models/logistic/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('an ONNX model behind lathe serve', () => {
  it('metadata comes from the graph', async () => {
    const metadata = await (await fetch(`${server.url}/v2/models/logistic`)).json();
    expect(metadata).toEqual({
      name: 'logistic',
      versions: ['1'],
      platform: 'onnxruntime',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [
        { name: 'prob', datatype: 'FP32', shape: [-1, 1] },
        { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      ],
      parameters: {},
    });
  });

  it('infers the outputs numpy computed, all or the ones asked for', async () => {
    const { status, json } = await post({
      id: 'o1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 3], data: expected.x }],
    });
    expect(status).toBe(200);
    expect(json.model_version).toBe('1');
    expect(json.id).toBe('o1');
    const prob = json.outputs.find((o: { name: string }) => o.name === 'prob');
    expect(prob.shape).toEqual([3, 1]);
    expect(prob.datatype).toBe('FP32');
    for (const [i, p] of (prob.data as number[]).entries()) expect(p).toBeCloseTo(expected.prob[i]![0]!, 6);
    const only = await post({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      outputs: [{ name: 'score' }],
    });
    expect(only.json.outputs.map((o: { name: string }) => o.name)).toEqual(['score']);
    expect(only.json.outputs[0].data[0]).toBeCloseTo(expected.score[0]![0]!, 5);
  });

  it('refuses what the graph does not take, naming it', async () => {
    const cases: [unknown, RegExp][] = [
      [
        { inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 3], data: [1, 2, 3] }] },
        /datatype FP64; the model takes FP32/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 1], data: [1, 2, 3] }] },
        /shape \[3, 1\]; the model takes \[any, 3\]/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3] }] },
        /3 values but its shape holds 6/,
      ],
      [
        { inputs: [{ name: 'y', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
        /unknown input tensor 'y' \(the model's inputs: x\)/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 'a', 3] }] },
        /input 'x'\[1\]: "a" is not a number/,
      ],
      [
        {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
          outputs: [{ name: 'nope' }],
        },
        /unknown output "nope"/,
      ],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await post(body);
      expect(status).toBe(400);
      expect(json.error).toMatch(message);
    }
    expect(
      (await post({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [0, 0, 0] }] })).status,
    ).toBe(200);
  });
});
