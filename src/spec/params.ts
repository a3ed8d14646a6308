/**
 * Param validation from the spec's JSON Schemas, so a run from a compiled YAML spec validates
 * exactly like a run from the TypeScript module. Errors name the task (or the pipeline) and param.
 */
import { z } from 'zod';
import { ParamValidationError } from '../errors.js';
import type { ParamSpec } from './schema.js';

const validators = new WeakMap<object, z.ZodType>();

function validatorFor(schema: Record<string, unknown>): z.ZodType {
  let validator = validators.get(schema);
  if (!validator) {
    const { default: _default, ...rest } = schema;
    validator = z.fromJSONSchema(rest as Parameters<typeof z.fromJSONSchema>[0]);
    validators.set(schema, validator);
  }
  return validator;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
    .join('; ');
}

/**
 * Applies defaults and validates `given` against `specs`. Unknown names and missing required
 * values are errors. `task` is undefined for pipeline params.
 */
export function validateParams(
  specs: Record<string, ParamSpec>,
  given: Record<string, unknown>,
  task: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!(name in specs)) {
      const known = Object.keys(specs);
      throw new ParamValidationError(
        task,
        name,
        `no such param${known.length ? ` (params: ${known.join(', ')})` : ' (it takes none)'}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    let value = given[name];
    if (value === undefined) {
      if (spec.default !== undefined) value = structuredClone(spec.default);
      else if (spec.optional) continue;
      else throw new ParamValidationError(task, name, 'required, and no value was given');
    }
    const result = validatorFor(spec.schema).safeParse(value);
    if (!result.success) {
      throw new ParamValidationError(
        task,
        name,
        `${JSON.stringify(value)} is invalid: ${describeIssues(result.error)}`,
      );
    }
    out[name] = result.data;
  }
  return out;
}

/** Turns a `--param name=value` string into the type its schema asks for. */
export function coerceCliValue(raw: string, spec: ParamSpec | undefined, name: string): unknown {
  const type = spec?.schema.type;
  if (type === 'string') return raw;
  if (type === 'number' || type === 'integer') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw new ParamValidationError(undefined, name, `'${raw}' is not a finite number`);
    }
    return value;
  }
  if (type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new ParamValidationError(undefined, name, `'${raw}' is not true or false`);
  }
  // Arrays and objects must be JSON; for unions, JSON if it parses, else the plain string.
  try {
    return JSON.parse(raw);
  } catch {
    if (type === 'array' || type === 'object') {
      throw new ParamValidationError(
        undefined,
        name,
        `'${raw}' is not JSON (write e.g. ${type === 'array' ? "'[1,2]'" : `'{"a":1}'`})`,
      );
    }
    return raw;
  }
}
