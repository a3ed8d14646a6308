/**
 * Entry of a child process that runs one TS component attempt (isolation: 'process'). It gets
 * the AttemptRequest over IPC, imports the pipeline's source module, runs the component, and
 * reports logs and the result back. It needs nothing else from the parent's memory.
 */
import type { AttemptRequest } from '../engine/ports.js';
import { LocalArtifactStore } from '../store/local/local-artifact-store.js';
import { SqliteMetadataStore } from '../store/sqlite/sqlite-metadata-store.js';
import type { ChildMessage } from './local-executor.js';
import { resolveComponent } from './local-executor.js';
import { routeUncaughtErrors } from './task-context.js';
import { runTsAttempt } from './ts-attempt.js';

const send = (message: ChildMessage) =>
  new Promise<void>((resolve) => {
    process.send!(message, () => resolve());
  });

routeUncaughtErrors();

process.once(
  'message',
  async (message: {
    request: AttemptRequest;
    artifactRoot: string;
    workRoot?: string;
    metadataPath?: string;
  }) => {
    // The registry is opened only if the component uses it (most never do).
    let store: SqliteMetadataStore | undefined;
    const registry = message.metadataPath
      ? () => {
          store ??= SqliteMetadataStore.open(message.metadataPath!);
          return store.registry;
        }
      : undefined;
    const controller = new AbortController();
    process.once('SIGTERM', () => controller.abort(new Error('terminated')));
    try {
      const component = await resolveComponent(message.request);
      const result = await runTsAttempt(
        component,
        message.request,
        {
          signal: controller.signal,
          log: (stream, line) => {
            void send({ type: 'log', stream, line });
          },
          track: (event) => {
            void send({ type: 'track', event });
          },
        },
        new LocalArtifactStore(message.artifactRoot),
        message.workRoot,
        registry,
      );
      await send({ type: 'result', result });
    } catch (error) {
      const e = error as Error & { code?: string; exitCode?: number };
      await send({
        type: 'error',
        message: e.message ?? String(error),
        stack: e.stack,
        code: e.code,
        exitCode: e.exitCode,
      });
    }
    await store?.close();
    process.disconnect?.();
    process.exit(0);
  },
);
