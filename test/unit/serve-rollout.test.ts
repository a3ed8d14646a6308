/** The rollout decisions of `lathe serve` (src/serve/rollout.ts): pure logic, no server. */
import { describe, expect, it } from 'vitest';
import {
  type CanaryPolicy,
  DEFAULT_CANARY,
  decideCanary,
  ShadowStats,
  TrafficSplit,
  VersionStats,
} from '../../src/serve/rollout.js';

const policy: CanaryPolicy = { ...DEFAULT_CANARY, percent: 10, minRequests: 10, minLabels: 5 };

function stats(version: number, requests: number, errors: number, latencyMs: number): VersionStats {
  const s = new VersionStats(version);
  for (let i = 0; i < requests; i++) s.record(latencyMs, i < errors);
  return s;
}

describe('TrafficSplit', () => {
  it('sends exactly the share, spread evenly, the same way every time', () => {
    for (const percent of [1, 10, 25, 50, 99]) {
      const split = new TrafficSplit(percent);
      const picks = Array.from({ length: 1000 }, () => split.toCanary());
      expect(picks.filter(Boolean).length).toBe(10 * percent);
      // Evenly: no window of 100 requests strays from the share by more than one.
      for (let start = 0; start + 100 <= 1000; start += 100) {
        const n = picks.slice(start, start + 100).filter(Boolean).length;
        expect(Math.abs(n - percent)).toBeLessThanOrEqual(1);
      }
      const again = new TrafficSplit(percent);
      expect(Array.from({ length: 1000 }, () => again.toCanary())).toEqual(picks);
    }
  });
});

describe('VersionStats', () => {
  it('counts, error rate, nearest-rank latency percentiles over a ring of recent requests, accuracy', () => {
    const s = new VersionStats(3);
    expect(s.latency(0.95)).toBeNull();
    expect(s.accuracy).toBeNull();
    for (let i = 1; i <= 100; i++) s.record(i, i % 10 === 0);
    expect(s.requests).toBe(100);
    expect(s.errorRate).toBeCloseTo(0.1, 12);
    expect(s.latency(0.5)).toBe(50);
    expect(s.latency(0.95)).toBe(95);
    s.label(true);
    s.label(false);
    s.label(true);
    expect(s.accuracy).toBeCloseTo(2 / 3, 12);
    // The ring keeps the latest 2048 latencies: older ones stop counting.
    for (let i = 0; i < 2048; i++) s.record(1000, false);
    expect(s.latency(0.05)).toBe(1000);
    expect(s.summary()).toMatchObject({ version: 3, requests: 2148, labelled: 3 });
  });
});

describe('decideCanary', () => {
  it('waits until both versions have enough requests, unless the time is up', () => {
    const champion = stats(1, 100, 0, 2);
    expect(decideCanary(policy, champion, stats(2, 5, 0, 2), 1000).decision).toBe('wait');
    expect(decideCanary(policy, champion, stats(2, 5, 0, 2), policy.maxSeconds * 1000).decision).toBe(
      'promote',
    );
    expect(decideCanary(policy, champion, stats(2, 0, 0, 2), policy.maxSeconds * 1000)).toMatchObject({
      decision: 'rollback',
      reasons: [expect.stringMatching(/no canary request/)],
    });
  });

  it('promotes a challenger as good as the champion, saying what it compared', () => {
    const d = decideCanary(policy, stats(1, 100, 1, 2), stats(2, 20, 0, 2.5), 0);
    expect(d.decision).toBe('promote');
    expect(d.reasons.join(' | ')).toMatch(
      /error rate 0 vs champion 0\.01.*p95 latency 2\.5 ms vs champion 2 ms.*accuracy not compared/,
    );
  });

  it('rolls back on more errors, slower p95 or lower accuracy than allowed', () => {
    expect(decideCanary(policy, stats(1, 100, 0, 2), stats(2, 20, 2, 2), 0)).toMatchObject({
      decision: 'rollback',
      reasons: [expect.stringMatching(/^error rate 0\.1 vs champion 0/)],
    });
    expect(decideCanary(policy, stats(1, 100, 0, 2), stats(2, 20, 0, 3.5), 0)).toMatchObject({
      decision: 'rollback',
      reasons: [expect.stringMatching(/^p95 latency 3\.5 ms vs champion 2 ms \(at most 3 ms\)/)],
    });
    const champion = stats(1, 100, 0, 2);
    const challenger = stats(2, 20, 0, 2);
    for (let i = 0; i < 10; i++) {
      champion.label(i < 9);
      challenger.label(i < 7);
    }
    expect(decideCanary(policy, champion, challenger, 0)).toMatchObject({
      decision: 'rollback',
      reasons: [expect.stringMatching(/^accuracy 0\.7 vs champion 0\.9/)],
    });
    expect(decideCanary({ ...policy, maxAccuracyDrop: 0.25 }, champion, challenger, 0).decision).toBe(
      'promote',
    );
  });
});

describe('ShadowStats', () => {
  it('agreement and mean absolute difference of scores', () => {
    const s = new ShadowStats(4);
    expect(s.summary()).toMatchObject({ rows: 0, agreement: null });
    s.compare(['a', 'b', 'a', 'a'], ['a', 'a', 'a', 'b'], [0.9, 0.6, 0.8, 0.7], [0.8, 0.4, 0.8, 0.4]);
    expect(s.summary()).toMatchObject({ version: 4, rows: 4, agreement: 0.5, failures: 0 });
    expect(s.summary().meanAbsoluteDifference).toBeCloseTo((0.1 + 0.2 + 0 + 0.3) / 4, 12);
    const regression = new ShadowStats(5);
    regression.compare([1.5, 2], [1, 2]);
    expect(regression.summary()).toMatchObject({ agreement: 0.5, meanAbsoluteDifference: 0.25 });
  });
});
