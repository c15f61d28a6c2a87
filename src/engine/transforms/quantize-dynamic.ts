/**
 * Dynamic quantization (PyTorch's `quantize_dynamic`): the weights of every MatMul and Gemm become
 * int8, symmetric, one scale per output column; activations are quantized to uint8 at run time,
 * per call, from their own range. The default emits ONNX Runtime's fused contrib op
 * `com.microsoft.DynamicQuantizeMatMul` (bias folded in); `ops: 'standard'` emits the plain ONNX
 * form (DynamicQuantizeLinear → MatMulInteger → Cast → Mul → Add), which any ONNX runtime runs
 * and ORT fuses to the same kernel at load. docs/benchmarks.md has both measured.
 * Conv kernels stay float: their dynamic counterpart (ConvInteger) is slower than float on ORT's CPU.
 */
import { DataType, type ModelDef, type NodeDef, type TensorValue } from '../../onnx/model.js';
import { copyModel, gemmBias, GraphEdit, MS_DOMAIN, weightedOps } from './graph-edit.js';

export interface DynamicOptions {
  ops?: 'contrib' | 'standard';
}

export interface TransformReport {
  /** Weighted ops rewritten. */
  rewritten: number;
  /** Weighted ops left as they were, with why. */
  skipped: { node: string; reason: string }[];
}

/**
 * A MatMul with fewer output columns than this (a classifier's head over a few classes) stays float
 * when the model has wider ones: quantizing its input per call costs more than its int8 product
 * saves (ORT's int8 kernels work on 16-column panels). Measured on the MNIST MLP (784 → 128 → 10):
 * int8 everywhere was 1–2 µs slower than fp32 per single-row call; with the 10-column head float it
 * is level at one row and 5–10% faster than int8 everywhere at 64. A model with only narrow ones
 * (logistic-regression-like) is quantized whole: there is nothing else to shrink.
 */
const MIN_INT8_COLUMNS = 16;

export function quantizeDynamic(source: ModelDef, o: DynamicOptions = {}): { model: ModelDef; report: TransformReport } {
  const model = copyModel(source);
  const e = new GraphEdit(model);
  const report: TransformReport = { rewritten: 0, skipped: [] };
  const all = weightedOps(e, ['matmul', 'gemm', 'conv']);
  const wide = all.filter((op) => op.kind !== 'conv' && op.weight.dims[1]! >= MIN_INT8_COLUMNS);
  for (const op of all) {
    if (op.kind === 'conv') {
      report.skipped.push({ node: op.node.name ?? op.node.outputs[0]!, reason: 'Conv stays float under dynamic quantization (use quantize_static)' });
      continue;
    }
    const [k, n] = op.weight.dims as [number, number];
    if (n < MIN_INT8_COLUMNS && wide.length > 0) {
      report.skipped.push({ node: op.node.name ?? op.node.outputs[0]!, reason: `a MatMul with ${n} output columns stays float (int8 is slower there)` });
      continue;
    }
    const fold = uniformAffineBefore(e, op.node.inputs[0]!);
    const weights = fold ? (op.weight.data as Float32Array).map((v) => v * fold.scale) : op.weight.data as Float32Array;
    const input = fold?.input ?? op.node.inputs[0]!;
    const q = quantizeColumnsInt8(weights, k, n);
    const base = op.weight.name;
    const wq = e.addInitializer({ name: e.fresh(`${base}_quantized`), dataType: DataType.INT8, dims: [k, n], data: q.values });
    const scale = e.addInitializer({ name: e.fresh(`${base}_scale`), dataType: DataType.FLOAT, dims: [n], data: q.scales });
    const zero = e.addInitializer({ name: e.fresh(`${base}_zero_point`), dataType: DataType.INT8, dims: [n], data: new Int8Array(n) });
    const found = biasOf(e, op.node, n, op.kind);
    const { output, absorbed } = found;
    const bias = fold && fold.subtract !== 0 ? shiftedBias(e, found.bias, weights, k, n, fold.subtract, base) : found.bias;
    const replacement = o.ops === 'standard'
      ? standardForm(e, input, wq, scale, zero, bias, output)
      : [{ opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, inputs: [input, wq, scale, zero, ...(bias ? [bias] : [])], outputs: [output], name: e.fresh(`${op.node.name ?? base}_dq`) }];
    const at = e.graph.nodes.indexOf(op.node);
    e.graph.nodes.splice(at, 1, ...replacement);
    if (absorbed) e.graph.nodes.splice(e.graph.nodes.indexOf(absorbed), 1);
    report.rewritten++;
  }
  if (o.ops !== 'standard') e.useDomain(MS_DOMAIN, 1);
  e.dropDeadNodes();
  e.dropUnused();
  return { model, report };
}

/**
 * A uniform affine step right before a layer, (x − a)·b with one a and one b for every column (an
 * image's pixel scaling), whose result only that layer reads: x·(b·W) + (c − a·b·Σₖ W[k, :]) is the
 * same layer on x. Folded, the layer is quantized on x itself (per call, over the same range up to
 * the factor b) and the two elementwise kernels go: at one row they cost more than int8 saves
 * (MNIST MLP: 2–3 µs slower than fp32 with them, level without). A step that differs per column
 * (standardization) stays: one activation scale over columns of unlike ranges would lose precision.
 */
