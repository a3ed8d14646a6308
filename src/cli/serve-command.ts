/** `lathe serve`: registry models over the Open Inference Protocol v2 (src/serve). */

import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { openWorkspace } from '../runtime/workspace.js';
import { PredictionLog } from '../serve/prediction-log.js';
import { type CanaryPolicy, DEFAULT_CANARY } from '../serve/rollout.js';
import { checkRegistryName } from '../store/registry.js';
import type { CommandSpec } from './args.js';

function checkAlias(alias: string): string {
  try {
    return checkRegistryName('alias', alias);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function positiveInteger(option: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError(`--${option}: '${raw}' must be a whole number`);
  return value;
}

export const serveCommand: CommandSpec = {
  name: 'serve',
  args: '',
  summary:
    'Serve registry models over the Open Inference Protocol v2 (KServe/Triton): health, metadata, infer, and Prometheus /metrics; follows alias moves without dropping requests.',
  options: {
    model: {
      type: 'string',
      multiple: true,
      description: 'a model to serve: NAME (its champion), NAME@ALIAS or NAME@VERSION',
      placeholder: 'ref',
    },
    host: {
      type: 'string',
      description: 'address to bind (default 127.0.0.1; others need --token)',
      placeholder: 'addr',
    },
    port: { type: 'string', description: 'port (default 8080; 0 picks a free one)', placeholder: 'n' },
    token: {
      type: 'string',
      description: 'require Authorization: Bearer TOKEN on every route (or set LATHE_SERVE_TOKEN)',
      placeholder: 'token',
    },
    'max-body': {
      type: 'string',
      description: 'largest request body in bytes (default 4194304)',
      placeholder: 'n',
    },
    'poll-ms': {
      type: 'string',
      description: 'how often aliases are checked for moves (default 1000)',
      placeholder: 'ms',
    },
    canary: {
      type: 'string',
      description:
        'send PERCENT of requests to ALIAS, then promote it to champion or roll it back (e.g. challenger:10)',
      placeholder: 'alias:percent',
    },
    'canary-min-requests': {
      type: 'string',
      description: 'decide once both versions have served this many requests (default 200)',
      placeholder: 'n',
    },
    'canary-max-seconds': {
      type: 'string',
      description: 'decide after this long at the latest (default 600)',
      placeholder: 's',
    },
    'canary-max-error-increase': {
      type: 'string',
      description: 'error rate allowed above the champion, absolute (default 0.01)',
      placeholder: 'x',
    },
    'canary-max-latency-increase': {
      type: 'string',
      description: 'p95 latency allowed above the champion, relative (default 0.5)',
      placeholder: 'x',
    },
    'canary-min-labels': {
      type: 'string',
      description: 'labelled predictions per version needed to compare accuracy (default 50)',
      placeholder: 'n',
    },
    'canary-max-accuracy-drop': {
      type: 'string',
      description: 'accuracy allowed below the champion (default 0)',
      placeholder: 'x',
    },
    shadow: {
      type: 'string',
      description: "also run ALIAS's version on every request and compare; serve only the champion",
      placeholder: 'alias',
    },
    'log-predictions': {
      type: 'string',
      description: 'write this share (0-1] of the rows served, with their predictions, as Dataset artifacts',
      placeholder: 'rate',
    },
    'log-every': {
      type: 'string',
      description: 'rows per prediction-log artifact (default 10000)',
      placeholder: 'n',
    },
    'log-seconds': {
      type: 'string',
      description: 'write the prediction log at least this often (default 60)',
      placeholder: 's',
    },
  },
  minArgs: 0,
  maxArgs: 0,
  async handler({ values }) {
    const refs = (values.model as string[] | undefined) ?? [];
    if (refs.length === 0) throw new UsageError('give at least one --model NAME[@ALIAS|@VERSION]');
    const models = refs.map((text) => {
      const [name, ref = 'champion', extra] = text.split('@');
      if (extra !== undefined) throw new UsageError(`--model: '${text}' has more than one @`);
      try {
        checkRegistryName('model', name);
        if (!/^\d+$/.test(ref)) checkRegistryName('alias', ref);
      } catch (error) {
        throw new UsageError(`--model ${text}: ${(error as Error).message}`);
      }
      return { name: name!, ref };
    });
    const token = (values.token as string | undefined) ?? process.env.LATHE_SERVE_TOKEN;
    const number = (
      option: string,
      fallback: number,
      min: number,
      max = Number.POSITIVE_INFINITY,
    ): number => {
      const raw = values[option] as string | undefined;
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < min || value > max) {
        throw new UsageError(
          `--${option}: '${raw}' must be a number from ${min}${max < Infinity ? ` to ${max}` : ''}`,
        );
      }
      return value;
    };
    let canary: CanaryPolicy | undefined;
    if (values.canary !== undefined) {
      const match = /^([^:]+):(\d+(?:\.\d+)?)$/.exec(values.canary as string);
      if (!match || !(Number(match[2]) > 0 && Number(match[2]) < 100)) {
        throw new UsageError(
          `--canary: '${values.canary}' must be ALIAS:PERCENT with 0 < PERCENT < 100, e.g. challenger:10`,
        );
      }
      canary = {
        ...DEFAULT_CANARY,
        alias: checkAlias(match[1]!),
        percent: Number(match[2]),
        minRequests: number('canary-min-requests', DEFAULT_CANARY.minRequests, 1),
        maxSeconds: number('canary-max-seconds', DEFAULT_CANARY.maxSeconds, 1),
        maxErrorRateIncrease: number('canary-max-error-increase', DEFAULT_CANARY.maxErrorRateIncrease, 0, 1),
        maxLatencyIncrease: number('canary-max-latency-increase', DEFAULT_CANARY.maxLatencyIncrease, 0),
        minLabels: number('canary-min-labels', DEFAULT_CANARY.minLabels, 1),
        maxAccuracyDrop: number('canary-max-accuracy-drop', DEFAULT_CANARY.maxAccuracyDrop, 0, 1),
      };
    }
    const shadow = values.shadow === undefined ? undefined : checkAlias(values.shadow as string);
    if (canary && shadow) throw new UsageError('--canary and --shadow: choose one rollout at a time');
    const logRate = values['log-predictions'] === undefined ? undefined : number('log-predictions', 1, 0, 1);
    if (logRate === 0) throw new UsageError('--log-predictions: the rate must be above 0');
    const { startModelServer } = await import('../serve/server.js');
    const workspace = openWorkspace({ home: values.home, existing: true });
    let server: Awaited<ReturnType<typeof startModelServer>>;
    let predictionLog: PredictionLog | undefined;
    try {
      if (logRate !== undefined) {
        predictionLog = new PredictionLog({
          store: workspace.store,
          artifacts: workspace.artifacts,
          workRoot: join(workspace.home, 'work'),
          sampleRate: logRate,
          flushRows: number('log-every', 10_000, 1),
          flushMs: number('log-seconds', 60, 1) * 1000,
          params: { models: refs, sampleRate: logRate },
          log: (line) => process.stderr.write(`${line}\n`),
        });
        await predictionLog.start();
      }
      server = await startModelServer({
        registry: workspace.store.registry,
        models,
        host: values.host as string | undefined,
        port: positiveInteger('port', values.port as string | undefined, 8080),
        token,
        maxBodyBytes: positiveInteger('max-body', values['max-body'] as string | undefined, 4 * 2 ** 20),
        pollMs: positiveInteger('poll-ms', values['poll-ms'] as string | undefined, 1000),
        canary,
        shadow,
        predictionLog,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    } catch (error) {
      await predictionLog?.close();
      await workspace.close();
      if (error instanceof Error && !(error instanceof UsageError)) throw new UsageError(error.message);
      throw error;
    }
    process.stdout.write(`listening on ${server.url}\n`);
    if (predictionLog) process.stdout.write(`prediction log: run ${predictionLog.runId}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    await workspace.close();
    return 0;
  },
};
