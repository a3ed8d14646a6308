import { describe, expect, it } from 'vitest';
import {
  cacheKey,
  evaluateCondition,
  itemAt,
  type RunFacts,
  renderTemplate,
  retryDelayMs,
} from '../../src/engine/decisions.js';
import { ParamValidationError, z } from '../../src/index.js';
import { compileParam } from '../../src/spec/compile.js';
import { coerceCliValue, validateParams } from '../../src/spec/params.js';
import type { Condition, ParamSpec, RetrySpec, ValueRef } from '../../src/spec/schema.js';

// ---- evaluateCondition ----

const lit = (value: unknown): ValueRef => ({ kind: 'literal', value });
const param = (name: string): ValueRef => ({ kind: 'param', name });

/** Resolves literal refs to their value and param refs from `params`. */
function resolver(params: Record<string, unknown> = {}) {
  return ((ref: ValueRef) => {
    if (ref.kind === 'literal') return ref.value;
    if (ref.kind === 'param') return params[ref.name];
    throw new Error(`unexpected ref ${ref.kind}`);
  }) as never;
}

const evaluate = (condition: Condition, params: Record<string, unknown> = {}) =>
  evaluateCondition(condition, resolver(params));

const cmp = (op: 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte', left: unknown, right: unknown): Condition => ({
  op,
  left: lit(left),
  right: lit(right),
});

describe('evaluateCondition', () => {
  it.each([
    ['eq', 1, 1, true],
    ['eq', 1, 2, false],
    ['eq', 'a', 'a', true],
    ['eq', 1, '1', false],
    ['eq', { a: 1, b: [2] }, { b: [2], a: 1 }, true],
    ['eq', [1, 2], [2, 1], false],
    ['eq', null, null, true],
    ['ne', 1, 2, true],
    ['ne', 'x', 'x', false],
    ['ne', true, false, true],
    ['lt', 1, 2, true],
    ['lt', 2, 2, false],
    ['lte', 2, 2, true],
    ['lte', 3, 2, false],
    ['gt', 0.91, 0.9, true],
    ['gt', 0.9, 0.9, false],
    ['gte', 0.9, 0.9, true],
    ['gte', -1, 0, false],
    ['lt', 'abc', 'abd', true],
    ['gte', 'b', 'a', true],
  ] as const)('%s(%j, %j) is %s', (op, left, right, expected) => {
    expect(evaluate(cmp(op, left, right))).toBe(expected);
  });

  it('combines with and / or / not', () => {
    const t = cmp('eq', 1, 1);
    const f = cmp('eq', 1, 2);
    expect(evaluate({ op: 'and', args: [t, t, t] })).toBe(true);
    expect(evaluate({ op: 'and', args: [t, f, t] })).toBe(false);
    expect(evaluate({ op: 'or', args: [f, f, t] })).toBe(true);
    expect(evaluate({ op: 'or', args: [f, f] })).toBe(false);
    expect(evaluate({ op: 'not', arg: f })).toBe(true);
    expect(evaluate({ op: 'not', arg: { op: 'and', args: [t, f] } })).toBe(true);
  });

  it('short-circuits and / or', () => {
    const bad = cmp('lt', 1, 'x');
    expect(evaluate({ op: 'and', args: [cmp('eq', 1, 2), bad] })).toBe(false);
    expect(evaluate({ op: 'or', args: [cmp('eq', 1, 1), bad] })).toBe(true);
  });

  it.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['yes', true],
    ['', false],
    [null, false],
    [undefined, false],
    [[], true],
  ])('truthy(%j) is %s', (value, expected) => {
    expect(evaluate({ op: 'truthy', value: param('v') }, { v: value })).toBe(expected);
  });

  it('resolves params through the callback', () => {
    const condition: Condition = { op: 'gte', left: param('acc'), right: param('min') };
    expect(evaluate(condition, { acc: 0.95, min: 0.9 })).toBe(true);
    expect(evaluate(condition, { acc: 0.85, min: 0.9 })).toBe(false);
  });

  it.each(['lt', 'lte', 'gt', 'gte'] as const)('%s of a number and a string throws a clear error', (op) => {
    expect(() => evaluate(cmp(op, 1, '2'))).toThrow(TypeError);
    expect(() => evaluate(cmp(op, 1, '2'))).toThrow(
      `cannot compare 1 ${op} "2": both must be numbers or both strings`,
    );
  });

  it('ordered comparison of non-scalars or null throws', () => {
    expect(() => evaluate(cmp('gt', null, 1))).toThrow(/both must be numbers or both strings/);
    expect(() => evaluate(cmp('gt', [1], [0]))).toThrow(/both must be numbers or both strings/);
    expect(() => evaluate({ op: 'lt', left: param('missing'), right: lit(1) })).toThrow(
      /cannot compare undefined lt 1/,
    );
  });
});

