/**
 * `lathe serve` end to end: models trained on the shared datasets, stored as Model artifacts and
 * registered in a real workspace, served over real HTTP on 127.0.0.1, in-process
 * (startModelServer) and through the built CLI as a child process: health, metadata, infer
 * (predictions equal to the model's own), every refusal a 4xx with `{ error }` JSON and the
 * server still answering afterwards, the token, hot reload when an alias moves, /metrics.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LatheModel, loadModel, trainModel } from '../../src/ml/model.js';
import { openWorkspace, type Workspace } from '../../src/runtime/workspace.js';
import { type ModelServer, startModelServer } from '../../src/serve/server.js';
import { makeTempDir, removeDir, runCli, startCli, waitFor } from './cli.js';

type Row = Record<string, number | string>;

function dataset(name: 'iris' | 'diabetes'): Row[] {
  const [header, ...lines] = readFileSync(`/work/shared/datasets/${name}.csv`, 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(
      columns.map((column, j) => {
        const number = Number(cells[j]);
        return [column, cells[j] !== '' && Number.isFinite(number) ? number : cells[j]!];
      }),
    );
  });
}

const iris = dataset('iris');
const diabetes = dataset('diabetes');
const IRIS_INPUTS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const DIABETES_INPUTS = Object.keys(diabetes[0]!).filter((c) => c !== 'progression');

/** Version 1 and 2 of the iris classifier differ (3 trees vs a logistic regression). */
const irisV1 = trainModel(iris, {
  label: 'species',
  task: 'classification',
  estimator: { iterations: 3 },
});
const irisV2 = trainModel(iris, {
  label: 'species',
  task: 'classification',
  algorithm: 'logistic_regression',
});
const diabetesModel = trainModel(diabetes, {
  label: 'progression',
  task: 'regression',
  estimator: { iterations: 5 },
});

