import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyTransform,
  applyTransformRow,
  type ColumnTransform,
  compareCategories,
  type FittedTransform,
  fitTransform,
  TransformError,
  type TransformRow,
  type TransformSpec,
} from '../../src/ml/transforms.js';

/** Reference values from scikit-learn 1.2.1 / numpy 1.24: test/fixtures/ml/make_transform_fixtures.py. */
interface Fixtures {
  sklearn: string;
  train: TransformRow[];
  test: TransformRow[];
  cases: {
    name: string;
    column: string;
    steps: ColumnTransform[];
    train: number[][];
    test: number[][];
    features?: string[];
    params?: Record<string, unknown>;
  }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/ml/transform-fixtures.json', import.meta.url), 'utf8'),
) as Fixtures;

function expectClose(actual: Float64Array[], expected: number[][], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i]!;
    expect(row.length, `${what} row ${i}`).toBe(want.length);
    row.forEach((v, j) => {
      const w = want[j]!;
      if (Math.abs(v - w) > 1e-12 * Math.max(1, Math.abs(w))) {
        expect.fail(`${what} row ${i} column ${j}: got ${v}, scikit-learn ${w}`);
      }
    });
  });
}

function closeTo(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected));
}

const roundTrip = (f: FittedTransform): FittedTransform => JSON.parse(JSON.stringify(f)) as FittedTransform;

function thrown(fn: () => unknown): TransformError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TransformError);
    expect(e).toBeInstanceOf(RangeError);
    return e as TransformError;
  }
  return expect.fail('expected a TransformError');
}

