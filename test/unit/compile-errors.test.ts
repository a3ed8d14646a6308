import { describe, expect, it } from 'vitest';
import {
  collect,
  component,
  Dataset,
  Model,
  not,
  onExit,
  PipelineCompileError,
  parallelFor,
  pipeline,
  when,
  z,
} from '../../src/index.js';
import { compilePipeline } from '../../src/spec/compile.js';
import type { PipelineSpec, TaskSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';

// ---- components (names are unique to this file: the component registry is process-wide) ----

const makeData = component({
  name: 'ce-make-data',
  params: { rows: z.number().int().default(10) },
  outputs: { data: Dataset, count: z.number() },
  run: () => ({ count: 1 }),
});

const train = component({
  name: 'ce-train',
  inputs: { data: Dataset },
  params: { lr: z.number().positive(), epochs: z.number().int().default(5) },
  outputs: { model: Model, loss: z.number() },
  run: () => ({ loss: 0.1 }),
});

const evaluate = component({
  name: 'ce-evaluate',
  inputs: { model: Model },
  outputs: { accuracy: z.number() },
  run: () => ({ accuracy: 0.9 }),
});

const echo = component({
  name: 'ce-echo',
  params: { value: z.unknown().optional(), message: z.string().optional() },
  outputs: { out: z.number() },
  run: () => ({ out: 1 }),
});

const sum = component({
  name: 'ce-sum',
  params: { values: z.array(z.number()) },
  run: () => {},
});

const badDefault = component({
  name: 'ce-bad-default',
  params: { n: z.number().default('x' as never) },
  run: () => {},
});

const dupA = component({ name: 'ce-dup', params: { a: z.number().optional() }, run: () => {} });
const dupB = component({ name: 'ce-dup', params: { b: z.number().optional() }, run: () => {} });

// ---- helpers ----

/** Compiles `p` and returns the PipelineCompileError it throws (fails the test if none). */
function compileError(p: Parameters<typeof compilePipeline>[0]): PipelineCompileError {
  try {
    compilePipeline(p);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineCompileError);
    return error as PipelineCompileError;
  }
  throw new Error('expected compilePipeline to throw');
}

function task(spec: PipelineSpec, name: string): TaskSpec {
  const found = spec.tasks.find((t) => t.name === name);
  if (!found) throw new Error(`no task '${name}' in ${spec.tasks.map((t) => t.name).join(', ')}`);
  return found;
}

function expectPlace(error: PipelineCompileError, taskName: string | undefined, field: string | undefined) {
  expect(error.task).toBe(taskName);
  expect(error.field).toBe(field);
  if (taskName) expect(error.message).toContain(`task '${taskName}'`);
  if (field) expect(error.message).toContain(`field '${field}'`);
}

// ---- errors ----

