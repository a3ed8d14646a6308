import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  chiSquaredHomogeneity,
  chiSquaredSurvival,
  cramersV,
  fillZeroProportions,
  histogramOfSorted,
  jensenShannonDistance,
  ksTwoSample,
  ksTwoSamplePValue,
  lInfinityDistance,
  populationStabilityIndex,
  populationStd,
  sturgesBinEdges,
  wassersteinDistance,
  wassersteinDistanceOfSorted,
  wassersteinDistanceSorted,
} from '../../src/data/stat-tests.js';

type Mode = 'auto' | 'exact' | 'asymp';

/** Reference values from SciPy 1.10.1 / numpy 1.24: test/fixtures/data/make_stat_test_fixtures.py. */
interface Fixtures {
  scipy: string;
  chiSquaredSurvival: [x: number, dof: number, p: number][];
  ksSamples: {
    a: number[];
    b: number[];
    mode: Mode;
    statistic: number;
    pValue: number | null;
    usedMode: 'exact' | 'asymp';
  }[];
  ksStatistics: [d: number, n1: number, n2: number, mode: Mode, p: number, usedMode: 'exact' | 'asymp'][];
  ksExactGrid: [d: number, n1: number, n2: number, p: number][];
  kstwoSf: [d: number, n: number, p: number][];
  contingency: {
    a: number[];
    b: number[];
    statistic: number;
    pValue: number;
    dof: number;
    cramersV: number;
  }[];
  distances: { p: number[]; q: number[]; jensenShannon: number; psi: number; lInfinity: number }[];
  fillZeroProportions: { proportions: number[]; filled: number[] }[];
  wasserstein: { u: number[]; v: number[]; distance: number }[];
  benjaminiHochberg: { pValues: number[]; adjusted: number[] }[];
  sturges: { min: number; max: number; n: number; edges: number[] }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/data/stat-test-fixtures.json', import.meta.url), 'utf8'),
) as Fixtures;

/**
 * Every function here follows SciPy's algorithm, so results agree to rounding error (measured:
 * at most ~2e-12 relative, in kstwo's Pomeranz branch where SciPy rescales in 80-bit long double;
 * ~6e-14 for the chi-squared tail). 1e-9 leaves margin for libm differences across machines.
 */
const REL_TOL = 1e-9;

/** |actual - expected| <= REL_TOL * |expected|; an expected 0 (e.g. an underflowed p-value) must be 0. */
function expectClose(actual: number, expected: number, label: string): void {
  expect(Number.isFinite(actual), `${label}: ${actual} is not finite`).toBe(true);
  if (expected === 0) {
    expect(actual, label).toBe(0);
    return;
  }
  const relative = Math.abs(actual - expected) / Math.abs(expected);
  expect(relative, `${label}: got ${actual}, SciPy ${expected}`).toBeLessThanOrEqual(REL_TOL);
}

function expectAllClose(actual: readonly number[], expected: readonly number[], label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  expected.forEach((e, i) => {
    expectClose(actual[i]!, e, `${label}[${i}]`);
  });
}

describe('reference fixtures', () => {
  it('were made by SciPy 1.10.1', () => {
    expect(fixtures.scipy).toBe('1.10.1');
  });
});

describe('chiSquaredSurvival', () => {
  it('equals scipy.stats.chi2.sf across dof 0.5..1e6, in the body and down to p ~ 1e-306', () => {
    expect(fixtures.chiSquaredSurvival.length).toBeGreaterThan(500);
    for (const [x, dof, p] of fixtures.chiSquaredSurvival) {
      expectClose(chiSquaredSurvival(x, dof), p, `chi2.sf(${x}, ${dof})`);
    }
  });

  it('is 1 at x = 0 and 0 where the tail underflows', () => {
    expect(chiSquaredSurvival(0, 3)).toBe(1);
    expect(chiSquaredSurvival(1e6, 1)).toBe(0);
  });
});

describe('ksTwoSample', () => {
  it('equals scipy.stats.ks_2samp for small samples, with ties, in each mode', () => {
    for (const c of fixtures.ksSamples) {
      const label = `ks_2samp(n1=${c.a.length}, n2=${c.b.length}, method=${c.mode})`;
      const result = ksTwoSample(c.a, c.b, c.mode);
      expect(result.mode, label).toBe(c.usedMode);
      expectClose(result.statistic, c.statistic, `${label} statistic`);
      if (c.pValue === null) {
        // SciPy returns NaN here (n1 = n2 = 1 in 'asymp': round(0.5) = 0); one value on each side
        // can never be evidence of a difference.
        expect(result.pValue, label).toBe(1);
      } else {
        expectClose(result.pValue, c.pValue, `${label} p-value`);
        // The p-value depends on the samples only through the statistic and the sizes.
        const fromStatistic = ksTwoSamplePValue(result.statistic, c.a.length, c.b.length, c.mode);
        expect(fromStatistic).toEqual({ pValue: result.pValue, mode: result.mode });
      }
    }
  });

  it('accepts typed arrays and does not reorder its inputs', () => {
    const a = Float64Array.from([3, 1, 2]);
    const b = [9, 7, 8];
    expect(ksTwoSample(a, b)).toEqual({ statistic: 1, pValue: 0.09999999999999999, mode: 'exact' });
    expect(Array.from(a)).toEqual([3, 1, 2]);
    expect(b).toEqual([9, 7, 8]);
  });
});

