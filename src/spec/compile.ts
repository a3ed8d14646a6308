/**
 * DSL -> PipelineSpec. Small build steps per construct (params, components, tasks, loops,
 * values, conditions); the semantic checks shared with loaded specs live in validate.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isArtifactType } from '../dsl/artifacts.js';
import { type AnyComponent, compileRetry as compileRetryDefaults, parseTimeout } from '../dsl/component.js';
import { functionDigest } from '../dsl/function-digest.js';
import type { LoopNode, TaskNode } from '../dsl/graph.js';
import type { Pipeline } from '../dsl/pipeline.js';
import {
  type Condition as ConditionBuilder,
  isCollected,
  isCondition,
  isRef,
  type Ref,
} from '../dsl/refs.js';
import { PipelineCompileError } from '../errors.js';
import { digestOf } from './canonical.js';
import {
  type ComponentSpec,
  type Condition,
  DEFAULT_RETRY,
  type LoopSpec,
  type OutputSpec,
  type ParamSpec,
  PipelineSpec,
  SPEC_API_VERSION,
  type TaskSpec,
  type ValueRef,
} from './schema.js';
import { validateSpec } from './validate.js';

export interface CompileOptions {
  /** Path of the module that defines the pipeline, stored in the spec as `source`. */
  source?: string;
}