describe('compile errors name the task and the field', () => {
  it('reports a dependency cycle made with .after()', () => {
    const p = pipeline({ name: 'cycle' }, () => {
      const a = echo({}).named('a');
      const b = echo({}).named('b').after(a);
      const c = echo({}).named('c').after(b);
      a.after(c);
    });
    const error = compileError(p);
    expect(error.code).toBe('CYCLE');
    expect(error.task).toBe('a');
    expect(error.field).toBe('after');
    expect(error.message).toContain("task 'a', field 'after'");
    expect(error.message).toContain('dependency cycle: a -> c -> b -> a');
  });

  it('reports a cycle through data refs', () => {
    const p = pipeline({ name: 'cycle-data' }, () => {
      const a = echo({}).named('a');
      const b = echo({ value: a.outputs.out }).named('b');
      a.after(b);
    });
    const error = compileError(p);
    expect(error.code).toBe('CYCLE');
    expect(error.message).toMatch(/dependency cycle: (a -> b -> a|b -> a -> b)/);
    // Whichever task the cycle is reported from, the field is its edge into the cycle.
    expect(error.field).toBe(error.task === 'a' ? 'after' : 'params.value');
  });

  it('reports an unknown input key (the DSL cannot tell it from an unknown param)', () => {
    const p = pipeline({ name: 'unknown-input' }, () => {
      const data = makeData({});
      train({ data: data.outputs.data, lr: 0.1, extra: data.outputs.data } as never);
    });
    const error = compileError(p);
    expect(error.code).toBe('UNKNOWN_PARAM');
    expectPlace(error, 'ce-train', 'params.extra');
    expect(error.message).toContain("component 'ce-train' has no param or input 'extra'");
  });

  it('reports an unknown input in a spec (validateSpec)', () => {
    const good = compilePipeline(
      pipeline({ name: 'unknown-input-spec' }, () => {
        const data = makeData({});
        train({ data: data.outputs.data, lr: 0.1 });
      }),
    );
    const spec = structuredClone(good);
    task(spec, 'ce-train').inputs.extra = { kind: 'output', task: 'ce-make-data', output: 'data' };
    let caught: unknown;
    try {
      validateSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PipelineCompileError);
    const error = caught as PipelineCompileError;
    expect(error.code).toBe('UNKNOWN_INPUT');
    expectPlace(error, 'ce-train', 'inputs.extra');
    expect(error.message).toContain("component 'ce-train' has no input 'extra'");
  });

  it('reports a missing required input', () => {
    const p = pipeline({ name: 'missing-input' }, () => {
      train({ lr: 0.1 } as never);
    });
    const error = compileError(p);
    expect(error.code).toBe('MISSING_INPUT');
    expectPlace(error, 'ce-train', 'inputs.data');
    expect(error.message).toContain("required input 'data' is not connected");
  });

  it('reports a missing required param', () => {
    const p = pipeline({ name: 'missing-param' }, () => {
      const data = makeData({});
      train({ data: data.outputs.data });
    });
    const error = compileError(p);
    expect(error.code).toBe('MISSING_PARAM');
    expectPlace(error, 'ce-train', 'params.lr');
    expect(error.message).toContain("required param 'lr' has no value");
  });

  it('reports a Dataset output wired into a Model input', () => {
    const p = pipeline({ name: 'artifact-mismatch' }, () => {
      const data = makeData({});
      // tsc rejects this too; the compiler must reject it for specs and untyped callers.
      // @ts-expect-error a Dataset into a Model input
      evaluate({ model: data.outputs.data });
    });
    const error = compileError(p);
    expect(error.code).toBe('TYPE_MISMATCH');
    expectPlace(error, 'ce-evaluate', 'inputs.model');
    expect(error.message).toContain("input 'model' expects a Model artifact, but gets a Dataset");
  });

  it('reports a scalar output wired into an artifact input', () => {
    const p = pipeline({ name: 'scalar-into-artifact' }, () => {
      const data = makeData({});
      // @ts-expect-error a number output into an artifact input
      evaluate({ model: data.outputs.count });
    });
    const error = compileError(p);
    expect(error.code).toBe('TYPE_MISMATCH');
    expectPlace(error, 'ce-evaluate', 'inputs.model');
    expect(error.message).toContain("input 'model' expects a Model artifact, but gets a value");
  });

  it('reports an artifact output wired into a param', () => {
    const p = pipeline({ name: 'artifact-into-param' }, () => {
      const data = makeData({});
      echo({ value: data.outputs.data });
    });
    const error = compileError(p);
    expect(error.code).toBe('TYPE_MISMATCH');
    expectPlace(error, 'ce-echo', 'params.value');
    expect(error.message).toContain("'ce-make-data.data' is a Dataset artifact, not a value");
  });

  it('reports an unknown param key', () => {
    const p = pipeline({ name: 'unknown-param' }, () => {
      makeData({ rows: 3, colums: 4 } as never);
    });
    const error = compileError(p);
    expect(error.code).toBe('UNKNOWN_PARAM');
    expectPlace(error, 'ce-make-data', 'params.colums');
    expect(error.message).toContain("has no param or input 'colums'");
  });

  it('reports an invalid literal param value', () => {
    const p = pipeline({ name: 'invalid-literal' }, () => {
      makeData({ rows: 1.5 });
    });
    const error = compileError(p);
    expect(error.code).toBe('INVALID_PARAM');
    expectPlace(error, 'ce-make-data', 'params.rows');
    expect(error.message).toContain('1.5 is invalid');
  });

  it('reports an invalid component param default', () => {
    const p = pipeline({ name: 'invalid-default' }, () => {
      badDefault({});
    });
    const error = compileError(p);
    expect(error.code).toBe('INVALID_DEFAULT');
    expectPlace(error, undefined, 'components.ce-bad-default.params.n');
    expect(error.message).toContain('default "x" is invalid');
  });

  it('reports an invalid pipeline param default', () => {
    const p = pipeline(
      { name: 'invalid-pipeline-default', params: { n: z.number().default('x' as never) } },
      () => {
        echo({});
      },
    );
    const error = compileError(p);
    expect(error.code).toBe('INVALID_DEFAULT');
    expectPlace(error, undefined, 'params.n');
    expect(error.message).toContain('default "x" is invalid');
  });

  it('reports duplicate explicit task names', () => {
    const p = pipeline({ name: 'duplicate-names' }, () => {
      echo({}).named('a');
      echo({}).named('a');
    });
    const error = compileError(p);
    expect(error.code).toBe('DUPLICATE_TASK');
    expect(error.task).toBe('a');
    expect(error.message).toContain("task 'a'");
    expect(error.message).toContain('two tasks have this name');
  });

  it('reports two different components with the same name', () => {
    expect(dupA).not.toBe(dupB);
    const p = pipeline({ name: 'duplicate-components' }, () => {
      dupA({});
      dupB({});
    });
    const error = compileError(p);
    expect(error.code).toBe('DUPLICATE_COMPONENT');
    expect(error.field).toBe('components');
    expect(error.message).toContain("two different components are named 'ce-dup'");
  });

  it('allows one component used twice', () => {
    const p = pipeline({ name: 'same-component-twice' }, () => {
      dupA({});
      dupA({});
    });
    expect(() => compilePipeline(p)).not.toThrow();
  });

  it('reports a loop-body output used outside its loop without collect()', () => {
    const p = pipeline({ name: 'loop-output-outside' }, () => {
      const loop = parallelFor([1, 2, 3], (n) => echo({ value: n }).named('body'));
      echo({ value: loop.outputs.out }).named('after-loop');
    });
    const error = compileError(p);
    expect(error.code).toBe('OUTPUT_OUT_OF_SCOPE');
    expectPlace(error, 'after-loop', 'params.value');
    expect(error.message).toContain("task 'body' runs once per item of loop 'loop-1'");
    expect(error.message).toContain('use collect()');
  });

  it('reports a loop-body task handle used outside its loop', () => {
    const p = pipeline({ name: 'loop-handle-outside' }, () => {
      let inner: ReturnType<typeof echo> | undefined;
      parallelFor([1, 2], (n) => {
        inner = echo({ value: n }).named('body');
      });
      echo({ value: inner!.outputs.out }).named('outside');
    });
    const error = compileError(p);
    expect(error.code).toBe('OUTPUT_OUT_OF_SCOPE');
    expectPlace(error, 'outside', 'params.value');
  });

  it('reports collect() used inside its own loop', () => {
    const p = pipeline({ name: 'collect-inside' }, () => {
      parallelFor([1, 2], (n) => {
        const body = echo({ value: n }).named('body');
        sum({ values: collect(body.outputs.out) }).named('inner-sum');
      });
    });
    const error = compileError(p);
    expect(error.code).toBe('COLLECT_OUT_OF_SCOPE');
    expectPlace(error, 'inner-sum', 'params.values');
    expect(error.message).toContain("collect() of 'body.out' must be used just outside the loop");
  });

  it('rejects collect() of something that is not a loop-body output', () => {
    const p = pipeline({ name: 'collect-non-loop' }, () => {
      const a = echo({});
      sum({ values: collect(a.outputs.out) });
    });
    expect(() => compilePipeline(p)).toThrow(/collect\(\) takes an output of a parallelFor body/);
  });

  it('throws at build when onExit() is inside when()', () => {
    const p = pipeline({ name: 'exit-in-when', params: { go: z.boolean().default(true) } }, ({ params }) => {
      when(params.go, () => {
        onExit(echo({}));
      });
    });
    expect(() => p.build()).toThrow(/onExit\(\) must be called at the top level/);
    expect(() => compilePipeline(p)).toThrow(/onExit\(\) must be called at the top level/);
  });

  it('throws at build when onExit() is inside parallelFor()', () => {
    const p = pipeline({ name: 'exit-in-loop' }, () => {
      parallelFor([1, 2], () => onExit(echo({})));
    });
    expect(() => p.build()).toThrow(/onExit\(\) must be called at the top level/);
  });

  it('rejects using an exit handler output', () => {
    const p = pipeline({ name: 'exit-output' }, () => {
      const handler = onExit(echo({}).named('handler'));
      echo({ value: handler.outputs.out }).named('user');
    });
    const error = compileError(p);
    expect(error.code).toBe('EXIT_HANDLER_OUTPUT');
    expectPlace(error, 'user', 'params.value');
  });

  it('reports an unknown template placeholder', () => {
    const p = pipeline({ name: 'bad-placeholder' }, () => {
      echo({ message: 'run {{run.nope}} done' });
    });
    const error = compileError(p);
    expect(error.code).toBe('UNKNOWN_PLACEHOLDER');
    expectPlace(error, 'ce-echo', 'params.message');
    expect(error.message).toContain("unknown placeholder '{{run.nope}}'");
  });

  it('reports a template naming an unknown pipeline param', () => {
    const p = pipeline({ name: 'bad-param-placeholder' }, () => {
      echo({ message: '{{ params.missing }}' });
    });
    const error = compileError(p);
    expect(error.code).toBe('UNKNOWN_PARAM');
    expectPlace(error, 'ce-echo', 'params.message');
    expect(error.message).toContain("pipeline has no param 'missing'");
  });

  it('reports refs nested in arrays', () => {
    const p = pipeline({ name: 'nested-ref' }, () => {
      const a = echo({}).named('a');
      sum({ values: [1, a.outputs.out] as never }).named('s');
    });
    const error = compileError(p);
    expect(error.code).toBe('NESTED_REF');
    expectPlace(error, 's', 'params.values');
    expect(error.message).toContain('refs inside arrays or objects are not supported');
  });

  it('reports refs nested in objects', () => {
    const p = pipeline({ name: 'nested-ref-object', params: { n: z.number().default(1) } }, ({ params }) => {
      echo({ value: { deep: [params.n] } }).named('e');
    });
    const error = compileError(p);
    expect(error.code).toBe('NESTED_REF');
    expectPlace(error, 'e', 'params.value');
  });

  it('reports a condition passed as a value', () => {
    const p = pipeline({ name: 'condition-value', params: { n: z.number().default(1) } }, ({ params }) => {
      echo({ value: params.n.gt(0) }).named('e');
    });
    const error = compileError(p);
    expect(error.code).toBe('CONDITION_AS_VALUE');
    expectPlace(error, 'e', 'params.value');
  });
});

