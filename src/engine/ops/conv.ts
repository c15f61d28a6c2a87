/**
 * 2-D convolution in NCHW layout with explicit strides and pads (pads = [top, left, bottom, right]).
 * Gradients: dX is a transposed convolution of dY with the same kernel; dW is a convolution of
 * the input with dY in which the batch plays the role of channels (dilated by the stride);
 * db sums dY over batch and space. ONNX Runtime's CPU Conv is float32 only.
 *
 * `conv2dGemm` is the same convolution for training graphs, built from im2col and one Gemm in
 * NHWC: ORT's Conv-based gradients (a convolution with a batch-sized kernel for dW, ConvTranspose
 * for dX) run far below its Gemm speed at small batches, and weights fed as graph inputs get none
 * of the NCHWc layout optimizations that constant kernels get. Inference graphs keep Conv.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { type Tensor, registerOp, shapeStr } from '../graph.js';
import { attr, type NodeDef } from '../../onnx/model.js';
import { add } from './elementwise.js';
import { gemm } from './matmul.js';
import { reduceSum } from './reduce.js';
import { pad, reshape, slice, transpose } from './shape.js';

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

const convAttrs = (opts: Conv2dOptions): ConvAttrs => ({
  strides: opts.strides ?? [1, 1], pads: opts.pads ?? [0, 0, 0, 0], dilations: opts.dilations ?? [1, 1], group: opts.group ?? 1,
});

/** [OH, OW] of a conv2d, or a 422 when the kernel does not fit the input. */
function convOutput(x: Tensor, w: Tensor, a: ConvAttrs): [number, number] {
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error('engine: conv2d needs NCHW input and FCkk kernel');
  const [, c, h, wd] = x.shape;
  const [, cw, kh, kw] = w.shape as number[];
  if (typeof h !== 'number' || typeof wd !== 'number' || typeof c !== 'number') throw new Error('engine: conv2d needs static C, H, W');
  const oh = outDim(h, kh!, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
  const ow = outDim(wd, kw!, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
  if (cw! * a.group !== c || oh < 1 || ow < 1) {
    throw new InvalidInputError('shape_mismatch', `conv2d: kernel ${shapeStr(w.shape)} does not fit input ${shapeStr(x.shape)} (NCHW).`, {
      op: 'conv2d', inputShape: x.shape, kernelShape: w.shape,
    });
  }
  return [oh, ow];
}

export function conv2d(x: Tensor, w: Tensor, b?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const a = convAttrs(opts);
  const [oh, ow] = convOutput(x, w, a);
  return x.graph.apply1('Conv', b ? [x, w, b] : [x, w], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, oh, ow] });
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

/** Fewest input channels for which `conv2dGemm` takes im2col: below, ORT's Gather copies single floats and Conv is faster. */
export const GEMM_MIN_CHANNELS = 8;

/**
 * The convolution of `conv2d` (NCHW in and out, same result) for training graphs: forward and dW
 * as im2col + one Gemm each in NHWC (y = cols·Wᵀ, dW = dYᵀ·cols), dX as conv2d's ConvTranspose.
 * Falls back to conv2d for grouped or dilated kernels and for inputs with few channels.
 */
export function conv2dGemm(x: Tensor, w: Tensor, b?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const a = convAttrs(opts);
  const c = x.shape[1] as number;
  if (a.group !== 1 || a.dilations.some((d) => d !== 1) || c < GEMM_MIN_CHANNELS) return conv2d(x, w, b, opts);
  const [oh, ow] = convOutput(x, w, a);
  const [f, , kh, kw] = w.shape as number[] as [number, number, number, number];
  const [pt, pl, pb, pr] = a.pads;
  const nhwc = transpose(x, [0, 2, 3, 1]);
  const padded = pt || pl || pb || pr ? pad(nhwc, [0, pt, pl, 0, 0, pb, pr, 0]) : nhwc;
  const cols = im2col(padded, [kh, kw], a.strides, [oh, ow]);
  // Kernel rows in the (kh, kw, c) order of the columns.
  const wk = reshape(transpose(w, [0, 2, 3, 1]), [f, kh * kw * c]);
  const y = gemm(cols, wk, false, true);
  const out = transpose(reshape(b ? add(y, b) : y, [-1, oh, ow, f]), [0, 3, 1, 2]);
  return x.graph.apply1('ConvGemm', [out, x, w], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: out.shape });
}

registerOp('ConvGemm', {
  // The value is the Gemm path's; the rule adds dX (im2col has no gradient of its own).
  emit: (_n, [y], outputs) => [{ opType: 'Identity', inputs: [y!], outputs }],
  grad: (node, [g], { needs }) => {
    const [, x, w] = node.inputs as [Tensor, Tensor, Tensor];
    return [g, needs[1] ? convInputGrad(g!, x, w, node.attrs as unknown as ConvAttrs) : undefined, undefined];
  },
});

interface Im2colAttrs { kernel: [number, number]; strides: [number, number]; out: [number, number] }

/**
 * NHWC [N, H, W, C] → [N·OH·OW, KH·KW·C]: row (n, oh, ow) holds the window at (oh, ow) in
 * (kh, kw, c) order. No gradient (conv2dGemm routes dX through ConvTranspose, which ORT runs
 * faster than a col2im by Gather and ReduceSum).
 */
function im2col(x: Tensor, kernel: [number, number], strides: [number, number], out: [number, number]): Tensor {
  const c = x.shape[3] as number;
  const a: Im2colAttrs = { kernel, strides, out };
  const rows = typeof x.shape[0] === 'number' ? x.shape[0] * out[0] * out[1] : 'NP';
  return x.graph.apply1('Im2col', [x], a as unknown as Record<string, unknown>, { dtype: x.dtype, shape: [rows, kernel[0] * kernel[1] * c] });
}

registerOp('Im2col', {
  // Gather along the pixel axis copies whole C-long channel vectors.
  emit: (n, [x], [y], ctx): NodeDef[] => {
    const [, h, w, c] = n.inputs[0]!.shape as [unknown, number, number, number];
    const a = n.attrs as unknown as Im2colAttrs;
    const pixels: number[] = [];
    for (let i = 0; i < a.out[0]; i++) {
      for (let j = 0; j < a.out[1]; j++) {
        for (let u = 0; u < a.kernel[0]; u++) for (let v = 0; v < a.kernel[1]; v++) pixels.push((i * a.strides[0] + u) * w + j * a.strides[1] + v);
      }
    }
    const [flat, picked] = [ctx.fresh('im2col_flat'), ctx.fresh('im2col_picked')];
    return [
      { opType: 'Reshape', inputs: [x!, ctx.int64([-1, h * w, c])], outputs: [flat] },
      { opType: 'Gather', inputs: [flat, ctx.int64(pixels)], outputs: [picked], attributes: { axis: attr.int(1) } },
      { opType: 'Reshape', inputs: [picked, ctx.int64([-1, a.kernel[0] * a.kernel[1] * c])], outputs: [y!] },
    ];
  },
});
