/**
 * ONNX export of the fitted classical models. Every model takes a float tensor [N, F] and
 * produces, for a classifier, `label` (int64 [N], the class index) and `probabilities`
 * (float [N, C], a plain tensor, not a ZipMap); for a regressor, `value` (float [N, 1]).
 *
 * - Tree ensembles → ai.onnx.ml `TreeEnsembleRegressor` (opset 3, `nodes_*`/`target_*`
 *   attributes, BRANCH_LEQ with learned missing-value directions), one target per class;
 *   aggregate AVERAGE for forests, SUM plus `base_values` (the boosting baseline) for boosting.
 *   Probabilities then come from standard ops: the forest's averages directly, Softmax for
 *   multiclass boosting, Sigmoid and Concat(1−p, p) for binary boosting; `label` is ArgMax.
 *   (`TreeEnsembleClassifier` is deliberately not used: ONNX Runtime special-cases two classes —
 *   label by a 0.5 threshold, rewritten scores — which would not match our `predict`.)
 * - Linear models → MatMul + Add, then Sigmoid/Softmax as above.
 *
 * `onnxNodes` returns the nodes and initializers for a given input tensor name, so a caller can
 * prepend preprocessing nodes and build one graph; `exportOnnx` wraps them into a standalone model.
 */
import { attr, DataType, DEFAULT_OPSETS, encodeModel, tensor } from '../../onnx/model.js';
import type { NodeDef, OpsetImport, TensorValue, ValueInfo } from '../../onnx/model.js';
import { InvalidInputError } from '../../infra/errors.js';
import './classical.js';
import { estimatorFor } from './registry.js';
import type { ModelState } from './types.js';

export interface OnnxOutputNames {
  label?: string;
  probabilities?: string;
  value?: string;
}

/** Structurally the `GraphPart` of src/onnx/compose.ts, so `assemble` accepts it as is. */
export interface OnnxModelPart {
  nodes: NodeDef[];
  initializers: TensorValue[];
  /** The graph outputs this part produces (label + probabilities, or value). */
  outputs: ValueInfo[];
  /** ONNX 17 and ai.onnx.ml 3. */
  opsets: OpsetImport[];
}

export interface OnnxNodesOptions {
  /** Name of the float [N, F] tensor the model reads. */
  input: string;
  /** Prefix of every internal tensor, initializer and node name (default 'model_'). */
  prefix?: string;
  /** Names of the produced tensors (default label, probabilities, value). */
  outputs?: OnnxOutputNames;
  /** Symbolic batch dimension of the outputs (default 'N'). */
  batchDim?: string;
}

export function onnxNodes(state: ModelState, opts: OnnxNodesOptions): OnnxModelPart {
  const prefix = opts.prefix ?? 'model_';
  const names = {
    label: opts.outputs?.label ?? 'label',
    probabilities: opts.outputs?.probabilities ?? 'probabilities',
    value: opts.outputs?.value ?? 'value',
  };
  const N = opts.batchDim ?? 'N';
  const nodes: NodeDef[] = [];
  const initializers: TensorValue[] = [];
  const raw = state.task === 'regression' ? names.value : state.postTransform === 'none' ? names.probabilities : `${prefix}scores`;

  // The raw scores come from the kind's own graph (registry.ts); the head below is shared.
  const scores = estimatorFor(state.kind).onnx;
  if (!scores) throw new InvalidInputError('bad_params', `Model kind '${state.kind}' has no ONNX export.`, { param: 'kind' });
  scores(state, { input: opts.input, output: raw, prefix, nodes, initializers });

  if (state.task === 'regression') {
    return { nodes, initializers, opsets: DEFAULT_OPSETS, outputs: [{ name: names.value, type: { elemType: DataType.FLOAT, shape: [N, 1] } }] };
  }
  if (state.postTransform === 'softmax') {
    nodes.push({ opType: 'Softmax', name: `${prefix}softmax`, inputs: [raw], outputs: [names.probabilities], attributes: { axis: attr.int(1) } });
  } else if (state.postTransform === 'logistic') {
    const p1 = `${prefix}p1`;
    const p0 = `${prefix}p0`;
    const one = `${prefix}one`;
    initializers.push(tensor.float(one, [1], [1]));
    nodes.push(
      { opType: 'Sigmoid', name: `${prefix}sigmoid`, inputs: [raw], outputs: [p1] },
      { opType: 'Sub', name: `${prefix}complement`, inputs: [one, p1], outputs: [p0] },
      { opType: 'Concat', name: `${prefix}concat`, inputs: [p0, p1], outputs: [names.probabilities], attributes: { axis: attr.int(1) } },
    );
  }
  nodes.push({
    opType: 'ArgMax', name: `${prefix}argmax`, inputs: [names.probabilities], outputs: [names.label],
    attributes: { axis: attr.int(1), keepdims: attr.int(0) },
  });
  return {
    nodes, initializers, opsets: DEFAULT_OPSETS,
    outputs: [
      { name: names.label, type: { elemType: DataType.INT64, shape: [N] } },
      { name: names.probabilities, type: { elemType: DataType.FLOAT, shape: [N, state.classCount] } },
    ],
  };
}

/** A standalone ONNX model: input `input` (float [N, F]) → the outputs described in `onnxNodes`. */
export function exportOnnx(
  state: ModelState,
  opts: { inputName?: string; outputs?: OnnxOutputNames; graphName?: string; metadata?: Record<string, string>; batchDim?: string } = {},
): Uint8Array {
  const input = opts.inputName ?? 'input';
  const N = opts.batchDim ?? 'N';
  const part = onnxNodes(state, { input, outputs: opts.outputs, batchDim: N });
  return encodeModel({
    opsets: part.opsets,
    producerName: 'aiaas',
    graph: {
      name: opts.graphName ?? state.kind,
      nodes: part.nodes,
      initializers: part.initializers,
      inputs: [{ name: input, type: { elemType: DataType.FLOAT, shape: [N, state.nFeatures] } }],
      outputs: part.outputs,
    },
    metadata: {
      kind: state.kind, task: state.task, features: String(state.nFeatures),
      ...(state.task === 'classification' ? { classes: String(state.classCount) } : {}),
      ...opts.metadata,
    },
  });
}
