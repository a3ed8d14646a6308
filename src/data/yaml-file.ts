/**
 * The YAML files users write for `lathe/data` (dataset schemas, expectation suites): parsed
 * against their zod schema, with errors that name the file, the field and the line.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseYamlWithSchema } from '../spec/yaml-parse.js';
import { DataSchemaError } from './data-errors.js';

export function parseDataYaml<S extends z.ZodType>(text: string, path: string, schema: S): z.output<S> {
  const parsed = parseYamlWithSchema(text, schema);
  if (!parsed.ok) throw new DataSchemaError(path, parsed.problem.message, parsed.problem.line);
  return parsed.value;
}

export function loadDataYamlFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DataSchemaError(
      path,
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  return parseDataYaml(text, path, schema);
}