function uniformAffineBefore(e: GraphEdit, tensor: string): { input: string; scale: number; subtract: number } | undefined {
  const only = (t: string) => e.consumers(t).length === 1 && !e.isGraphOutput(t);
  let t = tensor;
  let node = e.producer(t);
  if (node?.opType === 'Identity' && !node.domain) { if (!only(t)) return undefined; t = node.inputs[0]!; node = e.producer(t); }
  if (node?.opType !== 'Mul' || node.domain || !only(t)) return undefined;
  const mul = constantOperand(e, node);
  if (!mul) return undefined;
  const sub = e.producer(mul.other);
  if (sub?.opType !== 'Sub' || sub.domain || !only(mul.other)) return { input: mul.other, scale: mul.value, subtract: 0 };
  const a = uniformValue(e.floatConstant(sub.inputs[1]!));
  if (a === undefined) return { input: mul.other, scale: mul.value, subtract: 0 };
  return { input: sub.inputs[0]!, scale: mul.value, subtract: a };
}

/** A Mul's constant operand when all its values are one number, and the other operand. */
function constantOperand(e: GraphEdit, node: NodeDef): { value: number; other: string } | undefined {
  for (const [c, other] of [[node.inputs[1]!, node.inputs[0]!], [node.inputs[0]!, node.inputs[1]!]] as const) {
    const value = uniformValue(e.floatConstant(c));
    if (value !== undefined) return { value, other };
  }
  return undefined;
}

function uniformValue(t: TensorValue | undefined): number | undefined {
  const d = t?.data as Float32Array | undefined;
  if (!d || d.length === 0 || !d.every((v) => v === d[0])) return undefined;
  return d[0];
}

/** The bias once the input's `a` is folded in: c − a·Σₖ W'[k, :], with W' = b·W already scaled. */
function shiftedBias(e: GraphEdit, bias: string | undefined, scaled: Float32Array, k: number, n: number, a: number, base: string): string {
  const c = bias ? Float32Array.from(e.floatConstant(bias)!.data as Float32Array) : new Float32Array(n);
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) c[j]! -= a * scaled[r * n + j]!;
  return e.addInitializer({ name: e.fresh(`${base}_folded_bias`), dataType: DataType.FLOAT, dims: [n], data: c });
}

/**
 * The bias to fold: Gemm's C, or the constant [N] vector of the Add that alone reads a MatMul's
 * output (that Add then disappears, and its output is the new node's).
 */
function biasOf(e: GraphEdit, node: NodeDef, n: number, kind: 'matmul' | 'gemm'): { bias?: string; output: string; absorbed?: NodeDef } {
  const out = node.outputs[0]!;
  if (kind === 'gemm') return { bias: gemmBias(e, node, n), output: out };
  const readers = e.consumers(out);
  const add = readers.length === 1 && !e.isGraphOutput(out) && readers[0]!.opType === 'Add' && !readers[0]!.domain ? readers[0]! : undefined;
  if (!add) return { output: out };
  const other = add.inputs[0] === out ? add.inputs[1]! : add.inputs[0]!;
  const b = e.floatConstant(other);
  if (!b || b.data.length !== n || b.dims.length > 1) return { output: out };
  return { bias: other, output: add.outputs[0]!, absorbed: add };
}

function standardForm(e: GraphEdit, a: string, wq: string, scale: string, zero: string, bias: string | undefined, output: string): NodeDef[] {
  const aq = e.fresh(`${a}_quantized`);
  const as = e.fresh(`${a}_scale`);
  const az = e.fresh(`${a}_zero_point`);
  const acc = e.fresh(`${output}_int32`);
  const accF = e.fresh(`${output}_int32_float`);
  const s = e.fresh(`${output}_scale`);
  const scaled = bias ? e.fresh(`${output}_unbiased`) : output;
  const nodes: NodeDef[] = [
    { opType: 'DynamicQuantizeLinear', inputs: [a], outputs: [aq, as, az] },
    { opType: 'MatMulInteger', inputs: [aq, wq, az, zero], outputs: [acc] },
    { opType: 'Cast', inputs: [acc], outputs: [accF], attributes: { to: { kind: 'int', value: DataType.FLOAT } } },
    { opType: 'Mul', inputs: [as, scale], outputs: [s] },
    { opType: 'Mul', inputs: [accF, s], outputs: [scaled] },
  ];
  if (bias) nodes.push({ opType: 'Add', inputs: [scaled, bias], outputs: [output] });
  return nodes;
}

/** Symmetric int8 per column of a [K, N] matrix: q = round(w / s), s = max|w[:, j]| / 127. */
export function quantizeColumnsInt8(w: Float32Array, k: number, n: number): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) scales[j] = Math.max(scales[j]!, Math.abs(w[i * n + j]!));
  for (let j = 0; j < n; j++) scales[j] = scales[j]! > 0 ? scales[j]! / 127 : 1;
  const values = new Int8Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) values[i * n + j] = Math.max(-127, Math.min(127, Math.round(w[i * n + j]! / scales[j]!)));
  return { values, scales };
}

