/**
 * Pipelines and control flow. A pipeline body runs once, at compile time, and records tasks,
 * loops and conditions into a GraphBuilder; nothing in it runs the components.
 */
import type { z } from 'zod';
import { type AnyComponent, TaskHandle, type TaskOutputs } from './component.js';
import {
  currentBuilder,
  GraphBuilder,
  hasBuilder,
  type LoopNode,
  type TaskNode,
  withBuilder,
} from './graph.js';
import { Condition, isRef, literal, not, Ref, toCondition } from './refs.js';
import { FIELD_NAME_PATTERN, FIELD_NAME_RULE, NAME_PATTERN, NAME_RULE } from './vocabulary.js';

export type PipelineParamShape = Record<string, z.ZodType>;
export type PipelineParams<P extends PipelineParamShape> = { [K in keyof P]: Ref<z.output<P[K]>> };
type PipelineOutputs = Record<string, Ref> | undefined;

export interface PipelineOptions<P extends PipelineParamShape> {
  name: string;
  description?: string;
  params?: P;
}

export interface PipelineGraph {
  name: string;
  description: string | undefined;
  params: PipelineParamShape;
  tasks: TaskNode[];
  loops: LoopNode[];
  outputs: Record<string, Ref>;
}

export interface NestedPipelineHandle {
  outputs: Record<string, Ref>;
}

export interface Pipeline<P extends PipelineParamShape = PipelineParamShape> {
  readonly __lathePipeline: true;
  readonly name: string;
  readonly description: string | undefined;
  readonly params: P;
  /** Records the pipeline's graph. Throws on misuse of the DSL (e.g. onExit inside a loop). */
  build(): PipelineGraph;
  /** Used inside another pipeline's body: inlines this pipeline's tasks as a sub-graph. */
  (args?: { [K in keyof P]?: z.input<P[K]> | Ref<unknown> }): NestedPipelineHandle;
}

export function pipeline<P extends PipelineParamShape = {}>(
  options: PipelineOptions<P>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a body that wires tasks returns nothing
  body: (context: { params: PipelineParams<P> }) => PipelineOutputs | void,
): Pipeline<P> {
  const params = (options.params ?? {}) as P;
  if (typeof options.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    throw new TypeError(`pipeline name '${options.name}' ${NAME_RULE}`);
  }
  for (const key of Object.keys(params)) {
    if (!FIELD_NAME_PATTERN.test(key)) {
      throw new TypeError(`pipeline '${options.name}': param name '${key}' ${FIELD_NAME_RULE}`);
    }
  }
  const nest = (args: Record<string, unknown> = {}): NestedPipelineHandle => {
    if (!hasBuilder())
      throw new Error(`pipeline '${options.name}' can only be called inside another pipeline body`);
    for (const key of Object.keys(args)) {
      if (!(key in params)) throw new TypeError(`pipeline '${options.name}' has no param '${key}'`);
    }
    const refs: Record<string, Ref> = {};
    for (const [key, schema] of Object.entries(params)) {
      const given = args[key];
      if (given !== undefined) refs[key] = isRef(given) ? given : literal(given);
      else {
        // No value passed: the nested pipeline's default applies, validated like any literal.
        const parsed = schema.safeParse(undefined);
        if (!parsed.success) {
          throw new TypeError(`pipeline '${options.name}': param '${key}' is required when it is nested`);
        }
        refs[key] = literal(parsed.data);
      }
    }
    const builder = currentBuilder(`pipeline '${options.name}'`);
    const outputs = builder.within({ prefix: `${options.name}.` }, () =>
      body({ params: refs as PipelineParams<P> }),
    );
    return { outputs: { ...(outputs ?? {}) } };
  };
  const build = (): PipelineGraph => {
    const builder = new GraphBuilder();
    const refs: Record<string, Ref> = {};
    for (const key of Object.keys(params)) refs[key] = new Ref({ kind: 'param', name: key });
    const outputs = withBuilder(builder, () => body({ params: refs as PipelineParams<P> }));
    return {
      name: options.name,
      description: options.description,
      params,
      tasks: builder.tasks,
      loops: builder.loops,
      outputs: { ...(outputs ?? {}) },
    };
  };
  Object.defineProperties(nest, {
    __lathePipeline: { value: true },
    name: { value: options.name },
    description: { value: options.description },
    params: { value: params },
    build: { value: build },
  });
  return nest as unknown as Pipeline<P>;
}

