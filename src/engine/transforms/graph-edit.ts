/**
 * What every graph transform needs: the initializers by name, who produces and who reads each
 * tensor, fresh names that collide with nothing, and the weighted ops (MatMul, Gemm, Conv) whose
 * weight is a constant. Transforms copy the model first and then edit the copy in place.
 */
import { DataType, type GraphDef, type ModelDef, type NodeDef, type TensorValue } from '../../onnx/model.js';

export const MS_DOMAIN = 'com.microsoft';

export class GraphEdit {
  readonly graph: GraphDef;
  readonly initializers: Map<string, TensorValue>;
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly model: ModelDef) {
    this.graph = model.graph;
    this.graph.initializers ??= [];
    this.initializers = new Map(this.graph.initializers.map((t) => [t.name, t]));
    for (const n of this.graph.nodes) for (const t of [...n.inputs, ...n.outputs]) this.names.add(t);
    for (const t of [...this.graph.inputs, ...this.graph.outputs]) this.names.add(t.name);
    for (const t of this.initializers.keys()) this.names.add(t);
  }

  /** A tensor name not used anywhere in the graph, derived from `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.names.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  addInitializer(t: TensorValue): string {
    this.graph.initializers!.push(t);
    this.initializers.set(t.name, t);
    return t.name;
  }

  /** Drops initializers no node reads any more (a replaced float weight). */
  dropUnused(): void {
    const read = new Set(this.graph.nodes.flatMap((n) => n.inputs));
    for (const n of this.graph.nodes) for (const a of Object.values(n.attributes ?? {})) if (a.kind === 'graph') for (const s of a.value.nodes) s.inputs.forEach((i) => read.add(i));
    for (const o of this.graph.outputs) read.add(o.name);
    this.graph.initializers = this.graph.initializers!.filter((t) => read.has(t.name));
    for (const k of [...this.initializers.keys()]) if (!read.has(k)) this.initializers.delete(k);
  }

  /** Drops nodes whose outputs nothing reads (what a rewrite left behind), until none is left. */
  dropDeadNodes(): void {
    for (;;) {
      const read = new Set([...this.graph.nodes.flatMap((n) => n.inputs), ...this.graph.outputs.map((o) => o.name)]);
      const dead = this.graph.nodes.filter((n) => n.outputs.every((o) => !read.has(o)));
      if (!dead.length) return;
      this.graph.nodes = this.graph.nodes.filter((n) => !dead.includes(n));
    }
  }

  consumers(tensor: string): NodeDef[] {
    return this.graph.nodes.filter((n) => n.inputs.includes(tensor));
  }

  producer(tensor: string): NodeDef | undefined {
    return this.graph.nodes.find((n) => n.outputs.includes(tensor));
  }

  /** A float32 initializer, or undefined (a computed tensor, another type). */
  floatConstant(name: string): TensorValue | undefined {
    const t = this.initializers.get(name);
    return t && t.dataType === DataType.FLOAT ? t : undefined;
  }

  isGraphOutput(tensor: string): boolean {
    return this.graph.outputs.some((o) => o.name === tensor);
  }

  /** Every use of `from` (in nodes after `except`) reads `to` instead. */
  rewire(from: string, to: string, except?: NodeDef): void {
    for (const n of this.graph.nodes) {
      if (n === except) continue;
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
    }
  }

  useDomain(domain: string, version: number): void {
    if (!this.model.opsets.some((o) => o.domain === domain)) this.model.opsets.push({ domain, version });
  }

  opsetVersion(): number {
    return this.model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1;
  }

  /** Keeps nodes in an order where each runs after the producers of its inputs (ONNX requires it). */
  sortTopologically(): void {
    const available = new Set([...this.graph.inputs.map((i) => i.name), ...this.initializers.keys(), '']);
    const pending = [...this.graph.nodes];
    const sorted: NodeDef[] = [];
    while (pending.length) {
      const i = pending.findIndex((n) => n.inputs.every((t) => available.has(t) || !this.producer(t)));
      if (i < 0) throw new Error('graph has a cycle');
      const [n] = pending.splice(i, 1);
      sorted.push(n!);
      n!.outputs.forEach((o) => available.add(o));
    }
    this.graph.nodes = sorted;
  }
}

