/**
 * The build-time graph: what `pipeline(...)` records while its body runs. Pure data, no I/O.
 * The compiler (spec/compile.ts) turns it into a PipelineSpec.
 */

import type { AnyComponent } from './component.js';
import type { Condition } from './refs.js';
import type { Resources } from './vocabulary.js';

export interface RetryOptions {
  /** Total attempts, including the first. */
  attempts: number;
  /** Delay before the 2nd attempt: '1s', '500ms' or milliseconds. */
  backoff?: string | number;
  /** Each further delay is multiplied by this. */
  factor?: number;
  maxBackoff?: string | number;
}

export interface TaskSettings {
  retry?: { attempts: number; backoffMs: number; factor: number; maxBackoffMs: number };
  timeoutMs?: number;
  cache?: boolean;
  resources?: Resources;
}

export class TaskNode {
  after: TaskNode[] = [];
  explicitName: string | undefined;
  exitHandler = false;
  settings: TaskSettings = {};
  constructor(
    readonly id: number,
    readonly component: AnyComponent,
    readonly bindings: Record<string, unknown>,
    readonly conditions: readonly Condition[],
    readonly loop: LoopNode | undefined,
    readonly prefix: string,
  ) {}
}

export class LoopNode {
  constructor(
    readonly id: number,
    readonly items: unknown,
    readonly parallelism: number | undefined,
    readonly parent: LoopNode | undefined,
    readonly conditions: readonly Condition[],
    readonly prefix: string,
  ) {}
}

export class GraphBuilder {
  readonly tasks: TaskNode[] = [];
  readonly loops: LoopNode[] = [];
  conditions: Condition[] = [];
  loopStack: LoopNode[] = [];
  prefixes: string[] = [];
  private nextId = 1;

  addTask(component: AnyComponent, bindings: Record<string, unknown>): TaskNode {
    const node = new TaskNode(
      this.nextId++,
      component,
      bindings,
      [...this.conditions],
      this.loopStack.at(-1),
      this.prefixes.join(''),
    );
    this.tasks.push(node);
    return node;
  }

  addLoop(items: unknown, parallelism: number | undefined): LoopNode {
    const loop = new LoopNode(
      this.nextId++,
      items,
      parallelism,
      this.loopStack.at(-1),
      [...this.conditions],
      this.prefixes.join(''),
    );
    this.loops.push(loop);
    return loop;
  }

  /** Runs `body` with extra state pushed, restoring it even if `body` throws. */
  within<T>(state: { condition?: Condition; loop?: LoopNode; prefix?: string }, body: () => T): T {
    const saved = { conditions: this.conditions, loopStack: this.loopStack, prefixes: this.prefixes };
    if (state.condition) this.conditions = [...this.conditions, state.condition];
    if (state.loop) this.loopStack = [...this.loopStack, state.loop];
    if (state.prefix) this.prefixes = [...this.prefixes, state.prefix];
    try {
      return body();
    } finally {
      this.conditions = saved.conditions;
      this.loopStack = saved.loopStack;
      this.prefixes = saved.prefixes;
    }
  }
}

const builders: GraphBuilder[] = [];

export function withBuilder<T>(builder: GraphBuilder, body: () => T): T {
  builders.push(builder);
  try {
    return body();
  } finally {
    builders.pop();
  }
}

export function currentBuilder(what: string): GraphBuilder {
  const builder = builders.at(-1);
  if (!builder) throw new Error(`${what} can only be called inside a pipeline(...) body`);
  return builder;
}

export function hasBuilder(): boolean {
  return builders.length > 0;
}
