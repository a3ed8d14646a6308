/**
 * The Open Inference Protocol v2 (KServe, Triton) for Lathe models: request tensors to rows of
 * a model's input columns, predictions to response tensors, and model metadata. Pure: no I/O.
 *
 * A model's inputs are named tensors, one per input column, of shape [n] or [n, 1]: numbers as
 * FP32/FP64/INT*, text as BYTES, booleans as BOOL; `null` marks a missing value. Outputs:
 * `label` (the predicted class) and `probabilities` ([n, classes], in the metadata's class
 * order) for classifiers, `prediction` for regression.
 */
import type { Label } from '../ml/metrics.js';
import type { LatheModel, ModelInput } from '../ml/model.js';

export class InferenceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NUMERIC = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

function datatypeOf(input: ModelInput): string {
  return input.type === 'string' ? 'BYTES' : input.type === 'boolean' ? 'BOOL' : 'FP64';
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters: Record<string, unknown>;
}

export function modelMetadata(name: string, version: number, model: LatheModel): ModelMetadata {
  const outputs: TensorMetadata[] =
    model.task === 'regression'
      ? [{ name: 'prediction', datatype: 'FP64', shape: [-1] }]
      : [
          { name: 'label', datatype: labelDatatype(model.classes!), shape: [-1] },
          { name: 'probabilities', datatype: 'FP64', shape: [-1, model.classes!.length] },
        ];
  return {
    name,
    versions: [String(version)],
    platform: 'lathe',
    inputs: model.inputs.map((input) => ({ name: input.name, datatype: datatypeOf(input), shape: [-1] })),
    outputs,
    parameters: { algorithm: model.algorithm, task: model.task, label: model.label, classes: model.classes },
  };
}

function labelDatatype(classes: readonly Label[]): string {
  return classes.every((c) => typeof c === 'number')
    ? classes.every(Number.isInteger)
      ? 'INT64'
      : 'FP64'
    : 'BYTES';
}

interface RequestTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/**
 * The values of `data`, row-major: flat, or nested as the shape ([n, 1]: `[[v], [v]]`). Nesting
 * is at most two deep (the deepest shape a tensor may have), so that a body of a million `[` is
 * refused with a 400, not a stack overflow.
 */
function flatten(name: string, data: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of data) {
    if (!Array.isArray(item)) out.push(item);
    else {
      for (const value of item) {
        if (Array.isArray(value))
          throw new InferenceError(400, `input '${name}': "data" is nested deeper than [n, 1]`);
        out.push(value);
      }
    }
  }
  return out;
}

