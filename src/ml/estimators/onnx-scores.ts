/**
 * The ONNX nodes computing each model family's raw scores (the input of the shared head in
 * onnx.ts: identity, Softmax or Sigmoid, then ArgMax); each kind names its builder in the registry.
 */
import { attr, tensor } from '../../onnx/model.js';
import type { NodeDef, TensorValue } from '../../onnx/model.js';
import type { LinearState, TreeEnsembleState } from './types.js';

/** Where a kind's score nodes read from and write to; they append to `nodes` and `initializers`. */
export interface OnnxScoreGraph {
  input: string;
  output: string;
  prefix: string;
  nodes: NodeDef[];
  initializers: TensorValue[];
}

/** A tree ensemble's raw scores: one ai.onnx.ml TreeEnsembleRegressor node. */
export function treeEnsembleScores(state: TreeEnsembleState, g: OnnxScoreGraph): void {
  g.nodes.push(treeEnsembleNode(state, g.input, g.output, g.prefix));
}

/** A linear model's raw scores: MatMul + Add. */
export function linearScores(state: LinearState, g: OnnxScoreGraph): void {
  linearNodes(state, g.input, g.output, g.prefix, g.nodes, g.initializers);
}

/**
 * A linear SVM's decision values: one ai.onnx.ml LinearClassifier node (coefficients one row per
 * class, no post transform); its label output is unused, the shared head takes the argmax.
 */
export function linearClassifierScores(state: LinearState, g: OnnxScoreGraph): void {
  const { nFeatures: F, outputs: O } = state;
  const coefficients = new Float32Array(F * O);
  for (let j = 0; j < F; j++) for (let k = 0; k < O; k++) coefficients[k * F + j] = state.coef[j * O + k]!;
  g.nodes.push({
    opType: 'LinearClassifier', domain: 'ai.onnx.ml', name: `${g.prefix}linear_classifier`, inputs: [g.input],
    outputs: [`${g.prefix}svm_label`, g.output],
    attributes: {
      coefficients: attr.floats(coefficients),
      intercepts: attr.floats(state.intercept),
      classlabels_ints: attr.ints(Array.from({ length: O }, (_, k) => k)),
      post_transform: attr.string('NONE'),
      multi_class: attr.int(0),
    },
  });
}

function treeEnsembleNode(state: TreeEnsembleState, input: string, output: string, prefix: string): NodeDef {
  let total = 0;
  for (const t of state.trees) total += t.feature.length;
  const treeIds = new Int32Array(total);
  const nodeIds = new Int32Array(total);
  const featureIds = new Int32Array(total);
  const values = new Float32Array(total);
  const trueIds = new Int32Array(total);
  const falseIds = new Int32Array(total);
  const missingTrue = new Int32Array(total);
  const modes: string[] = new Array(total);
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tId: number[] = [];
  const tWeight: number[] = [];
  const O = state.outputs;
  let j = 0;
  state.trees.forEach((t, ti) => {
    for (let node = 0; node < t.feature.length; node++, j++) {
      treeIds[j] = ti;
      nodeIds[j] = node;
      const f = t.feature[node]!;
      if (f >= 0) {
        featureIds[j] = f;
        values[j] = t.threshold[node]!;
        trueIds[j] = t.left[node]!;
        falseIds[j] = t.right[node]!;
        missingTrue[j] = t.missingLeft[node]!;
        modes[j] = 'BRANCH_LEQ';
      } else {
        modes[j] = 'LEAF';
        if (t.target >= 0) {
          tTree.push(ti); tNode.push(node); tId.push(t.target); tWeight.push(t.value[node]!);
        } else {
          for (let k = 0; k < O; k++) {
            const v = t.value[node * O + k]!;
            if (v !== 0) { tTree.push(ti); tNode.push(node); tId.push(k); tWeight.push(v); }
          }
        }
      }
    }
  });
  return {
    opType: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', name: `${prefix}trees`, inputs: [input], outputs: [output],
    attributes: {
      n_targets: attr.int(O),
      aggregate_function: attr.string(state.aggregate === 'average' ? 'AVERAGE' : 'SUM'),
      base_values: attr.floats(state.baseScore),
      post_transform: attr.string('NONE'),
      nodes_treeids: attr.ints(treeIds),
      nodes_nodeids: attr.ints(nodeIds),
      nodes_featureids: attr.ints(featureIds),
      nodes_values: attr.floats(values),
      nodes_modes: attr.strings(modes),
      nodes_truenodeids: attr.ints(trueIds),
      nodes_falsenodeids: attr.ints(falseIds),
      nodes_missing_value_tracks_true: attr.ints(missingTrue),
      target_treeids: attr.ints(tTree),
      target_nodeids: attr.ints(tNode),
      target_ids: attr.ints(tId),
      target_weights: attr.floats(tWeight),
    },
  };
}

function linearNodes(state: LinearState, input: string, output: string, prefix: string, nodes: NodeDef[], inits: TensorValue[]): void {
  const w = `${prefix}coef`;
  const b = `${prefix}intercept`;
  const z = `${prefix}matmul`;
  inits.push(tensor.float(w, [state.nFeatures, state.outputs], state.coef), tensor.float(b, [state.outputs], state.intercept));
  nodes.push(
    { opType: 'MatMul', name: `${prefix}matmul`, inputs: [input, w], outputs: [z] },
    { opType: 'Add', name: `${prefix}add`, inputs: [z, b], outputs: [output] },
  );
}