/** A deep enough copy that a transform's edits leave the source model untouched (tensor data is shared, never written). */
export function copyModel(m: ModelDef): ModelDef {
  const g = m.graph;
  return {
    ...m,
    opsets: m.opsets.map((o) => ({ ...o })),
    metadata: m.metadata ? { ...m.metadata } : undefined,
    graph: {
      ...g,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: n.attributes ? { ...n.attributes } : undefined })),
      inputs: [...g.inputs], outputs: [...g.outputs],
      initializers: [...(g.initializers ?? [])], valueInfo: [...(g.valueInfo ?? [])],
    },
  };
}

export interface WeightedOp {
  node: NodeDef;
  /** The weight as a [K, N] matrix for MatMul/Gemm (transposed when Gemm's transB is set); Conv's as stored. */
  weight: TensorValue;
  kind: 'matmul' | 'gemm' | 'conv';
}

const intAttr = (n: NodeDef, name: string, fallback: number) => {
  const a = n.attributes?.[name];
  return a?.kind === 'int' ? a.value : fallback;
};
const floatAttr = (n: NodeDef, name: string, fallback: number) => {
  const a = n.attributes?.[name];
  return a?.kind === 'float' ? a.value : fallback;
};

/**
 * MatMul with a 2-D constant right-hand side, plain Gemm (alpha = beta = 1, A not transposed)
 * with a constant B, and Conv with a constant kernel: the ops whose weights optimizations touch.
 */
export function weightedOps(e: GraphEdit, kinds: WeightedOp['kind'][] = ['matmul', 'gemm', 'conv']): WeightedOp[] {
  const out: WeightedOp[] = [];
  for (const node of e.graph.nodes) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const w = e.floatConstant(node.inputs[1] ?? '');
    if (!w) continue;
    if (node.opType === 'MatMul' && kinds.includes('matmul') && w.dims.length === 2) out.push({ node, weight: w, kind: 'matmul' });
    else if (node.opType === 'Gemm' && kinds.includes('gemm') && w.dims.length === 2 && intAttr(node, 'transA', 0) === 0
      && floatAttr(node, 'alpha', 1) === 1 && floatAttr(node, 'beta', 1) === 1
      && (!node.inputs[2] || gemmBias(e, node, intAttr(node, 'transB', 0) ? w.dims[0]! : w.dims[1]!))) {
      out.push({ node, weight: intAttr(node, 'transB', 0) ? transpose2d(w) : w, kind: 'gemm' });
    } else if (node.opType === 'Conv' && kinds.includes('conv') && w.dims.length >= 3) out.push({ node, weight: w, kind: 'conv' });
  }
  return out;
}

export function transpose2d(t: TensorValue): TensorValue {
  const [r, c] = t.dims as [number, number];
  const src = t.data as Float32Array;
  const data = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = src[i * c + j]!;
  return { ...t, dims: [c, r], data };
}

/** Gemm's bias input C when it is a constant vector over N (what MatMul + Add becomes). */
export function gemmBias(e: GraphEdit, node: NodeDef, n: number): string | undefined {
  const c = node.inputs[2];
  if (!c) return undefined;
  const t = e.floatConstant(c);
  return t && t.data.length === n ? c : undefined;
}

/** The element count of a tensor's data. */
export const sizeOf = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** float32 → IEEE half (round to nearest even), as the bits of a Uint16Array. */
export function toFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; }
    const e = exp - 127 + 15;
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    if (e <= 0) {
      if (e < -10) { out[i] = sign; continue; }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
  }
  return out;
}
