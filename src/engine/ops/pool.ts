/**
 * Max and average pooling over H, W of NCHW tensors.
 * Max: ONNX MaxPool also returns the flat arg-max indices, so the gradient scatters dY there.
 * Average (padding excluded from the count, as Keras does): the gradient spreads dY/count over
 * each window with a depthwise transposed convolution of ones.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { type Tensor, registerOp, shapeStr } from '../graph.js';
import { attr } from '../../onnx/model.js';
import { convTranspose2d } from './conv.js';
import { cast, compare, div, mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { concat, pad, reshape, reshapeLike, slice, zerosLike } from './shape.js';

export interface PoolOptions {
  kernel: [number, number];
  strides?: [number, number];
  pads?: [number, number, number, number];
}

interface PoolAttrs { kernel: [number, number]; strides: [number, number]; pads: [number, number, number, number] }

function poolShape(x: Tensor, a: PoolAttrs, op: string): [number, number] {
  const [h, w] = x.shape.slice(2);
  if (x.shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number') throw new Error(`engine: ${op} needs NCHW with static H, W`);
  const oh = Math.floor((h + a.pads[0] + a.pads[2] - a.kernel[0]) / a.strides[0]) + 1;
  const ow = Math.floor((w + a.pads[1] + a.pads[3] - a.kernel[1]) / a.strides[1]) + 1;
  if (oh < 1 || ow < 1) {
    throw new InvalidInputError('shape_mismatch', `${op}: window ${shapeStr(a.kernel)} is larger than the input ${shapeStr(x.shape)} (NCHW).`, {
      op, inputShape: x.shape, poolSize: a.kernel,
    });
  }
  return [oh, ow];
}

const norm = (o: PoolOptions): PoolAttrs => ({ kernel: o.kernel, strides: o.strides ?? o.kernel, pads: o.pads ?? [0, 0, 0, 0] });
const poolAttributes = (a: PoolAttrs) => ({ kernel_shape: attr.ints(a.kernel), strides: attr.ints(a.strides), pads: attr.ints(a.pads) });

export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  const a = norm(o);
  const [oh, ow] = poolShape(x, a, 'max_pool2d');
  const shape = [x.shape[0]!, x.shape[1]!, oh, ow];
  // Non-overlapping windows without padding (the common 2×2/2 case) take a fast path: ORT's
  // MaxPool without the indices output is several times faster, and the gradient is a mask.
  if (a.kernel[0] === a.strides[0] && a.kernel[1] === a.strides[1] && a.pads.every((p) => p === 0)) {
    return x.graph.apply1('MaxPoolTiled', [x], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape });
  }
  return x.graph.apply('MaxPool', [x], a as unknown as Record<string, unknown>, [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }])[0]!;
}

registerOp('MaxPoolTiled', {
  emit: (n, inputs, outputs) => [{ opType: 'MaxPool', inputs, outputs, attributes: poolAttributes(n.attrs as unknown as PoolAttrs) }],
  // Each window is a tile: upsample y and dY to the input's size (nearest), route dY to where
  // x equals its window's max. Everything is same-shape elementwise work, which ORT does fast
  // (broadcasting over tiny inner axes, or a scatter from MaxPool's indices, is several times
  // slower). Exact ties (e.g. an all-zero window after a ReLU) share the gradient; the ReLU's
  // own gradient is zero there, so training is unaffected.
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const a = node.attrs as unknown as PoolAttrs;
    const [h, w] = x.shape.slice(2) as [number, number];
    const [oh, ow] = y.shape.slice(2) as [number, number];
    const crop = oh * a.kernel[0] !== h || ow * a.kernel[1] !== w;
    const xc = crop ? slice(x, [0, 0], [oh * a.kernel[0], ow * a.kernel[1]], [2, 3]) : x;
    const mask = cast(compare('Equal', xc, upsample(y, a.kernel)), x.dtype);
    const dx = mul(mask, upsample(g!, a.kernel));
    return [crop ? pad(dx, [0, 0, 0, 0, 0, 0, h - oh * a.kernel[0], w - ow * a.kernel[1]]) : dx];
  },
});

/**
 * Nearest-neighbour upsampling of [N, C, h, w] by integer factors: columns by a product with a
 * constant 0/1 matrix, rows by concatenating copies (both run at memory speed in ORT).
 */
