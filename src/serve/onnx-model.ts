/**
 * ONNX models behind `lathe serve` (loaded by src/ml/onnx.ts): the Open Inference Protocol's
 * tensors map one to one to the graph's inputs and outputs; names, datatypes and shapes are
 * checked against the graph before it runs.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  ONNX_DATATYPES as DATATYPES,
  type GraphTensor,
  type OnnxModel,
  onnxRuntime as ort,
} from '../ml/onnx.js';
import { InferenceError, type ModelMetadata, type ResponseTensor, type TensorMetadata } from './oip.js';

const toMetadata = (t: GraphTensor): TensorMetadata => ({
  name: t.name,
  datatype: DATATYPES[t.type]!,
  shape: t.shape,
});

export function onnxMetadata(name: string, version: number, model: OnnxModel): ModelMetadata {
  return {
    name,
    versions: [String(version)],
    platform: 'onnxruntime',
    inputs: model.inputs.map(toMetadata),
    outputs: model.outputs.map(toMetadata),
    parameters: {},
  };
}

function flatten(data: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(data)) for (const item of data) flatten(item, out);
  else out.push(data);
  return out;
}

function tensorData(input: GraphTensor, data: unknown[]): Tensor['data'] {
  const where = `input '${input.name}'`;
  const numbers = () =>
    data.map((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InferenceError(400, `${where}[${i}]: ${JSON.stringify(v)} is not a number`);
      return v;
    });
  switch (input.type) {
    case 'float32':
      return Float32Array.from(numbers());
    case 'float64':
      return Float64Array.from(numbers());
    case 'int8':
      return Int8Array.from(numbers());
    case 'int16':
      return Int16Array.from(numbers());
    case 'int32':
      return Int32Array.from(numbers());
    case 'uint8':
      return Uint8Array.from(numbers());
    case 'uint16':
      return Uint16Array.from(numbers());
    case 'uint32':
      return Uint32Array.from(numbers());
    case 'int64':
      return BigInt64Array.from(numbers().map((v) => BigInt(Math.trunc(v))));
    case 'uint64':
      return BigUint64Array.from(numbers().map((v) => BigInt(Math.trunc(v))));
    case 'bool':
      return Uint8Array.from(
        data.map((v, i) => {
          if (typeof v !== 'boolean')
            throw new InferenceError(400, `${where}[${i}]: ${JSON.stringify(v)} is not a boolean`);
          return v ? 1 : 0;
        }),
      );
    default:
      return data.map((v, i) => {
        if (typeof v !== 'string')
          throw new InferenceError(400, `${where}[${i}]: ${JSON.stringify(v)} is not text`);
        return v;
      }) as never;
  }
}

/** Runs an OIP infer request body on an ONNX model; returns the response tensors and the batch size. */
export async function onnxInfer(
  model: OnnxModel,
  body: unknown,
): Promise<{ id?: string; outputs: ResponseTensor[] }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InferenceError(400, 'the request body must be a JSON object with "inputs"');
  }
  const request = body as { id?: unknown; inputs?: unknown; outputs?: unknown };
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) {
    throw new InferenceError(400, '"inputs" must be a non-empty array of tensors');
  }
  const { Tensor } = await ort();
  const feeds: Record<string, Tensor> = {};
  for (const [i, raw] of request.inputs.entries()) {
    const t = raw as { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown };
    if (typeof t?.name !== 'string') throw new InferenceError(400, `inputs[${i}] has no "name"`);
    const input = model.inputs.find((x) => x.name === t.name);
    if (!input) {
      throw new InferenceError(
        400,
        `unknown input tensor '${t.name}' (the model's inputs: ${model.inputs.map((x) => x.name).join(', ')})`,
      );
    }
    if (feeds[t.name]) throw new InferenceError(400, `input tensor '${t.name}' is given twice`);
    const datatype = DATATYPES[input.type]!;
    if (t.datatype !== datatype) {
      throw new InferenceError(
        400,
        `input '${t.name}' has datatype ${String(t.datatype)}; the model takes ${datatype}`,
      );
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new InferenceError(400, `input '${t.name}' needs "shape": a list of sizes`);
    }
    const fits =
      shape.length === input.shape.length && input.shape.every((d, k) => d === -1 || d === shape[k]);
    if (!fits) {
      throw new InferenceError(
        400,
        `input '${t.name}' has shape [${shape.join(', ')}]; the model takes [${input.shape.map((d) => (d === -1 ? 'any' : d)).join(', ')}]`,
      );
    }
    if (!Array.isArray(t.data)) throw new InferenceError(400, `input '${t.name}' needs "data": an array`);
    const data = flatten(t.data);
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new InferenceError(
        400,
        `input '${t.name}' has ${data.length} values but its shape holds ${size}`,
      );
    }
    feeds[t.name] = new Tensor(input.type as never, tensorData(input, data) as never, shape as number[]);
  }
  const missing = model.inputs.filter((x) => !feeds[x.name]).map((x) => x.name);
  if (missing.length > 0) throw new InferenceError(400, `missing input tensors: ${missing.join(', ')}`);
  let wanted = model.outputs.map((o) => o.name);
  if (request.outputs !== undefined) {
    if (!Array.isArray(request.outputs)) throw new InferenceError(400, '"outputs" must be an array');
    wanted = request.outputs.map((o, i) => {
      const name = (o as { name?: unknown })?.name;
      if (typeof name !== 'string' || !model.outputs.some((x) => x.name === name)) {
        throw new InferenceError(
          400,
          `outputs[${i}]: unknown output ${JSON.stringify(name)} (the model's outputs: ${model.outputs.map((x) => x.name).join(', ')})`,
        );
      }
      return name;
    });
  }
  let results: InferenceSession.ReturnType;
  try {
    results = await model.session.run(feeds, wanted);
  } catch (error) {
    throw Object.assign(new InferenceError(400, `the model refused the input: ${(error as Error).message}`), {
      modelFault: true,
    });
  }
  const outputs = wanted.map((name) => {
    const tensor = results[name]!;
    const data = Array.from(tensor.data as ArrayLike<unknown>, (v) =>
      typeof v === 'bigint' ? Number(v) : v,
    );
    return { name, datatype: DATATYPES[tensor.type] ?? tensor.type, shape: [...tensor.dims], data };
  });
  return { ...(typeof request.id === 'string' ? { id: request.id } : {}), outputs };
}
