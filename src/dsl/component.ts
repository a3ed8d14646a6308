/**
 * Components: typed units of work. A TypeScript component is a function; a command component
 * is an argv template run as a child process (any language; Python is the reference case).
 * Calling a component inside a pipeline body adds a task and returns its handle.
 */
import type { z } from 'zod';
import type { ModelRegistry } from '../store/registry.js';
import type { ArtifactListType, ArtifactType, InputArtifact, OutputArtifact } from './artifacts.js';
import { isArtifactType } from './artifacts.js';
import { checkMemoryQuantity, parseDuration } from './duration.js';
import { currentBuilder, type RetryOptions, type TaskNode } from './graph.js';
import { type Collected, Ref } from './refs.js';
import { registerComponent } from './registry.js';
import {
  type ArtifactTypeName,
  FIELD_NAME_PATTERN,
  FIELD_NAME_RULE,
  NAME_PATTERN,
  NAME_RULE,
} from './vocabulary.js';

export type ParamShape = Record<string, z.ZodType>;
export type InputShape = Record<string, ArtifactType | ArtifactListType>;
export type OutputShape = Record<string, ArtifactType | z.ZodType>;

type ArtifactKeys<O> = { [K in keyof O]: O[K] extends ArtifactType ? K : never }[keyof O];
type ScalarKeys<O> = Exclude<keyof O, ArtifactKeys<O>>;

export type RunParams<P extends ParamShape> = { [K in keyof P]: z.output<P[K]> };
export type RunInputs<I extends InputShape> = {
  [K in keyof I]: I[K] extends ArtifactListType
    ? InputArtifact[]
    : I[K] extends { isOptional: true }
      ? InputArtifact | undefined
      : InputArtifact;
};
export type RunOutputs<O extends OutputShape> = { [K in ArtifactKeys<O>]: OutputArtifact };
export type RunResult<O extends OutputShape> = [ScalarKeys<O>] extends [never]
  ? // biome-ignore lint/suspicious/noConfusingVoidType: a component without scalar outputs returns nothing
    void | undefined | Record<string, never>
  : { [K in ScalarKeys<O>]: O[K] extends z.ZodType ? z.input<O[K]> : never };

export interface TaskLogger {
  (...values: unknown[]): void;
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  /**
   * Records a metric point for the run's tracking (append-only): `step` (default 0) orders a
   * series such as a loss curve; `timestamp` defaults to now (ms since the epoch).
   */
  metric(name: string, value: number, options?: { step?: number; timestamp?: number }): void;
  /** Records a param of the run. Params are immutable: another value for the same name throws. */
  param(name: string, value: unknown): void;
  /** Sets a tag of the run (tags can change). */
  tag(name: string, value: string): void;
}

export interface RunContext<P extends ParamShape, I extends InputShape, O extends OutputShape> {
  /**
   * The workspace's model registry (register versions, move aliases). Its calls are side effects:
   * give a component that uses it `cache: false`.
   */
  registry: ModelRegistry;
  params: RunParams<P>;
  inputs: RunInputs<I>;
  outputs: RunOutputs<O>;
  /** Lines go to the terminal (prefixed with the task name) and to the run's stored logs. */
  log: TaskLogger;
  /** Aborted when the task times out or the run is canceled. Pass it to fetch, streams, loops. */
  signal: AbortSignal;
  run: { id: string; pipeline: string };
  task: { name: string; attempt: number };
  /** A scratch directory for this attempt, removed afterwards. */
  workDir: string;
}

/**
 * What a param accepts: a value, a ref to a value of the same type (a param, an upstream output,
 * a loop item), or, for a list param, the collected outputs of a loop. A string may also be a
 * `{{...}}` template. Type errors here are caught by tsc before anything runs.
 */
export type Valueish<T> =
  | T
  | Ref<NonNullable<T>>
  | (NonNullable<T> extends readonly (infer E)[] ? Collected<E> : never);
/**
 * The build-time value of an artifact output: only its type matters, so that tsc rejects a
 * Dataset wired into a Model input (the compiler checks it again at run time).
 */
export interface ArtifactValue<T extends ArtifactTypeName = ArtifactTypeName> {
  readonly __artifact: T;
}

/** An input of type `T` takes an output of type `T`; an `Artifact` input takes any. */
type Accepted<T extends ArtifactTypeName> = ArtifactValue<T extends 'Artifact' ? ArtifactTypeName : T>;

type InputArg<I> =
  I extends ArtifactListType<infer T>
    ? Collected<Accepted<T>>
    : I extends ArtifactType<infer T>
      ? Ref<Accepted<T>>
      : never;

export type CallArgs<P extends ParamShape, I extends InputShape> = {
  [K in keyof P]?: Valueish<z.input<P[K]>>;
} & { [K in RequiredInputKeys<I>]: InputArg<I[K]> } & {
  [K in OptionalInputKeys<I>]?: InputArg<I[K]> | undefined;
};

