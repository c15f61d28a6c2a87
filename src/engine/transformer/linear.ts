/**
 * x·W + b for activations [B, T, Din] and W [Din, Dout]. With a static T the product is one 2-D
 * MatMul over the B·T rows: ONNX Runtime fuses it and the bias Add into one Gemm (the bias is
 * written by the GEMM itself, not by a broadcast Add over the activation), and the gradient of W
 * is one 2-D product rather than a batched one followed by a sum over the batch.
 */
import type { Tensor } from '../graph.js';
import { add, matmul, reshape } from '../ops/index.js';

export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const [din, dout] = w.shape;
  const t = x.shape[1];
  if (x.shape.length !== 3 || typeof t !== 'number' || typeof din !== 'number' || typeof dout !== 'number') {
    const y = matmul(x, w);
    return b ? add(y, b) : y;
  }
  const flat = matmul(reshape(x, [-1, din]), w);
  return reshape(b ? add(flat, b) : flat, [-1, t, dout]);
}