/** Compiles a pipeline definition to a validated PipelineSpec. */
export function compilePipeline(definition: Pipeline<any>, options: CompileOptions = {}): PipelineSpec {
  let graph: ReturnType<Pipeline<any>['build']>;
  try {
    graph = definition.build();
  } catch (error) {
    // A DSL misuse inside the body (a bad retry, duration, name...): say which pipeline.
    throw new PipelineCompileError(
      'PIPELINE_BODY',
      `pipeline '${definition.name}': ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  const params: Record<string, ParamSpec> = {};
  for (const [name, schema] of Object.entries(graph.params)) {
    params[name] = compileParam(schema, { field: `params.${name}` });
  }

  const components = compileComponents(graph.tasks, options.source ? dirname(options.source) : process.cwd());
  const taskNames = nameTasks(graph.tasks);
  const loopNames = new Map<LoopNode, string>();
  graph.loops.forEach((loop, i) => {
    loopNames.set(loop, `${loop.prefix}loop-${i + 1}`);
  });

  const ctx: ValueContext = { taskNames, loopNames };
  const loops: LoopSpec[] = graph.loops.map((loop) => {
    const name = loopNames.get(loop)!;
    const where = { field: `loops.${name}.items` };
    const spec: LoopSpec = {
      name,
      items: compileValue(loop.items, ctx, where),
      parallelism: loop.parallelism,
      loop: loop.parent ? loopNames.get(loop.parent) : undefined,
      when: compileConditions(loop.conditions, ctx, { field: `loops.${name}.when` }),
    };
    return spec;
  });

  const tasks: TaskSpec[] = graph.tasks.map((node) => compileTask(node, ctx, components));

  const spec: PipelineSpec = {
    apiVersion: SPEC_API_VERSION,
    kind: 'Pipeline',
    name: graph.name,
    description: graph.description,
    source: options.source,
    params,
    components: Object.fromEntries([...components.values()].map((c) => [c.spec.name, c.spec])),
    tasks,
    loops,
  };
  // Through the same schema a loaded spec goes through: what compile writes, load accepts.
  const parsed = PipelineSpec.safeParse(stripUndefined(spec));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PipelineCompileError('SPEC_INVALID', issue.message, { field: issue.path.join('.') });
  }
  validateSpec(parsed.data);
  return parsed.data;
}

interface ValueContext {
  taskNames: Map<TaskNode, string>;
  loopNames: Map<LoopNode, string>;
}

/** The stable digest of a spec: everything but its `source` location. */
export function specDigest(spec: PipelineSpec): string {
  const { source: _source, ...rest } = spec;
  return digestOf(rest);
}

export function compileParam(schema: z.ZodType, where: { task?: string; field: string }): ParamSpec {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch (error) {
    throw new PipelineCompileError(
      'PARAM_SCHEMA',
      `cannot express the schema as JSON Schema: ${error}`,
      where,
      {
        cause: error,
      },
    );
  }
  delete json.$schema;
  const probe = schema.safeParse(undefined);
  const optional = probe.success;
  let defaultValue: unknown;
  if ('default' in json) {
    defaultValue = json.default;
    // zod does not check defaults against the schema; a wrong default would fail every run.
    const inner = (schema as unknown as { unwrap?: () => z.ZodType }).unwrap?.();
    const check = (inner ?? schema).safeParse(defaultValue);
    if (!check.success) {
      throw new PipelineCompileError(
        'INVALID_DEFAULT',
        `default ${JSON.stringify(defaultValue)} is invalid: ${check.error.issues.map((i) => i.message).join('; ')}`,
        where,
      );
    }
  }
  return {
    schema: json,
    default: defaultValue,
    optional: optional && defaultValue === undefined,
    description: schema.description,
  };
}

interface CompiledComponent {
  definition: AnyComponent;
  spec: ComponentSpec;
}

/**
 * Specs of TS components without local files, by identity: their digest walks the code and its
 * captured values, which is worth doing once. Anything that hashes files is recomputed each time,
 * so an edited file is seen even by a long-lived process.
 */
const codeOnlySpecs = new WeakMap<AnyComponent, ComponentSpec>();

/**
 * The spec entry of one component, including the digest that keys the cache. `baseDir` is the
 * pipeline's directory (where commands run): local files are hashed from there.
 */
export function componentSpec(definition: AnyComponent, baseDir: string = process.cwd()): ComponentSpec {
  const codeOnly = definition.kind === 'ts' && !definition.files;
  const cached = codeOnly ? codeOnlySpecs.get(definition) : undefined;
  if (cached) return cached;
  const where = (field: string) => ({ field: `components.${definition.name}.${field}` });
  const params: Record<string, ParamSpec> = {};
  for (const [name, schema] of Object.entries(definition.params)) {
    params[name] = compileParam(schema, where(`params.${name}`));
  }
  const inputs: ComponentSpec['inputs'] = {};
  for (const [name, type] of Object.entries(definition.inputs)) {
    if (!isArtifactType(type)) {
      throw new PipelineCompileError(
        'INPUT_TYPE',
        'inputs must be artifact types (Dataset, Model, ...)',
        where(name),
      );
    }
    inputs[name] = { type: type.type, list: type.isList, optional: type.isOptional };
  }
  const outputs: Record<string, OutputSpec> = {};
  for (const [name, type] of Object.entries(definition.outputs)) {
    outputs[name] = isArtifactType(type)
      ? { artifact: type.type }
      : { scalar: compileParam(type as z.ZodType, where(`outputs.${name}`)).schema };
  }
  const files = localFileHashes(
    definition.kind === 'command' ? (definition.command ?? []) : [],
    definition.files,
    baseDir,
  );
  const base = stripUndefined({
    name: definition.name,
    kind: definition.kind,
    description: definition.description,
    params,
    inputs,
    outputs,
    command: definition.command,
    env: definition.env,
    files,
    isolation: definition.isolation,
  });
  const code = definition.run ? functionDigest(definition.run) : undefined;
  const spec: ComponentSpec = { ...base, digest: componentDigest(base, code) };
  if (codeOnly) codeOnlySpecs.set(definition, spec);
  return spec;
}

/**
 * What a component computes: its interface, and its code (TS: the run function with the values
 * it captures) or its command, env and the contents of the local files it runs. Not its
 * description or where it runs.
 */
export function componentDigest(spec: Omit<ComponentSpec, 'digest'>, code: string | undefined): string {
  return digestOf({
    name: spec.name,
    kind: spec.kind,
    params: withoutDescriptions(spec.params),
    inputs: spec.inputs,
    outputs: withoutDescriptions(spec.outputs),
    command: spec.command,
    env: spec.env,
    files: spec.files,
    code,
  });
}

/**
 * Descriptions are documentation (`.describe()`, JSON Schema `description`): editing one must
 * not re-key anything. Only string values are dropped, so a property named `description` stays.
 */
function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, v]) => !(key === 'description' && typeof v === 'string'))
        .map(([key, v]) => [key, withoutDescriptions(v)]),
    );
  }
  return value;
}

/**
 * Content hashes of a component's local files: for a command, every argv entry that names a
 * file in the pipeline's directory (e.g. `train.py`); for any component, its declared `files`.
 * Editing one then changes the digest, and so the cache key, as editing TS code does.
 */
export function localFileHashes(
  command: readonly string[],
  declared: readonly string[] | undefined,
  baseDir: string,
  component?: string,
): Record<string, string> | undefined {
  const hashes: Record<string, string> = {};
  for (const arg of command) {
    if (arg.includes('{{') || arg.startsWith('-') || isAbsolute(arg)) continue;
    const path = resolve(baseDir, arg);
    if (isFile(path)) hashes[arg] = hashFile(path);
  }
  for (const file of declared ?? []) {
    const path = resolve(baseDir, file);
    if (!isFile(path)) {
      throw new PipelineCompileError(
        'FILE_NOT_FOUND',
        `declared file '${file}' does not exist in ${baseDir}`,
        {
          field: component ? `components.${component}.files` : 'files',
        },
      );
    }
    hashes[file] = hashFile(path);
  }
  return Object.keys(hashes).length > 0 ? hashes : undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function hashFile(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

function compileComponents(tasks: TaskNode[], baseDir: string): Map<string, CompiledComponent> {
  const components = new Map<string, CompiledComponent>();
  for (const task of tasks) {
    const existing = components.get(task.component.name);
    if (existing) {
      if (existing.definition !== task.component) {
        throw new PipelineCompileError(
          'DUPLICATE_COMPONENT',
          `two different components are named '${task.component.name}'; give each a unique name`,
          { field: 'components' },
        );
      }
      continue;
    }
    components.set(task.component.name, {
      definition: task.component,
      spec: componentSpec(task.component, baseDir),
    });
  }
  return components;
}

/** Explicit names are kept (duplicates are an error); default names get -2, -3... suffixes. */
function nameTasks(tasks: TaskNode[]): Map<TaskNode, string> {
  const names = new Map<TaskNode, string>();
  const taken = new Set<string>();
  for (const task of tasks) {
    if (task.explicitName === undefined) continue;
    const name = `${task.prefix}${task.explicitName}`;
    if (taken.has(name)) {
      throw new PipelineCompileError('DUPLICATE_TASK', 'two tasks have this name', {
        task: name,
        field: 'name',
      });
    }
    taken.add(name);
    names.set(task, name);
  }
  for (const task of tasks) {
    if (names.has(task)) continue;
    const base = `${task.prefix}${task.component.name}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    names.set(task, name);
  }
  return names;
}

function compileTask(
  node: TaskNode,
  ctx: ValueContext,
  components: Map<string, CompiledComponent>,
): TaskSpec {
  const name = ctx.taskNames.get(node)!;
  const definition = node.component;
  const component = components.get(definition.name)!.spec;
  const args: Record<string, ValueRef> = {};
  const inputs: Record<string, ValueRef> = {};
  for (const [key, value] of Object.entries(node.bindings)) {
    if (value === undefined) continue;
    const where = { task: name, field: key in definition.inputs ? `inputs.${key}` : `params.${key}` };
    if (key in definition.inputs) {
      inputs[key] = compileValue(value, ctx, where);
      continue;
    }
    if (!(key in definition.params)) {
      throw new PipelineCompileError(
        'UNKNOWN_PARAM',
        `component '${definition.name}' has no param or input '${key}'`,
        where,
      );
    }
    const ref = compileValue(value, ctx, where);
    if (ref.kind === 'literal') {
      const parsed = definition.params[key]!.safeParse(ref.value);
      if (!parsed.success) {
        throw new PipelineCompileError(
          'INVALID_PARAM',
          `${JSON.stringify(ref.value)} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
          where,
        );
      }
    }
    args[key] = ref;
  }
  const defaults = definition.defaults;
  const settings = node.settings;
  const retry = settings.retry ?? (defaults.retry ? compileRetryDefaults(defaults.retry) : undefined);
  const timeoutMs =
    settings.timeoutMs ?? (defaults.timeout !== undefined ? parseTimeout(defaults.timeout) : undefined);
  return stripUndefined({
    name,
    component: component.name,
    args,
    inputs,
    after: node.after.map((t) => {
      const dep = ctx.taskNames.get(t);
      if (!dep)
        throw new PipelineCompileError('UNKNOWN_TASK', 'after() names a task outside this pipeline', {
          task: name,
        });
      return dep;
    }),
    when: compileConditions(node.conditions, ctx, { task: name, field: 'when' }),
    loop: node.loop ? ctx.loopNames.get(node.loop) : undefined,
    retry: retry ?? { ...DEFAULT_RETRY },
    timeoutMs,
    cache: settings.cache ?? defaults.cache ?? true,
    resources: settings.resources ?? defaults.resources,
    exitHandler: node.exitHandler,
  });
}

function compileValue(value: unknown, ctx: ValueContext, where: { task?: string; field: string }): ValueRef {
  if (isCollected(value)) {
    return { kind: 'collect', task: taskName(value.task, ctx, where), output: value.output };
  }
  if (isCondition(value)) {
    throw new PipelineCompileError('CONDITION_AS_VALUE', 'a condition can only be used in when()', where);
  }
  if (isRef(value)) return compileRef(value, ctx, where);
  if (typeof value === 'string' && value.includes('{{')) return { kind: 'template', template: value };
  if (typeof value === 'function') {
    throw new PipelineCompileError('INVALID_VALUE', 'a function cannot be passed as a value', where);
  }
  if (containsRef(value)) {
    throw new PipelineCompileError(
      'NESTED_REF',
      'refs inside arrays or objects are not supported; pass each as its own param, or use collect()',
      where,
    );
  }
  return { kind: 'literal', value };
}

function containsRef(value: unknown): boolean {
  if (isRef(value) || isCollected(value)) return true;
  if (Array.isArray(value)) return value.some(containsRef);
  if (value && typeof value === 'object') return Object.values(value).some(containsRef);
  return false;
}

function taskName(node: TaskNode, ctx: ValueContext, where: { task?: string; field: string }): string {
  const name = ctx.taskNames.get(node);
  if (!name) {
    throw new PipelineCompileError(
      'UNKNOWN_TASK',
      'refers to a task that is not part of this pipeline',
      where,
    );
  }
  return name;
}

function compileRef(ref: Ref, ctx: ValueContext, where: { task?: string; field: string }): ValueRef {
  const target = ref.target;
  switch (target.kind) {
    case 'param':
      return { kind: 'param', name: target.name };
    case 'literal':
      return typeof target.value === 'string' && target.value.includes('{{')
        ? { kind: 'template', template: target.value }
        : { kind: 'literal', value: target.value };
    case 'output':
    case 'loopOutput':
      return { kind: 'output', task: taskName(target.task, ctx, where), output: target.output };
    case 'item': {
      const loop = ctx.loopNames.get(target.loop);
      if (!loop)
        throw new PipelineCompileError('UNKNOWN_LOOP', 'refers to a loop outside this pipeline', where);
      return target.path.length > 0 ? { kind: 'item', loop, path: target.path } : { kind: 'item', loop };
    }
  }
}

function compileConditions(
  conditions: readonly ConditionBuilder[],
  ctx: ValueContext,
  where: { task?: string; field: string },
): Condition | undefined {
  if (conditions.length === 0) return undefined;
  const compiled = conditions.map((c) => compileCondition(c, ctx, where));
  return compiled.length === 1 ? compiled[0] : { op: 'and', args: compiled };
}

function compileCondition(
  condition: ConditionBuilder,
  ctx: ValueContext,
  where: { task?: string; field: string },
): Condition {
  const node = condition.node;
  switch (node.op) {
    case 'and':
    case 'or':
      return { op: node.op, args: node.args.map((c) => compileCondition(c, ctx, where)) };
    case 'not':
      return { op: 'not', arg: compileCondition(node.arg, ctx, where) };
    case 'truthy':
      return { op: 'truthy', value: compileRef(node.value, ctx, where) };
    default:
      return {
        op: node.op,
        left: compileRef(node.left, ctx, where),
        right: compileRef(node.right, ctx, where),
      };
  }
}

/** Drops undefined members so specs serialize and digest the same in YAML and JSON. */
export function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefined) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = stripUndefined(v);
    return out as T;
  }
  return value;
}
