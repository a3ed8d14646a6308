/**
 * YAML text checked against a zod schema, with errors that name the field and the line: shared by
 * pipeline specs and the other files users write by hand (dataset schemas, expectation suites).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

export interface YamlProblem {
  message: string;
  /** 1-based line in the text, when known. */
  line: number | undefined;
}

export type YamlParseResult<T> = { ok: true; value: T } | { ok: false; problem: YamlProblem };

export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  schema: S,
): YamlParseResult<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    // linePos is only filled in with prettyErrors; compute the line from the offset instead.
    const line = first.linePos?.[0]?.line ?? (first.pos ? lineCounter.linePos(first.pos[0]).line : undefined);
    return { ok: false, problem: { message: first.message.split('\n')[0] ?? 'invalid YAML', line } };
  }
  const raw = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined)
    return { ok: false, problem: { message: 'the file is empty', line: undefined } };
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  // An unknown key is reported on its parent; point at the key itself.
  const issuePath =
    issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined
      ? [...issue.path.map(String), issue.keys[0]]
      : issue.path.map(String);
  // Point at the deepest node that exists in the document.
  let line: number | undefined;
  for (let depth = issuePath.length; depth >= 0 && line === undefined; depth--) {
    const node = doc.getIn(issuePath.slice(0, depth), true) as
      | { range?: [number, number, number] }
      | undefined;
    if (node?.range) line = lineCounter.linePos(node.range[0]).line;
  }
  const field = issuePath.join('.') || '(root)';
  return { ok: false, problem: { message: `${field}: ${issue.message}`, line } };
}
