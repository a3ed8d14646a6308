/**
 * Semantic checks on a PipelineSpec, shared by compile (DSL -> spec) and load (YAML -> spec), so a
 * hand-edited spec gets the same errors as the DSL: unknown or missing inputs, type mismatches,
 * unknown params, references that cross loop scopes, and cycles. Errors name the task and field.
 */
import { PipelineCompileError } from '../errors.js';
import type { ComponentSpec, Condition, LoopSpec, PipelineSpec, TaskSpec, ValueRef } from './schema.js';

const TEMPLATE_ROOTS = /^(run\.(id|status|pipeline)|params\.[A-Za-z_][\w-]*)$/;

/** A `{{placeholder}}` in a template or a command argument; group 1 is its name. */
export const PLACEHOLDER_PATTERN = /\{\{\s*([^}]+?)\s*\}\}/g;

/** The placeholders in a `{{...}}` template string. */
export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[1]!);
}

/** Calls `visit` for every value a condition refers to. */
export function forEachConditionRef(condition: Condition, visit: (ref: ValueRef) => void): void {
  switch (condition.op) {
    case 'and':
    case 'or':
      for (const c of condition.args) forEachConditionRef(c, visit);
      return;
    case 'not':
      forEachConditionRef(condition.arg, visit);
      return;
    case 'truthy':
      visit(condition.value);
      return;
    default:
      visit(condition.left);
      visit(condition.right);
  }
}

/** Loop chain of a task or loop, outermost first. */
export function loopChain(loops: Map<string, LoopSpec>, innermost: string | undefined): string[] {
  const chain: string[] = [];
  for (let name = innermost; name; name = loops.get(name)?.loop) {
    if (chain.includes(name)) throw new PipelineCompileError('LOOP_CYCLE', `loop '${name}' encloses itself`);
    chain.unshift(name);
  }
  return chain;
}

function isPrefix(prefix: string[], of: string[]): boolean {
  return prefix.length <= of.length && prefix.every((name, i) => of[i] === name);
}

