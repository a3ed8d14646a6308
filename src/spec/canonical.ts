import { createHash } from 'node:crypto';

/**
 * JSON with sorted object keys and no whitespace, so equal values always give equal text
 * (and equal digests). `undefined` object members are dropped, as JSON.stringify does.
 * Non-finite numbers have no JSON form; they are written as strings so they still hash distinctly.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(`__number:${value}`);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(`__bigint:${value}`);
    case 'undefined':
      return 'null';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
      const entries = Object.keys(value as object)
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key])}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw new TypeError(`cannot serialize a ${typeof value} to canonical JSON`);
  }
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
