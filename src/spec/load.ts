/**
 * YAML/JSON <-> PipelineSpec. Loading validates on the way in: schema errors name the field and
 * the line in the file; semantic errors (unknown task, cycle, type mismatch) name the task.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { PipelineCompileError, SpecLoadError } from '../errors.js';
import { stripUndefined } from './compile.js';
import { PipelineSpec } from './schema.js';
import { validateSpec } from './validate.js';

/** Parses and validates spec text. `path` is used in error messages. */
export function parseSpec(text: string, path: string): PipelineSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    // linePos is only filled in with prettyErrors; compute the line from the offset instead.
    const line = first.linePos?.[0]?.line ?? (first.pos ? lineCounter.linePos(first.pos[0]).line : undefined);
    throw new SpecLoadError(path, first.message.split('\n')[0] ?? 'invalid YAML', line);
  }
  const raw = doc.toJS({ maxAliasCount: 100 });
  const parsed = PipelineSpec.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const issuePath = issue.path.map(String);
    // Point at the deepest node that exists in the document.
    let line: number | undefined;
    for (let depth = issuePath.length; depth >= 0 && line === undefined; depth--) {
      const node = doc.getIn(issuePath.slice(0, depth), true) as
        | { range?: [number, number, number] }
        | undefined;
      if (node?.range) line = lineCounter.linePos(node.range[0]).line;
    }
    const field = issuePath.join('.') || '(root)';
    throw new SpecLoadError(path, `${field}: ${issue.message}`, line);
  }
  try {
    validateSpec(parsed.data);
  } catch (error) {
    if (error instanceof PipelineCompileError) {
      throw new SpecLoadError(path, error.message, undefined, { cause: error });
    }
    throw error;
  }
  return parsed.data;
}

/** Reads a spec file. A relative `source` is resolved against the file's directory. */
export function loadSpecFile(path: string): PipelineSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SpecLoadError(path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const spec = parseSpec(text, path);
  if (spec.source && !isAbsolute(spec.source)) spec.source = resolve(dirname(path), spec.source);
  return spec;
}

/** A copy of the spec whose `source` is relative to the directory of the file it will be written to. */
function withPortableSource(spec: PipelineSpec, outputPath: string | undefined): PipelineSpec {
  const out = { ...spec };
  if (out.source && outputPath && isAbsolute(out.source)) {
    const rel = relative(dirname(resolve(outputPath)), out.source);
    out.source = rel.startsWith('.') ? rel : `./${rel}`;
  }
  return out;
}

export function specToJson(spec: PipelineSpec, outputPath?: string): string {
  return `${JSON.stringify(stripUndefined(withPortableSource(spec, outputPath)), null, 2)}\n`;
}

/** YAML text of a spec; `source` is written relative to `outputPath`'s directory when given. */
export function specToYaml(spec: PipelineSpec, outputPath?: string): string {
  const out = withPortableSource(spec, outputPath);
  return `# Lathe PipelineSpec (${spec.apiVersion}); see docs/spec.md\n${stringify(stripUndefined(out), {
    aliasDuplicateObjects: false,
    lineWidth: 0,
  })}`;
}
