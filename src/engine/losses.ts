/**
 * Losses, each a mean over the batch. Classification losses take logits and are computed in
 * their numerically stable forms (log-softmax; softplus for the binary case), so a final softmax
 * or sigmoid is folded into the loss instead of being differentiated through.
 */
import type { Tensor } from './graph.js';
import { abs, add, div, exp, gatherElements, log, logSoftmax, mul, neg, oneHot, reduceMean, reduceSum, relu, reshape, sub } from './ops/index.js';

export type LossName = 'mse' | 'mae' | 'binary_crossentropy' | 'categorical_crossentropy' | 'sparse_categorical_crossentropy';
export const LOSSES: readonly LossName[] = ['mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy'];

/** Whether the loss takes integer class ids (int64 [N]) rather than float targets like the output. */
export const sparseLabels = (loss: LossName) => loss === 'sparse_categorical_crossentropy';

export function mse(pred: Tensor, target: Tensor): Tensor {
  const d = sub(pred, target);
  return reduceMean(mul(d, d));
}

export function mae(pred: Tensor, target: Tensor): Tensor {
  return reduceMean(abs(sub(pred, target)));
}

/** −mean Σ_k y_k · log softmax(z)_k, with one-hot (or soft) targets y. */
export function categoricalCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  return neg(reduceMean(reduceSum(mul(target, logSoftmax(logits, -1)), [-1])));
}

/** Categorical cross-entropy with integer class ids. */
export function sparseCategoricalCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const k = logits.shape[logits.shape.length - 1] as number;
  return categoricalCrossEntropy(logits, oneHot(labels, k, logits.dtype));
}

/**
 * Sparse categorical cross-entropy that picks each row's log-probability with GatherElements
 * instead of multiplying by a one-hot matrix: for language models, whose rows are every position
 * of every window and whose classes are a vocabulary, the one-hot would be as large as the logits.
 * logits [M, K], labels int64 [M].
 */
export function tokenCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const picked = gatherElements(logSoftmax(logits, -1), reshape(labels, [-1, 1]), 1);
  return neg(reduceMean(picked));
}

/** mean(max(z, 0) − z·y + log(1 + e^−|z|)): the stable form of −y·log σ(z) − (1−y)·log(1−σ(z)). */
export function binaryCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  const softplus = log(add(exp(neg(abs(logits))), 1));
  return reduceMean(add(sub(relu(logits), mul(logits, target)), softplus));
}

export function lossFn(name: LossName): (out: Tensor, target: Tensor) => Tensor {
  switch (name) {
    case 'mse': return mse;
    case 'mae': return mae;
    case 'binary_crossentropy': return binaryCrossEntropy;
    case 'categorical_crossentropy': return categoricalCrossEntropy;
    case 'sparse_categorical_crossentropy': return sparseCategoricalCrossEntropy;
  }
}

/** Knowledge distillation's settings: the softening temperature T and the soft targets' weight α. */
export interface Distillation {
  temperature: number;
  alpha: number;
}

/**
 * Knowledge distillation (Hinton et al., 2015): (1 − α)·hard + α·T²·soft, where soft is the
 * cross-entropy between the teacher's probabilities softened at T (`soft`, [N, K], or a sigmoid
 * head's [N, 1] probability of the second class) and the student's logits divided by T. The
 * cross-entropy differs from KL(teacher ‖ student) by the teacher's entropy, a constant: the same
 * gradient. T² keeps the soft term's gradient on the hard term's scale as T grows.
 */
export function distillationLoss(hard: Tensor, logits: Tensor, soft: Tensor, d: Distillation, sigmoidHead: boolean): Tensor {
  const scaled = div(logits, d.temperature);
  const ce = sigmoidHead ? binaryCrossEntropy(scaled, soft) : categoricalCrossEntropy(scaled, soft);
  return add(mul(hard, 1 - d.alpha), mul(ce, d.alpha * d.temperature * d.temperature));
}

/**
 * A teacher's probabilities (n × k, rows summing to 1) softened at temperature T: softmax(log p / T),
 * i.e. p^(1/T) renormalised (a classifier that only gives probabilities, a forest, softens too).
 * `width` 1 (a student with a sigmoid head, k = 2) keeps the second class's probability alone.
 */
export function softenProbabilities(p: ArrayLike<number>, k: number, temperature: number, width = k): Float32Array {
  if (width !== k && !(width === 1 && k === 2)) throw new Error(`engine: soft targets of ${k} classes for an output of ${width}`);
  const n = p.length / k;
  const out = new Float32Array(n * width);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      row[j] = Math.log(Math.max(p[i * k + j]!, 1e-12)) / temperature;
      if (row[j]! > max) max = row[j]!;
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += (row[j] = Math.exp(row[j]! - max));
    if (width === 1) out[i] = row[1]! / sum;
    else for (let j = 0; j < k; j++) out[i * k + j] = row[j]! / sum;
  }
  return out;
}
