/**
 * The ONNX programs of a GPT: the training step (forward, next-token cross-entropy, gradients,
 * AdamW with decay on matrices and embeddings only, clipping by global norm) in the same shape as
 * every network's, so program.ts' Loop runs many steps per call; evaluation; logits for sampling.
 * Data: token windows split into inputs x [N, T] and next tokens y [N, T] (int64).
 */
import { gradients } from '../autodiff.js';
import { emitGraph } from '../emit.js';
import { Graph, type Tensor } from '../graph.js';
import { distillationLoss, tokenCrossEntropy, type Distillation } from '../losses.js';
import type { ModelDef } from '../../onnx/model.js';
import { add, argmax, cast, compare, div, reduceSum, reshape, softmax } from '../ops/index.js';
import { applyUpdate, type OptimizerSpec, slotCount } from '../optimizers.js';
import { pack, unpack, type TrainProgram } from '../program.js';
import { modelOf } from '../runtime.js';
import { dropoutSource } from '../transformer/index.js';
import { type Gpt, gptLogits } from './gpt.js';

interface Forward {
  graph: Graph;
  W: Tensor;
  x: Tensor;
  y: Tensor;
  params: Map<string, Tensor>;
  logits: Tensor;
  labels: Tensor;
  loss: Tensor;
  correct: Tensor;
}

/** The forward pass and loss; `dropout` (training programs only) adds GPT-2's dropouts, seeded. */
function buildForward(gpt: Gpt, window: number, dropout?: { rate: number; seed: number }): Forward {
  const graph = new Graph('float32');
  const W = graph.placeholder('W', [gpt.weights.length]);
  const params = unpack(W, gpt.params);
  const x = graph.placeholder('x', ['N', window], 'int64');
  const y = graph.placeholder('y', ['N', window], 'int64');
  const logits = gptLogits(gpt.config, (name) => params.get(name)!, x, dropout && dropout.rate > 0 ? dropoutSource(dropout.rate, dropout.seed) : undefined);
  const labels = reshape(y, [-1]);
  const loss = tokenCrossEntropy(logits, labels);
  const correct = reduceSum(cast(compare('Equal', argmax(logits, -1), labels), 'float32'));
  return { graph, W, x, y, params, logits, labels, loss, correct };
}

/** Distilling from a larger GPT of the same vocabulary: its weights (held as a constant), T and α. */
export interface LmTeacher extends Distillation {
  gpt: Gpt;
}

/**
 * The teacher's next-token probabilities of the same windows softened at T, [N·T, vocab]: its
 * forward pass runs inside the training step (no host round trip for vocabulary-wide targets),
 * and depends on no student weight, so autodiff leaves it out of the backward pass.
 */
function teacherTargets(t: LmTeacher, x: Tensor): Tensor {
  const W = x.graph.constant(t.gpt.weights, [t.gpt.weights.length]);
  const params = unpack(W, t.gpt.params);
  return softmax(div(gptLogits(t.gpt.config, (name) => params.get(name)!, x), t.temperature), -1);
}

/** The training step over windows of `window` tokens, for program.ts' stepModel / loopModel; with a teacher, the distillation loss. */
export function buildLmTrainProgram(gpt: Gpt, optimizer: OptimizerSpec, window: number, dropout?: { rate: number; seed: number }, teacher?: LmTeacher): TrainProgram {
  const f = buildForward(gpt, window, dropout);
  const g = f.graph;
  const loss = teacher ? distillationLoss(f.loss, f.logits, teacherTargets(teacher, f.x), teacher, false) : f.loss;
  const grad = pack(gradients(loss, gpt.params.map((p) => f.params.get(p.name)!)));
  const lr = g.placeholder('lr', []);
  const step = g.placeholder('step', []);
  const nextStep = add(step, 1);
  const slots = Array.from({ length: slotCount(optimizer) }, (_, i) => g.placeholder(`slot${i}`, [gpt.weights.length]));
  const mask = optimizer.type === 'adamw' ? g.constant(gpt.decayMask, [gpt.decayMask.length]) : undefined;
  const upd = applyUpdate(optimizer, f.W, grad, slots, nextStep, lr, mask);
  return {
    graph: g, x: f.x, y: f.y, noises: [], lr, step, W: f.W, slots,
    out: { W: upd.w, slots: upd.slots, step: nextStep, loss, correct: f.correct },
  };
}

/** Mean next-token loss and correct next-token count of a batch of windows: inputs W, x, y. */
export function lmEvalModel(gpt: Gpt, window: number): ModelDef {
  const f = buildForward(gpt, window);
  return modelOf(emitGraph(f.graph, {
    name: 'lm_evaluate', inputs: [f.W, f.x, f.y],
    outputs: [{ tensor: f.loss, name: 'loss' }, { tensor: f.correct, name: 'correct' }], initializers: true,
  }));
}

/** Logits [N, T, vocab] of windows x [N, T]: inputs W, x. */
export function lmLogitsModel(gpt: Gpt, window: number): ModelDef {
  const f = buildForward(gpt, window);
  const logits = reshape(f.logits, [-1, window, gpt.config.vocabSize]);
  return modelOf(emitGraph(f.graph, { name: 'lm_logits', inputs: [f.W, f.x], outputs: [{ tensor: logits, name: 'logits' }], initializers: true }));
}
