/**
 * ONNX models, run by onnxruntime-node (loaded only when an ONNX model is used): loading a graph
 * and reading its input and output tensors. Serving them is src/serve/onnx-model.ts.
 */
import type { InferenceSession } from 'onnxruntime-node';

export type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;

/** The onnxruntime-node module, imported on first use. */
export function onnxRuntime(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

/** ONNX element types and their Open Inference Protocol datatypes. */
export const ONNX_DATATYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

export interface GraphTensor {
  name: string;
  type: string;
  /** Fixed sizes as numbers, symbolic ones (batch) as -1. */
  shape: number[];
}

export interface OnnxModel {
  session: InferenceSession;
  inputs: GraphTensor[];
  outputs: GraphTensor[];
}

/** True when the bytes are not a JSON document (Lathe models are JSON; ONNX is protobuf). */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  for (const byte of bytes.subarray(0, 64)) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte !== 0x7b; // '{'
  }
  return false;
}

function graphTensors(metadata: readonly unknown[], names: readonly string[]): GraphTensor[] {
  return names.map((name, i) => {
    const m = metadata[i] as { isTensor?: boolean; type?: string; shape?: (number | string)[] } | undefined;
    if (!m?.isTensor || !m.type || !ONNX_DATATYPES[m.type]) {
      throw new Error(`ONNX value '${name}' is not a tensor of a supported type (${m?.type ?? 'unknown'})`);
    }
    return {
      name,
      type: m.type,
      shape: (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

/** Loads an ONNX graph; an error says the bytes are neither a Lathe model nor ONNX. */
export async function loadOnnx(bytes: Uint8Array): Promise<OnnxModel> {
  const { InferenceSession } = await onnxRuntime();
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes);
  } catch (error) {
    throw new Error(
      `not a model Lathe can use: neither a lathe-model/v1 document nor ONNX (${(error as Error).message})`,
    );
  }
  return {
    session,
    inputs: graphTensors(session.inputMetadata, session.inputNames),
    outputs: graphTensors(session.outputMetadata, session.outputNames),
  };
}
