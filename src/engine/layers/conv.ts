/** conv2d and max/avg pooling with Keras' "valid"/"same" padding (same: extra pad at the end). */
import type { Tensor } from '../graph.js';
import { avgPool2d, conv2d as conv, conv2dGemm, maxPool2d } from '../ops/index.js';
import { layerError, type LayerSpec, pair } from '../spec.js';
import { activate, defaultInitializer } from './activations.js';
import type { LayerContext, LayerImpl } from './types.js';

/** Output size and [begin, end] pads of one spatial axis. */
function axisGeometry(size: number, k: number, s: number, padding: 'valid' | 'same'): { out: number; pads: [number, number] } {
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
  }
  return { out: Math.floor((size - k) / s) + 1, pads: [0, 0] };
}

function geometry(l: LayerSpec, input: number[], index: number, kernel: [number, number], strides: [number, number]) {
  if (input.length !== 3) {
    throw layerError(index, l, 'shape_mismatch', `needs an image input [height, width, channels], got [${input.join(', ')}]; add a reshape layer first.`, {
      inputShape: input,
    });
  }
  const padding = l.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw layerError(index, l, 'bad_layer', "`padding` must be 'valid' or 'same'.", { padding });
  if ([...kernel, ...strides].some((v) => !Number.isInteger(v) || v < 1)) {
    throw layerError(index, l, 'bad_layer', 'kernel/pool sizes and strides must be positive integers.', { kernel, strides });
  }
  const gh = axisGeometry(input[0]!, kernel[0], strides[0], padding);
  const gw = axisGeometry(input[1]!, kernel[1], strides[1], padding);
  if (gh.out < 1 || gw.out < 1) {
    throw layerError(index, l, 'shape_mismatch', `window [${kernel.join(', ')}] does not fit input [${input.join(', ')}] with 'valid' padding.`, {
      inputShape: input, window: kernel,
    });
  }
  return { out: [gh.out, gw.out], pads: [gh.pads[0], gw.pads[0], gh.pads[1], gw.pads[1]] as [number, number, number, number] };
}

const kerasShape = (x: Tensor) => [x.shape[2] as number, x.shape[3] as number, x.shape[1] as number];

export const conv2d: LayerImpl = {
  outputShape(l, input, index) {
    if (!Number.isInteger(l.filters) || l.filters! < 1) throw layerError(index, l, 'bad_layer', '`filters` must be a positive integer.', { filters: l.filters });
    const g = geometry(l, input, index, pair(l.kernelSize, 3), pair(l.strides, 1));
    return [...g.out, l.filters!];
  },
  build(ctx: LayerContext, x: Tensor, l: LayerSpec, prefix: string) {
    const [kh, kw] = pair(l.kernelSize, 3);
    const c = x.shape[1] as number;
    const f = l.filters!;
    const g = geometry(l, kerasShape(x), 0, [kh, kw], pair(l.strides, 1));
    const w = ctx.param(`${prefix}/kernel`, [f, c, kh, kw], l.kernelInitializer ?? defaultInitializer(l), c * kh * kw, f * kh * kw);
    // The bias goes through Conv's own input (fused in the kernel) rather than a broadcast Add.
    const b = l.useBias === false ? undefined : ctx.param(`${prefix}/bias`, [f], 'zeros');
    // Training graphs take im2col + Gemm (fast gradients); inference keeps Conv (ORT's NCHWc kernels for constant weights).
    const op = ctx.training ? conv2dGemm : conv;
    return activate(op(x, w, b, { strides: pair(l.strides, 1), pads: g.pads }), l.activation, l.alpha);
  },
};

function pool(kind: 'max' | 'avg'): LayerImpl {
  const stridesOf = (l: LayerSpec) => pair(l.strides ?? l.poolSize, 2);
  return {
    outputShape(l, input, index) {
      const g = geometry(l, input, index, pair(l.poolSize, 2), stridesOf(l));
      return [...g.out, input[2]!];
    },
    build(_ctx, x, l) {
      const kernel = pair(l.poolSize, 2);
      const g = geometry(l, kerasShape(x), 0, kernel, stridesOf(l));
      const o = { kernel, strides: stridesOf(l), pads: g.pads };
      return kind === 'max' ? maxPool2d(x, o) : avgPool2d(x, o);
    },
  };
}
export const maxPool = pool('max');
export const avgPool = pool('avg');
