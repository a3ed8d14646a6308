/** `lathe serve`: registry models over the Open Inference Protocol v2 (src/serve). */
import { UsageError } from '../errors.js';
import { openWorkspace } from '../runtime/workspace.js';
import { checkRegistryName } from '../store/registry.js';
import type { CommandSpec } from './args.js';

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
    const { startModelServer } = await import('../serve/server.js');
    const workspace = openWorkspace({ home: values.home, existing: true });
    let server: Awaited<ReturnType<typeof startModelServer>>;
    try {
      server = await startModelServer({
        registry: workspace.store.registry,
        models,
        host: values.host as string | undefined,
        port: positiveInteger('port', values.port as string | undefined, 8080),
        token,
        maxBodyBytes: positiveInteger('max-body', values['max-body'] as string | undefined, 4 * 2 ** 20),
        pollMs: positiveInteger('poll-ms', values['poll-ms'] as string | undefined, 1000),
        log: (line) => process.stderr.write(`${line}\n`),
      });
    } catch (error) {
      await workspace.close();
      if (error instanceof Error && !(error instanceof UsageError)) throw new UsageError(error.message);
      throw error;
    }
    process.stdout.write(`listening on ${server.url}\n`);
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
