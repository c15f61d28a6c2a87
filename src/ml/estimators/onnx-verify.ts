/**
 * Runs a model's ONNX export in ONNX Runtime and compares it with our own `predict` — used by the
 * tests, and usable by the training service as a last check before registering a model.
 */
import * as ort from 'onnxruntime-node';
import { predict } from './index.js';
import { exportOnnx } from './onnx.js';
import type { Matrix, ModelState } from './types.js';

export interface OnnxParity {
  /** Largest |ONNX − ours| over probabilities (classifiers) or values (regressors, relative to max(1, |ours|)). */
  maxDiff: number;
  /** Rows whose ONNX label differs from ours (classifiers). */
  labelMismatches: number[];
  /** Of those, rows whose top-two probabilities are closer than `tieTolerance` (float32 rounding may flip them). */
  nearTies: number;
  onnx: { labels?: BigInt64Array; probabilities?: Float32Array; values?: Float32Array };
}

export async function onnxParity(state: ModelState, x: Matrix, tieTolerance = 1e-5): Promise<OnnxParity> {
  const bytes = exportOnnx(state);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(x.data), [x.rows, x.cols]);
    const out = await session.run({ input });
    const ours = predict(state, x);
    if (ours.task === 'regression') {
      const values = out.value!.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < x.rows; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - ours.values[i]!) / Math.max(1, Math.abs(ours.values[i]!)));
      return { maxDiff, labelMismatches: [], nearTies: 0, onnx: { values } };
    }
    const labels = out.label!.data as BigInt64Array;
    const probabilities = out.probabilities!.data as Float32Array;
    const K = ours.classCount;
    let maxDiff = 0;
    for (let j = 0; j < ours.probabilities.length; j++) maxDiff = Math.max(maxDiff, Math.abs(probabilities[j]! - ours.probabilities[j]!));
    const labelMismatches: number[] = [];
    let nearTies = 0;
    for (let i = 0; i < x.rows; i++) {
      if (Number(labels[i]) !== ours.labels[i]) {
        labelMismatches.push(i);
        const row = Array.from(ours.probabilities.subarray(i * K, (i + 1) * K)).sort((a, b) => b - a);
        if (row[0]! - row[1]! < tieTolerance) nearTies++;
      }
    }
    return { maxDiff, labelMismatches, nearTies, onnx: { labels, probabilities } };
  } finally {
    await session.release();
  }
}
