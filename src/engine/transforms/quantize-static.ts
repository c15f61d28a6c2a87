/**
 * Static quantization in ONNX's QDQ form: calibration rows run through the float model to find
 * each activation's range; QuantizeLinear → DequantizeLinear pairs (uint8, asymmetric) then sit on
 * the inputs and outputs of every MatMul, Gemm and Conv, whose weights are stored int8
 * (symmetric, one scale per output channel) behind a DequantizeLinear, and whose biases int32 at
 * the input scale × the weight scale. ONNX Runtime fuses DQ → op → Q into QLinearConv /
 * QLinearMatMul; any other runtime still computes the same numbers in float.
 */
import type * as ort from 'onnxruntime-node';
import { attr, DataType, type ModelDef, type NodeDef } from '../../onnx/model.js';
import { encodeModel } from '../../onnx/model.js';
import { openSession } from '../runtime.js';
import { copyModel, gemmBias, GraphEdit, weightedOps, type WeightedOp } from './graph-edit.js';
import type { TransformReport } from './quantize-dynamic.js';

interface Range { min: number; max: number }

export async function quantizeStatic(source: ModelDef, calibration: Record<string, ort.Tensor>[], threads = 1): Promise<{ model: ModelDef; report: TransformReport }> {
  const model = copyModel(source);
  const e = new GraphEdit(model);
  const all = weightedOps(e);
  const ops = all.filter((w) => !thinConv(w));
  const skipped = all.filter(thinConv).map((w) => ({ node: w.node.name ?? w.node.outputs[0]!, reason: `Conv over ${w.weight.dims[1]} input channel(s) stays float (int8 is slower there)` }));
  const activations = [...new Set(ops.flatMap((w) => [w.node.inputs[0]!, w.node.outputs[0]!]))];
  const ranges = await calibrate(source, activations, calibration, threads);
  const inputOf = new Map(ops.map((w) => [w, w.node.inputs[0]!]));
  const qdq = new Map<string, { scale: number }>();
  for (const t of activations) {
    const r = ranges.get(t)!;
    const { scale, zero } = uint8Params(r);
    const scaleName = e.addInitializer({ name: e.fresh(`${t}_scale`), dataType: DataType.FLOAT, dims: [], data: Float32Array.of(scale) });
    const zeroName = e.addInitializer({ name: e.fresh(`${t}_zero_point`), dataType: DataType.UINT8, dims: [], data: Uint8Array.of(zero) });
    const q = e.fresh(`${t}_quantized`);
    const dq = e.fresh(`${t}_dequantized`);
    e.rewire(t, dq);
    e.graph.nodes.push(
      { opType: 'QuantizeLinear', inputs: [t, scaleName, zeroName], outputs: [q] },
      { opType: 'DequantizeLinear', inputs: [q, scaleName, zeroName], outputs: [dq] },
    );
    qdq.set(t, { scale });
  }
  for (const w of ops) quantizeWeight(e, w, qdq.get(inputOf.get(w)!)!.scale);
  e.dropUnused();
  e.sortTopologically();
  return { model, report: { rewritten: ops.length, skipped } };
}

/**
 * A convolution over fewer than 4 input channels (an image's first layer: grey or RGB) stays float:
 * its int8 kernel has too little depth to pack (1 × 5 × 5 products per output), and measured on the
 * bench's MNIST CNN, quantizing it made the whole batch-64 run 1.4× slower than fp32, while keeping
 * it float made the rest's int8 pay (0.7× fp32's time).
 */
function thinConv(w: WeightedOp): boolean {
  return w.kind === 'conv' && w.weight.dims[1]! < 4;
}

