/**
 * The embedded executor: TS components in this process (or in a child process when they ask
 * for isolation), command components as child processes.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyComponent } from '../dsl/component.js';
import type {
  AttemptHooks,
  AttemptRequest,
  AttemptResult,
  OrphanedAttempt,
  TaskExecutor,
  TrackingEvent,
} from '../engine/ports.js';
import { TaskFailedError } from '../errors.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { ModelRegistry } from '../store/registry.js';
import { type CommandOptions, runCommandAttempt } from './command-attempt.js';
import { loadComponent } from './component-resolver.js';
import { LineSplitter } from './line-splitter.js';
import { runTsAttempt } from './ts-attempt.js';

export interface LocalExecutorOptions {
  artifacts: ArtifactStore;
  /** Root of the local artifact store, passed to child processes so they can open it. */
  artifactRoot: string;
  /** Components already in memory (a pipeline compiled in this process), by name. */
  components?: Map<string, AnyComponent>;
  killGraceMs?: number;
  /** Where attempt scratch directories go (default: the OS temp directory). */
  workRoot?: string;
  /** The model registry for in-process components (`ctx.registry`). */
  registry?: ModelRegistry;
  /** The metadata database, opened by child processes when their component uses `ctx.registry`. */
  metadataPath?: string;
}

export type ChildMessage =
  | { type: 'log'; stream: 'stdout' | 'stderr' | 'log'; line: string }
  | { type: 'track'; event: TrackingEvent }
  | { type: 'result'; result: AttemptResult }
  | { type: 'error'; message: string; stack?: string; code?: string; exitCode?: number };

export class LocalExecutor implements TaskExecutor {
  private readonly command: CommandOptions;
  constructor(private readonly options: LocalExecutorOptions) {
    this.command = { killGraceMs: options.killGraceMs ?? 5000, workRoot: options.workRoot };
  }

  stopOrphan(attempt: OrphanedAttempt): Promise<boolean> {
    return stopOrphanedProcess(attempt, this.command.killGraceMs);
  }

  /** Process groups of attempts running now, so close() can stop them. */
  private readonly live = new Set<number>();

  /** Stops every attempt process still running (used when the runner must exit at once). */
  async close(): Promise<void> {
    for (const pid of this.live) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.live.clear();
  }

  async execute(request: AttemptRequest, outer: AttemptHooks): Promise<AttemptResult> {
    const spawnedHere: number[] = [];
    const hooks: AttemptHooks = {
      ...outer,
      spawned: (pid) => {
        spawnedHere.push(pid);
        this.live.add(pid);
        outer.spawned?.(pid);
      },
    };
    try {
      return await this.executeAttempt(request, hooks);
    } finally {
      for (const pid of spawnedHere) this.live.delete(pid);
    }
  }

  private async executeAttempt(request: AttemptRequest, hooks: AttemptHooks): Promise<AttemptResult> {
    const component = request.component;
    if (component.kind === 'command') {
      return runCommandAttempt(request, hooks, this.options.artifacts, this.command);
    }
    if (component.isolation === 'process') return this.executeInChild(request, hooks);
    const definition = this.options.components?.get(component.name) ?? (await resolveComponent(request));
    const registry = this.options.registry;
    return runTsAttempt(
      definition,
      request,
      hooks,
      this.options.artifacts,
      this.options.workRoot,
      registry ? () => registry : undefined,
    );
  }

  private executeInChild(request: AttemptRequest, hooks: AttemptHooks): Promise<AttemptResult> {
    const entry = fileURLToPath(new URL('./task-process-main.js', import.meta.url));
    return new Promise<AttemptResult>((resolve, reject) => {
      const child = fork(entry, [], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        cwd: request.baseDir,
        detached: true,
        serialization: 'advanced',
        env: { ...process.env, ...attemptEnv(request) },
      });
      if (child.pid) hooks.spawned?.(child.pid);
      let settled: { ok: true; result: AttemptResult } | { ok: false; error: Error } | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), this.command.killGraceMs);
      };
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      for (const [stream, name] of [
        [child.stdout, 'stdout'],
        [child.stderr, 'stderr'],
      ] as const) {
        const lines = new LineSplitter((line) => hooks.log(name, line));
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => lines.push(chunk));
        stream?.on('end', () => lines.end());
      }
      // A tracking event the engine refuses (a param logged again with another value) arrives
      // after the child's call returned: it fails the attempt when the result comes.
      let trackingError: Error | undefined;
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'log') hooks.log(message.stream, message.line);
        else if (message.type === 'track') {
          try {
            hooks.track?.(message.event);
          } catch (error) {
            trackingError ??= error as Error;
          }
        } else if (message.type === 'result')
          settled = trackingError
            ? { ok: false, error: trackingError }
            : { ok: true, result: message.result };
        else {
          const error = new TaskFailedError(message.message, {
            exitCode: message.exitCode,
            code: message.code,
          });
          if (message.stack) error.stack = message.stack;
          settled = { ok: false, error };
        }
      });
      child.on('error', (error) => {
        settled ??= { ok: false, error };
      });
      child.on('exit', (code, signal) => {
        hooks.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (hooks.signal.aborted) return reject(hooks.signal.reason);
        if (settled?.ok) return resolve(settled.result);
        if (settled) return reject(settled.error);
        reject(
          new TaskFailedError(
            `task '${request.task}': its process ${code !== null ? `exited with code ${code}` : `was killed by ${signal}`} before reporting a result`,
            { exitCode: code ?? 128 },
          ),
        );
      });
      child.send({
        request,
        artifactRoot: this.options.artifactRoot,
        workRoot: this.options.workRoot,
        metadataPath: this.options.metadataPath,
      });
    });
  }
}

/** Environment that marks a process as one attempt's, so an orphan can be recognised later. */
export function attemptEnv(request: AttemptRequest): Record<string, string> {
  return { LATHE_RUN_ID: request.runId, LATHE_TASK: request.task, LATHE_ATTEMPT: String(request.attempt) };
}

/**
 * Stops an attempt's process group left running by a runner that died. The pid is only trusted
 * if /proc shows that process carries the attempt's LATHE_* environment: a pid reused by an
 * unrelated process is left alone. Elsewhere than Linux, nothing is stopped.
 */
export async function stopOrphanedProcess(attempt: OrphanedAttempt, graceMs: number): Promise<boolean> {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${attempt.pid}/environ`, 'latin1');
  } catch {
    return false; // gone, or not ours to read
  }
  const vars = new Set(environ.split('\0'));
  if (!vars.has(`LATHE_RUN_ID=${attempt.runId}`) || !vars.has(`LATHE_TASK=${attempt.task}`)) return false;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-attempt.pid, name);
    } catch {
      try {
        process.kill(attempt.pid, name);
      } catch {
        // already gone
      }
    }
  };
  // A zombie (exited, not yet reaped by whoever adopted it) counts as stopped.
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${attempt.pid}/stat`, 'latin1'));
    } catch {
      return false;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) signal('SIGKILL');
  return true;
}

/** Finds a TS component by name in the pipeline's source module. */
export function resolveComponent(request: AttemptRequest): Promise<AnyComponent> {
  return loadComponent(request.component.name, request.source);
}
