/**
 * Routes console output of in-process TS components to their task's log. Several tasks run
 * concurrently in one process, so the current task is found through AsyncLocalStorage; output
 * outside any task goes to the real console unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';

type Sink = (stream: 'stdout' | 'stderr' | 'log', line: string) => void;

const current = new AsyncLocalStorage<Sink>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const methods = [
    ['log', 'stdout'],
    ['info', 'stdout'],
    ['debug', 'stdout'],
    ['warn', 'stderr'],
    ['error', 'stderr'],
  ] as const;
  for (const [method, stream] of methods) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const sink = current.getStore();
      if (!sink) return original(...args);
      for (const line of format(...args).split('\n')) sink(stream, line);
    };
  }
}

export function withConsoleCapture<T>(sink: Sink, body: () => T): T {
  install();
  return current.run(sink, body);
}
