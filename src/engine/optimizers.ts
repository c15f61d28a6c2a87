/**
 * Optimizers as graph code over the flat parameter vector (one update for all weights, which
 * keeps the step graph small): SGD with (Nesterov) momentum, Adam, AdamW; L2 weight decay;
 * gradient clipping by global norm or by value. Learning-rate schedules are evaluated per step
 * on the JS side and fed in, so any schedule costs nothing in the graph.
 */
import { InvalidInputError } from '../infra/errors.js';
import type { Tensor } from './graph.js';
import { add, clip, compare, div, exp, mul, reduceSum, sqrt, sub, where } from './ops/index.js';

export interface OptimizerSpec {
  type: 'sgd' | 'adam' | 'adamw';
  learningRate?: number;
  /** sgd */
  momentum?: number;
  nesterov?: boolean;
  /** adam, adamw */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 penalty added to the gradient (sgd, adam), or decoupled decay (adamw, default 0.01). */
  weightDecay?: number;
  /** Rescale the gradient when its global L2 norm exceeds this. */
  clipNorm?: number;
  /** Clip every gradient element to [−clipValue, clipValue]. */
  clipValue?: number;
}

export type ScheduleSpec =
  | { type: 'constant' }
  | { type: 'step'; stepSize: number; gamma?: number }
  | { type: 'cosine'; minLearningRate?: number; warmupEpochs?: number };

export function defaultLearningRate(o: OptimizerSpec): number {
  return o.learningRate ?? (o.type === 'sgd' ? 0.01 : 0.001);
}

/** Number of state vectors (each as long as the parameters) the optimizer carries. */
export function slotCount(o: OptimizerSpec): number {
  if (o.type === 'sgd') return o.momentum ? 1 : 0;
  if (o.type === 'adam' || o.type === 'adamw') return 2;
  throw new InvalidInputError('bad_optimizer', `Unknown optimizer '${String((o as { type: unknown }).type)}'; use sgd, adam or adamw.`, { optimizer: o });
}

export interface UpdateResult {
  w: Tensor;
  slots: Tensor[];
}

/**
 * One update. `step` is the 1-based step number (float scalar) for Adam's bias correction;
 * `lr` the learning rate of this step (float scalar). `decayMask` (adamw): 1 for the weights that
 * decay, 0 for the rest (GPT recipes decay matrices and embeddings, not biases and norms).
 */
export function applyUpdate(o: OptimizerSpec, w: Tensor, grad: Tensor, slots: Tensor[], step: Tensor, lr: Tensor, decayMask?: Tensor): UpdateResult {
  let g = clipGradient(o, grad);
  if (o.weightDecay && o.type !== 'adamw') g = add(g, mul(w, o.weightDecay));
  if (o.type === 'sgd') {
    if (!o.momentum) return { w: sub(w, mul(g, lr)), slots: [] };
    // PyTorch form: v ← μv + g; w ← w − lr·v (Nesterov: w ← w − lr·(g + μv)).
    const v = add(mul(slots[0]!, o.momentum), g);
    const dir = o.nesterov ? add(g, mul(v, o.momentum)) : v;
    return { w: sub(w, mul(dir, lr)), slots: [v] };
  }
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.epsilon ?? 1e-8;
  const m = add(mul(slots[0]!, b1), mul(g, 1 - b1));
  const v = add(mul(slots[1]!, b2), mul(mul(g, g), 1 - b2));
  // Bias corrections 1 − β^t, with β^t = exp(t·ln β).
  const bc1 = sub(1, exp(mul(step, Math.log(b1))));
  const rootBc2 = sqrt(sub(1, exp(mul(step, Math.log(b2)))));
  // w − lr/bc1 · m/(√v/√bc2 + ε) rewritten as w − k·m/(√v + ε√bc2), k = lr·√bc2/bc1: the scalar
  // factors fold together, saving one pass over the parameter vector per step.
  const k = div(mul(lr, rootBc2), bc1);
  const denom = add(sqrt(v), mul(rootBc2, eps));
  let base = w;
  if (o.type === 'adamw') {
    const decay = decayMask ? mul(decayMask, o.weightDecay ?? 0.01) : o.weightDecay ?? 0.01;
    base = sub(w, mul(mul(w, lr), decay));
  }
  return { w: sub(base, mul(div(m, denom), k)), slots: [m, v] };
}

function clipGradient(o: OptimizerSpec, g: Tensor): Tensor {
  let out = g;
  if (o.clipValue) out = clip(out, -o.clipValue, o.clipValue);
  if (o.clipNorm) {
    const norm = sqrt(reduceSum(mul(out, out)));
    out = mul(out, where(compare('Greater', norm, o.clipNorm), div(o.clipNorm, norm), 1));
  }
  return out;
}

/** Learning rate of global step `t` (0-based) given steps per epoch and total epochs. */
export function scheduledRate(base: number, s: ScheduleSpec | undefined, t: number, stepsPerEpoch: number, epochs: number): number {
  if (!s || s.type === 'constant') return base;
  const epoch = t / stepsPerEpoch;
  if (s.type === 'step') return base * Math.pow(s.gamma ?? 0.1, Math.floor(Math.floor(epoch) / s.stepSize));
  const warm = (s.warmupEpochs ?? 0) * stepsPerEpoch;
  if (t < warm) return (base * (t + 1)) / warm;
  const total = Math.max(1, epochs * stepsPerEpoch - warm);
  const min = s.minLearningRate ?? 0;
  return min + 0.5 * (base - min) * (1 + Math.cos((Math.PI * Math.min(t - warm, total)) / total));
}
