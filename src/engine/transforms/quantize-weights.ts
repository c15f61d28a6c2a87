/**
 * Weight-only quantization, blockwise (ONNX Runtime's `com.microsoft.MatMulNBits`): each MatMul
 * weight [K, N] is stored as `bits`-bit integers (8 or 4, two per byte) in blocks of `blockSize`
 * values along K, one float scale per block, symmetric around the default zero point 2^(bits-1).
 * Decoding a language model reads every weight once per token, so its speed is bound by memory:
 * a quarter or an eighth of the bytes is what makes it faster. `accuracy_level` 4 lets ONNX Runtime
 * quantize each activation block to int8 at run time and use its integer kernels: with the default
 * (0, float compute) its CPU kernel for 8 bits dequantizes the weights on every call, 13–20× slower
 * than fp32 on the GPT-2-small-shaped bench model (docs/benchmarks.md, "Generation").
 * A tied head (MatMul by the Transpose of the embedding table) is quantized too; the table itself
 * stays float for the embedding lookup.
 */
import { attr, DataType, type ModelDef, type NodeDef, type TensorValue } from '../../onnx/model.js';
import { copyModel, gemmBias, GraphEdit, MS_DOMAIN, transpose2d, weightedOps } from './graph-edit.js';
import type { TransformReport } from './quantize-dynamic.js';

/** MatMulNBits' accuracy_level for int8 compute (activations quantized per block at run time). */
const INT8_COMPUTE = 4;

export interface WeightOptions {
  bits: 4 | 8;
  /** Values per block along K: a power of two, at least 16. */
  blockSize?: number;
}

export function quantizeWeights(source: ModelDef, o: WeightOptions): { model: ModelDef; report: TransformReport } {
  const blockSize = o.blockSize ?? 32;
  const model = copyModel(source);
  const e = new GraphEdit(model);
  const report: TransformReport = { rewritten: 0, skipped: [] };
  const targets = [
    ...weightedOps(e, ['matmul', 'gemm']).map((w) => ({ node: w.node, weight: w.weight, bias: w.kind === 'gemm' ? gemmBias(e, w.node, w.weight.dims[1]!) : undefined })),
    ...tiedHeads(e),
  ];
  for (const { node, weight, bias } of targets) {
    const [k, n] = weight.dims as [number, number];
    const packed = packBlocks(weight.data as Float32Array, k, n, o.bits, blockSize);
    const b = e.addInitializer({ name: e.fresh(`${weight.name}_q${o.bits}`), dataType: DataType.UINT8, dims: packed.dims, data: packed.values });
    const s = e.addInitializer({ name: e.fresh(`${weight.name}_scales`), dataType: DataType.FLOAT, dims: [packed.scales.length], data: packed.scales });
    const q: NodeDef = {
      opType: 'MatMulNBits', domain: MS_DOMAIN, name: e.fresh(`${node.name ?? weight.name}_nbits`),
      inputs: [node.inputs[0]!, b, s, ...(bias ? ['', '', bias] : [])], outputs: [node.outputs[0]!],
      attributes: { K: attr.int(k), N: attr.int(n), bits: attr.int(o.bits), block_size: attr.int(blockSize), accuracy_level: attr.int(INT8_COMPUTE) },
    };
    e.graph.nodes.splice(e.graph.nodes.indexOf(node), 1, q);
    report.rewritten++;
  }
  e.useDomain(MS_DOMAIN, 1);
  e.dropUnused();
  return { model, report };
}

/** MatMul(h, Transpose(E, perm [1, 0])) with E a constant: the weight is Eᵀ. */
function tiedHeads(e: GraphEdit): { node: NodeDef; weight: TensorValue; bias?: string }[] {
  const out: { node: NodeDef; weight: TensorValue }[] = [];
  for (const node of e.graph.nodes) {
    if (node.opType !== 'MatMul' || node.domain) continue;
    const t = e.producer(node.inputs[1]!);
    const perm = t?.attributes?.perm;
    if (t?.opType !== 'Transpose' || (perm && (perm.kind !== 'ints' || Array.from(perm.value).join() !== '1,0'))) continue;
    const w = e.floatConstant(t.inputs[0]!);
    if (w && w.dims.length === 2) out.push({ node, weight: transpose2d(w) });
  }
  return out;
}

/**
 * [K, N] → MatMulNBits' layout: per output column n, ceil(K / blockSize) blocks of blockSize·bits/8
 * bytes (K padded with the zero point), scale = max|w| / (2^(bits-1) − 1) per block.
 */
export function packBlocks(w: Float32Array, k: number, n: number, bits: 4 | 8, blockSize: number): { values: Uint8Array; scales: Float32Array; dims: number[] } {
  const blocks = Math.ceil(k / blockSize);
  const blob = (blockSize * bits) / 8;
  const zero = 1 << (bits - 1);
  const qmax = zero - 1;
  const values = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < blocks; b++) {
      let max = 0;
      const end = Math.min(k, (b + 1) * blockSize);
      for (let i = b * blockSize; i < end; i++) max = Math.max(max, Math.abs(w[i * n + j]!));
      const scale = max > 0 ? max / qmax : 1;
      scales[j * blocks + b] = scale;
      const base = (j * blocks + b) * blob;
      for (let t = 0; t < blockSize; t++) {
        const i = b * blockSize + t;
        const q = i < k ? Math.max(-qmax, Math.min(qmax, Math.round(w[i * n + j]! / scale))) + zero : zero;
        if (bits === 8) values[base + t] = q;
        else values[base + (t >> 1)]! |= (t & 1) ? q << 4 : q;
      }
    }
  }
  return { values, scales, dims: [n, blocks, blob] };
}
