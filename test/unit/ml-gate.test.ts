/**
 * The model-validation gate: MLflow MetricThreshold semantics on plain numbers.
 */
import { describe, expect, it } from 'vitest';
import { GateError, validateCandidate } from '../../src/ml/gate.js';

describe('validateCandidate', () => {
  it('absolute thresholds, greater and lower is better', () => {
    const ok = validateCandidate(
      { accuracy: 0.9, logLoss: 0.3 },
      {
        accuracy: { threshold: 0.85 },
        logLoss: { threshold: 0.35, greaterIsBetter: false },
      },
    );
    expect(ok.passed).toBe(true);
    expect(ok.reasons).toEqual([]);
    const bad = validateCandidate(
      { accuracy: 0.8, logLoss: 0.4 },
      {
        accuracy: { threshold: 0.85 },
        logLoss: { threshold: 0.35, greaterIsBetter: false },
      },
    );
    expect(bad.passed).toBe(false);
    expect(bad.reasons).toEqual(['accuracy 0.8 is not ≥ 0.85', 'logLoss 0.4 is not ≤ 0.35']);
    // The threshold itself passes.
    expect(validateCandidate({ accuracy: 0.85 }, { accuracy: { threshold: 0.85 } }).passed).toBe(true);
  });

  it('changes against a baseline: absolute and relative, both directions', () => {
    const baseline = { accuracy: 0.8, rmse: 10 };
    const result = validateCandidate(
      { accuracy: 0.83, rmse: 9.5 },
      {
        accuracy: { minAbsoluteChange: 0.02, minRelativeChange: 0.05 },
        rmse: { minRelativeChange: 0.1, greaterIsBetter: false },
      },
      baseline,
    );
    expect(result.checks.map((c) => [c.metric, c.rule, c.passed, Number(c.bound.toFixed(10))])).toEqual([
      ['accuracy', 'minAbsoluteChange', true, 0.82],
      ['accuracy', 'minRelativeChange', false, 0.84],
      ['rmse', 'minRelativeChange', false, 9],
    ]);
    expect(result.reasons).toEqual([
      "accuracy 0.83 does not beat the baseline's 0.8 by 5% (needs ≥ 0.84; the change is +0.03)",
      "rmse 9.5 does not beat the baseline's 10 by 10% (needs ≤ 9; the change is -0.5)",
    ]);
  });

  it('a relative change of a negative baseline is measured against its magnitude', () => {
    const result = validateCandidate({ r2: -0.05 }, { r2: { minRelativeChange: 0.5 } }, { r2: -0.2 });
    expect(result.checks[0]!.bound).toBeCloseTo(-0.1, 12);
    expect(result.passed).toBe(true);
  });

  it('refuses what it cannot judge, naming it', () => {
    expect(() => validateCandidate({ a: 1 }, {})).toThrow(GateError);
    expect(() => validateCandidate({ a: 1 }, { b: { threshold: 1 } })).toThrow(
      /candidate metrics have no 'b' \(they have: a\)/,
    );
    expect(() => validateCandidate({ a: Number.NaN }, { a: { threshold: 1 } })).toThrow(
      /candidate metric 'a' is NaN/,
    );
    expect(() => validateCandidate({ a: 1 }, { a: { minAbsoluteChange: 0.1 } })).toThrow(/needs a baseline/);
    expect(() => validateCandidate({ a: 1 }, { a: {} })).toThrow(
      /give threshold, minAbsoluteChange or minRelativeChange/,
    );
    expect(() => validateCandidate({ a: 1 }, { a: { minRelativeChange: 2 } }, { a: 1 })).toThrow(
      /between 0 and 1/,
    );
    expect(() => validateCandidate({ a: 1 }, { a: { minAbsoluteChange: 0.1 } }, { b: 1 })).toThrow(
      /baseline metrics have no 'a'/,
    );
  });
});
