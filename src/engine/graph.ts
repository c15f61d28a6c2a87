/**
 * The graph builder: symbolic tensors with element types and (partly symbolic) shapes, and the
 * nodes that produce them. Ops (src/engine/ops/*) create nodes through `Graph.apply`; each op
 * registers, beside its builder function, how it is emitted as ONNX and its gradient rule.
 * The graph is append-only, so node ids are a topological order (autodiff relies on it).
 */
import { InvalidInputError } from '../infra/errors.js';
import type { NodeDef } from '../onnx/model.js';

/** Element types the engine uses. float32 for training; float64 for gradient checks. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';

/** A dimension: a fixed size or a symbolic name ('N' for the batch). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface Tensor {
  readonly id: number;
  readonly graph: Graph;
  readonly dtype: DType;
  readonly shape: Shape;
  /** Producing node; undefined for placeholders (graph inputs) and constants. */
  readonly node?: Node;
  /** Index among the producing node's outputs. */
  readonly outputIndex: number;
  /** Constant value, for constants. */
  readonly constValue?: ArrayLike<number>;
  name: string;
}

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: Tensor[];
  readonly outputs: Tensor[];
  readonly attrs: Record<string, unknown>;
}

/** Names handed to an op's emitter, plus a way to add small int64 constants (axes, shapes). */
export interface EmitContext {
  int64(values: number[]): string;
  /** A float constant of the graph's float type (scalar when `dims` is []). */
  float(values: number[], dims: number[], dtype: DType): string;
  fresh(prefix: string): string;
}

export interface GradContext {
  /** Whether input i needs a gradient (skip building what nobody uses, e.g. dX of the data). */
  needs: boolean[];
}

export interface OpDef {
  emit(node: Node, inputs: string[], outputs: string[], ctx: EmitContext): NodeDef[];
  /** Gradients of the inputs given gradients of the outputs; absent → not differentiable. */
  grad?(node: Node, dOutputs: (Tensor | undefined)[], ctx: GradContext): (Tensor | undefined)[];
}

const registry = new Map<string, OpDef>();

export function registerOp(name: string, def: OpDef): void {
  registry.set(name, def);
}

export function opDef(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(`engine: op '${name}' is not registered`);
  return def;
}

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly tensors: Tensor[] = [];
  /** The float type of parameters, data and constants created without an explicit type. */
  constructor(readonly floatType: 'float32' | 'float64' = 'float32') {}

  private newTensor(fields: Omit<Tensor, 'id' | 'graph' | 'name'> & { name?: string }): Tensor {
    const id = this.tensors.length;
    const t: Tensor = { ...fields, id, graph: this, name: fields.name ?? `t${id}` };
    this.tensors.push(t);
    return t;
  }

  /** A graph input (data, parameters, loop-carried state). */
  placeholder(name: string, shape: Shape, dtype: DType = this.floatType): Tensor {
    return this.newTensor({ dtype, shape: [...shape], name, outputIndex: 0 });
  }

  constant(values: ArrayLike<number>, shape: number[] = [], dtype: DType = this.floatType): Tensor {
    const size = shape.reduce((p, d) => p * d, 1);
    if (size !== values.length) throw new Error(`engine: constant of shape [${shape}] needs ${size} values, got ${values.length}`);
    return this.newTensor({ dtype, shape, constValue: Array.from(values), outputIndex: 0 });
  }

  scalar(value: number, dtype: DType = this.floatType): Tensor {
    return this.constant([value], [], dtype);
  }

  apply(op: string, inputs: Tensor[], attrs: Record<string, unknown>, outputs: OutputSpec[]): Tensor[] {
    for (const t of inputs) if (t.graph !== this) throw new Error('engine: tensors of different graphs mixed');
    opDef(op); // fail early on typos
    const outs: Tensor[] = [];
    const node: Node = { id: this.nodes.length, op, inputs, outputs: outs, attrs };
    outputs.forEach((o, i) => outs.push(this.newTensor({ dtype: o.dtype, shape: [...o.shape], node, outputIndex: i })));
    this.nodes.push(node);
    return outs;
  }

  apply1(op: string, inputs: Tensor[], attrs: Record<string, unknown>, out: OutputSpec): Tensor {
    return this.apply(op, inputs, attrs, [out])[0]!;
  }
}

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

export function shapeStr(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** The number of elements when every dim is static, else undefined. */
export function staticSize(s: Shape): number | undefined {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export const isStatic = (s: Shape): s is number[] => s.every((d) => typeof d === 'number');

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`engine: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** NumPy broadcasting of two shapes; a symbolic dim broadcasts with 1 and with itself. */
export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'string') out.push(db);
    else if (typeof db === 'string') out.push(da);
    else {
      throw new InvalidInputError('shape_mismatch', `Shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast (${what}).`, {
        op: what, shapes: [a, b],
      });
    }
  }
  return out;
}

export const DTYPE_TO_ONNX: Record<DType, number> = { float32: 1, float64: 11, int64: 7, bool: 9 };
