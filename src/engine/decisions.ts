/**
 * Pure engine decisions, unit-tested on their own: condition evaluation, templates,
 * retry backoff, cache keys.
 */
import { canonicalJson, sha256 } from '../spec/canonical.js';
import type { Condition, RetrySpec } from '../spec/schema.js';
import { PLACEHOLDER_PATTERN } from '../spec/validate.js';

export interface RunFacts {
  id: string;
  pipeline: string;
  status: string;
  params: Record<string, unknown>;
}

export function renderTemplate(template: string, run: RunFacts): string {
  return template.replace(PLACEHOLDER_PATTERN, (_match, placeholder: string) => {
    if (placeholder === 'run.id') return run.id;
    if (placeholder === 'run.status') return run.status;
    if (placeholder === 'run.pipeline') return run.pipeline;
    if (placeholder.startsWith('params.')) {
      const value = run.params[placeholder.slice(7)];
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
    throw new Error(`unknown placeholder {{${placeholder}}}`);
  });
}

/** Evaluates a condition; `value` resolves each ref (already known: its producers have finished). */
export function evaluateCondition(condition: Condition, value: (ref: never) => unknown): boolean {
  const resolve = value as (ref: unknown) => unknown;
  switch (condition.op) {
    case 'and':
      return condition.args.every((c) => evaluateCondition(c, value));
    case 'or':
      return condition.args.some((c) => evaluateCondition(c, value));
    case 'not':
      return !evaluateCondition(condition.arg, value);
    case 'truthy':
      return Boolean(resolve(condition.value));
    default: {
      const left = resolve(condition.left);
      const right = resolve(condition.right);
      switch (condition.op) {
        case 'eq':
          return canonicalJson(left) === canonicalJson(right);
        case 'ne':
          return canonicalJson(left) !== canonicalJson(right);
        default:
          return compareOrdered(condition.op, left, right);
      }
    }
  }
}

function compareOrdered(op: 'lt' | 'lte' | 'gt' | 'gte', left: unknown, right: unknown): boolean {
  const comparable =
    (typeof left === 'number' && typeof right === 'number') ||
    (typeof left === 'string' && typeof right === 'string');
  if (!comparable) {
    throw new TypeError(
      `cannot compare ${JSON.stringify(left)} ${op} ${JSON.stringify(right)}: both must be numbers or both strings`,
    );
  }
  const a = left as number | string;
  const b = right as number | string;
  switch (op) {
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
  }
}

/** Delay before attempt `nextAttempt` (2 = the first retry): backoff * factor^(n-2), capped. */
export function retryDelayMs(retry: RetrySpec, nextAttempt: number): number {
  const delay = retry.backoffMs * retry.factor ** Math.max(0, nextAttempt - 2);
  return Math.min(delay, retry.maxBackoffMs);
}

/**
 * The cache key of a task: what it would compute. It depends on the component's digest (code
 * or command plus interface), the resolved params, and the content hashes of its inputs, and on
 * nothing else: not the task's name, its position, the run, or other tasks.
 */
export function cacheKey(
  componentDigest: string,
  params: Record<string, unknown>,
  inputHashes: Record<string, string | string[]>,
): string {
  return sha256(canonicalJson({ component: componentDigest, params, inputs: inputHashes }));
}

/** Reads `path` inside a loop item: `item.a.b`. */
export function itemAt(item: unknown, path: readonly string[] | undefined, where: string): unknown {
  let value = item;
  for (const key of path ?? []) {
    if (value === null || typeof value !== 'object' || !(key in value)) {
      throw new TypeError(`${where}: loop item ${JSON.stringify(item)} has no field '${path!.join('.')}'`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
