/**
 * The ONNX programs built from a network:
 * - the training step (forward, loss, gradients, optimizer update) over flat weights, emitted
 *   either as a one-step model or as an ONNX Loop that runs many minibatches per call with the
 *   weights and optimizer state as loop-carried values (they never leave the runtime);
 * - evaluation (loss and correct count with the inference-mode network);
 * - inference (probabilities/labels or values), with weights as inputs or baked in.
 */
import { gradients } from './autodiff.js';
import { emitGraph, tensorValue, valueInfo } from './emit.js';
import { Graph, type Tensor } from './graph.js';
import type { LayerContext } from './layers/index.js';
import { distillationLoss, type Distillation, lossFn, sparseLabels } from './losses.js';
import { buildForward, dataPlaceholder, type Network } from './network.js';
import type { GraphDef, ModelDef, NodeDef } from '../onnx/model.js';
import { attr } from '../onnx/model.js';
import {
  add, argmax, cast, compare, concat, reduceSum, reshape, sigmoid, softmax, split, sub,
} from './ops/index.js';
import { applyUpdate, type OptimizerSpec, slotCount } from './optimizers.js';
import { modelOf } from './runtime.js';

/** Per-parameter tensors carved out of a flat vector (Split + Reshape; no split for one tensor). */
export function unpack(flat: Tensor, infos: { name: string; shape: number[]; size: number }[]): Map<string, Tensor> {
  const parts = infos.length === 1 ? [flat] : split(flat, infos.map((p) => p.size));
  return new Map(infos.map((p, i) => [p.name, reshape(parts[i]!, p.shape)]));
}

export function pack(ts: Tensor[]): Tensor {
  const flat = ts.map((t) => reshape(t, [-1]));
  return flat.length === 1 ? flat[0]! : concat(flat, 0);
}

interface Built {
  graph: Graph;
  x: Tensor;
  W: Tensor;
  S?: Tensor;
  params: Map<string, Tensor>;
  states: Map<string, Tensor>;
  newStates: Map<string, Tensor>;
  noises: Tensor[];
  logits: Tensor;
}

function buildNetwork(net: Network, training: boolean, onOutput?: (i: number, t: Tensor) => void): Built {
  const g = new Graph('float32');
  const W = g.placeholder('W', [net.weights.length]);
  const S = net.states.length ? g.placeholder('S', [net.stateValues.length]) : undefined;
  const params = unpack(W, net.params);
  const states = S ? unpack(S, net.states) : new Map<string, Tensor>();
  const newStates = new Map<string, Tensor>();
  const noises: Tensor[] = [];
  const ctx: LayerContext = {
    graph: g,
    training,
    param: (name) => params.get(name)!,
    state: (name) => states.get(name)!,
    setState: (name, v) => newStates.set(name, v),
    // Named by position: the feeds are `noise<k>` (step) or `noise<k>_all` (Loop).
    noise: (_name, shape) => {
      const t = g.placeholder(`noise${noises.length}`, shape);
      noises.push(t);
      return t;
    },
  };
  const x = dataPlaceholder(g, net);
  const logits = buildForward(net, ctx, x, undefined, onOutput);
  return { graph: g, x, W, S, params, states, newStates, noises, logits };
}

function labelPlaceholder(g: Graph, net: Network): Tensor {
  return sparseLabels(net.options.loss) ? g.placeholder('y', ['N'], 'int64') : g.placeholder('y', ['N', net.shapes[net.shapes.length - 1]![0]!]);
}

/** Correctly classified examples in the batch (0 for regression), as a float scalar. */
function correctCount(net: Network, logits: Tensor, y: Tensor): Tensor {
  const g = logits.graph;
  if (net.options.task !== 'classification') return g.scalar(0);
  if (net.head === 'sigmoid') {
    const pred = cast(compare('Greater', logits, 0), 'float32');
    return reduceSum(cast(compare('Equal', pred, y), 'float32'));
  }
  const truth = y.dtype === 'int64' ? y : argmax(y);
  return reduceSum(cast(compare('Equal', argmax(logits), truth), 'float32'));
}

export interface TrainProgram {
  graph: Graph;
  x: Tensor;
  y: Tensor;
  /** Distillation: the teacher's softened probabilities for the batch, [N, outputs]. */
  soft?: Tensor;
  noises: Tensor[];
  lr: Tensor;
  step: Tensor;
  W: Tensor;
  S?: Tensor;
  slots: Tensor[];
  out: { W: Tensor; S?: Tensor; slots: Tensor[]; step: Tensor; loss: Tensor; correct: Tensor };
}