/** The OIP request for rows of the given columns. */
function inferBody(rows: readonly Row[], columns: readonly string[], extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    inputs: columns.map((name) => ({
      name,
      datatype: 'FP64',
      shape: [rows.length],
      data: rows.map((row) => row[name]),
    })),
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One HTTP request with node:http (a fresh connection). `chunks` are written one by one without
 * a content-length (chunked), unless `headers` declares one. Errors after the response arrived
 * (the server closing a connection whose body it refused) are ignored.
 */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; chunks?: Buffer[] } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload =
      options.body === undefined
        ? undefined
        : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    const headers: Record<string, string> = { ...options.headers };
    if (payload && !options.chunks) headers['content-length'] = String(payload.length);
    const req = httpRequest(url, {
      method: options.method ?? (payload ? 'POST' : 'GET'),
      headers,
      agent: false,
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (options.chunks) {
      const chunks = [...options.chunks];
      const next = () => {
        if (answered || chunks.length === 0) return void req.end();
        req.write(chunks.shift()!, () => setTimeout(next, 2));
      };
      next();
    } else req.end(payload);
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, { method: 'POST', body, headers });

async function expectError(
  reply: Promise<Reply>,
  status: number,
  message?: RegExp | string,
): Promise<string> {
  const got = await reply;
  expect(got.status, got.text).toBe(status);
  expect(got.headers['content-type']).toBe('application/json');
  expect(Object.keys(got.json)).toEqual(['error']);
  expect(typeof got.json.error).toBe('string');
  if (message !== undefined) {
    if (typeof message === 'string') expect(got.json.error).toContain(message);
    else expect(got.json.error).toMatch(message);
  }
  return got.json.error;
}

let dir: string;
let home: string;
let workspace: Workspace;

/** Stores the model document as a Model artifact; returns its id. */
async function storeModel(model: LatheModel): Promise<string> {
  const file = join(dir, `model-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(model));
  const stored = await workspace.artifacts.put(file, { move: true });
  const id = `a_${randomBytes(8).toString('hex')}`;
  await workspace.store.commit([
    {
      op: 'putArtifact',
      artifact: {
        id,
        type: 'Model',
        ...stored,
        metadata: { format: 'lathe-model/v1' },
        createdAt: Date.now(),
      },
    },
  ]);
  return id;
}

beforeAll(async () => {
  dir = makeTempDir('lathe-serve-');
  home = join(dir, '.lathe');
  workspace = openWorkspace({ home });
  const v1 = await storeModel(irisV1);
  const v2 = await storeModel(irisV2);
  const registry = workspace.store.registry;
  // 'iris' stays on version 1 (champion) with a challenger on 2; the reload tests move the
  // champion of their own names.
  for (const name of ['iris', 'iris-reload', 'iris-poll']) {
    await registry.registerModelVersion({ name, artifactId: v1 });
    await registry.registerModelVersion({ name, artifactId: v2 });
    await registry.setAlias({ name, alias: 'champion', version: 1 });
  }
  await registry.setAlias({ name: 'iris', alias: 'challenger', version: 2 });
  await registry.registerModelVersion({ name: 'diabetes', artifactId: await storeModel(diabetesModel) });
});

afterAll(async () => {
  await workspace?.close();
  removeDir(dir);
});

describe('startModelServer over HTTP', () => {
  let server: ModelServer;
  let url: string;
  /** Every request must still work after the refusals. */
  const stillServes = async () => {
    const reply = await post(`${url}/v2/models/iris/infer`, inferBody(iris.slice(0, 1), IRIS_INPUTS));
    expect(reply.status, reply.text).toBe(200);
  };

  beforeAll(async () => {
    server = await startModelServer({
      registry: workspace.store.registry,
      models: [
        { name: 'iris', ref: 'champion' },
        { name: 'diabetes', ref: '1' },
      ],
      port: 0,
      maxBodyBytes: 64 * 1024,
      pollMs: 60_000,
    });
    url = server.url;
  });
  afterAll(() => server?.close());

  it('binds 127.0.0.1 by default and answers the health routes', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(`${url}/v2/health/live`)).json).toEqual({ live: true });
    expect((await call(`${url}/v2/health/ready`)).json).toEqual({ ready: true });
    expect((await call(`${url}/v2`)).json).toMatchObject({ name: 'lathe' });
    expect((await call(`${url}/v2/models/iris/ready`)).json).toEqual({ name: 'iris', ready: true });
  });

  it('gives model metadata by name, version and alias', async () => {
    const byName = await call(`${url}/v2/models/iris`);
    expect(byName.status).toBe(200);
    expect(byName.json).toEqual({
      name: 'iris',
      versions: ['1'],
      platform: 'lathe',
      inputs: IRIS_INPUTS.map((name) => ({ name, datatype: 'FP64', shape: [-1] })),
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP64', shape: [-1, 3] },
      ],
      parameters: {
        algorithm: 'gbdt',
        task: 'multiclass',
        label: 'species',
        classes: ['setosa', 'versicolor', 'virginica'],
      },
    });
    expect((await call(`${url}/v2/models/iris/versions/1`)).json).toEqual(byName.json);
    expect((await call(`${url}/v2/models/iris/versions/champion`)).json).toEqual(byName.json);
    // Another version loads on demand, by number or alias.
    const v2 = await call(`${url}/v2/models/iris/versions/2`);
    expect(v2.json).toMatchObject({ versions: ['2'], parameters: { algorithm: 'logistic_regression' } });
    expect((await call(`${url}/v2/models/iris/versions/challenger`)).json).toEqual(v2.json);
    const regression = await call(`${url}/v2/models/diabetes`);
    expect(regression.json.outputs).toEqual([{ name: 'prediction', datatype: 'FP64', shape: [-1] }]);
  });

  it('infers a single row and a batch: the same predictions and probabilities as the model', async () => {
    const predictor = loadModel(irisV1);
    const one = await post(
      `${url}/v2/models/iris/infer`,
      inferBody(iris.slice(50, 51), IRIS_INPUTS, { id: 'r1' }),
    );
    expect(one.status, one.text).toBe(200);
    expect(one.json).toEqual({
      model_name: 'iris',
      model_version: '1',
      id: 'r1',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [1], data: predictor.predict(iris.slice(50, 51)) },
        {
          name: 'probabilities',
          datatype: 'FP64',
          shape: [1, 3],
          data: predictor.predictProba(iris.slice(50, 51))[0],
        },
      ],
    });
    const batch = await post(`${url}/v2/models/iris/infer`, inferBody(iris, IRIS_INPUTS));
    expect(batch.status).toBe(200);
    const [labels, probabilities] = batch.json.outputs;
    expect(labels.shape).toEqual([150]);
    expect(labels.data).toEqual(predictor.predict(iris));
    expect(probabilities.shape).toEqual([150, 3]);
    expect(probabilities.data).toEqual(predictor.predictProba(iris).flat());
    // The model is right on most of its training rows.
    expect(labels.data.filter((l: string, i: number) => l === iris[i]!.species).length).toBeGreaterThan(130);

    // A version in the path, and the outputs filter.
    const v2 = await post(
      `${url}/v2/models/iris/versions/2/infer`,
      inferBody(iris, IRIS_INPUTS, { outputs: [{ name: 'label' }] }),
    );
    expect(v2.json.model_version).toBe('2');
    expect(v2.json.outputs).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [150], data: loadModel(irisV2).predict(iris) },
    ]);
    // [n, 1] tensors and integers are numbers too.
    const nested = await post(`${url}/v2/models/iris/infer`, {
      inputs: IRIS_INPUTS.map((name) => ({
        name,
        datatype: 'FP32',
        shape: [2, 1],
        data: iris.slice(0, 2).map((row) => [row[name]]),
      })),
    });
    expect(nested.json.outputs[0].data).toEqual(predictor.predict(iris.slice(0, 2)));
  });

  it('serves a regression model by version number', async () => {
    const rows = diabetes.slice(0, 20);
    const reply = await post(`${url}/v2/models/diabetes/infer`, inferBody(rows, DIABETES_INPUTS));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.model_version).toBe('1');
    expect(reply.json.outputs).toEqual([
      { name: 'prediction', datatype: 'FP64', shape: [20], data: loadModel(diabetesModel).predict(rows) },
    ]);
  });

  it('answers bad requests with a 4xx { error } and keeps serving', async () => {
    const infer = `${url}/v2/models/iris/infer`;
    const good = inferBody(iris.slice(0, 2), IRIS_INPUTS);
    await expectError(post(infer, '{"inputs": ['), 400, 'the request body is not JSON');
    await expectError(post(infer, ''), 400, 'not JSON');
    await expectError(post(infer, '[1, 2]'), 400, 'must be a JSON object');
    await expectError(post(infer, { inputs: [] }), 400, '"inputs" must be a non-empty array');
    await expectError(
      post(infer, {
        inputs: [...good.inputs, { name: 'petal', datatype: 'FP64', shape: [2], data: [1, 2] }],
      }),
      400,
      "unknown input tensor 'petal' (the model's inputs: sepal_length, sepal_width, petal_length, petal_width)",
    );
    await expectError(
      post(infer, { inputs: good.inputs.slice(1) }),
      400,
      'missing input tensors: sepal_length',
    );
    await expectError(
      post(infer, { inputs: good.inputs.map((t) => ({ ...t, shape: [1, 2] })) }),
      400,
      'expected [n] or [n, 1]',
    );
    await expectError(
      post(infer, { inputs: good.inputs.map((t) => ({ ...t, shape: [3] })) }),
      400,
      'has 2 values but its shape says 3',
    );
    await expectError(
      post(infer, { inputs: good.inputs.map((t) => ({ ...t, datatype: 'BYTES' })) }),
      400,
      "input 'sepal_length' has datatype BYTES; the model reads number values",
    );
    await expectError(
      post(infer, { inputs: good.inputs.map((t) => ({ ...t, data: ['5.1', '4.9'] })) }),
      400,
      `input 'sepal_length'[0]: "5.1" is not a FP64 value`,
    );
    await expectError(
      post(infer, { ...good, outputs: [{ name: 'prediction' }] }),
      400,
      "unknown output 'prediction'",
    );
    // A body of a million '[' is refused, not a stack overflow.
    const deep = `{"inputs":[{"name":"sepal_length","datatype":"FP64","shape":[1],"data":${'['.repeat(30_000)}1${']'.repeat(30_000)}}]}`;
    await expectError(post(infer, deep), 400, 'nested deeper');
    await stillServes();

    await expectError(
      post(`${url}/v2/models/nope/infer`, good),
      404,
      "unknown model 'nope' (served: iris, diabetes)",
    );
    await expectError(call(`${url}/v2/models/nope`), 404, "unknown model 'nope'");
    await expectError(post(`${url}/v2/models/iris/versions/9/infer`, good), 404, "no version or alias '9'");
    await expectError(call(`${url}/v2/models/iris/versions/9`), 404, "no version or alias '9'");
    await expectError(call(`${url}/v2/models/iris/versions/staging`), 404, "no version or alias 'staging'");
    await expectError(call(`${url}/v2/models/iris/versions/99999999999999999999999`), 404);
    await expectError(call(`${url}/v2/models/iris/infer`), 405, 'infer takes POST');
    await expectError(call(`${url}/v2/models/iris`, { method: 'DELETE' }), 405);
    await expectError(call(`${url}/v2/nothing`), 404, 'no route GET /v2/nothing');
    await expectError(call(`${url}/`), 404);
    await expectError(
      call(`${url}/v2/models/%E0%A4%A/infer`, { method: 'POST', body: good }),
      400,
      'percent-encoding',
    );
    // No route reads a path: a name that looks like one is just an unknown model.
    await expectError(
      call(`${url}/v2/models/..%2F..%2Fetc%2Fpasswd`),
      404,
      "unknown model '../../etc/passwd'",
    );
    await stillServes();
  });

  it('refuses a body over the limit with 413, declared or chunked, and keeps serving', async () => {
    const infer = `${url}/v2/models/iris/infer`;
    const big = JSON.stringify(
      inferBody(
        Array.from({ length: 5000 }, () => iris[0]!),
        IRIS_INPUTS,
      ),
    );
    expect(big.length).toBeGreaterThan(64 * 1024);
    await expectError(post(infer, big), 413, 'the limit is 65536');
    // Chunked: no content-length, the limit is found while reading.
    const chunks = Array.from({ length: Math.ceil(big.length / 2048) }, (_, i) =>
      Buffer.from(big.slice(i * 2048, (i + 1) * 2048)),
    );
    const chunked = call(infer, { method: 'POST', chunks, headers: { 'content-type': 'application/json' } });
    await expectError(chunked, 413, 'over the limit of 65536 bytes');
    // Just under the limit is fine.
    const fits = inferBody(
      Array.from({ length: 500 }, () => iris[0]!),
      IRIS_INPUTS,
    );
    expect(JSON.stringify(fits).length).toBeLessThan(64 * 1024);
    expect((await post(infer, fits)).status).toBe(200);
    await stillServes();
  });

  it('exports Prometheus metrics per model, version and status', async () => {
    const reply = await call(`${url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('text/plain');
    const text = reply.text;
    expect(text).toMatch(/lathe_serve_requests_total\{model="iris",version="1",code="200"\} \d+/);
    expect(text).toMatch(/lathe_serve_requests_total\{model="iris",version="2",code="200"\} 1/);
    expect(text).toMatch(/lathe_serve_requests_total\{model="diabetes",version="1",code="200"\} 1/);
    expect(text).toMatch(/lathe_serve_requests_total\{model="iris",version="1",code="400"\} \d+/);
    expect(text).toMatch(/lathe_serve_errors_total\{model="iris",version="1",code="400"\} \d+/);
    expect(text).toMatch(/lathe_serve_errors_total\{model="iris",version="1",code="413"\} 2/);
    expect(text).toMatch(/lathe_serve_errors_total\{model="iris",version="\(unknown\)",code="404"\} 1/);
    expect(text).toMatch(
      /lathe_serve_errors_total\{model="\(unknown\)",version="\(unknown\)",code="404"\} 1/,
    );
    // Unknown names from paths never become labels.
    expect(text).not.toContain('model="nope"');
    expect(text).not.toContain('version="9"');
    expect(text).toMatch(
      /lathe_serve_request_duration_seconds_bucket\{le="0.005",model="iris",version="1"\} \d+/,
    );
    expect(text).toMatch(/lathe_serve_request_duration_seconds_count\{model="iris",version="1"\} \d+/);
    expect(text).toContain('lathe_serve_model_version{model="iris"} 1');
    expect(text).toContain('lathe_serve_model_version{model="diabetes"} 1');
  });
});

