/** Inference with a network, and its export as a standalone ONNX model. */
import type * as ort from 'onnxruntime-node';
import { checkDatasetX } from './data.js';
import type { Network } from './network.js';
import { encodeModel } from '../onnx/model.js';
import { inferenceModel } from './program.js';
import { f32, openSession, type RuntimeOptions } from './runtime.js';

export interface Predictions {
  rows: number;
  /** Classification: rows × classes. */
  probabilities?: Float32Array;
  /** Classification: arg-max class ids. */
  labels?: Int32Array;
  /** Regression: rows × outputs. */
  values?: Float32Array;
}

/**
 * The trained network as ONNX bytes that any ONNX runtime loads without our code:
 * input `x` float32 [N, ...inputShape]; outputs `probabilities` (float32 [N, K]) and `label`
 * (int64 [N]) for classification, `value` (float32 [N, outputs]) for regression.
 */
export function exportInference(net: Network): Uint8Array {
  return encodeModel(inferenceModel(net));
}

/** A reusable inference session; call release() when done. */
export class Predictor {
  private constructor(private net: Network, private session: ort.InferenceSession) {}

  static async open(net: Network, o: RuntimeOptions = {}): Promise<Predictor> {
    return new Predictor(net, await openSession(exportInference(net), o));
  }

  async predict(x: Float32Array, batchSize = 4096): Promise<Predictions> {
    const net = this.net;
    const d = checkDatasetX(net, x);
    const n = x.length / d;
    const cls = net.options.task === 'classification';
    const width = cls ? (net.head === 'sigmoid' ? 2 : net.options.outputs) : net.options.outputs;
    const main = new Float32Array(n * width);
    const labels = cls ? new Int32Array(n) : undefined;
    for (let i = 0; i < n; i += batchSize) {
      const rows = Math.min(batchSize, n - i);
      const out = await this.session.run({ x: f32(x.subarray(i * d, (i + rows) * d), [rows, ...net.options.inputShape]) });
      main.set((cls ? out.probabilities! : out.value!).data as Float32Array, i * width);
      if (labels) (out.label!.data as BigInt64Array).forEach((v, k) => { labels[i + k] = Number(v); });
    }
    return cls ? { rows: n, probabilities: main, labels } : { rows: n, values: main };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** One-off prediction (opens and releases a session). */
export async function predict(net: Network, x: Float32Array, o: RuntimeOptions & { batchSize?: number } = {}): Promise<Predictions> {
  const p = await Predictor.open(net, o);
  try {
    return await p.predict(x, o.batchSize);
  } finally {
    await p.release();
  }
}
