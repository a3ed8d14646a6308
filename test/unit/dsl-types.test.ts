/**
 * Type-level checks of the DSL: `npm test` type-checks this file, and each `@ts-expect-error`
 * must really be an error, so wiring a value of the wrong type fails in the editor and in tsc.
 */
import { describe, expect, it } from 'vitest';
import { collect, component, Dataset, Model, parallelFor, pipeline, z } from '../../src/index.js';
import { compilePipeline } from '../../src/spec/compile.js';

const produce = component({
  name: 'types-produce',
  outputs: { n: z.number(), label: z.string(), data: Dataset },
  run: async ({ outputs }) => {
    await outputs.data.writeText('x');
    return { n: 1, label: 'a' };
  },
});
const wantsString = component({
  name: 'types-wants-string',
  params: { s: z.string() },
  run: () => undefined,
});
const wantsNumbers = component({
  name: 'types-wants-numbers',
  params: { values: z.array(z.number()) },
  run: () => undefined,
});
const produceModel = component({
  name: 'types-produce-model',
  outputs: { model: Model },
  run: async ({ outputs }) => outputs.model.writeText('m'),
});
const wantsModel = component({ name: 'types-wants-model', inputs: { model: Model }, run: () => undefined });
const maybeModel = component({
  name: 'types-maybe-model',
  inputs: { data: Dataset, model: Model.optional() },
  run: ({ inputs }) => {
    // An optional input may be absent at run time.
    const hash: string | undefined = inputs.model?.hash;
    return hash === undefined ? undefined : undefined;
  },
});

describe('DSL types', () => {
  it('let optional inputs be left out, and only those', () => {
    const p = pipeline({ name: 'types-optional' }, () => {
      const a = produce({});
      maybeModel({ data: a.outputs.data });
      maybeModel({ data: a.outputs.data, model: produceModel({}).outputs.model });
      // @ts-expect-error a required input cannot be left out
      maybeModel({ model: produceModel({}).outputs.model });
    });
    expect(() => compilePipeline(p)).toThrow(/data/);
  });

  it('accept values and refs of the right type', () => {
    const p = pipeline({ name: 'types-ok', params: { label: z.string().default('x') } }, ({ params }) => {
      const a = produce({});
      wantsString({ s: a.outputs.label });
      wantsString({ s: params.label });
      wantsString({ s: 'literal' });
      const loop = parallelFor([1, 2, 3], () => produce({}));
      wantsNumbers({ values: collect(loop.outputs.n) });
      wantsNumbers({ values: [1, 2] });
      wantsModel({ model: produceModel({}).outputs.model });
    });
    expect(compilePipeline(p).tasks.length).toBeGreaterThan(0);
  });

  it('reject refs and values of the wrong type at compile time (tsc)', () => {
    const p = pipeline({ name: 'types-bad', params: { count: z.number().default(1) } }, ({ params }) => {
      const a = produce({});
      // @ts-expect-error a number output into a string param
      wantsString({ s: a.outputs.n }).named('bad-output');
      // @ts-expect-error a number param into a string param
      wantsString({ s: params.count }).named('bad-param');
      // @ts-expect-error a literal of the wrong type
      wantsString({ s: 3 }).named('bad-literal');
      const loop = parallelFor([1, 2], () => produce({}));
      // @ts-expect-error collected strings into a list of numbers
      wantsNumbers({ values: collect(loop.outputs.label) }).named('bad-collect');
      // @ts-expect-error a Dataset output into a Model input
      wantsModel({ model: a.outputs.data }).named('bad-artifact');
    });
    // The runtime checks still stand behind the types (here: the artifact type).
    expect(() => compilePipeline(p)).toThrow();
  });
});