// ---- names, nesting, conditions ----

describe('task naming', () => {
  it('de-duplicates default task names and keeps explicit ones', () => {
    const p = pipeline({ name: 'names' }, () => {
      const data = makeData({});
      train({ data: data.outputs.data, lr: 0.1 });
      train({ data: data.outputs.data, lr: 0.2 });
      train({ data: data.outputs.data, lr: 0.3 }).named('ce-train-2');
      train({ data: data.outputs.data, lr: 0.4 });
    });
    const spec = compilePipeline(p);
    expect(spec.tasks.map((t) => t.name)).toEqual([
      'ce-make-data',
      'ce-train',
      'ce-train-3',
      'ce-train-2',
      'ce-train-4',
    ]);
    expect(task(spec, 'ce-train-2').args.lr).toEqual({ kind: 'literal', value: 0.3 });
  });

  it('names loops loop-1, loop-2 and records the enclosing loop', () => {
    const p = pipeline({ name: 'loops' }, () => {
      parallelFor(
        [1, 2],
        (a) => {
          parallelFor([3, 4], (b) => echo({ value: b }).named('inner'));
          return echo({ value: a }).named('outer');
        },
        { parallelism: 2 },
      );
    });
    const spec = compilePipeline(p);
    expect(spec.loops).toEqual([
      { name: 'loop-1', items: { kind: 'literal', value: [1, 2] }, parallelism: 2 },
      { name: 'loop-2', items: { kind: 'literal', value: [3, 4] }, loop: 'loop-1' },
    ]);
    expect(task(spec, 'inner').loop).toBe('loop-2');
    expect(task(spec, 'inner').args.value).toEqual({ kind: 'item', loop: 'loop-2' });
    expect(task(spec, 'outer').loop).toBe('loop-1');
  });
});