/** Weight int8 per output channel behind a DequantizeLinear; the bias int32 at x_scale · w_scale. */
function quantizeWeight(e: GraphEdit, w: WeightedOp, inputScale: number): void {
  const node = w.node;
  const stored = e.initializers.get(node.inputs[1]!)!;
  const data = stored.data as Float32Array;
  // Output channels: Conv's axis 0; MatMul's columns (axis 1); Gemm's B as stored (axis 0 when transB).
  const transB = node.attributes?.transB?.kind === 'int' && node.attributes.transB.value === 1;
  const axis = w.kind === 'conv' || (w.kind === 'gemm' && transB) ? 0 : 1;
  const channels = stored.dims[axis]!;
  const inner = stored.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scales = new Float32Array(channels);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  for (let i = 0; i < data.length; i++) scales[channelOf(i)] = Math.max(scales[channelOf(i)]!, Math.abs(data[i]!));
  for (let c = 0; c < channels; c++) scales[c] = scales[c]! > 0 ? scales[c]! / 127 : 1;
  const q = Int8Array.from(data, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)]!))));
  const base = stored.name;
  const wq = e.addInitializer({ name: e.fresh(`${base}_quantized`), dataType: DataType.INT8, dims: stored.dims, data: q });
  const ws = e.addInitializer({ name: e.fresh(`${base}_scale`), dataType: DataType.FLOAT, dims: [channels], data: scales });
  const wz = e.addInitializer({ name: e.fresh(`${base}_zero_point`), dataType: DataType.INT8, dims: [channels], data: new Int8Array(channels) });
  const wdq = e.fresh(`${base}_dequantized`);
  e.graph.nodes.push({ opType: 'DequantizeLinear', inputs: [wq, ws, wz], outputs: [wdq], attributes: { axis: attr.int(axis) } });
  node.inputs[1] = wdq;
  const biasName = w.kind === 'conv' ? node.inputs[2] : w.kind === 'gemm' ? gemmBias(e, node, channels) : undefined;
  const bias = biasName ? e.floatConstant(biasName) : undefined;
  if (!bias || bias.data.length !== channels) return;
  const bscale = Float32Array.from(scales, (s) => s * inputScale);
  const bq = Int32Array.from(bias.data as Float32Array, (v, c) => Math.round(v / bscale[c]!));
  const bqName = e.addInitializer({ name: e.fresh(`${bias.name}_quantized`), dataType: DataType.INT32, dims: bias.dims, data: bq });
  const bsName = e.addInitializer({ name: e.fresh(`${bias.name}_scale`), dataType: DataType.FLOAT, dims: [channels], data: bscale });
  const bzName = e.addInitializer({ name: e.fresh(`${bias.name}_zero_point`), dataType: DataType.INT32, dims: [channels], data: new Int32Array(channels) });
  const bdq = e.fresh(`${bias.name}_dequantized`);
  e.graph.nodes.push({ opType: 'DequantizeLinear', inputs: [bqName, bsName, bzName], outputs: [bdq], attributes: { axis: attr.int(0) } } as NodeDef);
  node.inputs[2] = bdq;
}

/** uint8 asymmetric over [min(0, lo), max(0, hi)], so that zero is exact. */
function uint8Params(r: Range): { scale: number; zero: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zero: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

/** The min and max each named tensor takes over the calibration batches (the source graph with them as extra outputs). */
async function calibrate(source: ModelDef, tensors: string[], batches: Record<string, ort.Tensor>[], threads: number): Promise<Map<string, Range>> {
  if (batches.length === 0) throw new Error('static quantization needs calibration rows');
  const probe = copyModel(source);
  const present = new Set(probe.graph.outputs.map((o) => o.name));
  // Graph inputs are read from the feeds; everything else is fetched as an extra output.
  const inputs = new Set(probe.graph.inputs.map((i) => i.name));
  const fetched = tensors.filter((t) => !inputs.has(t));
  probe.graph.outputs.push(...fetched.filter((t) => !present.has(t)).map((name) => ({ name, type: { elemType: DataType.FLOAT } })));
  const ranges = new Map<string, Range>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const session = await openSession(encodeModel(probe), { intraOpThreads: threads });
  try {
    for (const feeds of batches) {
      const out = { ...feeds, ...(await session.run(feeds)) };
      for (const t of tensors) {
        const r = ranges.get(t)!;
        for (const v of out[t]!.data as Float32Array) {
          if (v < r.min) r.min = v;
          if (v > r.max) r.max = v;
        }
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}
