/**
 * The model-validation gate: a candidate's metrics against absolute thresholds and against a
 * baseline's, with MLflow's MetricThreshold semantics (threshold, min_absolute_change,
 * min_relative_change, greater_is_better). Both sets of metrics must come from the same
 * evaluation data; the gate only compares numbers.
 */

export interface MetricThreshold {
  /** The candidate must be at least this (at most, when lower is better). */
  threshold?: number;
  /** With a baseline: the candidate must beat it by at least this much. */
  minAbsoluteChange?: number;
  /**
   * With a baseline: the candidate must beat it by at least this share (0–1) of the baseline's
   * magnitude: candidate ≥ baseline + |baseline|·change (≤ baseline − |baseline|·change when lower
   * is better).
   */
  minRelativeChange?: number;
  /** Default true (accuracy, AUC, R²); false for losses and errors (log loss, RMSE). */
  greaterIsBetter?: boolean;
}

export interface GateCheck {
  metric: string;
  rule: 'threshold' | 'minAbsoluteChange' | 'minRelativeChange';
  passed: boolean;
  candidate: number;
  /** What the candidate was compared with: the threshold, or the bound derived from the baseline. */
  bound: number;
  baseline?: number;
  reason: string;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
  /** One line per failed check; empty when passed. */
  reasons: string[];
}

export class GateError extends RangeError {}

/**
 * Checks `candidate` against the thresholds (and `baseline`, when given). Like MLflow: a change
 * rule needs a baseline (no baseline is an error, not a pass), and a relative change is measured
 * against the baseline's magnitude.
 */
export function validateCandidate(
  candidate: Readonly<Record<string, number>>,
  thresholds: Readonly<Record<string, MetricThreshold>>,
  baseline?: Readonly<Record<string, number>>,
): GateResult {
  const checks: GateCheck[] = [];
  const names = Object.keys(thresholds);
  if (names.length === 0) throw new GateError('thresholds: give at least one metric');
  for (const metric of names) {
    const rule = thresholds[metric]!;
    const value = finiteMetric(candidate, metric, 'candidate');
    const greater = rule.greaterIsBetter ?? true;
    const better = (a: number, b: number) => (greater ? a >= b : a <= b);
    const direction = greater ? '≥' : '≤';
    if (
      rule.threshold === undefined &&
      rule.minAbsoluteChange === undefined &&
      rule.minRelativeChange === undefined
    ) {
      throw new GateError(`thresholds.${metric}: give threshold, minAbsoluteChange or minRelativeChange`);
    }
    if (rule.threshold !== undefined) {
      requireFinite(rule.threshold, `thresholds.${metric}.threshold`);
      const passed = better(value, rule.threshold);
      checks.push({
        metric,
        rule: 'threshold',
        passed,
        candidate: value,
        bound: rule.threshold,
        reason: `${metric} ${fmt(value)} ${passed ? 'is' : 'is not'} ${direction} ${fmt(rule.threshold)}`,
      });
    }
    const changes: ['minAbsoluteChange' | 'minRelativeChange', number][] = [];
    if (rule.minAbsoluteChange !== undefined) changes.push(['minAbsoluteChange', rule.minAbsoluteChange]);
    if (rule.minRelativeChange !== undefined) changes.push(['minRelativeChange', rule.minRelativeChange]);
    if (changes.length === 0) continue;
    if (!baseline) {
      throw new GateError(`thresholds.${metric}: ${changes[0]![0]} needs a baseline model's metrics`);
    }
    const base = finiteMetric(baseline, metric, 'baseline');
    for (const [name, change] of changes) {
      requireFinite(change, `thresholds.${metric}.${name}`);
      if (change < 0) throw new GateError(`thresholds.${metric}.${name}: ${change} must be ≥ 0`);
      if (name === 'minRelativeChange' && change > 1) {
        throw new GateError(
          `thresholds.${metric}.minRelativeChange: ${change} must be between 0 and 1 (a share)`,
        );
      }
      const step = name === 'minAbsoluteChange' ? change : Math.abs(base) * change;
      const bound = greater ? base + step : base - step;
      const passed = better(value, bound);
      const what = name === 'minAbsoluteChange' ? `by ${fmt(change)}` : `by ${fmt(change * 100)}%`;
      checks.push({
        metric,
        rule: name,
        passed,
        candidate: value,
        bound,
        baseline: base,
        // The actual change too: "beats … by 0" alone reads as no improvement.
        reason: `${metric} ${fmt(value)} ${passed ? 'beats' : 'does not beat'} the baseline's ${fmt(base)} ${what} (needs ${direction} ${fmt(bound)}; the change is ${signed(value - base)})`,
      });
    }
  }
  const reasons = checks.filter((check) => !check.passed).map((check) => check.reason);
  return { passed: reasons.length === 0, checks, reasons };
}

function finiteMetric(metrics: Readonly<Record<string, number>>, metric: string, which: string): number {
  const value = metrics[metric];
  if (value === undefined) {
    throw new GateError(
      `${which} metrics have no '${metric}' (they have: ${Object.keys(metrics).join(', ') || 'none'})`,
    );
  }
  requireFinite(value, `${which} metric '${metric}'`);
  return value;
}

function requireFinite(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new GateError(`${what} is ${String(value)}, not a finite number`);
  }
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** A difference with its sign, e.g. +0.0175 or -0.002. */
function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${fmt(x)}`;
}
