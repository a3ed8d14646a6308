/**
 * The context of an in-process TS task attempt, found through AsyncLocalStorage (several tasks
 * run concurrently in one process). It routes the component's console and process.stdout/stderr
 * output to the task's log, and, once `routeUncaughtErrors()` is called (the CLI does), fails the
 * task whose asynchronous code threw outside its awaited chain (a throw in a timer, an unhandled
 * rejection) instead of crashing the runner. Outside any task, everything behaves as usual.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';

type Sink = (stream: 'stdout' | 'stderr' | 'log', line: string) => void;

interface TaskContext {
  sink: Sink;
  /** Fails the attempt: set by the attempt runner. */
  fail(error: Error): void;
  /** Partial lines written with process.stdout/stderr.write, per stream. */
  partial: { stdout: string; stderr: string };
}

const current = new AsyncLocalStorage<TaskContext>();
let installed = false;
/** Set while a line is handed to a sink: writes the sink itself makes (the reporter) pass through. */
let inSink = false;

function emit(context: TaskContext, stream: 'stdout' | 'stderr' | 'log', line: string): void {
  inSink = true;
  try {
    // The sink (engine, reporter) runs outside the task's context, so what it writes, and timers
    // it starts, are never taken for the task's own output.
    current.exit(() => context.sink(stream, line));
  } finally {
    inSink = false;
  }
}

/** Runs `body` outside any task context (for code that serves a task but is not the task). */
export function outsideTask<T>(body: () => T): T {
  return current.exit(body);
}

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
      const context = current.getStore();
      if (!context || inSink) return original(...args);
      for (const line of format(...args).split('\n')) emit(context, stream, line);
    };
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = process[stream];
    const original = target.write.bind(target) as (...args: unknown[]) => boolean;
    target.write = ((chunk: unknown, ...rest: unknown[]) => {
      const context = current.getStore();
      if (!context || inSink) return original(chunk, ...rest);
      const text =
        context.partial[stream] +
        (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const lines = text.split('\n');
      context.partial[stream] = lines.pop() ?? '';
      for (const line of lines) emit(context, stream, line);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof target.write;
  }
}

/** Runs `body` as a task attempt: its output goes to `sink`, its stray errors to `fail`. */
export function withTaskContext<T>(
  sink: Sink,
  fail: (error: Error) => void,
  body: () => Promise<T>,
): Promise<T> {
  install();
  const context: TaskContext = { sink, fail, partial: { stdout: '', stderr: '' } };
  const flush = () => {
    // A last line written without a newline still belongs to the log.
    for (const stream of ['stdout', 'stderr'] as const) {
      if (context.partial[stream]) emit(context, stream, context.partial[stream]);
      context.partial[stream] = '';
    }
  };
  return current.run(context, body).finally(flush);
}

let routing = false;

/**
 * Sends uncaught exceptions and unhandled rejections raised by a task's code to that task, which
 * fails with the error. One raised outside any task is a crash, reported as Node would.
 */
export function routeUncaughtErrors(): void {
  if (routing) return;
  routing = true;
  const route = (error: unknown, kind: string) => {
    const context = current.getStore();
    const asError = error instanceof Error ? error : new Error(String(error));
    if (context) {
      context.fail(asError);
      return;
    }
    process.stderr.write(`lathe: ${kind} outside any task:\n${asError.stack ?? asError.message}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', (error) => route(error, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => route(reason, 'unhandled rejection'));
}