// ---- renderTemplate ----

describe('renderTemplate', () => {
  const run: RunFacts = {
    id: 'r123',
    pipeline: 'demo',
    status: 'failed',
    params: { rows: 5, name: 'x', list: [1, 2], obj: { a: 1 } },
  };

  it('substitutes run facts and params', () => {
    expect(renderTemplate('{{run.id}}/{{run.pipeline}}: {{ run.status }}', run)).toBe('r123/demo: failed');
    expect(renderTemplate('rows={{params.rows}} name={{params.name}}', run)).toBe('rows=5 name=x');
  });

  it('writes non-string params as JSON', () => {
    expect(renderTemplate('{{params.list}} {{params.obj}}', run)).toBe('[1,2] {"a":1}');
  });

  it('leaves text without placeholders alone', () => {
    expect(renderTemplate('plain {text}', run)).toBe('plain {text}');
  });

  it('throws on an unknown placeholder', () => {
    expect(() => renderTemplate('{{run.nope}}', run)).toThrow('unknown placeholder {{run.nope}}');
  });
});

// ---- retryDelayMs ----

describe('retryDelayMs', () => {
  const retry: RetrySpec = { attempts: 6, backoffMs: 100, factor: 3, maxBackoffMs: 2000 };

  it('is backoff * factor^(n-2)', () => {
    expect(retryDelayMs(retry, 2)).toBe(100);
    expect(retryDelayMs(retry, 3)).toBe(300);
    expect(retryDelayMs(retry, 4)).toBe(900);
  });

  it('is capped by maxBackoffMs', () => {
    expect(retryDelayMs(retry, 5)).toBe(2000);
    expect(retryDelayMs(retry, 50)).toBe(2000);
  });

  it('factor 1 gives a constant delay; zero backoff gives zero', () => {
    expect(retryDelayMs({ ...retry, factor: 1 }, 7)).toBe(100);
    expect(retryDelayMs({ ...retry, backoffMs: 0 }, 4)).toBe(0);
  });

  it('never uses a negative exponent', () => {
    expect(retryDelayMs(retry, 1)).toBe(100);
  });
});

// ---- cacheKey ----