describe('ksTwoSamplePValue', () => {
  it('equals ks_2samp for large samples (given the statistic), in exact and asymptotic modes', () => {
    for (const [d, n1, n2, mode, p, usedMode] of fixtures.ksStatistics) {
      const label = `ks_2samp p-value(d=${d}, n1=${n1}, n2=${n2}, method=${mode})`;
      const result = ksTwoSamplePValue(d, n1, n2, mode);
      expect(result.mode, label).toBe(usedMode);
      expectClose(result.pValue, p, label);
    }
  });

  it('equals the exact p-value ks_2samp computes for d = k / lcm(n1, n2)', () => {
    for (const [d, n1, n2, p] of fixtures.ksExactGrid) {
      const result = ksTwoSamplePValue(d, n1, n2, 'exact');
      expect(result.mode).toBe('exact');
      expectClose(result.pValue, p, `exact p(d=${d}, n1=${n1}, n2=${n2})`);
    }
  });

  it('equals kstwo.sf(d, n) in asymptotic mode, in every branch of SciPy _kolmogn', () => {
    // With n1 = n2 = 2n, ks_2samp's asymptotic p-value is kstwo.sf(d, round(n1*n2/(n1+n2))) = kstwo.sf(d, n).
    for (const [d, n, p] of fixtures.kstwoSf) {
      const result = ksTwoSamplePValue(d, 2 * n, 2 * n, 'asymp');
      expect(result.mode).toBe('asymp');
      expectClose(result.pValue, p, `kstwo.sf(${d}, ${n})`);
    }
  });

  it("uses the exact method in 'auto' up to 10000 values per sample, as ks_2samp does", () => {
    expect(ksTwoSamplePValue(0.01, 10000, 10000).mode).toBe('exact');
    expect(ksTwoSamplePValue(0.01, 10001, 10000).mode).toBe('asymp');
    // 'exact' falls back when lcm(n1, n2) does not fit the lattice (as SciPy, which warns).
    expect(ksTwoSamplePValue(0.01, 100003, 100019, 'exact').mode).toBe('asymp');
  });

  it('gives p = 1 for d = 0', () => {
    expect(ksTwoSamplePValue(0, 7, 5)).toEqual({ pValue: 1, mode: 'exact' });
    expect(ksTwoSamplePValue(0, 70000, 50000)).toEqual({ pValue: 1, mode: 'asymp' });
  });
});