/** Soft targets' width: the network's output units (a sigmoid head's 1). */
export const softWidth = (net: Network) => net.shapes[net.shapes.length - 1]![0]!;

export function buildTrainProgram(net: Network, optimizer: OptimizerSpec, distillation?: Distillation): TrainProgram {
  const b = buildNetwork(net, true);
  const g = b.graph;
  const y = labelPlaceholder(g, net);
  const hard = lossFn(net.options.loss)(b.logits, y);
  const soft = distillation ? g.placeholder('soft', ['N', softWidth(net)]) : undefined;
  const loss = soft ? distillationLoss(hard, b.logits, soft, distillation!, net.head === 'sigmoid') : hard;
  const ordered = net.params.map((p) => b.params.get(p.name)!);
  const grad = pack(gradients(loss, ordered));
  const lr = g.placeholder('lr', []);
  const step = g.placeholder('step', []);
  const nextStep = add(step, 1);
  const slots = Array.from({ length: slotCount(optimizer) }, (_, i) => g.placeholder(`slot${i}`, [net.weights.length]));
  const upd = applyUpdate(optimizer, b.W, grad, slots, nextStep, lr);
  const newS = b.S ? pack(net.states.map((s) => b.newStates.get(s.name) ?? b.states.get(s.name)!)) : undefined;
  return {
    graph: g, x: b.x, y, soft, noises: b.noises, lr, step, W: b.W, S: b.S, slots,
    out: { W: upd.w, S: newS, slots: upd.slots, step: nextStep, loss, correct: correctCount(net, b.logits, y) },
  };
}

function stateOutputs(p: TrainProgram) {
  return [
    { tensor: p.out.W, name: 'W_out' },
    ...p.out.slots.map((t, i) => ({ tensor: t, name: `slot${i}_out` })),
    { tensor: p.out.step, name: 'step_out' },
    ...(p.out.S ? [{ tensor: p.out.S, name: 'S_out' }] : []),
  ];
}

const carried = (p: TrainProgram) => [p.W, ...p.slots, p.step, ...(p.S ? [p.S] : [])];
/** Per-minibatch inputs: the examples, their labels, soft targets when distilling, dropout noise. */
const batchInputs = (p: TrainProgram) => [p.x, p.y, ...(p.soft ? [p.soft] : []), ...p.noises];

/** One optimizer step per call: inputs W, slot*, step, S?, x, y, soft?, noise*, lr. */
export function stepModel(p: TrainProgram): ModelDef {
  const graph = emitGraph(p.graph, {
    name: 'train_step',
    inputs: [...carried(p), ...batchInputs(p), p.lr],
    outputs: [...stateOutputs(p), { tensor: p.out.loss, name: 'loss' }, { tensor: p.out.correct, name: 'correct' }],
    initializers: true,
  });
  return modelOf(graph);
}

/**
 * Many steps per call: an ONNX Loop over the leading axis of X_all / Y_all / noise*_all / lrs.
 * The body gathers its minibatch from those outer-scope tensors by the iteration number.
 */
export function loopModel(p: TrainProgram): ModelDef {
  const g = p.graph;
  const iter = g.placeholder('iter', [], 'int64');
  const cond = g.placeholder('cond', [], 'bool');
  const outer = (t: Tensor) => `${t.name}_all`;
  const prelude: NodeDef[] = [...batchInputs(p), p.lr].map((t) => ({
    opType: 'Gather', inputs: [outer(t), 'iter'], outputs: [t.name], attributes: { axis: attr.int(0) },
  }));
  const body: GraphDef = emitGraph(g, {
    name: 'train_body',
    inputs: [iter, cond, ...carried(p)],
    outputs: [{ tensor: cond, name: 'cond_out' }, ...stateOutputs(p).map((o) => ({ ...o, name: `body_${o.name}` })),
      { tensor: p.out.loss, name: 'body_loss' }, { tensor: p.out.correct, name: 'body_correct' }],
    external: [...batchInputs(p), p.lr],
    prelude,
  });
  const init = carried(p);
  const stacked = [...batchInputs(p), p.lr].map((t) => ({ ...valueInfo(t, outer(t)), type: { ...valueInfo(t).type, shape: ['S', ...t.shape] } }));
  const main: GraphDef = {
    name: 'train_loop',
    inputs: [{ name: 'M', type: { elemType: 7, shape: [] } }, ...init.map((t) => valueInfo(t)), ...stacked],
    outputs: [...stateOutputs(p).map((o) => valueInfo(o.tensor, o.name)),
      { name: 'losses', type: { elemType: 1, shape: ['S'] } }, { name: 'corrects', type: { elemType: 1, shape: ['S'] } }],
    nodes: [{
      opType: 'Loop', inputs: ['M', '', ...init.map((t) => t.name)],
      outputs: [...stateOutputs(p).map((o) => o.name), 'losses', 'corrects'],
      attributes: { body: attr.graph(body) },
    }],
  };
  return modelOf(main);
}

