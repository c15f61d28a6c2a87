/**
 * Matrix products. `matmul` follows numpy (batched, broadcasting); `gemm` is the 2-D product
 * with optional transposes, which the gradient rules use so that no Transpose copies are needed.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { type Dim, type Tensor, broadcastShapes, registerOp, shapeStr } from '../graph.js';
import { attr } from '../../onnx/model.js';
import { reshape, simple, transpose, unbroadcast } from './shape.js';

function mismatch(a: Tensor, b: Tensor, op: string) {
  return new InvalidInputError('shape_mismatch', `${op}: inner dimensions of ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ.`, {
    op, shapes: [a.shape, b.shape],
  });
}

const compatible = (x: Dim, y: Dim) => x === y || typeof x === 'string' || typeof y === 'string';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error('engine: matmul needs rank ≥ 2');
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (!compatible(k!, k2!)) throw mismatch(a, b, 'matmul');
  const batch = b.shape.length === 2 ? a.shape.slice(0, -2) : broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  return a.graph.apply1('MatMul', [a, b], {}, { dtype: a.dtype, shape: [...batch, m!, n!] });
}

const swapLast = (t: Tensor) => {
  const r = t.shape.length;
  return transpose(t, [...Array(r - 2).keys(), r - 1, r - 2]);
};

registerOp('MatMul', {
  emit: simple('MatMul'),
  grad: (node, [g], { needs }) => {
    const [a, b] = node.inputs as [Tensor, Tensor];
    if (a.shape.length === 2 && b.shape.length === 2) {
      return [needs[0] ? gemm(g!, b, false, true) : undefined, needs[1] ? gemm(a, g!, true, false) : undefined];
    }
    if (b.shape.length === 2) {
      // [.., M, K] @ [K, N]: fold the leading dims into rows for dB.
      const k = b.shape[0] as number;
      const n = b.shape[1] as number;
      return [
        needs[0] ? matmul(g!, swapLast(b)) : undefined,
        needs[1] ? gemm(reshape(a, [-1, k]), reshape(g!, [-1, n]), true, false) : undefined,
      ];
    }
    return [
      needs[0] ? unbroadcast(matmul(g!, swapLast(b)), a) : undefined,
      needs[1] ? unbroadcast(matmul(swapLast(a), g!), b) : undefined,
    ];
  },
});

/** op(A)·op(B) for 2-D A, B, where op transposes when asked. */
export function gemm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('engine: gemm needs 2-D operands');
  const [m, ka] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (!compatible(ka, kb)) throw mismatch(a, b, 'gemm');
  return a.graph.apply1('Gemm', [a, b], { transA, transB }, { dtype: a.dtype, shape: [m, n] });
}

registerOp('Gemm', {
  emit: simple('Gemm', (n) => ({ transA: attr.int(n.attrs.transA ? 1 : 0), transB: attr.int(n.attrs.transB ? 1 : 0) })),
  grad: (node, [g], { needs }) => {
    const [a, b] = node.inputs as [Tensor, Tensor];
    const { transA, transB } = node.attrs as { transA: boolean; transB: boolean };
    // C = op(A)·op(B); each case writes dA, dB as one more gemm.
    let da: () => Tensor;
    let db: () => Tensor;
    if (!transA && !transB) { da = () => gemm(g!, b, false, true); db = () => gemm(a, g!, true, false); }
    else if (!transA && transB) { da = () => gemm(g!, b, false, false); db = () => gemm(g!, a, true, false); }
    else if (transA && !transB) { da = () => gemm(b, g!, false, true); db = () => gemm(a, g!, false, false); }
    else { da = () => gemm(b, g!, true, true); db = () => gemm(g!, a, true, true); }
    return [needs[0] ? da() : undefined, needs[1] ? db() : undefined];
  },
});
