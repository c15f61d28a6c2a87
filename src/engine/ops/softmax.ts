/** Softmax and log-softmax over one axis (ONNX opset 13 semantics), with their gradients. */
import { type Tensor, normAxis, registerOp } from '../graph.js';
import { attr } from '../../onnx/model.js';
import { exp, mul, sub } from './elementwise.js';
import { reduceSum } from './reduce.js';
import { simple } from './shape.js';

export function softmax(x: Tensor, axis = -1): Tensor {
  return x.graph.apply1('Softmax', [x], { axis: normAxis(axis, x.shape.length) }, { dtype: x.dtype, shape: x.shape });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.graph.apply1('LogSoftmax', [x], { axis: normAxis(axis, x.shape.length) }, { dtype: x.dtype, shape: x.shape });
}

const axisAttr = (n: { attrs: Record<string, unknown> }) => ({ axis: attr.int(n.attrs.axis as number) });

registerOp('Softmax', {
  emit: simple('Softmax', axisAttr),
  // dx = y ⊙ (g − Σ g⊙y)
  grad: (n, [g]) => {
    const y = n.outputs[0]!;
    const axis = n.attrs.axis as number;
    return [mul(y, sub(g!, reduceSum(mul(g!, y), [axis], true)))];
  },
});

registerOp('LogSoftmax', {
  emit: simple('LogSoftmax', axisAttr),
  // dx = g − softmax(x) · Σ g
  grad: (n, [g]) => {
    const axis = n.attrs.axis as number;
    return [sub(g!, mul(exp(n.outputs[0]!), reduceSum(g!, [axis], true)))];
  },
});
