/**
 * Half precision: the weighted ops (MatMul, Gemm, Conv) and the ops downstream of them that have
 * float16 kernels run in float16, with their constants stored as float16. The region starts at the
 * first weighted op, so what comes before it (the preprocessing: scaling, one-hot, reshape) stays
 * float32, and Casts at the region's edges give every graph output its float32 type back: the
 * signature and the endpoints do not change.
 */
import { DataType, type ModelDef, type NodeDef } from '../../onnx/model.js';
import { copyModel, GraphEdit, toFloat16, weightedOps } from './graph-edit.js';
import type { TransformReport } from './quantize-dynamic.js';

/** Ops with float16 kernels in ONNX Runtime (CPU and CUDA), by the input positions that carry floats. */
const HALF_OPS: Record<string, number[] | 'all'> = {
  MatMul: [0, 1], Gemm: [0, 1, 2], Conv: [0, 1, 2], Add: [0, 1], Sub: [0, 1], Mul: [0, 1], Div: [0, 1],
  Relu: [0], LeakyRelu: [0], Sigmoid: [0], Tanh: [0], Softmax: [0], Erf: [0], Gelu: [0], Identity: [0], Dropout: [0],
  MaxPool: [0], AveragePool: [0], GlobalAveragePool: [0], Flatten: [0], Reshape: [0], Transpose: [0],
  Squeeze: [0], Unsqueeze: [0], Concat: 'all', LayerNormalization: [0, 1, 2], BatchNormalization: [0, 1, 2, 3, 4], ArgMax: [0],
};
/** Outputs that are not float (ArgMax's indices, MaxPool's optional indices). */
const NON_FLOAT_OUTPUTS: Record<string, number[]> = { ArgMax: [0], MaxPool: [1] };

const castTo = (to: DataType, input: string, output: string): NodeDef => ({ opType: 'Cast', inputs: [input], outputs: [output], attributes: { to: { kind: 'int', value: to } } });

export function toHalf(source: ModelDef): { model: ModelDef; report: TransformReport } {
  const model = copyModel(source);
  const e = new GraphEdit(model);
  const starts = weightedOps(e).map((w) => w.node);
  const region = halfRegion(e, starts);
  const halfConstants = new Map<string, string>();
  const halfInputs = new Map<string, string>();
  const edges: NodeDef[] = [];
  const floatOutputs = (n: NodeDef) => n.outputs.filter((o, i) => o && !(NON_FLOAT_OUTPUTS[n.opType] ?? []).includes(i));
  const produced = new Set([...region].flatMap(floatOutputs));
  for (const n of region) {
    const positions = HALF_OPS[n.opType]!;
    n.inputs = n.inputs.map((name, i) => {
      if (!name || produced.has(name) || (positions !== 'all' && !positions.includes(i))) return name;
      const c = e.floatConstant(name);
      if (c) {
        if (!halfConstants.has(name)) {
          halfConstants.set(name, e.addInitializer({ name: e.fresh(`${name}_fp16`), dataType: DataType.FLOAT16, dims: c.dims, data: new Uint8Array(toFloat16(c.data as Float32Array).buffer) }));
        }
        return halfConstants.get(name)!;
      }
      if (!halfInputs.has(name)) {
        const cast = e.fresh(`${name}_fp16`);
        edges.push(castTo(DataType.FLOAT16, name, cast));
        halfInputs.set(name, cast);
      }
      return halfInputs.get(name)!;
    });
  }
  // A half tensor read outside the region (or a graph output) keeps its name as float32 after a Cast.
  for (const name of produced) {
    const outside = e.consumers(name).some((c) => !region.has(c));
    if (!outside && !e.isGraphOutput(name)) continue;
    const half = e.fresh(`${name}_fp16`);
    for (const n of region) {
      n.outputs = n.outputs.map((o) => (o === name ? half : o));
      n.inputs = n.inputs.map((i) => (i === name ? half : i));
    }
    edges.push(castTo(DataType.FLOAT, half, name));
  }
  model.graph.nodes.push(...edges);
  model.graph.valueInfo = [];
  e.dropUnused();
  e.sortTopologically();
  return { model, report: { rewritten: region.size, skipped: [] } };
}

/** The weighted ops and every node after them reachable through ops with float16 kernels. */
function halfRegion(e: GraphEdit, starts: NodeDef[]): Set<NodeDef> {
  const region = new Set<NodeDef>();
  const queue = [...starts];
  while (queue.length) {
    const n = queue.pop()!;
    if (region.has(n) || !(n.opType in HALF_OPS) || (n.domain && n.domain !== 'ai.onnx')) continue;
    region.add(n);
    for (const o of n.outputs.filter((x, i) => x && !(NON_FLOAT_OUTPUTS[n.opType] ?? []).includes(i))) queue.push(...e.consumers(o));
  }
  return region;
}
