/**
 * The run filter of `lathe runs list --filter` (MLflow's search syntax, AND only):
 *
 *   metrics.accuracy > 0.9 and params.lr = 0.1 and tags.team = 'vision' and status = succeeded
 *
 * Fields: `metrics.KEY` (the latest value), `params.KEY` (pipeline params and logged params),
 * `tags.KEY`, `status`, `pipeline`, `id`. A key with other characters goes in backquotes:
 * metrics.`val loss`. Operators: = (or ==), !=, <, <=, >, >=. Values: numbers, 'quoted' or
 * "quoted" text, or a bare word. Numbers compare as numbers; anything else as text. A run without
 * the metric, param or tag never matches a clause about it.
 */
import { UsageError } from '../errors.js';

export type FilterField =
  | { kind: 'metrics' | 'params' | 'tags'; key: string }
  | { kind: 'status' | 'pipeline' | 'id' };

export type FilterOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface FilterClause {
  field: FilterField;
  op: FilterOperator;
  value: string | number;
}

/** What a clause is evaluated against. */
export interface FilterSubject {
  id: string;
  status: string;
  pipeline: string;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  tags: Record<string, string>;
}

function fail(text: string, at: number, why: string): never {
  throw new UsageError(`--filter: ${why} at column ${at + 1}: ${text.slice(0, at)}⟨here⟩${text.slice(at)}`);
}

export function parseRunFilter(text: string): FilterClause[] {
  const clauses: FilterClause[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skip();
  if (i === text.length) fail(text, i, 'the filter is empty');
  for (;;) {
    // field
    const fieldMatch =
      /^(metrics|params|tags)\.(`[^`]+`|[A-Za-z0-9_\-./:[\]]+)|^(status|pipeline|id)(?![A-Za-z0-9_.])/.exec(
        text.slice(i),
      );
    if (!fieldMatch) {
      fail(text, i, 'expected metrics.KEY, params.KEY, tags.KEY, status, pipeline or id');
    }
    let field: FilterField;
    if (fieldMatch[1]) {
      const raw = fieldMatch[2]!;
      const key = raw.startsWith('`') ? raw.slice(1, -1) : raw;
      // A bare key stops before an operator that follows without spaces (metrics.acc>0.9).
      field = { kind: fieldMatch[1] as 'metrics' | 'params' | 'tags', key };
    } else field = { kind: fieldMatch[3] as 'status' | 'pipeline' | 'id' };
    i += fieldMatch[0].length;
    skip();
    // operator
    const opMatch = /^(==|!=|<=|>=|=|<|>)/.exec(text.slice(i));
    if (!opMatch) fail(text, i, 'expected an operator (=, ==, !=, <, <=, >, >=)');
    const op = (opMatch[1] === '==' ? '=' : opMatch[1]) as FilterOperator;
    i += opMatch[0].length;
    skip();
    // value
    const rest = text.slice(i);
    let value: string | number;
    const quoted = /^'([^']*)'|^"([^"]*)"/.exec(rest);
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?![A-Za-z0-9_.])/.exec(rest);
    const word = /^[A-Za-z0-9_\-.:/]+/.exec(rest);
    if (quoted) {
      value = quoted[1] ?? quoted[2]!;
      i += quoted[0].length;
    } else if (number) {
      value = Number(number[0]);
      i += number[0].length;
    } else if (word) {
      value = word[0];
      i += word[0].length;
    } else if (rest.startsWith("'") || rest.startsWith('"')) {
      fail(text, i, `the quoted text is not closed (no ending ${rest[0]})`);
    } else fail(text, i, 'expected a value (a number, a quoted text or a word)');
    clauses.push({ field, op, value });
    skip();
    if (i === text.length) return clauses;
    const and = /^and(?=\s)/i.exec(text.slice(i));
    if (!and) fail(text, i, "expected 'and' between clauses (or the end)");
    i += and[0].length;
    skip();
  }
}

function compare(left: unknown, op: FilterOperator, right: string | number): boolean {
  let a: string | number;
  let b: string | number;
  const leftNumber =
    typeof left === 'number'
      ? left
      : typeof left === 'string' && left.trim() !== ''
        ? Number(left)
        : Number.NaN;
  if (typeof right === 'number' && Number.isFinite(leftNumber)) {
    a = leftNumber;
    b = right;
  } else {
    a = typeof left === 'string' ? left : JSON.stringify(left);
    b = String(right);
  }
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** The run's value of a field; undefined when the run has no such metric, param or tag. */
function fieldValue(field: FilterField, run: FilterSubject): unknown {
  if (field.kind === 'metrics' || field.kind === 'params' || field.kind === 'tags') {
    const values: Record<string, unknown> = run[field.kind];
    return Object.hasOwn(values, field.key) ? values[field.key] : undefined;
  }
  return field.kind === 'status' ? run.status : field.kind === 'pipeline' ? run.pipeline : run.id;
}

export function matchesRunFilter(clauses: readonly FilterClause[], run: FilterSubject): boolean {
  return clauses.every(({ field, op, value }) => {
    const actual = fieldValue(field, run);
    return actual !== undefined && compare(actual, op, value);
  });
}
