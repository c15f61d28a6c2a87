/**
 * Magnitude pruning. Unstructured: the smallest `sparsity` share of each weight (by |w|) becomes
 * zero; the graph keeps its shapes, so it compresses but computes as much. Structured: whole
 * hidden neurons (MatMul columns) and convolution filters with the smallest L2 norm are removed,
 * together with their bias entries and the rows (input channels) of the next weighted op that
 * read them, so the matrices really shrink and the model really gets faster.
 * Only units that feed another weighted op are removed: a model's outputs keep their number.
 */
import type { ModelDef, TensorValue } from '../../onnx/model.js';
import { copyModel, GraphEdit, sizeOf, weightedOps, type WeightedOp } from './graph-edit.js';
import type { TransformReport } from './quantize-dynamic.js';

export interface PruneOptions {
  /** Share of weights (unstructured) or units (structured) removed, 0 < sparsity < 1. */
  sparsity: number;
  structured: boolean;
}

/** Ops between two weighted ops that act on each unit (channel) alone, so removing a unit commutes with them. */
const PER_UNIT = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Gelu', 'Erf', 'Identity', 'Dropout', 'MaxPool', 'AveragePool']);

export function prune(source: ModelDef, o: PruneOptions): { model: ModelDef; report: TransformReport } {
  const model = copyModel(source);
  const e = new GraphEdit(model);
  const report: TransformReport = { rewritten: 0, skipped: [] };
  if (o.structured) {
    for (const link of prunableLinks(e)) {
      removeUnits(e, link, o.sparsity);
      report.rewritten++;
    }
    model.graph.valueInfo = [];
  } else {
    for (const op of weightedOps(e)) {
      replaceData(e, op.node.inputs[1]!, zeroSmallest(e.initializers.get(op.node.inputs[1]!)!.data as Float32Array, o.sparsity));
      report.rewritten++;
    }
  }
  e.dropUnused();
  return { model, report };
}

function zeroSmallest(w: Float32Array, share: number): Float32Array {
  const cut = Math.floor(w.length * share);
  if (cut === 0) return w.slice();
  const order = Float32Array.from(w, Math.abs).sort();
  const threshold = order[cut - 1]!;
  let left = cut;
  // Ties at the threshold are removed only until the share is reached.
  return w.map((v) => (Math.abs(v) < threshold || (Math.abs(v) === threshold && left-- > 0) ? 0 : v));
}

interface Link {
  producer: WeightedOp;
  /** MatMul: the Add's constant [H] bias; Conv: its bias input. */
  bias?: string;
  consumer: WeightedOp;
  /** The consumer reads the units flattened (Conv → … → Flatten → MatMul): rows per unit. */
  rowsPerUnit: number;
}

/** producer (MatMul [K, H] or Conv [F, …]) → [bias Add] → per-unit ops → [Flatten] → consumer, with no branch. */
function prunableLinks(e: GraphEdit): Link[] {
  const ops = weightedOps(e, ['matmul', 'conv']);
  const byNode = new Map(ops.map((w) => [w.node, w]));
  const links: Link[] = [];
  for (const producer of ops) {
    let t = producer.node.outputs[0]!;
    let bias = producer.kind === 'conv' ? producer.node.inputs[2] : undefined;
    let flattened = false;
    let consumer: WeightedOp | undefined;
    for (;;) {
      const readers = e.consumers(t);
      if (readers.length !== 1 || e.isGraphOutput(t)) break;
      const r = readers[0]!;
      const w = byNode.get(r);
      if (w && r.inputs[0] === t) { consumer = w; break; }
      if (r.opType === 'Add' && producer.kind === 'matmul' && !bias) {
        const other = r.inputs[0] === t ? r.inputs[1]! : r.inputs[0]!;
        const b = e.floatConstant(other);
        if (!b || b.dims.length !== 1 || b.data.length !== producer.weight.dims[1] || e.consumers(other).length !== 1) break;
        bias = other;
      } else if (r.opType === 'Flatten' && producer.kind === 'conv' && !flattened) {
        flattened = true;
      } else if (!PER_UNIT.has(r.opType) || r.domain) break;
      t = r.outputs[0]!;
    }
    if (!consumer || e.consumers(producer.node.inputs[1]!).length !== 1 || e.consumers(consumer.node.inputs[1]!).length !== 1) continue;
    const units = unitsOf(producer);
    const rows = consumer.kind === 'conv' ? consumer.weight.dims[1]! : consumer.weight.dims[0]!;
    if (consumer.kind === 'conv' && (producer.kind !== 'conv' || flattened)) continue;
    if (consumer.kind !== 'conv' && producer.kind === 'conv' && !flattened) continue;
    if (rows % units !== 0 || (!flattened && rows !== units)) continue;
    links.push({ producer, bias, consumer, rowsPerUnit: rows / units });
  }
  return links;
}