describe('chiSquaredHomogeneity and cramersV', () => {
  it('equal chi2_contingency(correction=False) and association(method="cramer")', () => {
    for (const c of fixtures.contingency) {
      const label = `table ${JSON.stringify([c.a.slice(0, 6), c.b.slice(0, 6)])}`;
      const result = chiSquaredHomogeneity(c.a, c.b);
      expect(result.dof, label).toBe(c.dof);
      expectClose(result.statistic, c.statistic, `${label} statistic`);
      expectClose(result.pValue, c.pValue, `${label} p-value`);
      expectClose(cramersV(c.a, c.b), c.cramersV, `${label} Cramér's V`);
    }
  });

  it('drops categories empty in both rows and gives statistic 0, p 1 when fewer than two remain', () => {
    expect(chiSquaredHomogeneity([0, 4, 0], [0, 6, 0])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
    expect(cramersV([0, 4, 0], [0, 6, 0])).toBe(0);
    expect(chiSquaredHomogeneity([], [])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
    expect(chiSquaredHomogeneity([5, 0, 7], [3, 0, 9])).toEqual(chiSquaredHomogeneity([5, 7], [3, 9]));
  });
});

describe('distances between distributions', () => {
  it('jensenShannonDistance equals scipy.spatial.distance.jensenshannon', () => {
    for (const c of fixtures.distances) {
      expectClose(jensenShannonDistance(c.p, c.q), c.jensenShannon, `JS(${c.p}, ${c.q})`);
    }
  });

  it("populationStabilityIndex equals Evidently's PSI (zero bins filled)", () => {
    for (const c of fixtures.distances) {
      expectClose(populationStabilityIndex(c.p, c.q), c.psi, `PSI(${c.p}, ${c.q})`);
    }
  });

  it("fillZeroProportions applies Evidently's rule", () => {
    for (const c of fixtures.fillZeroProportions) {
      expectAllClose(fillZeroProportions(c.proportions), c.filled, `fill(${c.proportions})`);
    }
  });

  it('lInfinityDistance is the largest difference in proportions', () => {
    for (const c of fixtures.distances) {
      expectClose(lInfinityDistance(c.p, c.q), c.lInfinity, `Linf(${c.p}, ${c.q})`);
    }
  });

  it('wassersteinDistance and wassersteinDistanceSorted equal scipy.stats.wasserstein_distance', () => {
    for (const c of fixtures.wasserstein) {
      const label = `W1(n=${c.u.length}, m=${c.v.length})`;
      expectClose(wassersteinDistance(c.u, c.v), c.distance, label);
      const u = [...c.u].sort((x, y) => x - y);
      const v = [...c.v].sort((x, y) => x - y);
      expectClose(wassersteinDistanceSorted(u, v), c.distance, `${label} sorted`);
      // The unchecked variant drift uses gives the very same number.
      expect(wassersteinDistanceOfSorted(Float64Array.from(u), Float64Array.from(v))).toBe(
        wassersteinDistanceSorted(u, v),
      );
    }
  });
});

describe('benjaminiHochberg', () => {
  it("equals statsmodels multipletests(method='fdr_bh'), ties included", () => {
    for (const c of fixtures.benjaminiHochberg) {
      expectAllClose(benjaminiHochberg(c.pValues), c.adjusted, `BH(${c.pValues.slice(0, 5)}...)`);
    }
  });
});

describe('sturgesBinEdges', () => {
  it("equals numpy.histogram_bin_edges(data, bins='sturges')", () => {
    for (const c of fixtures.sturges) {
      expectAllClose(sturgesBinEdges(c.min, c.max, c.n), c.edges, `sturges(${c.min}, ${c.max}, ${c.n})`);
    }
  });

  it('a range wider than the largest double gets finite, increasing edges (numpy overflows)', () => {
    const edges = sturgesBinEdges(-1.7e308, 1.7e308, 1000);
    expect(edges).toHaveLength(12);
    expect(edges[0]).toBe(-1.7e308);
    expect(edges.at(-1)).toBe(1.7e308);
    for (let k = 1; k < edges.length; k++) expect(edges[k]!).toBeGreaterThan(edges[k - 1]!);
  });
});

describe('histogramOfSorted', () => {
  it('counts as numpy.histogram does: [a, b) bins, the last one closed, values outside left out', () => {
    // numpy.histogram([0, 1, 1, 2, 3, 3], [0, 1, 2, 3]) → [1, 2, 3]
    expect(histogramOfSorted([0, 1, 1, 2, 3, 3], [0, 1, 2, 3])).toEqual([1, 2, 3]);
    // numpy.histogram([-1, 0.5, 2.5, 4], [0, 1, 2, 3]) → [1, 0, 1]
    expect(histogramOfSorted([-1, 0.5, 2.5, 4], [0, 1, 2, 3])).toEqual([1, 0, 1]);
    expect(histogramOfSorted([], [0, 1])).toEqual([0]);
  });
});

describe('populationStd', () => {
  it('equals numpy.std (ddof 0), also for values whose squares overflow', () => {
    // numpy.std([1, 2, 3, 4]) = 1.118033988749895
    expect(populationStd(Float64Array.from([1, 2, 3, 4]))).toBe(1.118033988749895);
    expect(populationStd(Float64Array.from([5]))).toBe(0);
    expect(populationStd(Float64Array.from([1e200, -1e200]))).toBeCloseTo(1e200, -186);
    expect(populationStd(new Float64Array(0))).toBeNull();
  });
});

describe('input validation', () => {
  it('chiSquaredSurvival rejects a non-finite or negative x and a non-positive dof', () => {
    expect(() => chiSquaredSurvival(Number.NaN, 1)).toThrow(/^x must be a finite number/);
    expect(() => chiSquaredSurvival(Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
    expect(() => chiSquaredSurvival(-1, 1)).toThrow(/^x must be non-negative/);
    expect(() => chiSquaredSurvival(1, 0)).toThrow(/^dof must be positive/);
    expect(() => chiSquaredSurvival(1, Number.NaN)).toThrow(/^dof must be a finite number/);
  });

  it('ksTwoSamplePValue rejects a statistic outside [0, 1], bad sizes and an unknown mode', () => {
    expect(() => ksTwoSamplePValue(1.5, 10, 10)).toThrow(/^d must be between 0 and 1/);
    expect(() => ksTwoSamplePValue(Number.NaN, 10, 10)).toThrow(/^d must be a finite number/);
    expect(() => ksTwoSamplePValue(0.5, 0, 10)).toThrow(/^n1 must be a positive integer/);
    expect(() => ksTwoSamplePValue(0.5, 10, 2.5)).toThrow(/^n2 must be a positive integer/);
    expect(() => ksTwoSamplePValue(0.5, 10, 10, 'fast' as Mode)).toThrow(/^mode must be/);
  });

  it('ksTwoSample rejects empty samples and non-finite values', () => {
    expect(() => ksTwoSample([], [1])).toThrow(/^a must not be empty/);
    expect(() => ksTwoSample([1], [])).toThrow(/^b must not be empty/);
    expect(() => ksTwoSample([1, Number.NaN], [1])).toThrow(/^a\[1\] must be a finite number/);
    expect(() => ksTwoSample([1], [Number.NEGATIVE_INFINITY])).toThrow(/^b\[0\] must be a finite number/);
  });

  it('the categorical tests reject unequal lengths, negative counts and an empty row', () => {
    expect(() => chiSquaredHomogeneity([1, 2], [1])).toThrow(
      /^countsA and countsB must have the same length/,
    );
    expect(() => chiSquaredHomogeneity([1, -1], [1, 1])).toThrow(
      /^countsA\[1\] must be a finite non-negative/,
    );
    expect(() => chiSquaredHomogeneity([1, 1], [1, Number.NaN])).toThrow(/^countsB\[1\]/);
    expect(() => chiSquaredHomogeneity([0, 0], [1, 2])).toThrow(/^countsA must have a positive total/);
    expect(() => cramersV([1, 2], [0, 0])).toThrow(/^countsB must have a positive total/);
  });

  it('the distances reject unequal lengths, empty or all-zero inputs and negative weights', () => {
    expect(() => jensenShannonDistance([1, 2], [1])).toThrow(/^p and q must have the same length/);
    expect(() => jensenShannonDistance([], [])).toThrow(/^p and q must not be empty/);
    expect(() => jensenShannonDistance([0, 0], [1, 1])).toThrow(/^p must have a positive total/);
    expect(() => populationStabilityIndex([1, 1], [0, 0])).toThrow(/^q must have a positive total/);
    expect(() => populationStabilityIndex([1, -2], [1, 1])).toThrow(/^p\[1\] must be a finite non-negative/);
    expect(() => lInfinityDistance([1], [1, 2])).toThrow(/^p and q must have the same length/);
    expect(() => fillZeroProportions([0, 0])).toThrow(/^proportions must contain a non-zero value/);
    expect(() => fillZeroProportions([0.5, Number.NaN])).toThrow(/^proportions\[1\]/);
  });

  it('the Wasserstein distances reject empty, non-finite and (for the sorted variant) unsorted samples', () => {
    expect(() => wassersteinDistance([], [1])).toThrow(/^u must not be empty/);
    expect(() => wassersteinDistance([1], [Number.NaN])).toThrow(/^v\[0\] must be a finite number/);
    expect(() => wassersteinDistanceSorted([2, 1], [1])).toThrow(/^u must be sorted ascending/);
    expect(() => wassersteinDistanceSorted([1], [3, 2])).toThrow(/^v must be sorted ascending/);
  });

  it('benjaminiHochberg rejects values outside [0, 1] and returns [] for []', () => {
    expect(() => benjaminiHochberg([0.5, 1.2])).toThrow(/^pValues\[1\] must be a number between 0 and 1/);
    expect(() => benjaminiHochberg([Number.NaN])).toThrow(/^pValues\[0\]/);
    expect(benjaminiHochberg([])).toEqual([]);
  });

  it('sturgesBinEdges rejects min > max, non-finite bounds and a non-positive n', () => {
    expect(() => sturgesBinEdges(2, 1, 10)).toThrow(/^min must not exceed max/);
    expect(() => sturgesBinEdges(Number.NaN, 1, 10)).toThrow(/^min must be a finite number/);
    expect(() => sturgesBinEdges(0, Number.POSITIVE_INFINITY, 10)).toThrow(/^max must be a finite number/);
    expect(() => sturgesBinEdges(0, 1, 0)).toThrow(/^n must be a positive integer/);
    expect(() => sturgesBinEdges(0, 1, 2.5)).toThrow(/^n must be a positive integer/);
  });

  it('throws RangeError in every case above', () => {
    expect(() => chiSquaredHomogeneity([1], [-1])).toThrow(RangeError);
    expect(() => ksTwoSample([], [])).toThrow(RangeError);
    expect(() => sturgesBinEdges(1, 0, 1)).toThrow(RangeError);
  });
});
