import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  type FilterClause,
  type FilterSubject,
  matchesRunFilter,
  parseRunFilter,
} from '../../src/tracking/filter.js';

/** The error parseRunFilter throws for `text` (fails the test if it parses). */
function parseError(text: string): UsageError {
  try {
    parseRunFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('parseRunFilter', () => {
  it('parses every operator, == as =', () => {
    const ops = ['=', '==', '!=', '<', '<=', '>', '>='];
    for (const op of ops) {
      expect(parseRunFilter(`metrics.acc ${op} 0.5`), op).toEqual([
        { field: { kind: 'metrics', key: 'acc' }, op: op === '==' ? '=' : op, value: 0.5 },
      ]);
    }
  });

  it('parses every field kind', () => {
    expect(
      parseRunFilter(
        "metrics.ml.evaluate-2.accuracy > 0.85 and params.rows >= 3000 and tags.owner = 'ana' and status = succeeded and pipeline != quickstart and id = r_01ABC",
      ),
    ).toEqual([
      { field: { kind: 'metrics', key: 'ml.evaluate-2.accuracy' }, op: '>', value: 0.85 },
      { field: { kind: 'params', key: 'rows' }, op: '>=', value: 3000 },
      { field: { kind: 'tags', key: 'owner' }, op: '=', value: 'ana' },
      { field: { kind: 'status' }, op: '=', value: 'succeeded' },
      { field: { kind: 'pipeline' }, op: '!=', value: 'quickstart' },
      { field: { kind: 'id' }, op: '=', value: 'r_01ABC' },
    ]);
  });

  it('takes keys with the characters names allow, and anything else in backquotes', () => {
    expect(parseRunFilter('metrics.train/loss:[0] < 1')[0]!.field).toEqual({
      kind: 'metrics',
      key: 'train/loss:[0]',
    });
    expect(parseRunFilter('metrics.`val loss` < 0.3')).toEqual([
      { field: { kind: 'metrics', key: 'val loss' }, op: '<', value: 0.3 },
    ]);
    expect(parseRunFilter('tags.`a = b and c`="x"')).toEqual([
      { field: { kind: 'tags', key: 'a = b and c' }, op: '=', value: 'x' },
    ]);
  });

  it('reads quoted text (single or double quotes), bare words and numbers', () => {
    const value = (v: string) => parseRunFilter(`tags.x = ${v}`)[0]!.value;
    expect(value("'two words and more'")).toBe('two words and more');
    expect(value('"double \'quoted\'"')).toBe("double 'quoted'");
    expect(value("''")).toBe('');
    // Quoted digits stay text.
    expect(value("'42'")).toBe('42');
    expect(value('succeeded')).toBe('succeeded');
    expect(value('v2-final.1')).toBe('v2-final.1');
    expect(value('42')).toBe(42);
    expect(value('-3')).toBe(-3);
    expect(value('0.25')).toBe(0.25);
    expect(value('.5')).toBe(0.5);
    expect(value('1e-3')).toBe(0.001);
    expect(value('-2.5E+2')).toBe(-250);
    // A word that starts with digits is a word.
    expect(value('3abc')).toBe('3abc');
  });

  it('needs no spaces around operators', () => {
    expect(parseRunFilter('metrics.acc>0.9')).toEqual([
      { field: { kind: 'metrics', key: 'acc' }, op: '>', value: 0.9 },
    ]);
    expect(parseRunFilter('metrics.acc>=-1e2 and status=failed and params.lr!=0.1')).toEqual([
      { field: { kind: 'metrics', key: 'acc' }, op: '>=', value: -100 },
      { field: { kind: 'status' }, op: '=', value: 'failed' },
      { field: { kind: 'params', key: 'lr' }, op: '!=', value: 0.1 },
    ]);
    expect(parseRunFilter("tags.owner='ana'")[0]!.value).toBe('ana');
  });

  it('joins clauses with and in any case, around any whitespace', () => {
    const clauses = parseRunFilter('  status = succeeded AND metrics.a < 1\tAnd\nparams.b = 2  ');
    expect(clauses.map((c) => c.field.kind)).toEqual(['status', 'metrics', 'params']);
  });

  it('points at the column of an empty filter', () => {
    for (const text of ['', '   ']) {
      const err = parseError(text);
      expect(err.message).toContain('empty');
      expect(err.message).toContain(`column ${text.length + 1}`);
    }
  });

  it('points at an unknown field', () => {
    const err = parseError('status = ok and metric.acc > 1');
    expect(err.message).toMatch(/expected metrics\.KEY.* at column 17:/);
    expect(err.message).toContain('status = ok and ⟨here⟩metric.acc > 1');
    expect(parseError('statuses = ok').message).toContain('column 1');
    expect(parseError('metrics. = 1').message).toContain('column 1');
  });

  it('points at a missing operator', () => {
    const err = parseError('metrics.acc 0.9');
    expect(err.message).toMatch(/expected an operator .* at column 13/);
    expect(parseError('status').message).toMatch(/expected an operator .* at column 7/);
    expect(parseError('status =< x').message).toMatch(/expected a value .* at column 9/);
  });

  it('points at a missing value', () => {
    expect(parseError('metrics.acc >').message).toMatch(/expected a value .* at column 14/);
    expect(parseError('metrics.acc > ').message).toMatch(/expected a value .* at column 15/);
    expect(parseError("tags.x = 'unclosed").message).toMatch(
      /the quoted text is not closed \(no ending '\) at column 10/,
    );
    expect(parseError('status = (x)').message).toMatch(/column 10/);
  });

  it('points at junk between clauses, and at a missing clause after and', () => {
    expect(parseError('status = ok metrics.a > 1').message).toMatch(
      /expected 'and' between clauses .* at column 13/,
    );
    expect(parseError('status = ok or id = x').message).toMatch(/'and' .* at column 13/);
    expect(parseError("tags.a = 'x'junk").message).toMatch(/'and' .* at column 13/);
    expect(parseError('status = ok and ').message).toMatch(/expected metrics\.KEY.* at column 17/);
    expect(parseError('status = ok andid = x').message).toMatch(/'and' .* at column 13/);
  });
});

describe('matchesRunFilter', () => {
  const subject = (over: Partial<FilterSubject> = {}): FilterSubject => ({
    id: 'r_01ABC',
    status: 'succeeded',
    pipeline: 'quickstart',
    metrics: { acc: 0.91, loss: 0.2, 'val loss': 0.3, neg: -5 },
    params: { rows: 3000, lr: '0.1', name: 'alpha', flag: true, layers: [64, 32], nothing: null },
    tags: { owner: 'ana', version: '10' },
    ...over,
  });
  const matches = (text: string, over?: Partial<FilterSubject>) =>
    matchesRunFilter(parseRunFilter(text), subject(over));

  it('compares metrics as numbers with every operator', () => {
    expect(matches('metrics.acc > 0.9')).toBe(true);
    expect(matches('metrics.acc > 0.91')).toBe(false);
    expect(matches('metrics.acc >= 0.91')).toBe(true);
    expect(matches('metrics.acc = 0.91')).toBe(true);
    expect(matches('metrics.acc == 0.91')).toBe(true);
    expect(matches('metrics.acc != 0.91')).toBe(false);
    expect(matches('metrics.acc < 1')).toBe(true);
    expect(matches('metrics.acc <= 0.9')).toBe(false);
    expect(matches('metrics.neg < -4.5')).toBe(true);
    expect(matches('metrics.`val loss` < 3e-1')).toBe(false);
    expect(matches('metrics.`val loss` <= 3e-1')).toBe(true);
  });

  it('never matches a clause about a missing metric, param or tag (not even !=)', () => {
    for (const text of [
      'metrics.missing > 0',
      'metrics.missing != 1',
      'metrics.missing < 1',
      'params.missing != x',
      'tags.missing != x',
      'tags.missing = ""',
    ]) {
      expect(matches(text), text).toBe(false);
    }
    expect(matches('metrics.acc > 0', { metrics: {} })).toBe(false);
    // Not fooled by inherited properties.
    expect(matches('params.constructor != x')).toBe(false);
    expect(matches('tags.toString != x')).toBe(false);
  });

  it('compares numbers numerically even when the stored value is text', () => {
    // 10 > 9 as numbers (as text '10' < '9').
    expect(matches('tags.version > 9')).toBe(true);
    expect(matches('tags.version = 10')).toBe(true);
    expect(matches('tags.version = 10.0')).toBe(true);
    // A param logged as the text '0.1' equals the number 0.1.
    expect(matches('params.lr = 0.1')).toBe(true);
    expect(matches('params.lr < 0.2')).toBe(true);
  });

  it('compares as text when either side is not a number', () => {
    // Quoted text stays text: '10' vs '9' as text.
    expect(matches("tags.version < '9'")).toBe(true);
    expect(matches("tags.version = '10.0'")).toBe(false);
    expect(matches('tags.owner = ana')).toBe(true);
    expect(matches("tags.owner = 'Ana'")).toBe(false);
    expect(matches('tags.owner > alice')).toBe(true);
    expect(matches('tags.owner > anb')).toBe(false);
    expect(matches('tags.owner < bob')).toBe(true);
    // A number against text that is not one: text comparison, no NaN surprises.
    expect(matches('params.name = 1')).toBe(false);
    expect(matches('params.name != 1')).toBe(true);
    expect(matches('tags.empty = 0', { tags: { empty: '' } })).toBe(false);
  });

  it('reads params from the pipeline params and the logged ones alike (JSON values as text)', () => {
    expect(matches('params.rows >= 3000')).toBe(true);
    expect(matches('params.rows > 3000')).toBe(false);
    expect(matches('params.name = alpha')).toBe(true);
    expect(matches('params.flag = true')).toBe(true);
    expect(matches('params.nothing = null')).toBe(true);
    expect(matches("params.layers = '[64,32]'")).toBe(true);
  });

  it('compares status, pipeline and id as text', () => {
    expect(matches('status = succeeded')).toBe(true);
    expect(matches("status = 'failed'")).toBe(false);
    expect(matches('status != failed and pipeline = quickstart')).toBe(true);
    expect(matches('id = r_01ABC')).toBe(true);
    expect(matches('id > r_00')).toBe(true);
  });

  it('needs every clause to match; no clauses match everything', () => {
    expect(matches('metrics.acc > 0.9 and tags.owner = ana and params.rows = 3000')).toBe(true);
    expect(matches('metrics.acc > 0.9 and tags.owner = bo')).toBe(false);
    const none: FilterClause[] = [];
    expect(matchesRunFilter(none, subject())).toBe(true);
  });
});