export function validateSpec(spec: PipelineSpec): void {
  const tasks = new Map<string, TaskSpec>();
  for (const task of spec.tasks) {
    if (tasks.has(task.name)) {
      throw new PipelineCompileError('DUPLICATE_TASK', 'two tasks have this name', {
        task: task.name,
        field: 'name',
      });
    }
    tasks.set(task.name, task);
  }
  const loops = new Map<string, LoopSpec>();
  for (const loop of spec.loops) {
    if (loops.has(loop.name) || tasks.has(loop.name)) {
      throw new PipelineCompileError('DUPLICATE_LOOP', `loop name '${loop.name}' is used twice`);
    }
    loops.set(loop.name, loop);
  }
  for (const loop of spec.loops) {
    if (loop.loop && !loops.has(loop.loop)) {
      throw new PipelineCompileError('UNKNOWN_LOOP', `loop '${loop.loop}' is not defined`, {
        field: `loops.${loop.name}.loop`,
      });
    }
  }

  const chainOf = (loop: string | undefined) => loopChain(loops, loop);

  /** Checks one value reference used by `user` (a task or a loop) at `field`. */
  const checkRef = (
    ref: ValueRef,
    where: { task?: string; field: string },
    scope: string[],
    expect: 'scalar' | 'any',
  ): { artifact?: string; list?: boolean } => {
    switch (ref.kind) {
      case 'literal':
        return {};
      case 'param':
        if (!(ref.name in spec.params)) {
          throw new PipelineCompileError('UNKNOWN_PARAM', `pipeline has no param '${ref.name}'`, where);
        }
        return {};
      case 'template':
        for (const placeholder of templatePlaceholders(ref.template)) {
          if (!TEMPLATE_ROOTS.test(placeholder)) {
            throw new PipelineCompileError(
              'UNKNOWN_PLACEHOLDER',
              `unknown placeholder '{{${placeholder}}}' (use run.id, run.status, run.pipeline or params.NAME)`,
              where,
            );
          }
          const param = placeholder.startsWith('params.') ? placeholder.slice(7) : undefined;
          if (param && !(param in spec.params)) {
            throw new PipelineCompileError('UNKNOWN_PARAM', `pipeline has no param '${param}'`, where);
          }
        }
        return {};
      case 'item': {
        if (!loops.has(ref.loop)) {
          throw new PipelineCompileError('UNKNOWN_LOOP', `loop '${ref.loop}' is not defined`, where);
        }
        if (!scope.includes(ref.loop)) {
          throw new PipelineCompileError(
            'ITEM_OUT_OF_SCOPE',
            `the item of loop '${ref.loop}' is only available inside that loop`,
            where,
          );
        }
        return {};
      }
      case 'output':
      case 'collect': {
        const producer = tasks.get(ref.task);
        if (!producer) {
          throw new PipelineCompileError('UNKNOWN_TASK', `refers to unknown task '${ref.task}'`, where);
        }
        if (producer.exitHandler) {
          throw new PipelineCompileError(
            'EXIT_HANDLER_OUTPUT',
            `exit handler '${ref.task}' runs last; its outputs cannot be used`,
            where,
          );
        }
        const component = spec.components[producer.component];
        const output = component?.outputs[ref.output];
        if (!output) {
          throw new PipelineCompileError(
            'UNKNOWN_OUTPUT',
            `task '${ref.task}' has no output '${ref.output}'`,
            where,
          );
        }
        const producerChain = chainOf(producer.loop);
        if (ref.kind === 'output' && !isPrefix(producerChain, scope)) {
          throw new PipelineCompileError(
            'OUTPUT_OUT_OF_SCOPE',
            `task '${ref.task}' runs once per item of loop '${producerChain.at(-1)}'; use collect() to gather its '${ref.output}' outputs`,
            where,
          );
        }
        if (ref.kind === 'collect') {
          const loop = producerChain.at(-1);
          if (!loop || !isPrefix(producerChain.slice(0, -1), scope) || scope.includes(loop)) {
            throw new PipelineCompileError(
              'COLLECT_OUT_OF_SCOPE',
              `collect() of '${ref.task}.${ref.output}' must be used just outside the loop that runs '${ref.task}'`,
              where,
            );
          }
        }
        const artifact = 'artifact' in output ? output.artifact : undefined;
        if (expect === 'scalar' && artifact) {
          throw new PipelineCompileError(
            'TYPE_MISMATCH',
            `'${ref.task}.${ref.output}' is a ${artifact} artifact, not a value`,
            where,
          );
        }
        return artifact ? { artifact, list: ref.kind === 'collect' } : { list: ref.kind === 'collect' };
      }
    }
  };

  const checkCondition = (condition: Condition, where: { task?: string; field: string }, scope: string[]) =>
    forEachConditionRef(condition, (ref) => checkRef(ref, where, scope, 'scalar'));

  for (const loop of spec.loops) {
    const scope = chainOf(loop.loop);
    const where = { field: `loops.${loop.name}.items` };
    if (loop.items.kind === 'literal' && !Array.isArray(loop.items.value)) {
      throw new PipelineCompileError('LOOP_ITEMS', 'loop items must be a list', where);
    }
    checkRef(loop.items, where, scope, 'scalar');
    if (loop.when) checkCondition(loop.when, { field: `loops.${loop.name}.when` }, scope);
  }

  for (const component of Object.values(spec.components)) checkCommandPlaceholders(component);

  for (const task of spec.tasks) {
    const component: ComponentSpec | undefined = spec.components[task.component];
    if (!component) {
      throw new PipelineCompileError('UNKNOWN_COMPONENT', `component '${task.component}' is not defined`, {
        task: task.name,
        field: 'component',
      });
    }
    if (task.loop && !loops.has(task.loop)) {
      throw new PipelineCompileError('UNKNOWN_LOOP', `loop '${task.loop}' is not defined`, {
        task: task.name,
        field: 'loop',
      });
    }
    if (task.exitHandler && task.loop) {
      throw new PipelineCompileError('EXIT_HANDLER_IN_LOOP', 'an exit handler cannot be inside a loop', {
        task: task.name,
      });
    }
    const scope = chainOf(task.loop);
    for (const [name, ref] of Object.entries(task.args)) {
      const field = `params.${name}`;
      if (!(name in component.params)) {
        const hint = name in component.inputs ? ` ('${name}' is an artifact input)` : '';
        throw new PipelineCompileError(
          'UNKNOWN_PARAM',
          `component '${component.name}' has no param '${name}'${hint}`,
          { task: task.name, field },
        );
      }
      checkRef(ref, { task: task.name, field }, scope, 'scalar');
    }
    for (const [name, param] of Object.entries(component.params)) {
      if (!(name in task.args) && param.default === undefined && !param.optional) {
        throw new PipelineCompileError('MISSING_PARAM', `required param '${name}' has no value`, {
          task: task.name,
          field: `params.${name}`,
        });
      }
    }
    for (const [name, ref] of Object.entries(task.inputs)) {
      const field = `inputs.${name}`;
      const input = component.inputs[name];
      if (!input) {
        throw new PipelineCompileError(
          'UNKNOWN_INPUT',
          `component '${component.name}' has no input '${name}'`,
          {
            task: task.name,
            field,
          },
        );
      }
      const found = checkRef(ref, { task: task.name, field }, scope, 'any');
      if (!found.artifact) {
        throw new PipelineCompileError(
          'TYPE_MISMATCH',
          `input '${name}' expects a ${input.type} artifact${input.list ? ' list' : ''}, but gets a value`,
          { task: task.name, field },
        );
      }
      if (input.type !== 'Artifact' && found.artifact !== input.type) {
        throw new PipelineCompileError(
          'TYPE_MISMATCH',
          `input '${name}' expects a ${input.type} artifact, but gets a ${found.artifact}`,
          { task: task.name, field },
        );
      }
      if (Boolean(found.list) !== input.list) {
        throw new PipelineCompileError(
          'TYPE_MISMATCH',
          input.list
            ? `input '${name}' expects a list of ${input.type} artifacts: pass collect(...)`
            : `input '${name}' expects one ${input.type} artifact, but gets a collected list (declare it as ${input.type}.list())`,
          { task: task.name, field },
        );
      }
    }
    for (const [name, input] of Object.entries(component.inputs)) {
      if (!(name in task.inputs) && !input.optional) {
        throw new PipelineCompileError('MISSING_INPUT', `required input '${name}' is not connected`, {
          task: task.name,
          field: `inputs.${name}`,
        });
      }
    }
    for (const dep of task.after) {
      const upstream = tasks.get(dep);
      if (!upstream) {
        throw new PipelineCompileError('UNKNOWN_TASK', `after: unknown task '${dep}'`, {
          task: task.name,
          field: 'after',
        });
      }
      if (upstream.exitHandler) {
        throw new PipelineCompileError(
          'EXIT_HANDLER_OUTPUT',
          `after: '${dep}' is an exit handler, which runs last`,
          {
            task: task.name,
            field: 'after',
          },
        );
      }
    }
    if (task.when) checkCondition(task.when, { task: task.name, field: 'when' }, scope);
  }

  findCycle(spec, tasks);
}