describe('hot reload', () => {
  it('moves to the new version when the alias moves, without a failed request and never back', async () => {
    const registry = workspace.store.registry;
    const server = await startModelServer({
      registry,
      models: [{ name: 'iris-reload', ref: 'champion' }],
      port: 0,
      pollMs: 60_000,
    });
    try {
      const body = inferBody(iris.slice(100, 101), IRIS_INPUTS);
      const seen: string[][] = [[], [], [], []];
      let done = 0;
      const failures: string[] = [];
      let moved: Promise<void> | undefined;
      // Four clients, 75 sequential requests each; the alias moves after 100 requests in all.
      await Promise.all(
        seen.map(async (versions) => {
          for (let i = 0; i < 75; i++) {
            const reply = await fetch(`${server.url}/v2/models/iris-reload/infer`, {
              method: 'POST',
              body: JSON.stringify(body),
            });
            const json = (await reply.json()) as any;
            if (reply.status !== 200) failures.push(`${reply.status} ${JSON.stringify(json)}`);
            versions.push(json.model_version);
            if (++done === 100) {
              moved = registry
                .setAlias({ name: 'iris-reload', alias: 'champion', version: 2, reason: 'test' })
                .then(() => server.reload());
            }
          }
        }),
      );
      await moved;
      expect(failures).toEqual([]);
      expect(seen.flat()).toHaveLength(300);
      for (const versions of seen) {
        // Each client: version 1, then 2, never back.
        const switchAt = versions.indexOf('2');
        expect(versions.slice(0, switchAt === -1 ? undefined : switchAt).every((v) => v === '1')).toBe(true);
        if (switchAt !== -1) expect(versions.slice(switchAt).every((v) => v === '2')).toBe(true);
      }
      expect(seen.flat().filter((v) => v === '1').length).toBeGreaterThanOrEqual(100);
      expect(seen.flat()).toContain('2');
      const after = await post(`${server.url}/v2/models/iris-reload/infer`, body);
      expect(after.json.model_version).toBe('2');
      expect(after.json.outputs[0].data).toEqual(loadModel(irisV2).predict(iris.slice(100, 101)));
      const metrics = (await call(`${server.url}/metrics`)).text;
      expect(metrics).toContain('lathe_serve_model_version{model="iris-reload"} 2');
      expect(metrics).toMatch(/lathe_serve_requests_total\{model="iris-reload",version="2",code="200"\} \d+/);
    } finally {
      await server.close();
    }
  });
});

