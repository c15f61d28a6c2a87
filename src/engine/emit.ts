/**
 * ONNX emission: the nodes needed for the requested outputs, in creation order, as a GraphDef.
 * Constants become Constant nodes (valid in Loop bodies too) or initializers; graph outputs are
 * named by renaming their producers, so no Identity copies are added inside hot loops.
 */
import { type DType, type Graph, type Tensor, DTYPE_TO_ONNX, opDef } from './graph.js';
import { attr, type GraphDef, type NodeDef, type TensorValue, type ValueInfo } from '../onnx/model.js';

export interface EmitOptions {
  name: string;
  /** Placeholders that become the graph's inputs, in order. */
  inputs: Tensor[];
  outputs: { tensor: Tensor; name: string }[];
  /** Placeholders defined elsewhere: by `prelude` nodes or by an enclosing graph (Loop bodies). */
  external?: Tensor[];
  prelude?: NodeDef[];
  /** Emit constants as initializers (top-level graphs) instead of Constant nodes. */
  initializers?: boolean;
  /** Extra initializers (e.g. trained weights baked into an exported model). */
  extraInitializers?: TensorValue[];
}

export function tensorValue(name: string, dtype: DType, dims: number[], values: ArrayLike<number>): TensorValue {
  const dataType = DTYPE_TO_ONNX[dtype];
  switch (dtype) {
    case 'float32': return { name, dims, dataType, data: values instanceof Float32Array ? values : Float32Array.from(values) };
    case 'float64': return { name, dims, dataType, data: values instanceof Float64Array ? values : Float64Array.from(values) };
    case 'int64': return { name, dims, dataType, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))) };
    case 'bool': return { name, dims, dataType, data: Uint8Array.from(values) };
  }
}

export function valueInfo(t: Tensor, name = t.name): ValueInfo {
  return { name, type: { elemType: DTYPE_TO_ONNX[t.dtype], shape: [...t.shape] } };
}

export function emitGraph(g: Graph, o: EmitOptions): GraphDef {
  const needed = neededTensors(g, o.outputs.map((x) => x.tensor));
  const allowed = new Set([...o.inputs, ...(o.external ?? [])].map((t) => t.id));
  const constants: NodeDef[] = [];
  const body: NodeDef[] = [];
  const identities: NodeDef[] = [];
  const initializers: TensorValue[] = [...(o.extraInitializers ?? [])];
  const outNames = nameOutputs(o.outputs, allowed, identities);

  for (const t of g.tensors) {
    if (!needed.has(t.id) || t.node) continue;
    if (t.constValue) {
      const v = tensorValue(t.name, t.dtype, t.shape as number[], t.constValue);
      if (o.initializers) initializers.push(v);
      else constants.push(constantNode(v));
    } else if (!allowed.has(t.id) && !initializers.some((i) => i.name === t.name)) {
      throw new Error(`engine: graph '${o.name}' uses placeholder '${t.name}' that is neither an input nor external`);
    }
  }
  let fresh = 0;
  const ctx = {
    fresh: (p: string) => `${o.name}_${p}_${fresh++}`,
    int64: (values: number[]) => addConst(tensorValue(ctx.fresh('c'), 'int64', [values.length], values)),
    float: (values: number[], dims: number[], dtype: DType) => addConst(tensorValue(ctx.fresh('c'), dtype, dims, values)),
  };
  const addConst = (v: TensorValue) => {
    constants.push(constantNode(v));
    return v.name;
  };
  for (const node of g.nodes) {
    if (!node.outputs.some((t) => needed.has(t.id))) continue;
    body.push(...opDef(node.op).emit(node, node.inputs.map((t) => t.name), node.outputs.map((t) => t.name), ctx));
  }
  return {
    name: o.name,
    nodes: [...(o.prelude ?? []), ...constants, ...body, ...identities],
    inputs: o.inputs.map((t) => valueInfo(t)),
    outputs: o.outputs.map((x, i) => valueInfo(x.tensor, outNames[i])),
    initializers,
  };
}

const constantNode = (v: TensorValue): NodeDef => ({ opType: 'Constant', inputs: [], outputs: [v.name], attributes: { value: attr.tensor(v) } });

/** Rename output producers to the requested names; placeholders, constants and duplicates get an Identity. */
function nameOutputs(outputs: { tensor: Tensor; name: string }[], inputs: Set<number>, identities: NodeDef[]): string[] {
  const used = new Set<number>();
  return outputs.map(({ tensor, name }) => {
    if (tensor.name === name && !used.has(tensor.id)) { used.add(tensor.id); return name; }
    if (tensor.node && !used.has(tensor.id) && !inputs.has(tensor.id)) {
      tensor.name = name;
      used.add(tensor.id);
      return name;
    }
    identities.push({ opType: 'Identity', inputs: [tensor.name], outputs: [name] });
    return name;
  });
}

function neededTensors(g: Graph, outputs: Tensor[]): Set<number> {
  const needed = new Set<number>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (needed.has(t.id)) continue;
    needed.add(t.id);
    if (t.node) for (const i of t.node.inputs) stack.push(i);
  }
  // A node is emitted whole, so its other outputs are "needed" names too (harmless).
  for (const id of [...needed]) {
    const n = g.tensors[id]!.node;
    if (n) for (const o of n.outputs) needed.add(o.id);
  }
  return needed;
}