const COMMAND_ROOTS = new Set(['workDir', 'run.id', 'run.pipeline', 'task.name', 'task.attempt']);

/** A command's placeholders must name the component's own params, inputs and outputs. */
function checkCommandPlaceholders(component: ComponentSpec): void {
  (component.command ?? []).forEach((arg, index) => {
    for (const placeholder of templatePlaceholders(arg)) {
      const [root, ...rest] = placeholder.split('.');
      const name = rest.join('.');
      const known =
        COMMAND_ROOTS.has(placeholder) ||
        (root === 'params' && name in component.params) ||
        (root === 'inputs' && name in component.inputs) ||
        (root === 'outputs' && name in component.outputs);
      if (!known) {
        throw new PipelineCompileError(
          'UNKNOWN_PLACEHOLDER',
          `component '${component.name}': {{${placeholder}}} names no param, input or output of the component (use params.NAME, inputs.NAME, outputs.NAME, workDir, run.id, run.pipeline, task.name or task.attempt)`,
          { field: `components.${component.name}.command.${index}` },
        );
      }
    }
  });
}

/** Every task a task waits for, by name (data refs, collects, after, conditions, loop items). */
export function taskDependencies(
  spec: PipelineSpec,
  task: TaskSpec,
  loops: Map<string, LoopSpec> = new Map(spec.loops.map((l) => [l.name, l])),
): Set<string> {
  const deps = new Set<string>(task.after);
  const addRef = (ref: ValueRef) => {
    if (ref.kind === 'output' || ref.kind === 'collect') deps.add(ref.task);
  };
  const addCondition = (c: Condition) => forEachConditionRef(c, addRef);
  Object.values(task.args).forEach(addRef);
  Object.values(task.inputs).forEach(addRef);
  if (task.when) addCondition(task.when);
  for (let name = task.loop; name; name = loops.get(name)?.loop) {
    const loop = loops.get(name);
    if (!loop) break;
    addRef(loop.items);
    if (loop.when) addCondition(loop.when);
  }
  return deps;
}

/** Where `task` refers to `dependency`: `after`, `params.X`, `inputs.X`, `when`, or `loop`. */
function dependencyField(task: TaskSpec, dependency: string): string {
  if (task.after.includes(dependency)) return 'after';
  const refers = (ref: ValueRef) =>
    (ref.kind === 'output' || ref.kind === 'collect') && ref.task === dependency;
  for (const [name, ref] of Object.entries(task.args)) if (refers(ref)) return `params.${name}`;
  for (const [name, ref] of Object.entries(task.inputs)) if (refers(ref)) return `inputs.${name}`;
  return task.when ? 'when' : 'loop';
}

function findCycle(spec: PipelineSpec, tasks: Map<string, TaskSpec>): void {
  const loops = new Map(spec.loops.map((l) => [l.name, l]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      // Name the task where the cycle starts and the field by which it depends on the next one.
      const start = tasks.get(name);
      throw new PipelineCompileError('CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, {
        task: name,
        field: start && cycle[1] ? dependencyField(start, cycle[1]) : undefined,
      });
    }
    state.set(name, 'visiting');
    path.push(name);
    const task = tasks.get(name);
    if (task) for (const dep of taskDependencies(spec, task, loops)) visit(dep);
    path.pop();
    state.set(name, 'done');
  };
  for (const name of tasks.keys()) visit(name);
}