describe('token', () => {
  it('refuses to bind off loopback without a token', async () => {
    await expect(
      startModelServer({
        registry: workspace.store.registry,
        models: [{ name: 'iris', ref: 'champion' }],
        host: '0.0.0.0',
        port: 0,
      }),
    ).rejects.toThrow(/not loopback\) needs a token/);
  });

  it('checks the token on every route', async () => {
    const server = await startModelServer({
      registry: workspace.store.registry,
      models: [{ name: 'iris', ref: 'champion' }],
      host: '0.0.0.0',
      port: 0,
      token: 's3cret',
    });
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      const good = { authorization: 'Bearer s3cret' };
      const body = inferBody(iris.slice(0, 1), IRIS_INPUTS);
      for (const [path, method] of [
        ['/v2/health/live', 'GET'],
        ['/v2/health/ready', 'GET'],
        ['/v2/models/iris', 'GET'],
        ['/metrics', 'GET'],
        ['/v2/models/iris/infer', 'POST'],
        ['/v2/models/nope/infer', 'POST'],
        ['/no/route', 'GET'],
      ] as const) {
        const send = (headers: Record<string, string>) =>
          call(`${url}${path}`, { method, headers, ...(method === 'POST' ? { body } : {}) });
        await expectError(send({}), 401, 'unauthorized');
        await expectError(send({ authorization: 'Bearer wrong!' }), 401);
        await expectError(send({ authorization: 's3cret' }), 401);
        const ok = await send(good);
        expect(ok.status, `${method} ${path}`).toBe(
          path.includes('nope') || path === '/no/route' ? 404 : 200,
        );
      }
    } finally {
      await server.close();
    }
  });
});