/** Parses and checks an infer request body against the model's inputs; returns rows. */
export function requestRows(
  body: unknown,
  model: LatheModel,
): { id?: string; rows: Record<string, unknown>[]; outputs?: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InferenceError(400, 'the request body must be a JSON object with "inputs"');
  }
  const request = body as { id?: unknown; inputs?: unknown; outputs?: unknown };
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) {
    throw new InferenceError(400, '"inputs" must be a non-empty array of tensors');
  }
  const expected = new Map(model.inputs.map((input) => [input.name, input]));
  const tensors = new Map<string, RequestTensor>();
  request.inputs.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null)
      throw new InferenceError(400, `inputs[${i}] must be an object`);
    const t = raw as Partial<RequestTensor>;
    if (typeof t.name !== 'string') throw new InferenceError(400, `inputs[${i}] has no "name"`);
    const input = expected.get(t.name);
    if (!input) {
      throw new InferenceError(
        400,
        `unknown input tensor '${t.name}' (the model's inputs: ${model.inputs.map((x) => x.name).join(', ')})`,
      );
    }
    if (tensors.has(t.name)) throw new InferenceError(400, `input tensor '${t.name}' is given twice`);
    if (typeof t.datatype !== 'string') throw new InferenceError(400, `input '${t.name}' has no "datatype"`);
    const wanted = datatypeOf(input);
    const fits = wanted === 'FP64' ? NUMERIC.has(t.datatype) : t.datatype === wanted;
    if (!fits) {
      throw new InferenceError(
        400,
        `input '${t.name}' has datatype ${t.datatype}; the model reads ${input.type} values (${wanted === 'FP64' ? 'FP32, FP64 or INT*' : wanted})`,
      );
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new InferenceError(400, `input '${t.name}' needs "shape": a list of sizes`);
    }
    if (t.shape.length === 0 || t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) {
      throw new InferenceError(
        400,
        `input '${t.name}' has shape [${t.shape.join(', ')}]; expected [n] or [n, 1]`,
      );
    }
    if (!Array.isArray(t.data)) throw new InferenceError(400, `input '${t.name}' needs "data": an array`);
    const data = flatten(t.name, t.data);
    if (data.length !== t.shape[0]) {
      throw new InferenceError(
        400,
        `input '${t.name}' has ${data.length} values but its shape says ${t.shape[0]}`,
      );
    }
    data.forEach((v, j) => {
      if (v === null) return;
      const ok =
        input.type === 'string'
          ? typeof v === 'string'
          : input.type === 'boolean'
            ? typeof v === 'boolean'
            : typeof v === 'number';
      if (!ok)
        throw new InferenceError(
          400,
          `input '${t.name}'[${j}]: ${JSON.stringify(v)} is not a ${datatypeOf(input)} value`,
        );
    });
    tensors.set(t.name, { name: t.name, shape: t.shape, datatype: t.datatype, data });
  });
  const missing = model.inputs.filter((input) => !tensors.has(input.name)).map((input) => input.name);
  if (missing.length > 0) throw new InferenceError(400, `missing input tensors: ${missing.join(', ')}`);
  const n = tensors.values().next().value!.data.length;
  for (const t of tensors.values()) {
    if (t.data.length !== n)
      throw new InferenceError(
        400,
        `input tensors differ in length: '${t.name}' has ${t.data.length}, others ${n}`,
      );
  }
  const columns = [...tensors.values()];
  const rows: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const t of columns) row[t.name] = t.data[i];
    rows[i] = row;
  }
  let outputs: string[] | undefined;
  if (request.outputs !== undefined) {
    if (!Array.isArray(request.outputs)) throw new InferenceError(400, '"outputs" must be an array');
    outputs = request.outputs.map((o, i) => {
      const name = (o as { name?: unknown })?.name;
      if (typeof name !== 'string') throw new InferenceError(400, `outputs[${i}] has no "name"`);
      return name;
    });
  }
  const id = typeof request.id === 'string' ? request.id : undefined;
  return { ...(id !== undefined ? { id } : {}), rows, ...(outputs ? { outputs } : {}) };
}

export interface ResponseTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** Response tensors for predictions (and probabilities), filtered to `wanted` when given. */
export function responseTensors(
  model: LatheModel,
  predictions: readonly Label[],
  probabilities: readonly (readonly number[])[] | null,
  wanted?: readonly string[],
): ResponseTensor[] {
  const n = predictions.length;
  const all: ResponseTensor[] =
    model.task === 'regression'
      ? [{ name: 'prediction', datatype: 'FP64', shape: [n], data: [...predictions] }]
      : [
          { name: 'label', datatype: labelDatatype(model.classes!), shape: [n], data: [...predictions] },
          {
            name: 'probabilities',
            datatype: 'FP64',
            shape: [n, model.classes!.length],
            data: (probabilities ?? []).flat(),
          },
        ];
  if (!wanted) return all;
  return wanted.map((name) => {
    const tensor = all.find((t) => t.name === name);
    if (!tensor) {
      throw new InferenceError(
        400,
        `unknown output '${name}' (the model's outputs: ${all.map((t) => t.name).join(', ')})`,
      );
    }
    return tensor;
  });
}
