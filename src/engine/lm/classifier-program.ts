/**
 * The ONNX programs of a text classifier (encoder.ts): the training step (forward, softmax
 * cross-entropy, gradients, AdamW with decay on matrices and embeddings only, clipping) in the
 * shape program.ts' Loop runs many steps of; evaluation (mean loss, correct count); and the
 * inference graph (ids → probabilities, label) with the weights baked in.
 * Data: windows x [N, T] (int64) right-padded with the encoder's last id, which is padding: the
 * mask of real tokens is computed in the graph (id < padId), so every program and the served
 * graph derive it the same way. Labels y [N] (int64).
 */
import { gradients } from '../autodiff.js';
import { emitGraph, tensorValue } from '../emit.js';
import { Graph, type Tensor } from '../graph.js';
import { distillationLoss, sparseCategoricalCrossEntropy, type Distillation } from '../losses.js';
import type { ModelDef } from '../../onnx/model.js';
import { add, argmax, cast, compare, reduceSum, softmax } from '../ops/index.js';
import { applyUpdate, type OptimizerSpec, slotCount } from '../optimizers.js';
import { pack, unpack, type TrainProgram } from '../program.js';
import { modelOf } from '../runtime.js';
import { dropoutSource } from '../transformer/index.js';
import { textEncoderLogits, type TextEncoder } from './encoder.js';

/** The padding id of an encoder: its last vocabulary row. */
export const padIdOf = (enc: TextEncoder): number => enc.config.vocabSize - 1;

function buildForward(enc: TextEncoder, window: number, W: Tensor, dropout?: { rate: number; seed: number }) {
  const g = W.graph;
  const params = unpack(W, enc.params);
  const x = g.placeholder('x', ['N', window], 'int64');
  const mask = cast(compare('Less', x, g.scalar(padIdOf(enc), 'int64')), 'float32');
  const source = dropout && dropout.rate > 0 ? dropoutSource(dropout.rate, dropout.seed) : undefined;
  const logits = textEncoderLogits(enc.config, (name) => params.get(name)!, x, mask, source);
  return { params, x, logits };
}

function lossAndCorrect(logits: Tensor, y: Tensor) {
  return {
    loss: sparseCategoricalCrossEntropy(logits, y),
    correct: reduceSum(cast(compare('Equal', argmax(logits, -1), y), 'float32')),
  };
}

/** The training step; with `distillation` it also takes the teacher's softened probabilities `soft` [N, K] (losses.ts distillationLoss). */
export function buildTextClassifierTrainProgram(enc: TextEncoder, optimizer: OptimizerSpec, window: number, dropout?: { rate: number; seed: number }, distillation?: Distillation): TrainProgram {
  const g = new Graph('float32');
  const W = g.placeholder('W', [enc.weights.length]);
  const f = buildForward(enc, window, W, dropout);
  const y = g.placeholder('y', ['N'], 'int64');
  const { loss: hard, correct } = lossAndCorrect(f.logits, y);
  const soft = distillation ? g.placeholder('soft', ['N', enc.config.outputs]) : undefined;
  const loss = soft ? distillationLoss(hard, f.logits, soft, distillation!, false) : hard;
  const grad = pack(gradients(loss, enc.params.map((p) => f.params.get(p.name)!)));
  const lr = g.placeholder('lr', []);
  const step = g.placeholder('step', []);
  const nextStep = add(step, 1);
  const slots = Array.from({ length: slotCount(optimizer) }, (_, i) => g.placeholder(`slot${i}`, [enc.weights.length]));
  const mask = optimizer.type === 'adamw' ? g.constant(enc.decayMask, [enc.decayMask.length]) : undefined;
  const upd = applyUpdate(optimizer, W, grad, slots, nextStep, lr, mask);
  return { graph: g, x: f.x, y, soft, noises: [], lr, step, W, slots, out: { W: upd.w, slots: upd.slots, step: nextStep, loss, correct } };
}

/** Mean loss and correct count of a batch: inputs W, x, y. */
export function textClassifierEvalModel(enc: TextEncoder, window: number): ModelDef {
  const g = new Graph('float32');
  const W = g.placeholder('W', [enc.weights.length]);
  const f = buildForward(enc, window, W);
  const y = g.placeholder('y', ['N'], 'int64');
  const { loss, correct } = lossAndCorrect(f.logits, y);
  return modelOf(emitGraph(g, { name: 'text_classifier_evaluate', inputs: [W, f.x, y], outputs: [{ tensor: loss, name: 'loss' }, { tensor: correct, name: 'correct' }], initializers: true }));
}

/** The served network: input `x` [N, window] (int64) → `probabilities` [N, K], `label` [N] (int64); weights baked in. */
export function textClassifierInferenceModel(enc: TextEncoder, window: number): ModelDef {
  const g = new Graph('float32');
  const W = g.placeholder('W', [enc.weights.length]);
  const f = buildForward(enc, window, W);
  const probabilities = softmax(f.logits, -1);
  const graph = emitGraph(g, {
    name: 'text_classifier', inputs: [f.x],
    outputs: [{ tensor: probabilities, name: 'probabilities' }, { tensor: argmax(probabilities, -1), name: 'label' }],
    external: [W], extraInitializers: [tensorValue('W', 'float32', [enc.weights.length], enc.weights)], initializers: true,
  });
  return modelOf(graph);
}