type OptionalInputKeys<I> = { [K in keyof I]: I[K] extends { isOptional: true } ? K : never }[keyof I];
type RequiredInputKeys<I> = Exclude<keyof I, OptionalInputKeys<I>>;

export type TaskOutputs<O extends OutputShape> = {
  [K in keyof O]: O[K] extends z.ZodType
    ? Ref<z.output<O[K]>>
    : O[K] extends ArtifactType<infer T>
      ? Ref<ArtifactValue<T>>
      : never;
};

export interface ComponentDefaults {
  retry?: RetryOptions;
  timeout?: string | number;
  cache?: boolean;
  resources?: { cpu?: number; memory?: string; gpu?: number };
}

interface ComponentBase<P extends ParamShape, I extends InputShape, O extends OutputShape>
  extends ComponentDefaults {
  name: string;
  description?: string;
  params?: P;
  inputs?: I;
  outputs?: O;
  /**
   * Local files, relative to the pipeline's directory, whose contents are part of the
   * component's digest, so editing one re-runs it: a config the code reads, or the modules a
   * script imports. For a command, argv entries that name files there (like `train.py`) are
   * included without being listed.
   */
  files?: string[];
}

export interface TsComponentOptions<P extends ParamShape, I extends InputShape, O extends OutputShape>
  extends ComponentBase<P, I, O> {
  run(context: RunContext<P, I, O>): Promise<RunResult<O>> | RunResult<O>;
  /** 'process' runs each attempt in a child process: isolation from crashes and leaks. */
  isolation?: 'inline' | 'process';
}

export interface CommandComponentOptions<P extends ParamShape, I extends InputShape, O extends OutputShape>
  extends ComponentBase<P, I, O> {
  /**
   * argv; placeholders: `{{params.NAME}}`, `{{inputs.NAME}}` (a path), `{{outputs.NAME}}` (a path
   * to write: the artifact, or for a scalar output a file holding its JSON value),
   * `{{workDir}}`, `{{run.id}}`, `{{task.name}}`.
   */
  command: string[];
  env?: Record<string, string>;
}

export interface ComponentDefinition {
  readonly __latheComponent: true;
  readonly name: string;
  readonly kind: 'ts' | 'command';
  readonly description: string | undefined;
  readonly params: ParamShape;
  readonly inputs: InputShape;
  readonly outputs: OutputShape;
  readonly run: ((context: RunContext<any, any, any>) => unknown) | undefined;
  readonly command: string[] | undefined;
  readonly env: Record<string, string> | undefined;
  readonly files: string[] | undefined;
  readonly isolation: 'inline' | 'process';
  readonly defaults: ComponentDefaults;
}

export interface Component<P extends ParamShape, I extends InputShape, O extends OutputShape>
  extends ComponentDefinition {
  (args: CallArgs<P, I>): TaskHandle<O>;
}

/** The erased form every component is assignable to. */
export type AnyComponent = Component<any, any, any>;

/** What a component call returns inside a pipeline body: outputs to wire, settings to chain. */
export class TaskHandle<O extends OutputShape = OutputShape> {
  readonly outputs: TaskOutputs<O>;
  constructor(readonly node: TaskNode) {
    const outputs: Record<string, Ref> = {};
    for (const [name, type] of Object.entries(node.component.outputs)) {
      outputs[name] = new Ref({
        kind: node.loop ? 'loopOutput' : 'output',
        task: node,
        output: name,
        artifact: isArtifactType(type) ? type.type : undefined,
      } as never);
    }
    // Refs to loop-body outputs are resolved per iteration when used inside the same loop.
    this.outputs = outputs as TaskOutputs<O>;
  }

  /** Runs this task only after the given tasks, in addition to data dependencies. */
  after(...tasks: TaskHandle<any>[]): this {
    this.node.after.push(...tasks.map((t) => t.node));
    return this;
  }
  /** Sets the task's name in the spec (defaults to the component name, de-duplicated). */
  named(name: string): this {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new TypeError(`task name '${name}' ${NAME_RULE}`);
    }
    this.node.explicitName = name;
    return this;
  }
  retry(options: RetryOptions | number): this {
    this.node.settings.retry = compileRetry(typeof options === 'number' ? { attempts: options } : options);
    return this;
  }
  timeout(duration: string | number): this {
    this.node.settings.timeoutMs = parseTimeout(duration);
    return this;
  }
  cache(enabled: boolean): this {
    this.node.settings.cache = enabled;
    return this;
  }
  resources(resources: { cpu?: number; memory?: string; gpu?: number }): this {
    if (resources.memory !== undefined) checkMemoryQuantity(resources.memory);
    if (resources.cpu !== undefined && !(resources.cpu > 0)) {
      throw new RangeError(`resources.cpu: ${resources.cpu} must be > 0`);
    }
    if (resources.gpu !== undefined && !(Number.isInteger(resources.gpu) && resources.gpu >= 0)) {
      throw new RangeError(`resources.gpu: ${resources.gpu} must be an integer >= 0`);
    }
    this.node.settings.resources = { ...resources };
    return this;
  }
}

