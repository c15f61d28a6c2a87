/**
 * The optimizations an `optimize` job applies, by method name (API.md "Model optimization"), and
 * which of them a given graph admits: each needs weighted ops of some kind (a tree ensemble or a
 * linear model in ONNX-ML operators has none), so a request that cannot apply is refused with the
 * reason and the methods that would.
 */
import type * as ort from 'onnxruntime-node';
import type { ModelDef } from '../../onnx/model.js';
import { GraphEdit, weightedOps } from './graph-edit.js';
import { quantizeDynamic, type TransformReport } from './quantize-dynamic.js';
import { toHalf } from './fp16.js';
import { quantizeWeights } from './quantize-weights.js';
import { quantizeStatic } from './quantize-static.js';
import { prune } from './prune.js';

export const OPTIMIZATION_METHODS = ['quantize_dynamic', 'quantize_static', 'quantize_weights', 'fp16', 'prune'] as const;
export type OptimizationMethod = (typeof OPTIMIZATION_METHODS)[number];

export type OptimizationOptions =
  | { method: 'quantize_dynamic'; ops?: 'contrib' | 'standard' }
  | { method: 'quantize_static'; calibration: Record<string, ort.Tensor>[] }
  | { method: 'quantize_weights'; bits: 4 | 8; blockSize?: number }
  | { method: 'fp16' }
  | { method: 'prune'; sparsity: number; structured: boolean };

export async function optimizeModel(model: ModelDef, o: OptimizationOptions, threads = 1): Promise<{ model: ModelDef; report: TransformReport }> {
  switch (o.method) {
    case 'quantize_dynamic': return quantizeDynamic(model, o);
    case 'quantize_static': return quantizeStatic(model, o.calibration, threads);
    case 'quantize_weights': return quantizeWeights(model, o);
    case 'fp16': return toHalf(model);
    case 'prune': return prune(model, o);
  }
}

export interface Applicability {
  method: OptimizationMethod;
  applies: boolean;
  /** Why not, when it does not apply. */
  reason?: string;
}

/** Which methods have something to work on in this graph. */
export function applicableMethods(model: ModelDef): Applicability[] {
  const e = new GraphEdit(model);
  const matmuls = weightedOps(e, ['matmul', 'gemm']).length;
  const convs = weightedOps(e, ['conv']).length;
  const none = 'the graph has no MatMul, Gemm or Conv with constant weights (tree ensembles and ONNX-ML linear models keep their parameters in operator attributes)';
  const any = matmuls + convs > 0;
  return [
    { method: 'quantize_dynamic', applies: matmuls > 0, reason: matmuls > 0 ? undefined : convs > 0 ? 'the graph has convolutions but no MatMul or Gemm with constant weights; dynamic quantization leaves convolutions float' : none },
    { method: 'quantize_static', applies: any, reason: any ? undefined : none },
    { method: 'quantize_weights', applies: matmuls > 0, reason: matmuls > 0 ? undefined : 'the graph has no MatMul or Gemm with constant weights' },
    { method: 'fp16', applies: any, reason: any ? undefined : none },
    { method: 'prune', applies: any, reason: any ? undefined : none },
  ];
}

export { decodeModel } from '../../onnx/decode.js';
export type { TransformReport } from './quantize-dynamic.js';
export { networkFromGraph } from './network-weights.js';
