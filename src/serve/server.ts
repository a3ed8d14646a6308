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
import { loadOnnx, looksLikeOnnx, type OnnxModel } from '../ml/onnx.js';
import type { ModelRegistry, ModelVersion } from '../store/registry.js';
import { InferenceError, modelMetadata, requestRows, responseTensors } from './oip.js';
import { onnxInfer, onnxMetadata } from './onnx-model.js';
import type { PredictionLog } from './prediction-log.js';
import {
  type CanaryDecision,
  type CanaryPolicy,
  decideCanary,
  ShadowStats,
  TrafficSplit,
  VersionStats,
} from './rollout.js';

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
  /** Canary: send a share of traffic to an alias's version, then promote it or roll it back. */
  canary?: CanaryPolicy;
  /** Shadow: also run this alias's version on every request and compare; serve only the champion. */
  shadow?: string;
  /** Sampled inputs and outputs written as Dataset artifacts. */
  predictionLog?: PredictionLog;
  log?: (line: string) => void;
}

interface LoadedModel {
  name: string;
  version: number;
  /** A lathe-model/v1 document and its predictor; for an ONNX graph, `onnx` instead. */
  model: LatheModel;
  predictor: Predictor;
  onnx?: OnnxModel;
}

export interface ModelServer {
  url: string;
  /** Checks every served alias now and swaps in moved ones; resolves when done. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

interface Canary {
  policy: CanaryPolicy;
  loaded: LoadedModel;
  split: TrafficSplit;
  champion: VersionStats;
  challenger: VersionStats;
  started: number;
}

interface ServedEntry {
  ref: string;
  current: LoadedModel;
  canary?: Canary;
  shadow?: { loaded: LoadedModel; stats: ShadowStats };
  /** Decisions taken by rollouts on this name, newest last ('ended': the champion moved by hand). */
  decisions: ((CanaryDecision | { decision: 'ended'; reasons: string[] }) & {
    at: number;
    champion: number;
    challenger: number;
  })[];
}

/** Predictions a request got, kept by request id so that labels fed back can be scored. */
const FEEDBACK_MEMORY = 100_000;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const VERSION_CACHE = 8;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

