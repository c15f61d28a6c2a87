/**
 * The fitted-tree representation shared by the forests and the boosting models: growing code
 * appends nodes through `TreeBuilder`; prediction walks the arrays.
 */
import type { FloatArray, TreeEnsembleState, TreeState } from '../types.js';

export class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  missingLeft: number[] = [];
  value: number[] = [];

  constructor(readonly outputs: number) {}

  /** Appends a node (a leaf until `split` is called) and returns its id. */
  add(): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.missingLeft.push(0);
    for (let k = 0; k < this.outputs; k++) this.value.push(0);
    return id;
  }

  split(node: number, feature: number, threshold: number, missingLeft: boolean): { left: number; right: number } {
    const left = this.add();
    const right = this.add();
    this.feature[node] = feature;
    this.threshold[node] = threshold;
    this.missingLeft[node] = missingLeft ? 1 : 0;
    this.left[node] = left;
    this.right[node] = right;
    return { left, right };
  }

  setValue(node: number, k: number, v: number): void {
    // Leaf values are float32, as in the ONNX export, so our sums and ONNX Runtime's agree.
    this.value[node * this.outputs + k] = Math.fround(v);
  }

  finish(target = -1): TreeState {
    return {
      feature: this.feature, threshold: this.threshold, left: this.left, right: this.right,
      missingLeft: this.missingLeft, value: this.value, target,
    };
  }
}

/** A tree in typed arrays, for fast repeated traversal. */
interface PackedTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
}

const packed = new WeakMap<TreeState, PackedTree>();

function pack(t: TreeState): PackedTree {
  let p = packed.get(t);
  if (!p) {
    p = {
      feature: Int32Array.from(t.feature), threshold: Float32Array.from(t.threshold),
      left: Int32Array.from(t.left), right: Int32Array.from(t.right), missingLeft: Uint8Array.from(t.missingLeft),
    };
    packed.set(t, p);
  }
  return p;
}

/** Leaf node id reached by each row of a float32 row-major matrix. */
export function leafIndices(t: TreeState, x: Float32Array, rows: number, cols: number, out = new Int32Array(rows)): Int32Array {
  const { feature, threshold, left, right, missingLeft } = pack(t);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    let node = 0;
    let f = feature[0]!;
    while (f >= 0) {
      const v = x[base + f]!;
      node = v <= threshold[node]! ? left[node]! : v !== v && missingLeft[node] === 1 ? left[node]! : right[node]!;
      f = feature[node]!;
    }
    out[i] = node;
  }
  return out;
}

/** The matrix data as float32 (the precision of the ONNX input and of the thresholds). */
export function asFloat32(data: FloatArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Raw ensemble scores (rows × outputs): base score plus the sum (or average) of tree values. */
export function ensembleScores(state: TreeEnsembleState, x32: Float32Array, rows: number): Float64Array {
  const O = state.outputs;
  const out = new Float64Array(rows * O);
  const leaves = new Int32Array(rows);
  for (const t of state.trees) {
    leafIndices(t, x32, rows, state.nFeatures, leaves);
    const v = t.value;
    if (t.target >= 0) {
      const k = t.target;
      for (let i = 0; i < rows; i++) out[i * O + k]! += v[leaves[i]!]!;
    } else {
      for (let i = 0; i < rows; i++) {
        const base = leaves[i]! * O;
        for (let k = 0; k < O; k++) out[i * O + k]! += v[base + k]!;
      }
    }
  }
  const scale = state.aggregate === 'average' ? 1 / Math.max(1, state.trees.length) : 1;
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < O; k++) out[i * O + k] = out[i * O + k]! * scale + state.baseScore[k]!;
  }
  return out;
}
