/**
 * 2-D convolution in NCHW layout with explicit strides and pads (pads = [top, left, bottom, right]).
 * Gradients: dX is a transposed convolution of dY with the same kernel; dW is a convolution of
 * the input with dY in which the batch plays the role of channels (dilated by the stride);
 * db sums dY over batch and space. ONNX Runtime's CPU Conv is float32 only.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { type Tensor, registerOp, shapeStr } from '../graph.js';
import { attr, type NodeDef } from '../../onnx/model.js';
import { reduceSum } from './reduce.js';
import { reshape, slice, transpose } from './shape.js';

export interface Conv2dOptions {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

interface ConvAttrs {
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

const outDim = (i: number, k: number, s: number, p0: number, p1: number, d = 1) => Math.floor((i + p0 + p1 - d * (k - 1) - 1) / s) + 1;

export function conv2d(x: Tensor, w: Tensor, b?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const a: ConvAttrs = {
    strides: opts.strides ?? [1, 1], pads: opts.pads ?? [0, 0, 0, 0], dilations: opts.dilations ?? [1, 1], group: opts.group ?? 1,
  };
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error('engine: conv2d needs NCHW input and FCkk kernel');
  const [n, c, h, wd] = x.shape;
  const [f, cw, kh, kw] = w.shape as number[];
  if (typeof h !== 'number' || typeof wd !== 'number' || typeof c !== 'number') throw new Error('engine: conv2d needs static C, H, W');
  const oh = outDim(h, kh!, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
  const ow = outDim(wd, kw!, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
  if (cw! * a.group !== c || oh < 1 || ow < 1) {
    throw new InvalidInputError('shape_mismatch', `conv2d: kernel ${shapeStr(w.shape)} does not fit input ${shapeStr(x.shape)} (NCHW).`, {
      op: 'conv2d', inputShape: x.shape, kernelShape: w.shape,
    });
  }
  return x.graph.apply1('Conv', b ? [x, w, b] : [x, w], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: [n!, f!, oh, ow] });
}

const convAttributes = (a: ConvAttrs, kernel: number[]): NodeDef['attributes'] => ({
  strides: attr.ints(a.strides), pads: attr.ints(a.pads), dilations: attr.ints(a.dilations), group: attr.int(a.group), kernel_shape: attr.ints(kernel),
});

registerOp('Conv', {
  emit: (n, inputs, outputs) => [{
    opType: 'Conv', inputs, outputs, attributes: convAttributes(n.attrs as unknown as ConvAttrs, (n.inputs[1]!.shape as number[]).slice(2)),
  }],
  grad: (node, [g], { needs }) => {
    const [x, w, b] = node.inputs as [Tensor, Tensor, Tensor | undefined];
    const a = node.attrs as unknown as ConvAttrs;
    if (a.group !== 1 || a.dilations[0] !== 1 || a.dilations[1] !== 1) throw new Error('engine: conv2d gradient needs group 1 and no dilation');
    return [
      needs[0] ? convInputGrad(g!, x, w, a) : undefined,
      needs[1] ? convKernelGrad(g!, x, w, a) : undefined,
      // Two contiguous reductions (space, then batch) run much faster in ORT than one over [0, 2, 3].
      b && needs[2] ? reduceSum(reduceSum(g!, [2, 3]), [0]) : undefined,
    ];
  },
});

/** Leftover rows/cols that the forward conv skipped (floor in outDim): the transposed conv must add them back. */
function leftovers(x: Tensor, w: Tensor, g: Tensor, a: ConvAttrs): [number, number] {
  const [h, wd] = (x.shape as number[]).slice(2) as [number, number];
  const [kh, kw] = (w.shape as number[]).slice(2) as [number, number];
  const [oh, ow] = (g.shape as number[]).slice(2) as [number, number];
  return [h + a.pads[0] + a.pads[2] - kh - a.strides[0] * (oh - 1), wd + a.pads[1] + a.pads[3] - kw - a.strides[1] * (ow - 1)];
}

function convInputGrad(g: Tensor, x: Tensor, w: Tensor, a: ConvAttrs): Tensor {
  const outputPadding = leftovers(x, w, g, a);
  return convTranspose2d(g, w, { strides: a.strides, pads: a.pads, outputPadding, group: 1 }, x.shape as [number | string, number, number, number]);
}

function convKernelGrad(g: Tensor, x: Tensor, w: Tensor, a: ConvAttrs): Tensor {
  const [c, h, wd] = (x.shape as number[]).slice(1) as [number, number, number];
  const [kh, kw] = (w.shape as number[]).slice(2) as [number, number];
  // Batch ↔ channel swap; with one input channel the swap is a free reshape.
  const xs = c === 1 ? reshape(x, [1, -1, h, wd]) : transpose(x, [1, 0, 2, 3]);
  const gs = transpose(g, [1, 0, 2, 3]);
  let r = conv2dRaw(xs, gs, { strides: [1, 1], pads: a.pads, dilations: a.strides, group: 1 });
  const [lh, lw] = leftovers(x, w, g, a);
  if (lh > 0 || lw > 0) r = slice(r, [0, 0], [kh, kw], [2, 3]);
  return transpose(r, [1, 0, 2, 3]);
}

/** Conv without shape checks, for gradient graphs where the kernel is dY (its "channels" are the batch). */
function conv2dRaw(x: Tensor, w: Tensor, a: ConvAttrs): Tensor {
  const [h, wd] = (x.shape as number[]).slice(2) as [number, number];
  const [kh, kw] = w.shape.slice(2) as [number, number];
  const oh = outDim(h, kh, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
  const ow = outDim(wd, kw, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
  return x.graph.apply1('ConvRaw', [x, w], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, oh, ow] });
}
registerOp('ConvRaw', {
  // The kernel (dY) has a symbolic channel dim, so kernel_shape comes from the static spatial dims.
  emit: (n, inputs, outputs) => [{ opType: 'Conv', inputs, outputs, attributes: convAttributes(n.attrs as unknown as ConvAttrs, (n.inputs[1]!.shape as number[]).slice(2)) }],
});

export interface ConvTransposeOptions {
  strides: [number, number];
  pads: [number, number, number, number];
  outputPadding: [number, number];
  group: number;
}

/** Transposed convolution (used by gradients); `outShape` is the known result shape. */
export function convTranspose2d(x: Tensor, w: Tensor, o: ConvTransposeOptions, outShape: [number | string, number, number, number]): Tensor {
  return x.graph.apply1('ConvTranspose', [x, w], o as unknown as Record<string, unknown>, { dtype: x.dtype, shape: outShape });
}
registerOp('ConvTranspose', {
  emit: (n, inputs, outputs) => {
    const o = n.attrs as unknown as ConvTransposeOptions;
    return [{
      opType: 'ConvTranspose', inputs, outputs, attributes: {
        strides: attr.ints(o.strides), pads: attr.ints(o.pads), output_padding: attr.ints(o.outputPadding), group: attr.int(o.group),
        kernel_shape: attr.ints((n.inputs[1]!.shape as number[]).slice(2)),
      },
    }];
  },
});
