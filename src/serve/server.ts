/**
 * `lathe serve`: an HTTP server for registry models speaking the Open Inference Protocol v2
 * (oip.ts), with Prometheus metrics (prom-client) and hot reload: when an alias it serves moves,
 * the new version is loaded beside the old one and swapped in; requests in flight finish on the
 * version they started with, none is dropped.
 *
 * Security: it binds 127.0.0.1 unless told otherwise, and binding elsewhere requires a token
 * that every route checks (`Authorization: Bearer`). No route reads a path from a request.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Label } from '../ml/metrics.js';
import { type LatheModel, loadModel, type Predictor } from '../ml/model.js';
import type { ModelRegistry, ModelVersion } from '../store/registry.js';
import { InferenceError, modelMetadata, requestRows, responseTensors } from './oip.js';

export interface ServedModelRef {
  name: string;
  /** An alias (followed as it moves) or a version number. Default 'champion'. */
  ref: string;
}

export interface ModelServerOptions {
  registry: ModelRegistry;
  models: readonly ServedModelRef[];
  host?: string;
  port?: number;
  /** Required when `host` is not a loopback address. */
  token?: string;
  /** Largest request body, bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /** How often aliases are checked for moves, ms. Default 1000. */
  pollMs?: number;
  log?: (line: string) => void;
}

interface LoadedModel {
  name: string;
  version: number;
  model: LatheModel;
  predictor: Predictor;
}

export interface ModelServer {
  url: string;
  /** Checks every served alias now and swaps in moved ones; resolves when done. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const VERSION_CACHE = 8;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

async function loadVersion(version: ModelVersion): Promise<LoadedModel> {
  const text = await readFile(fileURLToPath(version.artifactUri), 'utf8');
  const predictor = loadModel(JSON.parse(text));
  // Warm up (trees compile their layout on first use) on a row of neutral values; a model that
  // refuses it (an unseen category under 'error') is still usable.
  try {
    const row = Object.fromEntries(
      predictor.model.inputs.map((input) => [
        input.name,
        input.type === 'number' ? 0 : input.type === 'boolean' ? false : '',
      ]),
    );
    predictor.predict([row]);
  } catch {}
  return { name: version.name, version: version.version, model: predictor.model, predictor };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new InferenceError(413, `the request body is ${declared} bytes; the limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new InferenceError(413, `the request body is over the limit of ${limit} bytes`));
        request.removeAllListeners('data');
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.token) {
    throw new Error(`serving on ${host} (not loopback) needs a token: pass --token or set LATHE_SERVE_TOKEN`);
  }
  if (options.models.length === 0) throw new Error('give at least one model to serve');
  const log = options.log ?? (() => {});
  const registry = options.registry;
  const limit = options.maxBodyBytes ?? 4 * 2 ** 20;
  const token = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;

  // What each served name answers with by default; other versions load on demand.
  const served = new Map<string, { ref: string; current: LoadedModel }>();
  for (const { name, ref } of options.models) {
    if (served.has(name)) throw new Error(`model '${name}' is listed twice`);
    const version = await registry.resolveModelVersion(name, /^\d+$/.test(ref) ? Number(ref) : ref);
    if (!version)
      throw new Error(`model '${name}' has no ${/^\d+$/.test(ref) ? `version ${ref}` : `alias '${ref}'`}`);
    served.set(name, { ref, current: await loadVersion(version) });
    log(`serving '${name}' version ${version.version} (${ref})`);
  }
  const byVersion = new Map<string, LoadedModel>();

  const metrics = new Registry();
  const requests = new Counter({
    name: 'lathe_serve_requests_total',
    help: 'Inference requests by model, version and HTTP status.',
    labelNames: ['model', 'version', 'code'],
    registers: [metrics],
  });
  const latency = new Histogram({
    name: 'lathe_serve_request_duration_seconds',
    help: 'Inference request latency, from the first byte read to the response written.',
    labelNames: ['model', 'version'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [metrics],
  });
  const errors = new Counter({
    name: 'lathe_serve_errors_total',
    help: 'Failed inference requests by model, version and HTTP status.',
    labelNames: ['model', 'version', 'code'],
    registers: [metrics],
  });
  const servedVersion = new Gauge({
    name: 'lathe_serve_model_version',
    help: 'The version each served model name answers with.',
    labelNames: ['model'],
    registers: [metrics],
  });
  for (const [name, entry] of served) servedVersion.set({ model: name }, entry.current.version);

  /** The model for a path: the served one, or a version / alias of a served name. */
  async function modelFor(name: string, version: string | undefined): Promise<LoadedModel> {
    const entry = served.get(name);
    if (!entry) {
      throw new InferenceError(404, `unknown model '${name}' (served: ${[...served.keys()].join(', ')})`);
    }
    if (version === undefined || version === String(entry.current.version)) return entry.current;
    const key = `${name}@${version}`;
    const cached = byVersion.get(key);
    if (cached) return cached;
    const found = /^\d+$/.test(version)
      ? await registry.getModelVersion(name, Number(version))
      : await registry.resolveModelVersion(name, version);
    if (!found) throw new InferenceError(404, `model '${name}' has no version or alias '${version}'`);
    const loaded = await loadVersion(found);
    if (/^\d+$/.test(version)) {
      if (byVersion.size >= VERSION_CACHE) byVersion.delete(byVersion.keys().next().value!);
      byVersion.set(key, loaded);
    }
    return loaded;
  }

