/**
 * Losses, each a mean over the batch. Classification losses take logits and are computed in
 * their numerically stable forms (log-softmax; softplus for the binary case), so a final softmax
 * or sigmoid is folded into the loss instead of being differentiated through.
 */
import type { Tensor } from './graph.js';
import { abs, add, exp, gatherElements, log, logSoftmax, mul, neg, oneHot, reduceMean, reduceSum, relu, reshape, sub } from './ops/index.js';

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
