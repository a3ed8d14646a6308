/**
 * Gradual rollout of a challenger model behind `lathe serve`: live statistics per version, the
 * traffic split of a canary, and the decision to promote or roll back. Pure: the server feeds
 * it requests, latencies, errors and labels fed back, and acts on its decisions.
 */
import type { Label } from '../ml/metrics.js';

export interface CanaryPolicy {
  /** The alias of the version under test. Default 'challenger'. */
  alias: string;
  /** Share of requests sent to it, 0–100. */
  percent: number;
  /** Decide once the challenger has served this many requests. Default 200. */
  minRequests: number;
  /** …or, at the latest, after this long (then with whatever was seen). Default 600 s. */
  maxSeconds: number;
  /** Its error rate may exceed the champion's by at most this much (absolute). Default 0.01. */
  maxErrorRateIncrease: number;
  /** Its p95 latency may exceed the champion's by at most this share. Default 0.5 (+50%). */
  maxLatencyIncrease: number;
  /** Accuracy is compared once both versions have this many labelled predictions. Default 50. */
  minLabels: number;
  /** Its accuracy may be below the champion's by at most this much. Default 0. */
  maxAccuracyDrop: number;
}

export const DEFAULT_CANARY: Omit<CanaryPolicy, 'percent'> = {
  alias: 'challenger',
  minRequests: 200,
  maxSeconds: 600,
  maxErrorRateIncrease: 0.01,
  maxLatencyIncrease: 0.5,
  minLabels: 50,
  maxAccuracyDrop: 0,
};

const LATENCY_SAMPLE = 2048;

/** What one version did during a rollout. */
export class VersionStats {
  requests = 0;
  errors = 0;
  labelled = 0;
  correct = 0;
  /** A ring of recent latencies (ms) for percentiles. */
  private readonly latencies: number[] = [];
  private next = 0;

  constructor(readonly version: number) {}

  record(latencyMs: number, failed: boolean): void {
    this.requests++;
    if (failed) this.errors++;
    if (this.latencies.length < LATENCY_SAMPLE) this.latencies.push(latencyMs);
    else {
      this.latencies[this.next] = latencyMs;
      this.next = (this.next + 1) % LATENCY_SAMPLE;
    }
  }

  label(correct: boolean): void {
    this.labelled++;
    if (correct) this.correct++;
  }

  get errorRate(): number {
    return this.requests === 0 ? 0 : this.errors / this.requests;
  }

  get accuracy(): number | null {
    return this.labelled === 0 ? null : this.correct / this.labelled;
  }

  /** The q-quantile of recent latencies (nearest rank), or null before any request. */
  latency(q: number): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  }

  summary(): Record<string, number | null> {
    return {
      version: this.version,
      requests: this.requests,
      errors: this.errors,
      errorRate: this.errorRate,
      p50Ms: this.latency(0.5),
      p95Ms: this.latency(0.95),
      labelled: this.labelled,
      accuracy: this.accuracy,
    };
  }
}

/**
 * Sends `percent` of requests to the canary, spread evenly (request i goes to the canary when
 * ⌊(i+1)·p/100⌋ > ⌊i·p/100⌋): deterministic, so a test or an audit can replay it.
 */
export class TrafficSplit {
  private count = 0;
  constructor(private readonly percent: number) {}
  toCanary(): boolean {
    const i = this.count++;
    return Math.floor(((i + 1) * this.percent) / 100) > Math.floor((i * this.percent) / 100);
  }
}

export interface CanaryDecision {
  decision: 'promote' | 'rollback' | 'wait';
  reasons: string[];
}

const fmt = (x: number) => String(Number(x.toPrecision(4)));

/** Compares the challenger with the champion under the policy. */
export function decideCanary(
  policy: CanaryPolicy,
  champion: VersionStats,
  challenger: VersionStats,
  elapsedMs: number,
): CanaryDecision {
  const enough = challenger.requests >= policy.minRequests && champion.requests >= policy.minRequests;
  if (!enough && elapsedMs < policy.maxSeconds * 1000) {
    return { decision: 'wait', reasons: [`${challenger.requests}/${policy.minRequests} canary requests`] };
  }
  if (challenger.requests === 0) {
    return {
      decision: 'rollback',
      reasons: [`no canary request in ${fmt(elapsedMs / 1000)} s: nothing shows it works`],
    };
  }
  const failures: string[] = [];
  const passes: string[] = [];
  const errorBound = champion.errorRate + policy.maxErrorRateIncrease;
  (challenger.errorRate <= errorBound ? passes : failures).push(
    `error rate ${fmt(challenger.errorRate)} vs champion ${fmt(champion.errorRate)} (at most ${fmt(errorBound)})`,
  );
  const p95 = challenger.latency(0.95);
  const championP95 = champion.latency(0.95);
  if (p95 !== null && championP95 !== null) {
    const bound = championP95 * (1 + policy.maxLatencyIncrease);
    (p95 <= bound ? passes : failures).push(
      `p95 latency ${fmt(p95)} ms vs champion ${fmt(championP95)} ms (at most ${fmt(bound)} ms)`,
    );
  }
  if (challenger.labelled >= policy.minLabels && champion.labelled >= policy.minLabels) {
    const bound = champion.accuracy! - policy.maxAccuracyDrop;
    (challenger.accuracy! >= bound ? passes : failures).push(
      `accuracy ${fmt(challenger.accuracy!)} vs champion ${fmt(champion.accuracy!)} on labelled requests (at least ${fmt(bound)})`,
    );
  } else {
    passes.push(
      `accuracy not compared: ${challenger.labelled} and ${champion.labelled} labelled predictions (need ${policy.minLabels} each)`,
    );
  }
  return failures.length > 0
    ? { decision: 'rollback', reasons: failures }
    : { decision: 'promote', reasons: passes };
}

/** Shadow mode: how often the shadow agrees with the served model on the same rows. */
export class ShadowStats {
  rows = 0;
  agreeing = 0;
  /** Sum of |served − shadow| over rows (regression predictions, or the served class's probability). */
  private absoluteDifference = 0;
  failures = 0;

  constructor(readonly version: number) {}

  compare(
    served: readonly Label[],
    shadow: readonly Label[],
    servedScore?: readonly number[],
    shadowScore?: readonly number[],
  ): void {
    for (let i = 0; i < served.length; i++) {
      this.rows++;
      if (served[i] === shadow[i]) this.agreeing++;
      const a = servedScore ? servedScore[i]! : Number(served[i]);
      const b = shadowScore ? shadowScore[i]! : Number(shadow[i]);
      if (Number.isFinite(a) && Number.isFinite(b)) this.absoluteDifference += Math.abs(a - b);
    }
  }

  summary(): Record<string, number | null> {
    return {
      version: this.version,
      rows: this.rows,
      agreement: this.rows === 0 ? null : this.agreeing / this.rows,
      meanAbsoluteDifference: this.rows === 0 ? null : this.absoluteDifference / this.rows,
      failures: this.failures,
    };
  }
}
