import { describe, expect, it } from 'vitest';
import { fitLinearRegression, predictLinear } from '../../src/ml/linear.js';
import { makeClassification } from '../../src/ml/synthetic.js';

function bytesOf(a: Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function rowsOf(columns: readonly Float64Array[], rows: number): number[][] {
  return Array.from({ length: rows }, (_, r) => columns.map((c) => c[r]!));
}

/** Max absolute residual of the least-squares fit of `y` on `columns` (with intercept). */
function lstsqResidual(columns: readonly Float64Array[], y: Float64Array): number {
  const X = rowsOf(columns, y.length);
  const model = fitLinearRegression(X, Array.from(y));
  const predicted = predictLinear(model, X);
  let worst = 0;
  for (let r = 0; r < y.length; r++) worst = Math.max(worst, Math.abs(predicted[r]! - y[r]!));
  return worst;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

function variance(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return s / a.length;
}

function counts(labels: Int32Array, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (const y of labels) out[y]! += 1;
  return out;
}

describe('makeClassification', () => {
  it('has the requested shapes, defaults and names', () => {
    const d = makeClassification({ samples: 1234 });
    expect(d.columns).toHaveLength(20);
    for (const c of d.columns) {
      expect(c).toBeInstanceOf(Float64Array);
      expect(c.length).toBe(1234);
      expect(c.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(d.labels).toBeInstanceOf(Int32Array);
    expect(d.labels.length).toBe(1234);
    expect(d.featureNames).toEqual(Array.from({ length: 20 }, (_, j) => `x${j}`));
    expect(new Set(d.labels)).toEqual(new Set([0, 1]));

    const e = makeClassification({ samples: 50, features: 7, informative: 3, redundant: 1, classes: 4 });
    expect(e.columns).toHaveLength(7);
    expect(e.featureNames).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6']);
    for (const y of e.labels) expect(y >= 0 && y < 4).toBe(true);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const options = { samples: 5000, informative: 4, redundant: 3, repeated: 2, classes: 3 };
    const a = makeClassification({ ...options, seed: 7 });
    const b = makeClassification({ ...options, seed: 7 });
    const c = makeClassification({ ...options, seed: 8 });
    const d = makeClassification({ ...options }); // seed 0
    const e = makeClassification({ ...options, seed: 0 });
    for (let j = 0; j < 20; j++) expect(bytesOf(a.columns[j]!).equals(bytesOf(b.columns[j]!))).toBe(true);
    expect(bytesOf(a.labels).equals(bytesOf(b.labels))).toBe(true);
    for (let j = 0; j < 20; j++) expect(bytesOf(d.columns[j]!).equals(bytesOf(e.columns[j]!))).toBe(true);
    const differing = a.columns.filter((col, j) => !bytesOf(col).equals(bytesOf(c.columns[j]!))).length;
    expect(differing).toBe(20);
    expect(bytesOf(a.labels).equals(bytesOf(c.labels))).toBe(false);
    // Large seeds are distinct too (high bits are used).
    const big1 = makeClassification({ samples: 10, seed: 2 ** 40 });
    const big2 = makeClassification({ samples: 10, seed: 2 ** 40 + 2 ** 33 });
    expect(bytesOf(big1.columns[0]!).equals(bytesOf(big2.columns[0]!))).toBe(false);
  });

  it('balances classes exactly as scikit-learn when flipY = 0', () => {
    expect(counts(makeClassification({ samples: 1000, flipY: 0 }).labels, 2)).toEqual([500, 500]);
    // int(1001 / 3 / 2) = 166 per cluster, remainder 5 to clusters 0..4; cluster k is class k % 3.
    const d = makeClassification({
      samples: 1001,
      informative: 3,
      classes: 3,
      clustersPerClass: 2,
      flipY: 0,
    });
    expect(counts(d.labels, 3)).toEqual([334, 334, 333]);
    // With the default flipY the classes stay roughly equal.
    const big = counts(makeClassification({ samples: 20000, seed: 3 }).labels, 2);
    expect(Math.abs(big[0]! - 10000)).toBeLessThan(200);
  });

  it('flipY replaces about flipY·(1 − 1/classes) of the labels and leaves the features alone', () => {
    const options = { samples: 20000, seed: 11 };
    const clean = makeClassification({ ...options, flipY: 0 });
    const noisy = makeClassification({ ...options, flipY: 0.2 });
    for (let j = 0; j < 20; j++) {
      expect(bytesOf(clean.columns[j]!).equals(bytesOf(noisy.columns[j]!))).toBe(true);
    }
    let changed = 0;
    for (let r = 0; r < 20000; r++) if (clean.labels[r] !== noisy.labels[r]) changed++;
    // Expected 0.2 × 0.5 × 20000 = 2000, sd ≈ 42.
    expect(changed).toBeGreaterThan(1800);
    expect(changed).toBeLessThan(2200);
    const all = makeClassification({ ...options, flipY: 1, classes: 4, informative: 3 });
    const allClean = makeClassification({ ...options, flipY: 0, classes: 4, informative: 3 });
    let allChanged = 0;
    for (let r = 0; r < 20000; r++) if (all.labels[r] !== allClean.labels[r]) allChanged++;
    expect(allChanged / 20000).toBeCloseTo(0.75, 1);
  });

  it('makes redundant features exact linear combinations and repeated ones exact copies', () => {
    const ni = 3;
    const nr = 2;
    const d = makeClassification({
      samples: 400,
      features: 8,
      informative: ni,
      redundant: nr,
      repeated: 1,
      shuffle: false,
      seed: 5,
    });
    const informative = d.columns.slice(0, ni);
    for (let j = ni; j < ni + nr; j++) {
      expect(lstsqResidual(informative, d.columns[j]!)).toBeLessThan(1e-9);
    }
    // Noise is not explained by the informative features.
    expect(lstsqResidual(informative, d.columns[7]!)).toBeGreaterThan(1);
    const repeated = d.columns[ni + nr]!;
    const sources = d.columns.slice(0, ni + nr).filter((c) => bytesOf(c).equals(bytesOf(repeated)));
    expect(sources).toHaveLength(1);
    expect(sources[0]).not.toBe(repeated); // a copy, not the same array
  });

  it('after shuffling, exactly informative + redundant columns are explained by the others', () => {
    const d = makeClassification({ samples: 300, features: 8, informative: 3, redundant: 2, seed: 9 });
    const explained = d.columns.map((col, j) => {
      const others = d.columns.filter((_, k) => k !== j);
      // Ridge with a tiny penalty: the informative columns are collinear with the redundant ones.
      const X = rowsOf(others, 300);
      const model = fitLinearRegression(X, Array.from(col), { l2: 1e-9 });
      const predicted = predictLinear(model, X);
      let worst = 0;
      for (let r = 0; r < 300; r++) worst = Math.max(worst, Math.abs(predicted[r]! - col[r]!));
      return worst < 1e-5;
    });
    expect(explained.filter(Boolean)).toHaveLength(5);
  });

  it('puts class centroids on hypercube vertices at ±classSep and noise at N(0, 1)', () => {
    const classSep = 3;
    const d = makeClassification({
      samples: 40000,
      features: 5,
      informative: 2,
      redundant: 0,
      clustersPerClass: 1,
      flipY: 0,
      classSep,
      shuffle: false,
      seed: 2,
    });
    const centroids: number[][] = [];
    for (const cls of [0, 1]) {
      const centroid = d.columns.slice(0, 2).map((col) => mean(col.filter((_, r) => d.labels[r] === cls)));
      for (const v of centroid) expect(Math.abs(Math.abs(v) - classSep)).toBeLessThan(0.1);
      centroids.push(centroid);
    }
    const distance = Math.hypot(centroids[0]![0]! - centroids[1]![0]!, centroids[0]![1]! - centroids[1]![1]!);
    expect(distance).toBeGreaterThan(2 * classSep - 0.2);
    let beyond196 = 0;
    let beyond35 = 0;
    for (const col of d.columns.slice(2)) {
      expect(Math.abs(mean(col))).toBeLessThan(0.03);
      expect(Math.abs(variance(col) - 1)).toBeLessThan(0.03);
      for (const v of col) {
        if (Math.abs(v) > 1.959964) beyond196++;
        if (Math.abs(v) > 3.5) beyond35++;
      }
    }
    // Normal tails (the ziggurat's tail path starts at 3.44): P(|x| > 1.96) = 0.05, P(|x| > 3.5) ≈ 4.65e-4.
    expect(beyond196 / 120000).toBeGreaterThan(0.046);
    expect(beyond196 / 120000).toBeLessThan(0.054);
    expect(beyond35).toBeGreaterThan(25);
    expect(beyond35).toBeLessThan(95);
  });

  it('separates classes: a threshold on one direction beats chance by far when classSep is large', () => {
    const d = makeClassification({
      samples: 5000,
      features: 4,
      informative: 1,
      redundant: 0,
      clustersPerClass: 1,
      flipY: 0,
      classSep: 4,
      shuffle: false,
      seed: 1,
    });
    // One informative dimension: the two clusters sit at ±4 with a random scale |a| ≤ 1.
    const x = d.columns[0]!;
    const positive = mean(x.filter((_, r) => d.labels[r] === 1)) > 0 ? 1 : 0;
    let correct = 0;
    for (let r = 0; r < 5000; r++) if ((x[r]! > 0 ? positive : 1 - positive) === d.labels[r]) correct++;
    expect(correct / 5000).toBeGreaterThan(0.99);
  });

  it('applies shift then scale', () => {
    const base = makeClassification({ samples: 100, seed: 4 });
    const moved = makeClassification({ samples: 100, seed: 4, shift: 3, scale: 2 });
    for (let j = 0; j < 20; j++) {
      for (let r = 0; r < 100; r++) expect(moved.columns[j]![r]).toBe((base.columns[j]![r]! + 3) * 2);
    }
    expect(bytesOf(moved.labels).equals(bytesOf(base.labels))).toBe(true);
  });

  it('rejects bad options with a RangeError naming the option', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ samples: 0 }, /samples must be an integer ≥ 1/],
      [{ samples: 1.5 }, /samples/],
      [{}, /samples/],
      [{ samples: 10, features: 0 }, /features/],
      [{ samples: 10, informative: 0 }, /informative/],
      [{ samples: 10, redundant: -1 }, /redundant/],
      [{ samples: 10, repeated: Number.NaN }, /repeated/],
      [{ samples: 10, classes: 1 }, /classes must be an integer ≥ 2/],
      [{ samples: 10, clustersPerClass: 0 }, /clustersPerClass/],
      [{ samples: 10, flipY: 1.5 }, /flipY must be in \[0, 1\]/],
      [{ samples: 10, flipY: -0.1 }, /flipY/],
      [{ samples: 10, classSep: Number.POSITIVE_INFINITY }, /classSep must be a finite number/],
      [{ samples: 10, classSep: -1 }, /classSep must be ≥ 0/],
      [{ samples: 10, seed: 0.5 }, /seed must be a safe integer/],
      [{ samples: 10, scale: Number.NaN }, /scale/],
      [{ samples: 10, shift: Number.NaN }, /shift/],
      [
        { samples: 10, features: 5, informative: 3, redundant: 2, repeated: 1 },
        /informative \(3\) \+ redundant \(2\) \+ repeated \(1\) must be ≤ features \(5\)/,
      ],
      [
        { samples: 10, informative: 2, classes: 3, clustersPerClass: 2 },
        /classes \(3\) × clustersPerClass \(2\) must be ≤ 2\^informative \(2\^2\)/,
      ],
    ];
    for (const [options, message] of bad) {
      expect(() => makeClassification(options as never), JSON.stringify(options)).toThrow(RangeError);
      expect(() => makeClassification(options as never)).toThrow(message);
    }
    // The boundaries themselves are fine.
    expect(() =>
      makeClassification({ samples: 3, features: 6, informative: 3, redundant: 2, repeated: 1, classes: 4 }),
    ).not.toThrow();
    expect(() =>
      makeClassification({ samples: 3, informative: 2, classes: 2, clustersPerClass: 2 }),
    ).not.toThrow();
  });

  it('uses distinct hypercube vertices as centroids (small and wider-than-30-bit hypercubes)', () => {
    const cases = [
      { informative: 2, classes: 2, clustersPerClass: 2, vertices: 4 }, // every vertex of the square
      { informative: 3, classes: 3, clustersPerClass: 2, vertices: 6 },
      { informative: 35, classes: 5, clustersPerClass: 3, vertices: 15 },
    ];
    for (const { vertices, ...shape } of cases) {
      for (const seed of [0, 1, 2]) {
        const d = makeClassification({
          samples: vertices * 20,
          features: shape.informative + 1,
          redundant: 0,
          flipY: 0,
          classSep: 50,
          shuffle: false,
          seed,
          ...shape,
        });
        // classSep dwarfs the cluster spread: the sign pattern of a row identifies its vertex.
        const patterns = new Set<string>();
        for (let r = 0; r < vertices * 20; r++) {
          patterns.add(
            d.columns
              .slice(0, shape.informative)
              .map((c) => (c[r]! > 0 ? 1 : 0))
              .join(''),
          );
        }
        expect(patterns.size).toBe(vertices);
        expect(counts(d.labels, shape.classes).every((c) => c === (vertices / shape.classes) * 20)).toBe(
          true,
        );
      }
    }
  });
});