describe('nested pipelines', () => {
  const inner = pipeline(
    { name: 'inner', params: { data: z.unknown(), lr: z.number(), epochs: z.number().int().default(7) } },
    ({ params }) => {
      const trained = train({ data: params.data as never, lr: params.lr, epochs: params.epochs });
      const scored = evaluate({ model: trained.outputs.model });
      return { model: trained.outputs.model, accuracy: scored.outputs.accuracy };
    },
  );

  const outer = pipeline({ name: 'outer', params: { lr: z.number().default(0.5) } }, ({ params }) => {
    const data = makeData({});
    const first = inner({ data: data.outputs.data, lr: params.lr });
    const second = inner({ data: data.outputs.data, lr: 0.01, epochs: 3 });
    echo({ value: first.outputs.accuracy }).named('report');
    evaluate({ model: second.outputs.model as never }).named('re-evaluate');
  });

  it('prefixes task names with the nested pipeline name', () => {
    const spec = compilePipeline(outer);
    expect(spec.tasks.map((t) => t.name)).toEqual([
      'ce-make-data',
      'inner.ce-train',
      'inner.ce-evaluate',
      'inner.ce-train-2',
      'inner.ce-evaluate-2',
      'report',
      're-evaluate',
    ]);
  });

  it('passes params and refs through, applying nested defaults', () => {
    const spec = compilePipeline(outer);
    expect(task(spec, 'inner.ce-train').args).toEqual({
      lr: { kind: 'param', name: 'lr' },
      epochs: { kind: 'literal', value: 7 },
    });
    expect(task(spec, 'inner.ce-train').inputs).toEqual({
      data: { kind: 'output', task: 'ce-make-data', output: 'data' },
    });
    expect(task(spec, 'inner.ce-train-2').args).toEqual({
      lr: { kind: 'literal', value: 0.01 },
      epochs: { kind: 'literal', value: 3 },
    });
    expect(task(spec, 'inner.ce-evaluate').inputs).toEqual({
      model: { kind: 'output', task: 'inner.ce-train', output: 'model' },
    });
    // The outer pipeline's params are its own; the nested pipeline's params do not leak.
    expect(Object.keys(spec.params)).toEqual(['lr']);
  });

  it('returns outputs usable by the outer pipeline', () => {
    const spec = compilePipeline(outer);
    expect(task(spec, 'report').args.value).toEqual({
      kind: 'output',
      task: 'inner.ce-evaluate',
      output: 'accuracy',
    });
    expect(task(spec, 're-evaluate').inputs.model).toEqual({
      kind: 'output',
      task: 'inner.ce-train-2',
      output: 'model',
    });
  });

  it('rejects an unknown or missing required param of a nested pipeline', () => {
    const unknown = pipeline({ name: 'outer-unknown' }, () => {
      inner({ lr: 1, bogus: 2 } as never);
    });
    expect(() => compilePipeline(unknown)).toThrow("pipeline 'inner' has no param 'bogus'");
    const missing = pipeline({ name: 'outer-missing' }, () => {
      inner({ data: 1 });
    });
    expect(() => compilePipeline(missing)).toThrow(
      "pipeline 'inner': param 'lr' is required when it is nested",
    );
  });

  it('prefixes explicit names and loops inside a nested pipeline', () => {
    const sub = pipeline({ name: 'sub' }, () => {
      parallelFor([1, 2], (n) => echo({ value: n }).named('body'));
    });
    const top = pipeline({ name: 'top' }, () => {
      sub();
    });
    const spec = compilePipeline(top);
    expect(spec.tasks.map((t) => [t.name, t.loop])).toEqual([['sub.body', 'sub.loop-1']]);
    expect(spec.loops.map((l) => l.name)).toEqual(['sub.loop-1']);
  });
});