async function loadVersion(version: ModelVersion): Promise<LoadedModel> {
  const bytes = await readFile(fileURLToPath(version.artifactUri));
  if (looksLikeOnnx(bytes)) {
    const onnx = await loadOnnx(bytes);
    // No Lathe document: the paths that need one (feedback, shadow, prediction log) skip ONNX.
    return { name: version.name, version: version.version, onnx } as LoadedModel;
  }
  const predictor = loadModel(JSON.parse(bytes.toString('utf8')));
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
  const served = new Map<string, ServedEntry>();
  for (const { name, ref } of options.models) {
    if (served.has(name)) throw new Error(`model '${name}' is listed twice`);
    if (!(await registry.getRegisteredModel(name))) {
      const known = (await registry.listRegisteredModels()).map((m) => m.name);
      throw new Error(`no registered model '${name}' (registered: ${known.join(', ') || 'none'})`);
    }
    const version = await registry.resolveModelVersion(name, /^\d+$/.test(ref) ? Number(ref) : ref);
    if (!version)
      throw new Error(`model '${name}' has no ${/^\d+$/.test(ref) ? `version ${ref}` : `alias '${ref}'`}`);
    const entry: ServedEntry = { ref, current: await loadVersion(version), decisions: [] };
    served.set(name, entry);
    log(`serving '${name}' version ${version.version} (${ref})`);
    if (options.canary) {
      const challenger = await registry.resolveModelVersion(name, options.canary.alias);
      if (!challenger) throw new Error(`model '${name}' has no alias '${options.canary.alias}' to canary`);
      if (challenger.version === version.version) {
        throw new Error(
          `'${options.canary.alias}' of '${name}' is version ${version.version}, the one already served`,
        );
      }
      entry.canary = {
        policy: options.canary,
        loaded: await loadVersion(challenger),
        split: new TrafficSplit(options.canary.percent),
        champion: new VersionStats(version.version),
        challenger: new VersionStats(challenger.version),
        started: Date.now(),
      };
      log(
        `canary: ${options.canary.percent}% of '${name}' to version ${challenger.version} (${options.canary.alias})`,
      );
    }
    if (options.shadow) {
      const shadow = await registry.resolveModelVersion(name, options.shadow);
      if (!shadow) throw new Error(`model '${name}' has no alias '${options.shadow}' to shadow`);
      entry.shadow = { loaded: await loadVersion(shadow), stats: new ShadowStats(shadow.version) };
      log(`shadow: every request of '${name}' also runs version ${shadow.version} (${options.shadow})`);
    }
  }
  const feedback = new Map<string, { name: string; version: number; labels: Label[] }>();
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
    const numbered = /^\d+$/.test(version);
    const cached = numbered ? byVersion.get(`${name}@${Number(version)}`) : undefined;
    if (cached) return cached;
    const found = numbered
      ? await registry.getModelVersion(name, Number(version))
      : await registry.resolveModelVersion(name, version);
    if (!found) throw new InferenceError(404, `model '${name}' has no version or alias '${version}'`);
    // An alias is resolved on every request (it may move), its model file read once per version.
    if (found.version === entry.current.version) return entry.current;
    const key = `${name}@${found.version}`;
    const again = byVersion.get(key);
    if (again) return again;
    const loaded = await loadVersion(found);
    if (byVersion.size >= VERSION_CACHE) byVersion.delete(byVersion.keys().next().value!);
    byVersion.set(key, loaded);
    return loaded;
  }

  interface Inference {
    response: unknown;
    rows: Record<string, unknown>[];
    predictions: Label[];
    probabilities: number[][] | null;
    id: string | undefined;
  }

  function predict(
    loaded: LoadedModel,
    rows: Record<string, unknown>[],
  ): { predictions: Label[]; probabilities: number[][] | null } {
    if (loaded.model.task === 'regression')
      return { predictions: loaded.predictor.predict(rows), probabilities: null };
    const probabilities = loaded.predictor.predictProba(rows);
    const classes = loaded.model.classes!;
    const predictions = probabilities.map((p) => {
      let best = 0;
      for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
      return classes[best]!;
    });
    return { predictions, probabilities };
  }

  async function infer(loaded: LoadedModel, body: Buffer): Promise<Inference> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new InferenceError(400, `the request body is not JSON: ${(error as Error).message}`);
    }
    if (loaded.onnx) {
      const { id, outputs } = await onnxInfer(loaded.onnx, parsed);
      const response = {
        model_name: loaded.name,
        model_version: String(loaded.version),
        ...(id !== undefined ? { id } : {}),
        outputs,
      };
      return { response, rows: [], predictions: [], probabilities: null, id: undefined };
    }
    const { id, rows, outputs } = requestRows(parsed, loaded.model);
    let result: ReturnType<typeof predict>;
    try {
      result = predict(loaded, rows);
    } catch (error) {
      // The transform's own checks (e.g. an unseen category under 'error'): the caller's input,
      // though a version that refuses what another accepts counts against it in a rollout.
      throw Object.assign(new InferenceError(400, (error as Error).message), { modelFault: true });
    }
    const response = {
      model_name: loaded.name,
      model_version: String(loaded.version),
      ...(id !== undefined ? { id } : {}),
      outputs: responseTensors(loaded.model, result.predictions, result.probabilities, outputs),
    };
    return { response, rows, ...result, id };
  }

  /** After a request: rollout statistics, the shadow's comparison, the prediction log. */
  function afterInfer(
    name: string,
    loaded: LoadedModel,
    latencyMs: number,
    failed: boolean,
    done?: Inference,
  ): void {
    const entry = served.get(name);
    if (!entry) return;
    const canary = entry.canary;
    if (canary) {
      if (loaded === canary.loaded) canary.challenger.record(latencyMs, failed);
      else if (loaded === entry.current) canary.champion.record(latencyMs, failed);
      void checkCanary(name, entry);
    }
    if (!done || loaded.onnx) return;
    if (done.id !== undefined) {
      if (feedback.size >= FEEDBACK_MEMORY) feedback.delete(feedback.keys().next().value!);
      feedback.set(done.id, { name, version: loaded.version, labels: done.predictions });
    }
    options.predictionLog?.record(name, loaded.version, done.rows, done.predictions, done.id);
    const shadow = entry.shadow;
    if (shadow && loaded === entry.current && !shadow.loaded.onnx) {
      setImmediate(() => {
        try {
          const other = predict(shadow.loaded, done.rows);
          const pick = (p: number[][] | null, labels: Label[], classes: Label[] | null) =>
            p && classes ? p.map((row, i) => row[classes.indexOf(labels[i]!)] ?? Number.NaN) : undefined;
          // Scores: the probability each model gives the class the served model chose.
          const classes = loaded.model.classes;
          shadow.stats.compare(
            done.predictions,
            other.predictions,
            pick(done.probabilities, done.predictions, classes),
            pick(other.probabilities, done.predictions, shadow.loaded.model.classes),
          );
        } catch {
          shadow.stats.failures++;
        }
      });
    }
  }

  let deciding = false;
  async function checkCanary(name: string, entry: ServedEntry): Promise<void> {
    const canary = entry.canary;
    if (!canary || deciding) return;
    const decision = decideCanary(
      canary.policy,
      canary.champion,
      canary.challenger,
      Date.now() - canary.started,
    );
    if (decision.decision === 'wait') return;
    deciding = true;
    try {
      const summary = decision.reasons.join('; ');
      if (decision.decision === 'promote') {
        await registry.setAlias({
          name,
          alias: 'champion',
          version: canary.loaded.version,
          reason: `canary passed: ${summary}`,
        });
        await registry.deleteAlias({
          name,
          alias: canary.policy.alias,
          reason: `promoted to champion by the canary`,
        });
        // Serve the promoted version at once; the poll would find the move too.
        entry.current = canary.loaded;
        servedVersion.set({ model: name }, canary.loaded.version);
      } else {
        await registry.deleteAlias({
          name,
          alias: canary.policy.alias,
          reason: `canary rolled back: ${summary}`,
        });
      }
      entry.decisions.push({
        ...decision,
        at: Date.now(),
        champion: canary.champion.version,
        challenger: canary.challenger.version,
      });
      entry.canary = undefined;
      log(`canary of '${name}' version ${canary.loaded.version}: ${decision.decision} (${summary})`);
    } catch (error) {
      log(
        `canary of '${name}': the decision '${decision.decision}' could not be recorded: ${(error as Error).message}`,
      );
    } finally {
      deciding = false;
    }
  }

  /** Labels fed back: `{ "id": request id, "labels": [one per row of that request] }`. */
  function recordFeedback(name: string, body: Buffer): unknown {
    let parsed: { id?: unknown; labels?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new InferenceError(400, `the request body is not JSON: ${(error as Error).message}`);
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      typeof parsed.id !== 'string' ||
      !Array.isArray(parsed.labels)
    ) {
      throw new InferenceError(
        400,
        'feedback is { "id": the request id, "labels": [the true label of each row] }',
      );
    }
    const made = feedback.get(parsed.id);
    if (!made || made.name !== name) {
      throw new InferenceError(404, `no recent prediction of '${name}' with request id '${parsed.id}'`);
    }
    if (parsed.labels.length !== made.labels.length) {
      throw new InferenceError(
        400,
        `request '${parsed.id}' had ${made.labels.length} rows; got ${parsed.labels.length} labels`,
      );
    }
    const entry = served.get(name)!;
    const classes = entry.current.model?.classes;
    if (classes) {
      const unknown = parsed.labels.find((label) => !classes.includes(label as Label));
      if (unknown !== undefined) {
        throw new InferenceError(
          400,
          `label ${JSON.stringify(unknown)} is not a class of '${name}' (classes: ${classes.map((c) => JSON.stringify(c)).join(', ')})`,
        );
      }
    }
    feedback.delete(parsed.id);
    let correct = 0;
    parsed.labels.forEach((label, i) => {
      const ok = label === made.labels[i];
      if (ok) correct++;
      const canary = entry.canary;
      if (canary && made.version === canary.challenger.version) canary.challenger.label(ok);
      else if (canary && made.version === canary.champion.version) canary.champion.label(ok);
    });
    return { id: parsed.id, model_version: String(made.version), rows: made.labels.length, correct };
  }

  function rolloutStatus(name: string): unknown {
    const entry = served.get(name)!;
    return {
      name,
      version: entry.current.version,
      canary: entry.canary
        ? {
            alias: entry.canary.policy.alias,
            percent: entry.canary.policy.percent,
            policy: entry.canary.policy,
            champion: entry.canary.champion.summary(),
            challenger: entry.canary.challenger.summary(),
            pending: decideCanary(
              entry.canary.policy,
              entry.canary.champion,
              entry.canary.challenger,
              Date.now() - entry.canary.started,
            ),
          }
        : null,
      shadow: entry.shadow ? entry.shadow.stats.summary() : null,
      decisions: entry.decisions,
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
    const match =
      /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready|\/feedback|\/rollout)?$/.exec(path);
    if (!match) {
      request.resume();
      return send(response, 404, { error: `no route ${method} ${path}` });
    }
    let name: string;
    let version: string | undefined;
    try {
      name = decodeURIComponent(match[1]!);
      version = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    } catch {
      request.resume();
      return send(response, 400, { error: `the path ${path} is not valid percent-encoding` });
    }
    const action = match[3];
    if (action === '/infer') {
      if (method !== 'POST') return send(response, 405, { error: 'infer takes POST' });
      const started = process.hrtime.bigint();
      // Names and versions from the path only become metric labels once they are known to
      // exist: every unknown one would otherwise add series to /metrics, without bound.
      let labels = { model: served.has(name) ? name : '(unknown)', version: '(unknown)' };
      let loaded: LoadedModel | undefined;
      try {
        loaded = await modelFor(name, version);
        // A canary takes its share of the requests that name no version.
        const canary = version === undefined ? served.get(name)?.canary : undefined;
        if (canary?.split.toCanary()) loaded = canary.loaded;
        labels = { model: name, version: String(loaded.version) };
        const body = await readBody(request, limit);
        const result = await infer(loaded, body);
        send(response, 200, result.response);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        requests.inc({ ...labels, code: '200' });
        latency.observe(labels, seconds);
        afterInfer(name, loaded, seconds * 1000, false, result);
      } catch (error) {
        const status = error instanceof InferenceError ? error.status : 500;
        if (status === 413) response.setHeader('connection', 'close');
        request.resume();
        send(response, status, { error: (error as Error).message });
        requests.inc({ ...labels, code: String(status) });
        errors.inc({ ...labels, code: String(status) });
        if (status === 500) log(`error: ${(error as Error).stack ?? error}`);
        const fault = status >= 500 || (error as { modelFault?: boolean }).modelFault === true;
        if (loaded && fault) afterInfer(name, loaded, Number(process.hrtime.bigint() - started) / 1e6, true);
      }
      return;
    }
    if (action === '/feedback' || action === '/rollout') {
      try {
        if (!served.has(name)) await modelFor(name, undefined);
        if (version !== undefined)
          throw new InferenceError(404, `${action.slice(1)} is per model, not per version`);
        if (action === '/rollout') {
          if (method !== 'GET') return send(response, 405, { error: 'rollout takes GET' });
          return send(response, 200, rolloutStatus(name));
        }
        if (method !== 'POST') return send(response, 405, { error: 'feedback takes POST' });
        const body = await readBody(request, limit);
        const result = recordFeedback(name, body);
        const entry = served.get(name)!;
        if (entry.canary) await checkCanary(name, entry);
        return send(response, 200, result);
      } catch (error) {
        const status = error instanceof InferenceError ? error.status : 500;
        request.resume();
        return send(response, status, { error: (error as Error).message });
      }
    }
    if (method !== 'GET') return send(response, 405, { error: `${path} takes GET` });
    try {
      const loaded = await modelFor(name, version);
      if (action === '/ready') return send(response, 200, { name, ready: true });
      return send(
        response,
        200,
        loaded.onnx
          ? onnxMetadata(name, loaded.version, loaded.onnx)
          : modelMetadata(name, loaded.version, loaded.model),
      );
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
    for (const [name, entry] of served) if (entry.canary) await checkCanary(name, entry);
    for (const [name, entry] of served) {
      if (/^\d+$/.test(entry.ref)) continue;
      const version = await registry.resolveModelVersion(name, entry.ref);
      if (!version || version.version === entry.current.version) continue;
      try {
        const next = await loadVersion(version);
        const previous = entry.current.version;
        entry.current = next;
        // The champion moved by hand during a canary: its comparison no longer holds.
        const canary = entry.canary;
        if (canary && entry.ref === 'champion') {
          entry.canary = undefined;
          const reasons = [`'${entry.ref}' moved to version ${next.version} outside the canary`];
          entry.decisions.push({
            decision: 'ended',
            reasons,
            at: Date.now(),
            champion: canary.champion.version,
            challenger: canary.challenger.version,
          });
          log(`canary of '${name}' version ${canary.loaded.version} ended: ${reasons[0]}`);
        }
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
      await options.predictionLog?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