describe('fixtures from scikit-learn', () => {
  it('were made by scikit-learn 1.2.1', () => {
    expect(fixtures.sklearn).toBe('1.2.1');
    expect(fixtures.cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of fixtures.cases) {
    it(c.name, () => {
      const spec: TransformSpec = { columns: { [c.column]: c.steps } };
      const fitted = fitTransform(spec, fixtures.train);
      expectClose(applyTransform(fitted, fixtures.train).matrix, c.train, 'train');
      expectClose(applyTransform(fitted, fixtures.test).matrix, c.test, 'test');

      const steps = fitted.columns[0]!.steps;
      const p = c.params ?? {};
      const step = (kind: string) =>
        steps.find((s) => s.kind === kind) as Record<string, unknown> | undefined;
      if (p.fill !== undefined) {
        const fill = step('impute')!.fill;
        if (typeof p.fill === 'number') expect(closeTo(fill as number, p.fill)).toBe(true);
        else expect(fill).toBe(p.fill);
      }
      for (const key of ['mean', 'variance', 'scale']) {
        if (typeof p[key] === 'number') {
          const got = step('standard_scale')![key] as number;
          expect(closeTo(got, p[key] as number), `${key}: ${got} vs ${p[key]}`).toBe(true);
        }
      }
      for (const key of ['dataMin', 'dataMax']) {
        if (typeof p[key] === 'number') expect(step('min_max_scale')![key]).toBe(p[key]);
      }
      if (p.boundaries !== undefined) {
        const got = step('bucketize')!.boundaries as number[];
        const want = p.boundaries as number[];
        expect(got.length).toBe(want.length);
        got.forEach((b, i) => {
          expect(closeTo(b, want[i]!), `boundary ${i}: ${b} vs ${want[i]}`).toBe(true);
        });
      }
      if (p.categories !== undefined) {
        expect((step('one_hot') ?? step('ordinal'))!.categories).toEqual(p.categories);
      }
      if (p.infrequent !== undefined) expect(step('one_hot')!.infrequent).toEqual(p.infrequent);

      // Feature names: sklearn's for string categories and single columns; the 'other' column
      // is named differently ('<other>' vs 'infrequent_sklearn'); numbers print as 1, not 1.0.
      if (c.features !== undefined && !c.name.startsWith('numeric categories')) {
        const want = c.features.map((f) => f.replace(/_infrequent_sklearn$/, '_<other>'));
        expect(fitted.features).toEqual(want);
      }
    });
  }

  it('names numeric categories without a decimal point', () => {
    const fitted = fitTransform({ columns: { household: [{ kind: 'one_hot' }] } }, fixtures.train);
    expect(fitted.features).toEqual([0, 1, 2, 3, 4, 5].map((k) => `household_${k}`));
  });
});

/** A spec exercising every step, fitted on the fixture's training table. */
const fullSpec: TransformSpec = {
  columns: {
    income: [{ kind: 'impute', strategy: 'mean' }, { kind: 'log', offset: 1 }, { kind: 'standard_scale' }],
    age: [
      { kind: 'impute', strategy: 'median' },
      { kind: 'min_max_scale', min: -1, max: 1 },
    ],
    score: [{ kind: 'bucketize', quantiles: 5 }],
    household: [{ kind: 'bucketize', boundaries: [1, 3] }],
    city: [
      { kind: 'impute', strategy: 'constant' },
      { kind: 'one_hot', unseen: 'other' },
    ],
    color: [
      { kind: 'impute', strategy: 'most_frequent' },
      { kind: 'ordinal', unseen: 'value', unseenValue: -2 },
    ],
    segment: [{ kind: 'one_hot', unseen: 'ignore', maxCategories: 4 }],
    ratio: [{ kind: 'expression', expression: 'row.score / (row.household + 1)' }, { kind: 'min_max_scale' }],
  },
  passthrough: ['constant', 'flag'],
};

describe('fitTransform / applyTransform', () => {
  const fitted = fitTransform(fullSpec, fixtures.train);

  it('names every output column, in spec order, passthrough last', () => {
    expect(fitted.version).toBe(1);
    expect(fitted.nTrainingRows).toBe(fixtures.train.length);
    expect(fitted.features.slice(0, 4)).toEqual(['income', 'age', 'score', 'household']);
    expect(fitted.features).toContain('city_missing_value');
    expect(fitted.features).toContain('city_<other>');
    expect(fitted.features.filter((f) => f.startsWith('segment_'))).toHaveLength(4);
    expect(fitted.features.slice(-3)).toEqual(['ratio', 'constant', 'flag']);
    const out = applyTransform(fitted, fixtures.test);
    expect(out.features).toEqual(fitted.features);
    expect(out.matrix).toHaveLength(fixtures.test.length);
    for (const row of out.matrix) {
      expect(row).toBeInstanceOf(Float64Array);
      expect(row.length).toBe(fitted.features.length);
      for (const v of row) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('round-trips through JSON with bit-identical output', () => {
    const json = JSON.stringify(fitted);
    const back = JSON.parse(json) as FittedTransform;
    expect(back).toEqual(fitted);
    expect(JSON.stringify(back)).toBe(json);
    for (const rows of [fixtures.train, fixtures.test]) {
      const a = applyTransform(fitted, rows).matrix;
      const b = applyTransform(back, rows).matrix;
      expect(b).toEqual(a);
      a.forEach((row, i) => {
        row.forEach((v, j) => {
          expect(Object.is(v, b[i]![j]!)).toBe(true);
        });
      });
    }
  });

  it('train/serve identity: one row at a time equals all rows at once', () => {
    const served = roundTrip(fitted);
    for (const rows of [fixtures.train, fixtures.test]) {
      const batch = applyTransform(fitted, rows).matrix;
      rows.forEach((row, i) => {
        expect(applyTransform(served, [row]).matrix[0]).toEqual(batch[i]);
        expect(applyTransformRow(served, row)).toEqual(batch[i]);
      });
    }
  });

  it('applying to the training rows twice, or after refitting, gives the same matrix', () => {
    const a = applyTransform(fitted, fixtures.train).matrix;
    const b = applyTransform(fitTransform(fullSpec, fixtures.train), fixtures.train).matrix;
    expect(b).toEqual(a);
  });

  it('keeps the spec as JSON and does not share it with the caller', () => {
    expect(fitted.spec).toEqual(fullSpec);
    expect(fitted.spec).not.toBe(fullSpec);
  });

  it('maps unseen categories per the unseen option', () => {
    const row = { ...fixtures.test[0]!, city: 'Atlantis', color: 'mauve', segment: 'nope' };
    const out = applyTransformRow(fitted, row);
    const at = (name: string) => out[fitted.features.indexOf(name)];
    expect(at('city_<other>')).toBe(1);
    expect(at('color')).toBe(-2);
    const segment = fitted.features.flatMap((f, j) => (f.startsWith('segment_') ? [out[j]] : []));
    expect(segment).toEqual([0, 0, 0, 0]);
  });

  it('imputes null, undefined and NaN alike', () => {
    const base = { ...fixtures.train[0]! };
    const outs = [null, undefined, Number.NaN].map((v) =>
      applyTransformRow(fitted, { ...base, income: v, age: v }),
    );
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });

  it('reads booleans as 1/0', () => {
    const f = fitTransform({ columns: {}, passthrough: ['b'] }, [{ b: true }, { b: false }]);
    expect(applyTransform(f, [{ b: true }, { b: false }, { b: 1 }]).matrix.map((r) => r[0])).toEqual([
      1, 0, 1,
    ]);
  });

  it('is empty for no rows at apply time', () => {
    expect(applyTransform(fitted, []).matrix).toEqual([]);
  });
});

describe('steps in detail', () => {
  const rows = (xs: unknown[], name = 'x') => xs.map((x) => ({ [name]: x }));
  const run = (steps: ColumnTransform[], train: unknown[], apply: unknown[] = train) =>
    applyTransform(fitTransform({ columns: { x: steps } }, rows(train)), rows(apply)).matrix.map((r) => [
      ...r,
    ]);

  it('standard_scale uses the population std', () => {
    expect(run([{ kind: 'standard_scale' }], [1, 2, 3, 4]).flat()).toEqual(
      [-1.5, -0.5, 0.5, 1.5].map((d) => d / Math.sqrt(1.25)),
    );
  });

  it('min_max_scale of a constant column gives min, like scikit-learn', () => {
    expect(run([{ kind: 'min_max_scale' }], [7, 7, 7], [7, 8]).flat()).toEqual([0, 1]);
    expect(run([{ kind: 'min_max_scale', min: 2, max: 5 }], [7, 7]).flat()).toEqual([2, 2]);
  });

  it('log(x + offset)', () => {
    expect(run([{ kind: 'log', offset: 1 }], [0, Math.E - 1]).flat()).toEqual([0, 1]);
  });

  it('bucketize like numpy.digitize(right=False)', () => {
    expect(
      run([{ kind: 'bucketize', boundaries: [0, 10, 10, 20] }], [-1, 0, 5, 10, 15, 20, 99]).flat(),
    ).toEqual([0, 1, 1, 3, 3, 4, 4]);
  });

  it('impute most_frequent breaks ties by the smallest value', () => {
    expect(run([{ kind: 'impute', strategy: 'most_frequent' }], [3, 1, 3, 1, null]).flat()).toEqual([
      3, 1, 3, 1, 1,
    ]);
    const f = fitTransform(
      { columns: { x: [{ kind: 'impute', strategy: 'most_frequent' }, { kind: 'ordinal' }] } },
      rows(['b', 'a', 'b', 'a', null]),
    );
    expect(f.columns[0]!.steps[0]).toEqual({ kind: 'impute', strategy: 'most_frequent', fill: 'a' });
  });

  it('sorts categories like numpy: numbers ascending, strings by code point', () => {
    const f = fitTransform(
      { columns: { x: [{ kind: 'ordinal' }] } },
      rows(['é', 'z', 'Z', '😀', 'a', '\uffff']),
    );
    expect(f.columns[0]!.steps[0]).toMatchObject({ categories: ['Z', 'a', 'z', 'é', '\uffff', '😀'] });
    expect([10, 9, -1, 2.5].sort(compareCategories)).toEqual([-1, 2.5, 9, 10]);
  });

  it('one_hot unseen error throws, other/ignore do not', () => {
    expect(run([{ kind: 'one_hot', unseen: 'other' }], ['a', 'b'], ['b', 'c'])).toEqual([
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(run([{ kind: 'one_hot', unseen: 'ignore' }], ['a', 'b'], ['b', 'c'])).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });

  it('ordinal unseen value defaults to -1', () => {
    expect(run([{ kind: 'ordinal', unseen: 'value' }], ['b', 'a'], ['a', 'b', 'q']).flat()).toEqual([
      0, 1, -1,
    ]);
  });
});

describe('expression transform', () => {
  const train = [
    { income: 100, household: 1 },
    { income: 300, household: 2 },
    { income: 50, household: 0 },
  ];

  it('computes a column from the row, then later steps apply', () => {
    const spec: TransformSpec = {
      columns: {
        per_person: [{ kind: 'expression', expression: 'row.income / (row.household + 1)' }],
        per_person_scaled: [
          { kind: 'expression', expression: 'row.income / (row.household + 1)' },
          { kind: 'min_max_scale' },
        ],
      },
    };
    const f = fitTransform(spec, train);
    expect(applyTransform(f, train).matrix.map((r) => [...r])).toEqual([
      [50, 0],
      [100, 1],
      [50, 0],
    ]);
    const back = roundTrip(f);
    expect(applyTransformRow(back, { income: 75, household: 0 })).toEqual(new Float64Array([75, 0.5]));
  });

  it('may use Math and conditionals', () => {
    const f = fitTransform(
      {
        columns: { e: [{ kind: 'expression', expression: 'Math.max(row.a, 0) + (row.b === "x" ? 1 : 0)' }] },
      },
      [
        { a: -3, b: 'x' },
        { a: 2, b: 'y' },
      ],
    );
    expect(applyTransform(f, [{ a: 5, b: 'x' }]).matrix[0]).toEqual(new Float64Array([6]));
  });

  it('must return a finite number, naming column and row', () => {
    const spec: TransformSpec = {
      columns: { r: [{ kind: 'expression', expression: 'row.income / row.household' }] },
    };
    const e = thrown(() => fitTransform(spec, train));
    expect(e.column).toBe('r');
    expect(e.row).toBe(2);
    expect(e.message).toMatch(/column 'r', row 2: .*finite number, got Infinity/);
    const s = thrown(() =>
      fitTransform({ columns: { r: [{ kind: 'expression', expression: 'String(row.income)' }] } }, train),
    );
    expect(s.message).toMatch(/column 'r', row 0: .*finite number, got "100"/);
    const n = thrown(() =>
      fitTransform({ columns: { r: [{ kind: 'expression', expression: 'row.nope.deeper' }] } }, train),
    );
    expect(n.message).toMatch(/column 'r', row 0: expression .* threw/);
  });

  it('rejects an expression that does not compile, or is not first', () => {
    expect(
      thrown(() => fitTransform({ columns: { r: [{ kind: 'expression', expression: 'row.(' }] } }, train))
        .message,
    ).toMatch(/column 'r'.*does not compile/);
    expect(
      thrown(() =>
        fitTransform(
          { columns: { income: [{ kind: 'standard_scale' }, { kind: 'expression', expression: '1' }] } },
          train,
        ),
      ).message,
    ).toMatch(/must be the first/);
  });
});

describe('bad input', () => {
  const train = [
    { x: 1, c: 'a' },
    { x: 2, c: 'b' },
    { x: 4, c: 'a' },
  ];
  const fitColumns = (columns: TransformSpec['columns'], rows: TransformRow[] = train) =>
    fitTransform({ columns }, rows);

  it('an empty training set', () => {
    expect(thrown(() => fitColumns({ x: [{ kind: 'standard_scale' }] }, [])).message).toMatch(
      /training set is empty/,
    );
  });

  it('a column missing at fit or apply time', () => {
    const f = fitColumns({ x: [{ kind: 'standard_scale' }] });
    const e = thrown(() => applyTransform(f, [{ x: 1 }, { y: 2 }]));
    expect([e.column, e.row]).toEqual(['x', 1]);
    expect(e.message).toBe("column 'x', row 1: the column is missing from the row");
    expect(thrown(() => fitColumns({ nope: [] })).message).toMatch(
      /column 'nope', row 0: the column is missing/,
    );
  });

  it('NaN, null or Infinity in a numeric column without impute', () => {
    const f = fitColumns({ x: [{ kind: 'standard_scale' }] });
    expect(thrown(() => applyTransform(f, [{ x: 1 }, { x: Number.NaN }])).message).toMatch(
      /column 'x', row 1: NaN is a missing value and there is no impute step before standard_scale/,
    );
    expect(thrown(() => applyTransform(f, [{ x: null }])).message).toMatch(
      /column 'x', row 0: null is a missing/,
    );
    expect(thrown(() => applyTransform(f, [{ x: 0 }, { x: 0 }, { x: Infinity }])).message).toMatch(
      /column 'x', row 2: Infinity is not allowed/,
    );
    // Infinity is an error even with an impute step (scikit-learn's check_array rejects it too).
    const g = fitColumns({ x: [{ kind: 'impute', strategy: 'mean' }] });
    expect(applyTransform(g, [{ x: Number.NaN }]).matrix[0]).toEqual(new Float64Array([7 / 3]));
    expect(thrown(() => applyTransform(g, [{ x: -Infinity }])).row).toBe(0);
    // passthrough and one_hot need values too
    expect(thrown(() => fitTransform({ columns: {}, passthrough: ['x'] }, [{ x: null }])).message).toMatch(
      /column 'x', row 0: null is a missing value/,
    );
    expect(thrown(() => fitColumns({ c: [{ kind: 'one_hot' }] }, [{ c: 'a' }, { c: null }])).message).toMatch(
      /column 'c', row 1: null is a missing value and there is no impute step before one_hot/,
    );
  });

  it('a string in a numeric step', () => {
    const f = fitColumns({ x: [{ kind: 'min_max_scale' }] });
    expect(thrown(() => applyTransform(f, [{ x: 1 }, { x: '3' }])).message).toBe(
      'column \'x\', row 1: string "3" in numeric step min_max_scale',
    );
    expect(thrown(() => fitColumns({ c: [{ kind: 'log' }] })).message).toMatch(
      /column 'c', row 0: string "a" in numeric step log/,
    );
    expect(thrown(() => fitColumns({ c: [{ kind: 'impute', strategy: 'mean' }] })).message).toMatch(
      /impute mean needs numbers/,
    );
    expect(thrown(() => fitColumns({ c: [] })).message).toMatch(/column 'c', row 0: output must be numeric/);
    expect(thrown(() => fitColumns({ x: [{ kind: 'one_hot' }] }, [{ x: 1 }, { x: 'a' }])).message).toMatch(
      /column 'x', row 1: one_hot: the column mixes numbers and strings/,
    );
  });

  it('an unseen category with unseen error', () => {
    const oneHot = fitColumns({ c: [{ kind: 'one_hot' }] });
    const e = thrown(() => applyTransform(oneHot, [{ c: 'b' }, { c: 'zz' }]));
    expect(e.message).toBe(
      'column \'c\', row 1: one_hot: category "zz" was not seen in training (known: "a", "b")',
    );
    const ordinal = fitColumns({ c: [{ kind: 'ordinal', unseen: 'error' }] });
    expect(thrown(() => applyTransform(ordinal, [{ c: 'q' }])).message).toMatch(
      /column 'c', row 0: ordinal: category "q" was not seen/,
    );
    // maxCategories with unseen 'error' would reject training rows: refused at fit.
    expect(thrown(() => fitColumns({ c: [{ kind: 'one_hot', maxCategories: 1 }] })).message).toMatch(
      /exceed maxCategories/,
    );
  });

  it('log of x + offset <= 0', () => {
    const f = fitColumns({ x: [{ kind: 'log' }] });
    const e = thrown(() => applyTransform(f, [{ x: 1 }, { x: 0 }]));
    expect([e.column, e.row]).toEqual(['x', 1]);
    expect(e.message).toMatch(/log: x \+ offset = 0 \+ 0 = 0 is not > 0/);
  });

  it('bad specs', () => {
    const bad = (columns: unknown) => thrown(() => fitTransform({ columns } as TransformSpec, train)).message;
    expect(bad({ x: [{ kind: 'nope' }] })).toMatch(/column 'x': transform 0: unknown kind "nope"/);
    expect(bad({ x: [{ kind: 'one_hot' }, { kind: 'standard_scale' }] })).toMatch(/one_hot must be the last/);
    expect(bad({ x: [{ kind: 'min_max_scale', min: 1, max: 1 }] })).toMatch(/min < max/);
    expect(bad({ x: [{ kind: 'bucketize', boundaries: [2, 1] }] })).toMatch(/non-decreasing/);
    expect(bad({ x: [{ kind: 'bucketize', quantiles: 1 }] })).toMatch(/quantiles must be an integer ≥ 2/);
    expect(bad({ x: [{ kind: 'bucketize' }] })).toMatch(/exactly one of boundaries and quantiles/);
    expect(bad({ x: [{ kind: 'impute', strategy: 'mode' }] })).toMatch(/impute strategy/);
    expect(bad({ x: [{ kind: 'impute', strategy: 'constant', value: 'a' }] })).toMatch(/does not match/);
    expect(bad({ c: [{ kind: 'ordinal', unseen: 'value', unseenValue: 1 }] })).toMatch(/already the code of/);
    expect(bad({})).toMatch(/no columns/);
    expect(thrown(() => fitTransform({ columns: { x: [] }, passthrough: ['x'] }, train)).message).toMatch(
      /both in columns and in passthrough/,
    );
    expect(
      thrown(() => fitTransform({ columns: { x: [{ kind: 'impute', strategy: 'mean' }] } }, [{ x: null }]))
        .message,
    ).toMatch(/no non-missing training values/);
  });

  it('bad rows and bad fitted transforms', () => {
    const f = fitColumns({ x: [] });
    expect(thrown(() => applyTransform(f, [{ x: 1 }, null as unknown as TransformRow])).message).toMatch(
      /rows\[1\] must be an object/,
    );
    expect(thrown(() => applyTransform(f, [{ x: { nested: 1 } }])).message).toMatch(
      /column 'x', row 0: unsupported value of type object/,
    );
    expect(
      thrown(() => applyTransform({ ...f, version: 2 } as unknown as FittedTransform, [])).message,
    ).toMatch(/version 1/);
    const weird = roundTrip(f);
    (weird.columns[0]!.steps as unknown[]).push({ kind: 'sqrt' });
    expect(thrown(() => applyTransform(weird, [{ x: 1 }])).message).toMatch(/unknown step/);
  });
});