function upsample(t: Tensor, [kh, kw]: [number, number]): Tensor {
  const [c, h, w] = t.shape.slice(1) as [number, number, number];
  const spread = t.graph.constant(Array.from({ length: w * w * kw }, (_, k) => (Math.floor((k % (w * kw)) / kw) === Math.floor(k / (w * kw)) ? 1 : 0)), [w, w * kw], t.dtype);
  const cols = kw === 1 ? reshape(t, [-1, w]) : matmul(reshape(t, [-1, w]), spread);
  const rowsOnce = reshape(cols, [-1, h, 1, w * kw]);
  const rows = kh === 1 ? rowsOnce : concat(new Array<Tensor>(kh).fill(rowsOnce), 2);
  return reshape(rows, [-1, c, h * kh, w * kw]);
}

registerOp('MaxPool', {
  emit: (n, inputs, outputs) => [{ opType: 'MaxPool', inputs, outputs, attributes: poolAttributes(n.attrs as unknown as PoolAttrs) }],
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const flat = scatterAdd(reshape(zerosLike(x), [-1]), reshape(node.outputs[1]!, [-1]), reshape(g!, [-1]));
    return [reshapeLike(flat, x)];
  },
});

/** out = data; out[idx[i]] += upd[i] along axis 0 of 1-D tensors (ScatterElements, reduction add). */
function scatterAdd(data: Tensor, idx: Tensor, upd: Tensor): Tensor {
  return data.graph.apply1('ScatterAdd', [data, idx, upd], {}, { dtype: data.dtype, shape: data.shape });
}
registerOp('ScatterAdd', {
  emit: (_n, inputs, outputs) => [{ opType: 'ScatterElements', inputs, outputs, attributes: { axis: attr.int(0), reduction: attr.string('add') } }],
});

export function avgPool2d(x: Tensor, o: PoolOptions): Tensor {
  const a = norm(o);
  const [oh, ow] = poolShape(x, a, 'avg_pool2d');
  return x.graph.apply1('AveragePool', [x], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, oh, ow] });
}
registerOp('AveragePool', {
  emit: (n, inputs, outputs) => [{
    opType: 'AveragePool', inputs, outputs, attributes: { ...poolAttributes(n.attrs as unknown as PoolAttrs), count_include_pad: attr.int(0) },
  }],
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const a = node.attrs as unknown as PoolAttrs;
    const [c, h, w] = x.shape.slice(1) as [number, number, number];
    const [oh, ow] = g!.shape.slice(2) as [number, number];
    const graph = x.graph;
    const count = windowCounts(h, w, oh, ow, a);
    const scaled = div(g!, count.every((v) => v === count[0]) ? graph.scalar(count[0]!, g!.dtype) : graph.constant(count, [oh, ow], g!.dtype));
    const ones = graph.constant(new Array(c * a.kernel[0] * a.kernel[1]).fill(1), [c, 1, ...a.kernel], g!.dtype);
    const outputPadding: [number, number] = [
      h + a.pads[0] + a.pads[2] - a.kernel[0] - a.strides[0] * (oh - 1),
      w + a.pads[1] + a.pads[3] - a.kernel[1] - a.strides[1] * (ow - 1),
    ];
    return [convTranspose2d(scaled, ones, { strides: a.strides, pads: a.pads, outputPadding, group: c }, x.shape as [string, number, number, number])];
  },
});

/** How many real (non-padding) inputs each output window covers. */
function windowCounts(h: number, w: number, oh: number, ow: number, a: PoolAttrs): number[] {
  const out: number[] = [];
  const span = (o: number, k: number, s: number, p: number, size: number) => {
    const start = o * s - p;
    return Math.min(start + k, size) - Math.max(start, 0);
  };
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) out.push(span(i, a.kernel[0], a.strides[0], a.pads[0], h) * span(j, a.kernel[1], a.strides[1], a.pads[1], w));
  }
  return out;
}