/** A timeout: a whole number of milliseconds, at least 1. */
export function parseTimeout(duration: string | number): number {
  const ms = parseDuration(duration, 'timeout');
  if (!Number.isInteger(ms) || ms < 1) {
    throw new RangeError(`timeout: '${duration}' must be a whole number of milliseconds, at least 1`);
  }
  return ms;
}

export function compileRetry(options: RetryOptions): {
  attempts: number;
  backoffMs: number;
  factor: number;
  maxBackoffMs: number;
} {
  if (!Number.isInteger(options.attempts) || options.attempts < 1) {
    throw new RangeError(`retry.attempts: ${options.attempts} must be an integer >= 1`);
  }
  const factor = options.factor ?? 2;
  if (!(factor >= 1)) throw new RangeError(`retry.factor: ${factor} must be >= 1`);
  return {
    attempts: options.attempts,
    backoffMs: parseDuration(options.backoff ?? '1s', 'retry.backoff'),
    factor,
    maxBackoffMs: parseDuration(options.maxBackoff ?? '1h', 'retry.maxBackoff'),
  };
}

function define<P extends ParamShape, I extends InputShape, O extends OutputShape>(
  kind: 'ts' | 'command',
  options: ComponentBase<P, I, O> & {
    run?: TsComponentOptions<P, I, O>['run'];
    command?: string[];
    env?: Record<string, string>;
    files?: string[];
    isolation?: 'inline' | 'process';
  },
): Component<P, I, O> {
  if (typeof options.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    throw new TypeError(`component name '${options.name}' ${NAME_RULE}`);
  }
  const params = options.params ?? ({} as P);
  const inputs = options.inputs ?? ({} as I);
  const outputs = options.outputs ?? ({} as O);
  for (const [kind, shape] of [
    ['param', options.params],
    ['input', options.inputs],
    ['output', options.outputs],
  ] as const) {
    for (const key of Object.keys(shape ?? {})) {
      if (!FIELD_NAME_PATTERN.test(key)) {
        throw new TypeError(`component '${options.name}': ${kind} name '${key}' ${FIELD_NAME_RULE}`);
      }
    }
  }
  for (const key of Object.keys(params)) {
    if (key in inputs)
      throw new TypeError(`component '${options.name}': '${key}' is both a param and an input`);
  }
  for (const [key, type] of Object.entries(outputs)) {
    if (isArtifactType(type) && type.isList) {
      throw new TypeError(
        `component '${options.name}': output '${key}' cannot be a list; use one output per artifact`,
      );
    }
  }
  if (kind === 'ts' && typeof options.run !== 'function') {
    throw new TypeError(`component '${options.name}': run must be a function`);
  }
  if (kind === 'command' && (!Array.isArray(options.command) || options.command.length === 0)) {
    throw new TypeError(`component '${options.name}': command must be a non-empty argv array`);
  }
  if (options.timeout !== undefined) parseTimeout(options.timeout);
  if (options.retry) compileRetry(options.retry);

  const call = (args: CallArgs<P, I>): TaskHandle<O> => {
    const builder = currentBuilder(`component '${options.name}'`);
    const node = builder.addTask(call as unknown as AnyComponent, { ...(args ?? {}) });
    return new TaskHandle<O>(node);
  };
  const definition: ComponentDefinition = {
    __latheComponent: true,
    name: options.name,
    kind,
    description: options.description,
    params,
    inputs,
    outputs,
    run: options.run as ComponentDefinition['run'],
    command: options.command ? [...options.command] : undefined,
    env: options.env ? { ...options.env } : undefined,
    files: options.files ? [...options.files] : undefined,
    isolation: options.isolation ?? 'inline',
    defaults: {
      retry: options.retry,
      timeout: options.timeout,
      cache: options.cache,
      resources: options.resources,
    },
  };
  // `name` on a function is read-only; define every field explicitly.
  for (const [key, value] of Object.entries(definition)) {
    Object.defineProperty(call, key, { value, enumerable: true });
  }
  const component = call as unknown as Component<P, I, O>;
  registerComponent(component);
  return component;
}

/** A TypeScript component: `run` receives typed params, inputs and outputs. */
export function component<P extends ParamShape = {}, I extends InputShape = {}, O extends OutputShape = {}>(
  options: TsComponentOptions<P, I, O>,
): Component<P, I, O> {
  return define('ts', options);
}

/** A component that runs a command: inputs and outputs are paths, params are values. */
component.command = function commandComponent<
  P extends ParamShape = {},
  I extends InputShape = {},
  O extends OutputShape = {},
>(options: CommandComponentOptions<P, I, O>): Component<P, I, O> {
  return define('command', options);
};

export function isComponent(value: unknown): value is AnyComponent {
  return typeof value === 'function' && (value as { __latheComponent?: unknown }).__latheComponent === true;
}