export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === 'function' && (value as { __lathePipeline?: unknown }).__lathePipeline === true;
}

export interface WhenChain {
  /** Runs when the earlier conditions were false and this one is true. */
  elif(condition: Condition | Ref<boolean>, body: () => void): WhenChain;
  /** Runs when every earlier condition was false. */
  otherwise(body: () => void): void;
}

/** Tasks created in `body` run only when `condition` holds when they become ready. */
export function when(condition: Condition | Ref<boolean>, body: () => void): WhenChain {
  const builder = currentBuilder('when()');
  const taken: Condition[] = [];
  // An elif guard is and(not(earlier)..., this): the negations come first, so evaluation stops
  // at the branch that was taken and never evaluates a later clause.
  const guardOf = (clause: Condition | undefined): Condition => {
    const args = [...taken.map((c) => not(c)), ...(clause ? [clause] : [])];
    return args.length === 1 ? args[0]! : new Condition({ op: 'and', args });
  };
  const branch = (clause: Condition, run: () => void) => {
    builder.within({ condition: guardOf(clause) }, run);
    taken.push(clause);
  };
  branch(toCondition(condition), body);
  const chain: WhenChain = {
    elif(next, nextBody) {
      branch(toCondition(next), nextBody);
      return chain;
    },
    otherwise(lastBody) {
      builder.within({ condition: guardOf(undefined) }, lastBody);
    },
  };
  return chain;
}

export interface ParallelForOptions {
  /** At most this many of the loop's tasks run at once. */
  parallelism?: number;
}

export interface LoopHandle<O extends Record<string, Ref> = Record<string, Ref>> {
  /** Outputs of the body's returned task, one value per item: pass them through `collect()`. */
  outputs: O;
}

/**
 * Fan-out: runs `body` once per item. `items` is a literal list, a pipeline param, or an upstream
 * output holding a list. Returns the body's outputs for fan-in with `collect()`.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a body may return nothing when no fan-in is needed
export function parallelFor<T, R extends TaskHandle<any> | Record<string, Ref> | void>(
  items: readonly T[] | Ref<T[]> | Ref<unknown>,
  body: (item: Ref<T>) => R,
  options: ParallelForOptions = {},
): LoopHandle<R extends TaskHandle<infer O> ? TaskOutputs<O> : R extends Record<string, Ref> ? R : {}> {
  const builder = currentBuilder('parallelFor()');
  if (!isRef(items) && !Array.isArray(items)) {
    throw new TypeError('parallelFor() items must be an array, a pipeline param or an upstream output');
  }
  if (
    options.parallelism !== undefined &&
    (!Number.isInteger(options.parallelism) || options.parallelism < 1)
  ) {
    throw new RangeError(`parallelFor() parallelism: ${options.parallelism} must be an integer >= 1`);
  }
  const loop = builder.addLoop(items, options.parallelism);
  const result = builder.within({ loop }, () => body(new Ref<T>({ kind: 'item', loop, path: [] })));
  const outputs = result instanceof TaskHandle ? result.outputs : (result ?? {});
  return { outputs } as never;
}

/**
 * Marks a task as the pipeline's exit handler: it runs after every other task has finished,
 * whether the run succeeded or failed; `'{{run.status}}'` in its params gives the outcome.
 */
export function onExit<T extends TaskHandle<any>>(task: T): T {
  currentBuilder('onExit()');
  if (task.node.loop || task.node.conditions.length > 0) {
    throw new Error(
      'onExit() must be called at the top level of a pipeline body, not inside when() or parallelFor()',
    );
  }
  task.node.exitHandler = true;
  // Exit handlers report on this run (notify, clean up): replaying a cached result would skip that.
  if (task.node.settings.cache === undefined && task.node.component.defaults.cache === undefined) {
    task.node.settings.cache = false;
  }
  return task;
}

export type { AnyComponent };