/** Inference-mode loss (mean) and correct count for a batch: inputs W, S?, x, y. */
export function evalModel(net: Network): ModelDef {
  const b = buildNetwork(net, false);
  const y = labelPlaceholder(b.graph, net);
  const loss = lossFn(net.options.loss)(b.logits, y);
  return modelOf(emitGraph(b.graph, {
    name: 'evaluate',
    inputs: [b.W, ...(b.S ? [b.S] : []), b.x, y],
    outputs: [{ tensor: loss, name: 'loss' }, { tensor: correctCount(net, b.logits, y), name: 'correct' }],
    initializers: true,
  }));
}

/** Every layer's output (inference mode), to find where values first stop being finite. */
export function layerOutputsModel(net: Network): { model: ModelDef; layers: number[] } {
  const outs: { i: number; t: Tensor }[] = [];
  const b = buildNetwork(net, false, (i, t) => outs.push({ i, t }));
  const model = modelOf(emitGraph(b.graph, {
    name: 'layer_outputs', inputs: [b.W, ...(b.S ? [b.S] : []), b.x],
    outputs: outs.map(({ i, t }) => ({ tensor: t, name: `layer${i}` })), initializers: true,
  }));
  return { model, layers: outs.map((o) => o.i) };
}

/** Output names of inference models, by task. */
export const INFERENCE_OUTPUTS = { classification: ['probabilities', 'label'], regression: ['value'] } as const;

/**
 * The standalone inference graph: input `x` [N, ...inputShape] (float32), outputs
 * `probabilities` [N, K] and `label` (int64) for classification, `value` [N, outputs] for regression.
 * Weights are baked in as named initializers (one per parameter), so any ONNX runtime can run it.
 */
export function inferenceModel(net: Network): ModelDef {
  const g = new Graph('float32');
  const byName = new Map<string, Tensor>();
  const ctx: LayerContext = {
    graph: g, training: false,
    param: (name, shape) => byName.get(name) ?? byName.set(name, g.placeholder(name, shape)).get(name)!,
    state: (name, shape) => byName.get(name) ?? byName.set(name, g.placeholder(name, shape)).get(name)!,
    setState: () => {},
    noise: () => { throw new Error('engine: no noise in inference'); },
  };
  const x = dataPlaceholder(g, net);
  const logits = buildForward(net, ctx, x);
  const outputs: { tensor: Tensor; name: string }[] = [];
  if (net.options.task === 'classification') {
    let probs: Tensor;
    if (net.head === 'sigmoid') {
      const p1 = sigmoid(logits);
      probs = concat([sub(1, p1), p1], 1);
    } else {
      // The loss treats the last output as logits (pre-softmax when the softmax was folded).
      probs = softmax(logits, -1);
    }
    outputs.push({ tensor: probs, name: 'probabilities' }, { tensor: argmax(probs, -1), name: 'label' });
  } else {
    outputs.push({ tensor: logits, name: 'value' });
  }
  const initializers = [
    ...net.params.map((p) => tensorValue(p.name, 'float32', p.shape, net.weights.subarray(p.offset, p.offset + p.size))),
    ...net.states.map((p) => tensorValue(p.name, 'float32', p.shape, net.stateValues.subarray(p.offset, p.offset + p.size))),
  ];
  const graph = emitGraph(g, { name: 'inference', inputs: [x], outputs, external: [...byName.values()], extraInitializers: initializers, initializers: true });
  return modelOf(graph, {
    'aiaas.task': net.options.task,
    'aiaas.inputShape': JSON.stringify(net.options.inputShape),
    'aiaas.outputs': String(net.options.outputs),
    'aiaas.layers': JSON.stringify(net.layers),
  });
}