describe('cacheKey', () => {
  const base = () => cacheKey('sha256:c1', { lr: 0.1, opts: { a: 1, b: 2 } }, { data: 'sha256:d1' });

  it('is a sha256 and the same for the same inputs', () => {
    expect(base()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(base()).toBe(base());
  });

  it('does not depend on object key order', () => {
    const reordered = cacheKey(
      'sha256:c1',
      { opts: { b: 2, a: 1 }, lr: 0.1 },
      Object.fromEntries([['data', 'sha256:d1']]),
    );
    expect(reordered).toBe(base());
    const twoInputs = cacheKey('c', {}, { a: 'h1', b: 'h2' });
    expect(cacheKey('c', {}, { b: 'h2', a: 'h1' })).toBe(twoInputs);
  });

  it('changes with the component digest', () => {
    expect(cacheKey('sha256:c2', { lr: 0.1, opts: { a: 1, b: 2 } }, { data: 'sha256:d1' })).not.toBe(base());
  });

  it('changes with any param', () => {
    expect(cacheKey('sha256:c1', { lr: 0.2, opts: { a: 1, b: 2 } }, { data: 'sha256:d1' })).not.toBe(base());
    expect(cacheKey('sha256:c1', { lr: 0.1, opts: { a: 1, b: 3 } }, { data: 'sha256:d1' })).not.toBe(base());
    expect(cacheKey('sha256:c1', { lr: 0.1, opts: { a: 1, b: 2 }, x: 1 }, { data: 'sha256:d1' })).not.toBe(
      base(),
    );
    expect(cacheKey('sha256:c1', { lr: 0.1 }, { data: 'sha256:d1' })).not.toBe(base());
  });

  it('changes with any input hash', () => {
    expect(cacheKey('sha256:c1', { lr: 0.1, opts: { a: 1, b: 2 } }, { data: 'sha256:d2' })).not.toBe(base());
    expect(cacheKey('sha256:c1', { lr: 0.1, opts: { a: 1, b: 2 } }, { other: 'sha256:d1' })).not.toBe(base());
  });

  it('depends on the order of a list input', () => {
    const ab = cacheKey('c', {}, { models: ['h1', 'h2'] });
    const ba = cacheKey('c', {}, { models: ['h2', 'h1'] });
    expect(ab).not.toBe(ba);
    expect(cacheKey('c', {}, { models: ['h1', 'h2'] })).toBe(ab);
    expect(cacheKey('c', {}, { models: ['h1'] })).not.toBe(cacheKey('c', {}, { models: 'h1' }));
  });

  it('does not confuse a param with an input of the same name', () => {
    expect(cacheKey('c', { x: 'h' }, {})).not.toBe(cacheKey('c', {}, { x: 'h' }));
  });
});

// ---- itemAt ----

describe('itemAt', () => {
  const item = { name: 'a', cfg: { lr: 0.1, layers: [4, 8] }, zero: 0, nothing: null };

  it('returns the item itself without a path', () => {
    expect(itemAt(item, undefined, 'task')).toBe(item);
    expect(itemAt(item, [], 'task')).toBe(item);
    expect(itemAt(5, undefined, 'task')).toBe(5);
  });

  it('reads nested fields', () => {
    expect(itemAt(item, ['name'], 't')).toBe('a');
    expect(itemAt(item, ['cfg', 'lr'], 't')).toBe(0.1);
    expect(itemAt(item, ['cfg', 'layers'], 't')).toEqual([4, 8]);
    expect(itemAt(item, ['cfg', 'layers', '1'], 't')).toBe(8);
    expect(itemAt(item, ['zero'], 't')).toBe(0);
    expect(itemAt(item, ['nothing'], 't')).toBeNull();
  });

  it('throws a message naming the place and the full path when a field is missing', () => {
    expect(() => itemAt(item, ['cfg', 'momentum'], 'train[2]')).toThrow(TypeError);
    expect(() => itemAt(item, ['cfg', 'momentum'], 'train[2]')).toThrow(
      /^train\[2\]: loop item .* has no field 'cfg\.momentum'$/,
    );
  });

  it('throws when walking into a scalar or null', () => {
    expect(() => itemAt(item, ['name', 'length'], 't')).toThrow("has no field 'name.length'");
    expect(() => itemAt(item, ['nothing', 'x'], 't')).toThrow("has no field 'nothing.x'");
    expect(() => itemAt(3, ['x'], 't')).toThrow("t: loop item 3 has no field 'x'");
  });
});

// ---- validateParams ----

function specs(shape: Record<string, z.ZodType>): Record<string, ParamSpec> {
  return Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => [name, compileParam(schema, { field: name })]),
  );
}

describe('validateParams', () => {
  const trainParams = specs({
    lr: z.number().positive(),
    epochs: z.number().int().default(10),
    tags: z.array(z.string()).default(['a']),
    note: z.string().optional(),
    mode: z.enum(['fast', 'slow']).default('fast'),
  });

  it('applies defaults and leaves optional params out', () => {
    expect(validateParams(trainParams, { lr: 0.1 }, 'train')).toEqual({
      lr: 0.1,
      epochs: 10,
      tags: ['a'],
      mode: 'fast',
    });
  });

  it('keeps given values', () => {
    expect(
      validateParams(trainParams, { lr: 1, epochs: 3, tags: [], note: 'n', mode: 'slow' }, 'train'),
    ).toEqual({ lr: 1, epochs: 3, tags: [], note: 'n', mode: 'slow' });
  });

  it('gives each run its own copy of a default', () => {
    const first = validateParams(trainParams, { lr: 1 }, 'train');
    (first.tags as string[]).push('mutated');
    expect(validateParams(trainParams, { lr: 1 }, 'train').tags).toEqual(['a']);
    expect(trainParams.tags?.default).toEqual(['a']);
  });

  it('names an unknown param and lists the known ones', () => {
    let caught: unknown;
    try {
      validateParams(trainParams, { lr: 1, lrate: 2 }, 'train');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ParamValidationError);
    const error = caught as ParamValidationError;
    expect(error.code).toBe('PARAM_INVALID');
    expect(error.task).toBe('train');
    expect(error.param).toBe('lrate');
    expect(error.message).toBe(
      "task 'train', param 'lrate': no such param (params: lr, epochs, tags, note, mode)",
    );
  });

  it('says when a component takes no params', () => {
    expect(() => validateParams({}, { x: 1 }, 'noop')).toThrow(
      "task 'noop', param 'x': no such param (it takes none)",
    );
  });

  it('reports a missing required param', () => {
    expect(() => validateParams(trainParams, {}, 'train')).toThrow(
      "task 'train', param 'lr': required, and no value was given",
    );
  });

  it('reports an invalid value naming the task and the param', () => {
    let caught: unknown;
    try {
      validateParams(trainParams, { lr: 1, epochs: 1.5 }, 'train[3]');
    } catch (error) {
      caught = error;
    }
    const error = caught as ParamValidationError;
    expect(error).toBeInstanceOf(ParamValidationError);
    expect(error.task).toBe('train[3]');
    expect(error.param).toBe('epochs');
    expect(error.message).toMatch(/^task 'train\[3\]', param 'epochs': 1\.5 is invalid: /);
  });

  it('validates against the JSON Schema: positive, enum, array items', () => {
    expect(() => validateParams(trainParams, { lr: -1 }, 't')).toThrow("param 'lr': -1 is invalid");
    expect(() => validateParams(trainParams, { lr: 1, mode: 'medium' }, 't')).toThrow(
      `param 'mode': "medium" is invalid`,
    );
    expect(() => validateParams(trainParams, { lr: 1, tags: ['a', 2] }, 't')).toThrow(
      /param 'tags': \["a",2\] is invalid: 1: /,
    );
    expect(() => validateParams(trainParams, { lr: '1' }, 't')).toThrow(`param 'lr': "1" is invalid`);
  });

  it('names the pipeline when there is no task', () => {
    expect(() => validateParams(trainParams, {}, undefined)).toThrow(
      "pipeline param 'lr': required, and no value was given",
    );
  });

  it('accepts nullable and union params', () => {
    const s = specs({ maybe: z.number().nullable(), either: z.union([z.string(), z.number()]) });
    expect(validateParams(s, { maybe: null, either: 3 }, 't')).toEqual({ maybe: null, either: 3 });
    expect(validateParams(s, { maybe: 2, either: 'x' }, 't')).toEqual({ maybe: 2, either: 'x' });
    expect(() => validateParams(s, { maybe: 'x', either: 3 }, 't')).toThrow("param 'maybe'");
  });
});

