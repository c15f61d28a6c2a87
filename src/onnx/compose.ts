/**
 * Assembling one ONNX model from parts: a preprocessing part feeding a model part, for example.
 * Each part is nodes + initializers that read named tensors and produce named outputs; `assemble`
 * joins them into one graph and merges their opsets. `graphAsPart` turns a whole graph (such as
 * an exported network) into a part whose input is renamed and whose inner names are prefixed, so
 * that parts never collide.
 */
import type { GraphDef, ModelDef, NodeDef, OpsetImport, TensorValue, ValueInfo } from './model.js';

export interface GraphPart {
  nodes: NodeDef[];
  initializers: TensorValue[];
  /** The tensors this part produces for the parts after it (or as graph outputs). */
  outputs: ValueInfo[];
  opsets: OpsetImport[];
}

/**
 * A whole graph as a part: its inputs are wired to existing tensors (`inputs[graphInput] =
 * tensor`), its outputs keep their names, and every other name gets `prefix`.
 */
export function graphAsPart(model: ModelDef, prefix: string, inputs: Record<string, string>): GraphPart {
  const g = model.graph;
  const keep = new Set(g.outputs.map((o) => o.name));
  const rename = (name: string) => (name === '' ? '' : inputs[name] ?? (keep.has(name) ? name : prefix + name));
  for (const i of g.inputs) {
    if (!(i.name in inputs)) throw new Error(`graphAsPart: graph input '${i.name}' is not wired to a tensor`);
  }
  return {
    nodes: g.nodes.map((n) => renameNode(n, rename, prefix)),
    initializers: (g.initializers ?? []).map((t) => ({ ...t, name: rename(t.name) })),
    outputs: g.outputs,
    opsets: model.opsets,
  };
}

function renameNode(n: NodeDef, rename: (s: string) => string, prefix: string): NodeDef {
  // Sub-graphs (Loop, If) may read outer-scope names; exported inference graphs have none.
  if (Object.values(n.attributes ?? {}).some((a) => a.kind === 'graph')) {
    throw new Error(`graphAsPart: node ${n.name ?? n.opType} has a sub-graph; inline it before composing`);
  }
  return { ...n, name: n.name ? prefix + n.name : undefined, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) };
}

export interface AssembleOptions {
  name: string;
  inputs: ValueInfo[];
  parts: GraphPart[];
  /** Graph outputs, produced by the parts. */
  outputs: ValueInfo[];
  metadata?: Record<string, string>;
  doc?: string;
  irVersion?: number;
}

export function assemble(o: AssembleOptions): ModelDef {
  const graph: GraphDef = {
    name: o.name,
    inputs: o.inputs,
    outputs: o.outputs,
    nodes: o.parts.flatMap((p) => p.nodes),
    initializers: o.parts.flatMap((p) => p.initializers),
    doc: o.doc,
  };
  const opsets = mergeOpsets(o.parts.flatMap((p) => p.opsets));
  return { graph, opsets, irVersion: o.irVersion ?? irVersionFor(opsets), producerName: 'aiaas', metadata: o.metadata };
}

/** The lowest IR version that allows the ai.onnx opset used (ONNX's versioning table). */
function irVersionFor(opsets: OpsetImport[]): number {
  const v = opsets.find((o) => o.domain === '')?.version ?? 17;
  return v <= 18 ? 8 : v <= 20 ? 9 : v <= 22 ? 10 : 11;
}

/** One import per domain, at the highest version any part needs. */
export function mergeOpsets(opsets: OpsetImport[]): OpsetImport[] {
  const byDomain = new Map<string, number>();
  for (const o of opsets) byDomain.set(o.domain, Math.max(byDomain.get(o.domain) ?? 0, o.version));
  if (!byDomain.has('')) byDomain.set('', 17);
  return [...byDomain].map(([domain, version]) => ({ domain, version }));
}