describe('lathe serve (the CLI)', () => {
  let children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  /** Starts `lathe serve` and waits for its 'listening on' line. */
  async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
    const child = startCli(['serve', ...args], { cwd: dir });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const url = await waitFor(
      'lathe serve to listen',
      () => {
        if (child.exitCode !== null) throw new Error(`lathe serve exited ${child.exitCode}: ${stderr}`);
        return /listening on (\S+)/.exec(stdout)?.[1];
      },
      15_000,
    );
    return { child, url, stderr: () => stderr };
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    children = children.filter((c) => c !== child);
    return code;
  }

  it('serves models by name and version, refuses bad input, stops on SIGTERM', async () => {
    const { child, url, stderr } = await serve([
      '--model',
      'iris',
      '--model',
      'diabetes@1',
      '--port',
      '0',
      '--max-body',
      '4096',
    ]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr()).toContain("serving 'iris' version 1 (champion)");
    expect((await call(`${url}/v2/health/live`)).json).toEqual({ live: true });
    expect((await call(`${url}/v2/models/iris/versions/challenger`)).json.versions).toEqual(['2']);
    const rows = iris.slice(45, 55);
    const reply = await post(`${url}/v2/models/iris/infer`, inferBody(rows, IRIS_INPUTS));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.outputs[0].data).toEqual(loadModel(irisV1).predict(rows));
    expect(reply.json.outputs[1].data).toEqual(loadModel(irisV1).predictProba(rows).flat());
    const regression = await post(
      `${url}/v2/models/diabetes/infer`,
      inferBody(diabetes.slice(0, 3), DIABETES_INPUTS),
    );
    expect(regression.json.outputs[0].data).toEqual(loadModel(diabetesModel).predict(diabetes.slice(0, 3)));

    await expectError(post(`${url}/v2/models/iris/infer`, '{nope'), 400, 'not JSON');
    await expectError(post(`${url}/v2/models/iris/versions/7/infer`, inferBody(rows, IRIS_INPUTS)), 404);
    const big = inferBody(
      Array.from({ length: 400 }, () => iris[0]!),
      IRIS_INPUTS,
    );
    expect(JSON.stringify(big).length).toBeGreaterThan(4096);
    await expectError(post(`${url}/v2/models/iris/infer`, big), 413, 'the limit is 4096');
    const chunks = [Buffer.from(JSON.stringify(big))].flatMap((b) =>
      Array.from({ length: Math.ceil(b.length / 1024) }, (_, i) => b.subarray(i * 1024, (i + 1) * 1024)),
    );
    await expectError(call(`${url}/v2/models/iris/infer`, { method: 'POST', chunks }), 413, 'over the limit');
    await expectError(call(`${url}/v2/models/iris/infer`), 405);
    await expectError(call(`${url}/v2/nope`), 404);
    expect((await post(`${url}/v2/models/iris/infer`, inferBody(rows, IRIS_INPUTS))).status).toBe(200);
    expect((await call(`${url}/metrics`)).text).toMatch(
      /lathe_serve_requests_total\{model="iris",version="1",code="413"\} 2/,
    );
    expect(await stop(child)).toBe(0);
  });

  it('follows an alias move by polling', async () => {
    const { child, url, stderr } = await serve([
      '--model',
      'iris-poll@champion',
      '--port',
      '0',
      '--poll-ms',
      '100',
    ]);
    const body = inferBody(iris.slice(0, 1), IRIS_INPUTS);
    expect((await post(`${url}/v2/models/iris-poll/infer`, body)).json.model_version).toBe('1');
    await workspace.store.registry.setAlias({ name: 'iris-poll', alias: 'champion', version: 2 });
    const versions: string[] = [];
    await waitFor('the move to version 2', async () => {
      const reply = await post(`${url}/v2/models/iris-poll/infer`, body);
      expect(reply.status).toBe(200);
      versions.push(reply.json.model_version);
      return reply.json.model_version === '2' ? true : undefined;
    });
    expect(stderr()).toContain("'iris-poll' champion moved: now version 2 (was 1)");
    expect((await post(`${url}/v2/models/iris-poll/infer`, body)).json.model_version).toBe('2');
    expect(await stop(child)).toBe(0);
  });

  it('needs a token off loopback, and then checks it on every route', async () => {
    const refused = await runCli(['serve', '--model', 'iris', '--host', '0.0.0.0', '--port', '0'], {
      cwd: dir,
      env: { LATHE_SERVE_TOKEN: undefined },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/serving on 0\.0\.0\.0 \(not loopback\) needs a token/);

    const { child, url } = await serve([
      '--model',
      'iris',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--token',
      'tok-123',
    ]);
    const local = url.replace('0.0.0.0', '127.0.0.1');
    const auth = { authorization: 'Bearer tok-123' };
    const body = inferBody(iris.slice(0, 1), IRIS_INPUTS);
    for (const path of ['/v2/health/live', '/metrics', '/v2/models/iris']) {
      await expectError(call(`${local}${path}`), 401);
      expect((await call(`${local}${path}`, { headers: auth })).status).toBe(200);
    }
    await expectError(post(`${local}/v2/models/iris/infer`, body), 401);
    expect((await post(`${local}/v2/models/iris/infer`, body, auth)).status).toBe(200);
    expect(await stop(child)).toBe(0);
  });

  it('refuses bad options with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give at least one --model/],
      [['--model', 'iris@a@b'], /more than one @/],
      [['--model', 'missing'], /no registered model 'missing' \(registered: /],
      [['--model', 'iris@5'], /model 'iris' has no version 5/],
      [['--model', 'iris', '--port', 'x'], /--port: 'x' must be a whole number/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['serve', ...args], { cwd: dir });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