describe('conditions', () => {
  const modeEq = (value: string) => ({
    op: 'eq',
    left: { kind: 'param', name: 'mode' },
    right: { kind: 'literal', value },
  });

  const branches = pipeline({ name: 'branches', params: { mode: z.string() } }, ({ params }) => {
    when(params.mode.eq('a'), () => {
      echo({}).named('first');
    })
      .elif(params.mode.eq('b'), () => {
        echo({}).named('second');
      })
      .otherwise(() => {
        echo({}).named('last');
      });
  });

  it('compiles the if branch to its own condition', () => {
    const spec = compilePipeline(branches);
    expect(task(spec, 'first').when).toEqual(modeEq('a'));
  });

  it('compiles the else branch to and(not(first), not(second))', () => {
    const spec = compilePipeline(branches);
    expect(task(spec, 'last').when).toEqual({
      op: 'and',
      args: [
        { op: 'not', arg: modeEq('a') },
        { op: 'not', arg: modeEq('b') },
      ],
    });
  });

  it('compiles the elif branch to a conjunction of not(first) and second', () => {
    const spec = compilePipeline(branches);
    const when = task(spec, 'second').when;
    expect(when?.op).toBe('and');
    expect((when as { args: unknown[] }).args).toHaveLength(2);
    expect((when as { args: unknown[] }).args).toEqual(
      expect.arrayContaining([{ op: 'not', arg: modeEq('a') }, modeEq('b')]),
    );
  });

  // The earlier branch's negation should come first: `and` short-circuits, so an elif whose own
  // comparison cannot be evaluated (e.g. `gt` on a string) must not run when the first branch held.
  it('compiles the elif branch to exactly and(not(first), second)', () => {
    const spec = compilePipeline(branches);
    expect(task(spec, 'second').when).toEqual({
      op: 'and',
      args: [{ op: 'not', arg: modeEq('a') }, modeEq('b')],
    });
  });

  it('guards a later elif with every earlier negation first, and a lone otherwise with not()', () => {
    const p = pipeline({ name: 'three-way', params: { mode: z.string() } }, ({ params }) => {
      when(params.mode.eq('a'), () => {
        echo({}).named('first');
      })
        .elif(params.mode.eq('b'), () => {
          echo({}).named('second');
        })
        .elif(params.mode.eq('c'), () => {
          echo({}).named('third');
        });
      when(params.mode.eq('x'), () => {
        echo({}).named('x');
      }).otherwise(() => {
        echo({}).named('not-x');
      });
    });
    const spec = compilePipeline(p);
    const guard = task(spec, 'third').when as { op: string; args: unknown[] };
    expect(guard.op).toBe('and');
    // Flat or nested, the earlier negations are evaluated before the branch's own clause.
    const flat = JSON.stringify(guard);
    expect(flat.indexOf('"value":"a"')).toBeLessThan(flat.indexOf('"value":"c"'));
    expect(flat.indexOf('"value":"b"')).toBeLessThan(flat.indexOf('"value":"c"'));
    expect(task(spec, 'not-x').when).toEqual({ op: 'not', arg: modeEq('x') });
  });

  it('combines nested when() blocks with and', () => {
    const p = pipeline(
      { name: 'nested-when', params: { a: z.boolean().default(true), n: z.number().default(1) } },
      ({ params }) => {
        when(params.a, () => {
          when(not(params.n.gte(5)), () => {
            echo({}).named('inner');
          });
        });
      },
    );
    const spec = compilePipeline(p);
    expect(task(spec, 'inner').when).toEqual({
      op: 'and',
      args: [
        { op: 'truthy', value: { kind: 'param', name: 'a' } },
        {
          op: 'not',
          arg: { op: 'gte', left: { kind: 'param', name: 'n' }, right: { kind: 'literal', value: 5 } },
        },
      ],
    });
  });

  it('compiles a condition on an upstream output and records the loop condition', () => {
    const p = pipeline({ name: 'output-when' }, () => {
      const a = echo({}).named('a');
      when(a.outputs.out.gt(0).or(a.outputs.out.lt(-10)), () => {
        parallelFor([1], (n) => echo({ value: n }).named('body'));
      });
    });
    const spec = compilePipeline(p);
    const expected = {
      op: 'or',
      args: [
        {
          op: 'gt',
          left: { kind: 'output', task: 'a', output: 'out' },
          right: { kind: 'literal', value: 0 },
        },
        {
          op: 'lt',
          left: { kind: 'output', task: 'a', output: 'out' },
          right: { kind: 'literal', value: -10 },
        },
      ],
    };
    expect(spec.loops[0]?.when).toEqual(expected);
    expect(task(spec, 'body').when).toEqual(expected);
  });
});