// ---- coerceCliValue ----

describe('coerceCliValue', () => {
  const s = specs({
    n: z.number(),
    i: z.number().int(),
    b: z.boolean(),
    s: z.string(),
    list: z.array(z.number()),
    obj: z.object({ a: z.number() }),
    withDefault: z.number().default(3),
  });

  it('parses numbers and integers', () => {
    expect(coerceCliValue('3.5', s.n, 'n')).toBe(3.5);
    expect(coerceCliValue('-2', s.n, 'n')).toBe(-2);
    expect(coerceCliValue('1e3', s.n, 'n')).toBe(1000);
    expect(coerceCliValue('42', s.i, 'i')).toBe(42);
    expect(coerceCliValue('7', s.withDefault, 'withDefault')).toBe(7);
  });

  it('rejects text that is not a number', () => {
    let caught: unknown;
    try {
      coerceCliValue('abc', s.n, 'n');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ParamValidationError);
    expect((caught as ParamValidationError).param).toBe('n');
    expect((caught as Error).message).toBe("pipeline param 'n': 'abc' is not a finite number");
    expect(() => coerceCliValue('', s.i, 'i')).toThrow("'' is not a finite number");
    expect(() => coerceCliValue('  ', s.i, 'i')).toThrow('is not a finite number');
    expect(() => coerceCliValue('Infinity', s.n, 'n')).toThrow("'Infinity' is not a finite number");
  });

  it('parses booleans strictly', () => {
    expect(coerceCliValue('true', s.b, 'b')).toBe(true);
    expect(coerceCliValue('false', s.b, 'b')).toBe(false);
    expect(() => coerceCliValue('yes', s.b, 'b')).toThrow("pipeline param 'b': 'yes' is not true or false");
    expect(() => coerceCliValue('1', s.b, 'b')).toThrow(ParamValidationError);
  });

  it('keeps strings as they are, even when they look like JSON', () => {
    expect(coerceCliValue('hello', s.s, 's')).toBe('hello');
    expect(coerceCliValue('123', s.s, 's')).toBe('123');
    expect(coerceCliValue('[1]', s.s, 's')).toBe('[1]');
    expect(coerceCliValue('', s.s, 's')).toBe('');
  });

  it('parses JSON arrays and objects', () => {
    expect(coerceCliValue('[0.3, 0.1]', s.list, 'list')).toEqual([0.3, 0.1]);
    expect(coerceCliValue('{"a": 1}', s.obj, 'obj')).toEqual({ a: 1 });
  });

  it('asks for JSON for a list, and falls back to the raw string for an unknown param', () => {
    expect(() => coerceCliValue('not json', s.list, 'list')).toThrow(
      "'not json' is not JSON (write e.g. '[1,2]')",
    );
    expect(coerceCliValue('5', undefined, 'x')).toBe(5);
    expect(coerceCliValue('abc', undefined, 'x')).toBe('abc');
  });
});
