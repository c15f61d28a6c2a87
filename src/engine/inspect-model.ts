/**
 * Loads an ONNX model with ONNX Runtime to prove it runs, and reads its input and output
 * tensors (name, element type, shape; symbolic or unknown dimensions as -1). ORT 1.23 exposes
 * this as `inputMetadata`/`outputMetadata`, so no protobuf reading is needed.
 */
import * as ort from 'onnxruntime-node';
import { sessionOptions } from './runtime.js';

export interface TensorInfo {
  name: string;
  /** ORT's element type name: float32, int64, string, bool… */
  dtype: string;
  /** -1 for a symbolic or unknown dimension; [] when the rank is unknown or 0. */
  shape: number[];
}

export interface ModelInfo {
  inputs: TensorInfo[];
  /** Outputs that are tensors (sequences and maps, e.g. skl2onnx's ZipMap, are listed in `otherOutputs`). */
  outputs: TensorInfo[];
  otherOutputs: string[];
}

export class InvalidModelError extends Error {}

export async function inspectModel(bytes: Uint8Array): Promise<ModelInfo> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions({ intraOpThreads: 1, optimization: 'basic' }));
  } catch (err) {
    throw new InvalidModelError((err as Error).message);
  }
  try {
    const info = (m: ort.InferenceSession.ValueMetadata): TensorInfo | undefined =>
      m.isTensor ? { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) } : undefined;
    const inputs: TensorInfo[] = [];
    for (const m of session.inputMetadata) {
      const t = info(m);
      if (!t) throw new InvalidModelError(`Input '${m.name}' is not a tensor; only tensor inputs can be served.`);
      inputs.push(t);
    }
    const outputs: TensorInfo[] = [];
    const otherOutputs: string[] = [];
    for (const m of session.outputMetadata) {
      const t = info(m);
      if (t) outputs.push(t);
      else otherOutputs.push(m.name);
    }
    return { inputs, outputs, otherOutputs };
  } finally {
    await session.release();
  }
}