const unitsOf = (w: WeightedOp) => (w.kind === 'conv' ? w.weight.dims[0]! : w.weight.dims[1]!);

function removeUnits(e: GraphEdit, link: Link, sparsity: number): void {
  const { producer, consumer } = link;
  const units = unitsOf(producer);
  const keep = strongestUnits(producer, Math.max(1, Math.round(units * (1 - sparsity))));
  const pw = e.initializers.get(producer.node.inputs[1]!)!;
  if (producer.kind === 'conv') replaceTensor(e, pw, selectAxis(pw, 0, keep, 1));
  else replaceTensor(e, pw, selectAxis(pw, 1, keep, 1));
  if (link.bias) { const b = e.initializers.get(link.bias)!; replaceTensor(e, b, selectAxis(b, 0, keep, 1)); }
  const cw = e.initializers.get(consumer.node.inputs[1]!)!;
  replaceTensor(e, cw, selectAxis(cw, consumer.kind === 'conv' ? 1 : 0, keep, link.rowsPerUnit));
}

/** Units ranked by the L2 norm of their weights; the `n` largest, in their original order. */
function strongestUnits(w: WeightedOp, n: number): number[] {
  const data = w.weight.data as Float32Array;
  const units = unitsOf(w);
  const norms = new Float64Array(units);
  if (w.kind === 'conv') {
    const per = data.length / units;
    for (let u = 0; u < units; u++) for (let i = 0; i < per; i++) norms[u] += data[u * per + i]! ** 2;
  } else {
    for (let i = 0; i < data.length; i++) norms[i % units] += data[i]! ** 2;
  }
  return Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]!).slice(0, n).sort((a, b) => a - b);
}

/** Keeps the `keep` groups of `group` consecutive indices along `axis`. */
function selectAxis(t: TensorValue, axis: number, keep: number[], group: number): { dims: number[]; data: Float32Array } {
  const src = t.data as Float32Array;
  const outer = sizeOf(t.dims.slice(0, axis));
  const inner = sizeOf(t.dims.slice(axis + 1));
  const along = t.dims[axis]!;
  const picked = keep.flatMap((u) => Array.from({ length: group }, (_, g) => u * group + g));
  const data = new Float32Array(outer * picked.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) for (const p of picked) { data.set(src.subarray((a * along + p) * inner, (a * along + p + 1) * inner), o); o += inner; }
  const dims = [...t.dims];
  dims[axis] = picked.length;
  return { dims, data };
}

function replaceTensor(e: GraphEdit, t: TensorValue, next: { dims: number[]; data: Float32Array }): void {
  replaceData(e, t.name, next.data, next.dims);
}

/** Initializers are shared with the source model: a pruned one is a new object. */
function replaceData(e: GraphEdit, name: string, data: Float32Array, dims?: number[]): void {
  const old = e.initializers.get(name)!;
  const fresh = { ...old, data, dims: dims ?? old.dims };
  e.graph.initializers = e.graph.initializers!.map((t) => (t === old ? fresh : t));
  e.initializers.set(name, fresh);
}
