const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `'500ms'`, `'1s'`, `'10m'`, `'1h30m'`, or a number of milliseconds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what}: ${value} is not a duration`);
    return value;
  }
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.replace(/\s+/g, '')) {
    throw new RangeError(`${what}: '${value}' is not a duration (use e.g. '500ms', '30s', '10m', '1h')`);
  }
  return parts.reduce((total, p) => total + Number(p[1]) * (UNIT_MS[p[2]!] ?? 0), 0);
}

const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/;

/** Kubernetes-style memory quantity: '512Mi', '2Gi', '1G'. */
export function checkMemoryQuantity(value: string): string {
  if (!MEMORY.test(value))
    throw new RangeError(`memory: '${value}' is not a quantity (use e.g. '512Mi', '2Gi')`);
  return value;
}