  async function infer(loaded: LoadedModel, body: Buffer): Promise<unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new InferenceError(400, `the request body is not JSON: ${(error as Error).message}`);
    }
    const { id, rows, outputs } = requestRows(parsed, loaded.model);
    let predictions: Label[];
    let probabilities: number[][] | null = null;
    try {
      if (loaded.model.task === 'regression') predictions = loaded.predictor.predict(rows);
      else {
        probabilities = loaded.predictor.predictProba(rows);
        const classes = loaded.model.classes!;
        predictions = probabilities.map((p) => {
          let best = 0;
          for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
          return classes[best]!;
        });
      }
    } catch (error) {
      // The transform's own checks (e.g. an unseen category under 'error'): the caller's input.
      throw new InferenceError(400, (error as Error).message);
    }
    return {
      model_name: loaded.name,
      model_version: String(loaded.version),
      ...(id !== undefined ? { id } : {}),
      outputs: responseTensors(loaded.model, predictions, probabilities, outputs),
    };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (token) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== token.length || !timingSafeEqual(given, token)) {
        request.resume();
        send(response, 401, { error: 'unauthorized: send Authorization: Bearer <token>' });
        return;
      }
    }
    const path = (request.url ?? '/').split('?')[0]!;
    const method = request.method ?? 'GET';
    if (method === 'GET' && path === '/v2/health/live') return send(response, 200, { live: true });
    if (method === 'GET' && path === '/v2/health/ready') return send(response, 200, { ready: true });
    if (method === 'GET' && path === '/v2') {
      return send(response, 200, { name: 'lathe', version: '2', extensions: [] });
    }
    if (method === 'GET' && path === '/metrics') {
      const text = await metrics.metrics();
      response.writeHead(200, { 'content-type': metrics.contentType });
      response.end(text);
      return;
    }
    const match = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(path);
    if (!match) {
      request.resume();
      return send(response, 404, { error: `no route ${method} ${path}` });
    }
    const name = decodeURIComponent(match[1]!);
    const version = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const action = match[3];
    if (action === '/infer') {
      if (method !== 'POST') return send(response, 405, { error: 'infer takes POST' });
      const started = process.hrtime.bigint();
      let labels = { model: name, version: version ?? '' };
      try {
        const loaded = await modelFor(name, version);
        labels = { model: name, version: String(loaded.version) };
        const body = await readBody(request, limit);
        const result = await infer(loaded, body);
        send(response, 200, result);
        requests.inc({ ...labels, code: '200' });
        latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      } catch (error) {
        const status = error instanceof InferenceError ? error.status : 500;
        if (status === 413) response.setHeader('connection', 'close');
        request.resume();
        send(response, status, { error: (error as Error).message });
        requests.inc({ ...labels, code: String(status) });
        errors.inc({ ...labels, code: String(status) });
        if (status === 500) log(`error: ${(error as Error).stack ?? error}`);
      }
      return;
    }
    if (method !== 'GET') return send(response, 405, { error: `${path} takes GET` });
    try {
      const loaded = await modelFor(name, version);
      if (action === '/ready') return send(response, 200, { name, ready: true });
      return send(response, 200, modelMetadata(name, loaded.version, loaded.model));
    } catch (error) {
      const status = error instanceof InferenceError ? error.status : 500;
      return send(response, status, { error: (error as Error).message });
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      log(`error: ${(error as Error).stack ?? error}`);
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  let reloading: Promise<void> = Promise.resolve();
  async function reloadOnce(): Promise<void> {
    for (const [name, entry] of served) {
      if (/^\d+$/.test(entry.ref)) continue;
      const version = await registry.resolveModelVersion(name, entry.ref);
      if (!version || version.version === entry.current.version) continue;
      try {
        const next = await loadVersion(version);
        const previous = entry.current.version;
        entry.current = next;
        servedVersion.set({ model: name }, next.version);
        log(`'${name}' ${entry.ref} moved: now version ${next.version} (was ${previous})`);
      } catch (error) {
        log(
          `'${name}' ${entry.ref} moved to version ${version.version}, which failed to load (still serving ${entry.current.version}): ${(error as Error).message}`,
        );
      }
    }
  }
  const reload = () => {
    reloading = reloading.then(reloadOnce, reloadOnce);
    return reloading;
  };
  const timer = setInterval(
    () => void reload().catch((error) => log(`reload failed: ${error}`)),
    options.pollMs ?? 1000,
  );
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    reload,
    async close() {
      clearInterval(timer);
      await reloading.catch(() => {});
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
