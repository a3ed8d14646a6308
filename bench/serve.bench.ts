/**
 * Serving benchmarks (issue: `lathe serve`), against the built CLI (`dist/cli/main.js serve`) in
 * a child process, so that the load generator (autocannon, in this process) does not share the
 * server's event loop; on this 2-core machine they share the two cores.
 *
 * The model is the GBDT of the ML benchmarks (bench/ml-data.ts dataset, 20 features, binary,
 * 100 trees, depth 6, 255 bins, learning rate 0.1), trained here on 200k rows instead of 1M to
 * keep the bench quick (tree count and depth, which set the cost of a prediction, are the same;
 * LATHE_BENCH_SERVE_ROWS overrides). It is built around fitGbdt's estimator with an identity
 * transform (the 20 numeric features passed through), written as a lathe-model/v1 document,
 * stored as a Model artifact and registered as `gbdt` (champion) in a temporary workspace.
 *
 * - serve.infer1.rps: single-row infer requests per second (autocannon average over
 *   LATHE_BENCH_SERVE_SECONDS, default 10 s, 10 connections); floor = the same server's
 *   /v2/health/live with the same load. Goal ≥ 5,000.
 * - serve.infer1.p99_ms: p99 latency of those requests (p50 in the note); floor = health's p99.
 *   autocannon records whole milliseconds. Goal ≤ 5 ms.
 * - serve.batch1k.ms: one 1,000-row infer request, client-measured median of 50 sequential
 *   requests on a kept-alive connection; floor = the median round trip of /v2/health/live plus
 *   the in-process JSON.parse of that request body and JSON.stringify of its response (the
 *   protocol's own cost, which no server can skip). Goal ≤ 10 ms.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitGbdt } from '../src/ml/gbdt.js';
import { type LatheModel, loadModel, MODEL_FORMAT } from '../src/ml/model.js';
import { fitTransform } from '../src/ml/transforms.js';
import { openWorkspace } from '../src/runtime/workspace.js';
import { median, report, tempDir } from './bench-util.js';
import { writeBenchDataset } from './ml-data.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
}) => Promise<AutocannonResult>;
// autocannon ships no types; its programmatic API is a promise-returning function.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const ROWS = Number(process.env.LATHE_BENCH_SERVE_ROWS ?? 200_000);
const SECONDS = Number(process.env.LATHE_BENCH_SERVE_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.LATHE_BENCH_SERVE_CONNECTIONS ?? 10);

const dir = tempDir('lathe-bench-serve-');
let child: ChildProcess | undefined;
try {
  // The model.
  const data = writeBenchDataset(join(dir.path, 'data'), { samples: ROWS });
  const features = data.featureNames;
  const fitStarted = performance.now();
  const gbdt = fitGbdt({ columns: data.trainColumns }, Array.from(data.trainLabels), {
    task: 'classification',
    iterations: 100,
    maxDepth: 6,
    maxLeaves: null,
    learningRate: 0.1,
    maxBins: 255,
    earlyStopping: false,
    minSamplesLeaf: 1,
    featureNames: features,
  });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const row = (i: number) => Object.fromEntries(features.map((f, j) => [f, data.testColumns[j]![i]!]));
  const firstRows = Array.from({ length: 100 }, (_, i) => row(i));
  const model: LatheModel = {
    format: MODEL_FORMAT,
    algorithm: 'gbdt',
    task: gbdt.task,
    label: 'y',
    classes: gbdt.classes,
    inputs: features.map((name) => ({ name, type: 'number' })),
    transform: fitTransform({ columns: {}, passthrough: features, missing: 'keep' }, firstRows),
    estimator: gbdt,
    training: { rows: data.train, options: { iterations: 100, maxDepth: 6 } },
  };

  // The workspace: the model as a Model artifact, registered as gbdt, champion.
  const home = join(dir.path, '.lathe');
  const workspace = openWorkspace({ home });
  try {
    const file = join(dir.path, 'model.json');
    writeFileSync(file, JSON.stringify(model));
    const stored = await workspace.artifacts.put(file, { move: true });
    const id = `a_${randomBytes(8).toString('hex')}`;
    await workspace.store.commit([
      {
        op: 'putArtifact',
        artifact: { id, type: 'Model', ...stored, metadata: { format: MODEL_FORMAT }, createdAt: Date.now() },
      },
    ]);
    await workspace.store.registry.registerModelVersion({ name: 'gbdt', artifactId: id });
    await workspace.store.registry.setAlias({ name: 'gbdt', alias: 'champion', version: 1 });
  } finally {
    await workspace.close();
  }

  // The server.
  // LATHE_BENCH_SERVE_CPU_PROF=DIR: write the server's CPU profile there (node --cpu-prof).
  const profile = process.env.LATHE_BENCH_SERVE_CPU_PROF;
  const nodeFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  child = spawn(
    process.execPath,
    [...nodeFlags, CLI, 'serve', '--model', 'gbdt', '--port', '0', '--home', home],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  const server = child;
  let stderr = '';
  server.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const base = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => reject(new Error(`lathe serve exited ${code}: ${stderr}`)));
  });

  const tensors = (rows: Record<string, number>[]) =>
    JSON.stringify({
      inputs: features.map((name) => ({
        name,
        datatype: 'FP64',
        shape: [rows.length],
        data: rows.map((r) => r[name]),
      })),
    });
  const infer = `${base}/v2/models/gbdt/infer`;
  const one = tensors([row(0)]);
  const batchRows = Array.from({ length: 1000 }, (_, i) => row(i));
  const batch = tensors(batchRows);

  // A client on a kept-alive connection, for the sequential timings.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (url: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        agent,
        method: body === undefined ? 'GET' : 'POST',
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, text: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  // Check the answers before timing them.
  const checked = await send(infer, batch);
  if (checked.status !== 200) throw new Error(`infer failed: ${checked.status} ${checked.text}`);
  const expected = loadModel(JSON.parse(JSON.stringify(model))).predict(batchRows);
  const got = JSON.parse(checked.text).outputs[0].data as unknown[];
  if (got.length !== 1000 || got.some((label, i) => label !== expected[i])) {
    throw new Error('the served predictions differ from the model');
  }

  const load = async (body?: string) => {
    const url = body === undefined ? `${base}/v2/health/live` : infer;
    // A short warm-up (JIT, connections), then the measured run.
    await autocannon({
      url,
      connections: CONNECTIONS,
      duration: 2,
      ...(body === undefined
        ? {}
        : { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    });
    const result = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: SECONDS,
      ...(body === undefined
        ? {}
        : { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    });
    if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
      throw new Error(
        `autocannon on ${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
      );
    }
    return result;
  };
  const health = await load();
  const single = await load(one);
  const setup = `${CONNECTIONS} connections, ${SECONDS} s, autocannon in the bench process, lathe serve in a child`;
  report({
    name: 'serve.infer1.rps',
    value: single.requests.average,
    unit: 'req/s',
    floor: health.requests.average,
    note: `single-row infer, GBDT 100 trees depth 6 × 20 features (fitted on ${data.train} rows in ${fitSeconds.toFixed(1)} s); ${single.requests.total} requests; floor = /v2/health/live; ${setup}; goal ≥ 5000`,
  });
  report({
    name: 'serve.infer1.p99_ms',
    value: single.latency.p99,
    unit: 'ms',
    floor: health.latency.p99,
    note: `p50 ${single.latency.p50} ms, mean ${single.latency.average.toFixed(2)} ms, max ${single.latency.max} ms (health: p50 ${health.latency.p50} ms); autocannon records whole ms; floor = /v2/health/live p99; goal ≤ 5 ms`,
  });

  // The 1,000-row batch, sequential.
  const time = async (url: string, body?: string) => {
    const started = performance.now();
    const reply = await send(url, body);
    if (reply.status !== 200) throw new Error(`${url}: ${reply.status} ${reply.text}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 10; i++) await time(infer, batch);
  const batchTimes: number[] = [];
  for (let i = 0; i < 50; i++) batchTimes.push(await time(infer, batch));
  const healthTimes: number[] = [];
  for (let i = 0; i < 50; i++) healthTimes.push(await time(`${base}/v2/health/live`));
  const codecTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    JSON.parse(batch);
    JSON.stringify(JSON.parse(checked.text));
    codecTimes.push(performance.now() - started);
  }
  agent.destroy();
  const batchMs = median(batchTimes);
  report({
    name: 'serve.batch1k.ms',
    value: batchMs,
    unit: 'ms',
    floor: median(healthTimes) + median(codecTimes),
    note: `one 1,000-row infer request (${(batch.length / 1024).toFixed(0)} KiB in, ${(checked.text.length / 1024).toFixed(0)} KiB out), median of 50 sequential, client-measured (min ${Math.min(...batchTimes).toFixed(2)}, max ${Math.max(...batchTimes).toFixed(2)}); floor = health round trip ${median(healthTimes).toFixed(2)} ms + JSON parse/stringify of the request and response ${median(codecTimes).toFixed(2)} ms; goal ≤ 10 ms`,
  });
} finally {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  dir.remove();
}
