/**
 * YAML/JSON <-> PipelineSpec. Loading validates on the way in: schema errors name the field and
 * the line in the file; semantic errors (unknown task, cycle, type mismatch) name the task.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { PipelineCompileError, SpecLoadError } from '../errors.js';
import { stripUndefined } from './compile.js';
import { PipelineSpec } from './schema.js';
import { validateSpec } from './validate.js';
import { parseYamlWithSchema } from './yaml-parse.js';

/** Parses and validates spec text. `path` is used in error messages. */
export function parseSpec(text: string, path: string): PipelineSpec {
  const parsed = parseYamlWithSchema(text, PipelineSpec);
  if (!parsed.ok) throw new SpecLoadError(path, parsed.problem.message, parsed.problem.line);
  try {
    validateSpec(parsed.value);
  } catch (error) {
    if (error instanceof PipelineCompileError) {
      throw new SpecLoadError(path, error.message, undefined, { cause: error });
    }
    throw error;
  }
  return parsed.value;
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
