/**
 * Training a GPT on a token stream, the recipe of API.md: random windows of context + 1 tokens
 * (seeded), AdamW, warm-up then cosine, clipping by global norm, many steps per ONNX Runtime call
 * (program.ts' Loop: weights and optimizer state never leave the runtime within a call). Every
 * `evalEvery` steps: the mean training loss since the last evaluation, `valLoss` over the
 * non-overlapping full windows of the held-out tokens (forward only, in batches as large as the
 * logits allow; every window at the last evaluation, optionally a spread sample before), its
 * perplexity, and a sampled continuation. Dropout (`dropout` > 0) is in the
 * training program only: evaluation, sampling and every exported graph run without it.
 * `tokensPerSecond` counts only the time of training calls (evaluation and sampling excluded).
 */
import type * as ort from 'onnxruntime-node';
import { CancelledError, InvalidInputError } from '../../infra/errors.js';
import { Rng } from '../init.js';
import { type OptimizerSpec, slotCount } from '../optimizers.js';
import { loopModel } from '../program.js';
import { f32, i64, openSession, type RuntimeOptions } from '../runtime.js';
import type { Gpt } from './gpt.js';
import { lmEvalModel, lmLogitsModel, buildLmTrainProgram, type LmTeacher } from './program.js';
import { lmLearningRate, type LmSchedule } from './schedule.js';
import { chooseToken, GREEDY } from './sampling.js';

export interface LmTrainOptions extends RuntimeOptions {
  steps: number;
  batchSize: number;
  /** Tokens per training window (default: the model's context). */
  window?: number;
  /** Default AdamW, learning rate 1e-3, weight decay 0.1, betas 0.9/0.999. */
  optimizer?: OptimizerSpec;
  warmupSteps?: number;
  schedule?: LmSchedule;
  seed?: number;
  /**
   * Dropout rate on embeddings, attention probabilities and residual branches, training only
   * (default 0). Its masks are drawn in the runtime from the seed: reproducible for a run, but a
   * resumed run draws other masks than the uninterrupted one would.
   */
  dropout?: number;
  /**
   * Held-out windows of the evaluations before the last, spread evenly over the held-out text
   * (default: all). The last evaluation, whose valLoss is the run's, always takes every window.
   */
  progressEvalWindows?: number;
  /** Evaluate every this many steps, and after the last (default: only after the last). */
  evalEvery?: number;
  /** Steps per runtime call (default 50; a call never crosses an evaluation). */
  stepsPerCall?: number;
  /** Tokens sampled at each evaluation (0: none), from `samplePrompt` (default: the first held-out token). */
  sampleTokens?: number;
  samplePrompt?: number[];
  /** Sampling temperature; 0 is greedy. */
  temperature?: number;
  /**
   * Knowledge distillation from a GPT of the same vocabulary (context ≥ the window): the loss mixes
   * its next-token probabilities softened at T with the text's next tokens (losses.ts distillationLoss).
   */
  teacher?: LmTeacher;
  onEval?(e: LmEval): void | Promise<void>;
  /** After every evaluation: what resuming needs (with the model's weights, updated in place). */
  onCheckpoint?(c: LmCheckpoint): void | Promise<void>;
  /** Continue a run from its last checkpoint (the model must hold that checkpoint's weights). */
  resume?: LmCheckpoint;
  signal?: AbortSignal;
}

/** A run's state at an evaluation: resuming from it draws exactly what the uninterrupted run would. */
export interface LmCheckpoint {
  step: number;
  /** The optimizer's state vectors (AdamW: m, v). */
  slots: Float32Array[];
  trainSeconds: number;
}

export interface LmEval {
  step: number;
  /** Mean training loss of the steps since the previous evaluation. */
  loss: number;
  valLoss?: number;
  perplexity?: number;
  /** Next-token accuracy on the held-out windows. */
  valAccuracy?: number;
  learningRate: number;
  tokensPerSecond: number;
  sample?: number[];
}

export interface LmHistory {
  evals: LmEval[];
  trainSeconds: number;
  tokensPerSecond: number;
}

interface State {
  W: Float32Array;
  slots: Float32Array[];
  step: number;
}

export async function trainLm(gpt: Gpt, train: Int32Array, val: Int32Array | undefined, o: LmTrainOptions): Promise<LmHistory> {
  const window = o.window ?? gpt.config.context;
  checkOptions(gpt, train, val, window, o);
  const optimizer: OptimizerSpec = o.optimizer ?? { type: 'adamw', learningRate: 1e-3, weightDecay: 0.1 };
  const base = optimizer.learningRate ?? 1e-3;
  const perCall = Math.max(1, o.stepsPerCall ?? 50);
  const evalEvery = o.evalEvery ?? o.steps;
  const seed = o.seed ?? 0;
  const session = await openSession(loopModel(buildLmTrainProgram(gpt, optimizer, window, { rate: o.dropout ?? 0, seed }, o.teacher)), o);
  const evalSession = val ? await openSession(lmEvalModel(gpt, window), o) : undefined;
  const sampler = (o.sampleTokens ?? 0) > 0 ? await openSession(lmLogitsModel(gpt, window), o) : undefined;
  const state: State = {
    W: gpt.weights,
    slots: o.resume?.slots ?? Array.from({ length: slotCount(optimizer) }, () => new Float32Array(gpt.weights.length)),
    step: o.resume?.step ?? 0,
  };
  const evals: LmEval[] = [];
  let trainSeconds = o.resume?.trainSeconds ?? 0;
  try {
    let lossSum = 0;
    let lossSteps = 0;
    while (state.step < o.steps) {
      if (o.signal?.aborted) throw o.signal.reason ?? new CancelledError('cancelled', 'Training was cancelled.');
      const nextEval = Math.min(o.steps, (Math.floor(state.step / evalEvery) + 1) * evalEvery);
      const steps = Math.min(perCall, nextEval - state.step);
      const t0 = performance.now();
      const rates = Float32Array.from({ length: steps }, (_, i) => lmLearningRate(base, state.step + i, o.steps, o.warmupSteps ?? 0, o.schedule));
      // Windows keyed by the first step of the call, so a resumed run draws what this one would have.
      const windows = randomWindows(train, window, o.batchSize, steps, new Rng(seed, 21, state.step));
      const losses = await runSteps(session, state, windows, rates, o.batchSize, window);
      trainSeconds += (performance.now() - t0) / 1000;
      for (const l of losses) lossSum += l;
      lossSteps += losses.length;
      if (!losses.every(Number.isFinite)) throw new InvalidInputError('nan_loss', `The loss became NaN or infinite by step ${state.step}. Lower training.learningRate or set training.clipNorm.`, { step: state.step });
      if (state.step === nextEval) {
        gpt.weights = state.W;
        const e: LmEval = {
          step: state.step, loss: lossSum / lossSteps, learningRate: rates[rates.length - 1]!,
          tokensPerSecond: (state.step * o.batchSize * window) / trainSeconds,
        };
        if (evalSession && val) Object.assign(e, await validate(evalSession, gpt, val, window, state.step < o.steps ? o.progressEvalWindows : undefined));
        if (sampler) e.sample = await sample(sampler, gpt, o.samplePrompt ?? [val?.[0] ?? train[0]!], o.sampleTokens!, window, o.temperature ?? 1, new Rng(seed, 22, state.step));
        evals.push(e);
        lossSum = 0;
        lossSteps = 0;
        await o.onEval?.(e);
        await o.onCheckpoint?.({ step: state.step, slots: state.slots, trainSeconds });
      }
    }
  } finally {
    await session.release();
    await evalSession?.release();
    await sampler?.release();
  }
  gpt.weights = state.W;
  return { evals, trainSeconds, tokensPerSecond: trainSeconds > 0 ? (o.steps * o.batchSize * window) / trainSeconds : 0 };
}

function checkOptions(gpt: Gpt, train: Int32Array, val: Int32Array | undefined, window: number, o: LmTrainOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new InvalidInputError('invalid_train_spec', 'training.steps must be a positive integer.', { field: 'training.steps' });
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new InvalidInputError('invalid_train_spec', 'training.batchSize must be a positive integer.', { field: 'training.batchSize' });
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new InvalidInputError('invalid_train_spec', `model.dropout must be in [0, 1); got ${o.dropout}.`, { field: 'model.dropout' });
  if (!Number.isInteger(window) || window < 1 || window > gpt.config.context) {
    throw new InvalidInputError('invalid_model', `The window of ${window} tokens is over model.context (${gpt.config.context} positions).`, { field: 'model.context' });
  }
  if (train.length < window + 1) {
    throw new InvalidInputError('corpus_too_short', `The training text has ${train.length} tokens, fewer than one window of model.context + 1 = ${window + 1}. Lower model.context or add text.`, {
      field: 'model.context', tokens: train.length, window: window + 1,
    });
  }
  if (val && val.length < window + 1) {
    throw new InvalidInputError('corpus_too_short', `The held-out text has ${val.length} tokens, fewer than one window of ${window + 1}. Hold out more lines (split.validation) or lower model.context.`, {
      field: 'split.validation', tokens: val.length, window: window + 1,
    });
  }
  const t = o.teacher?.gpt.config;
  if (t && (t.vocabSize !== gpt.config.vocabSize || t.context < window)) {
    throw new Error(`engine: a teacher of ${t.vocabSize} tokens and ${t.context} positions cannot teach a model of ${gpt.config.vocabSize} tokens over windows of ${window}`);
  }
  for (const [name, tokens] of [['training', train], ['held-out', val]] as const) {
    if (tokens?.some((t) => t < 0 || t >= gpt.config.vocabSize)) throw new Error(`engine: a ${name} token id is outside the vocabulary of ${gpt.config.vocabSize}`);
  }
}

/** `steps` × `batch` windows at uniform random starts: inputs x and next tokens y, [steps, batch, window]. */
function randomWindows(tokens: Int32Array, window: number, batch: number, steps: number, rng: Rng): { x: BigInt64Array; y: BigInt64Array } {
  const n = steps * batch;
  const x = new BigInt64Array(n * window);
  const y = new BigInt64Array(n * window);
  const starts = tokens.length - window; // start s needs s + window + 1 ≤ length
  for (let r = 0; r < n; r++) {
    const s = Math.floor(rng.next() * starts);
    for (let j = 0; j < window; j++) {
      x[r * window + j] = BigInt(tokens[s + j]!);
      y[r * window + j] = BigInt(tokens[s + j + 1]!);
    }
  }
  return { x, y };
}

async function runSteps(
  s: ort.InferenceSession, state: State, data: { x: BigInt64Array; y: BigInt64Array }, rates: Float32Array, batch: number, window: number,
): Promise<Float32Array> {
  const steps = rates.length;
  const feeds: Record<string, ort.Tensor> = {
    M: i64(BigInt64Array.of(BigInt(steps)), []), W: f32(state.W, [state.W.length]), step: f32(Float32Array.of(state.step), []),
    x_all: i64(data.x, [steps, batch, window]), y_all: i64(data.y, [steps, batch, window]), lr_all: f32(rates, [steps]),
  };
  state.slots.forEach((v, i) => { feeds[`slot${i}`] = f32(v, [v.length]); });
  const out = await s.run(feeds);
  state.W = out.W_out!.data as Float32Array;
  state.slots = state.slots.map((_, i) => out[`slot${i}_out`]!.data as Float32Array);
  state.step += steps;
  return out.losses!.data as Float32Array;
}

/**
 * The largest activation of an evaluation call, in floats (32 MB): the logits (rows × window ×
 * vocab) or one layer's attention scores (rows × heads × window²). Larger calls gain little speed
 * and the runtime's arena keeps its peak for the session's life (it shows in the worker's RSS).
 */
const EVAL_ACTIVATION = 1 << 23;

/**
 * Mean next-token loss over the non-overlapping full windows of the held-out tokens: all of them,
 * or `most` of them at evenly spaced places (window i of n at floor(i·all/n)).
 */
async function validate(s: ort.InferenceSession, gpt: Gpt, val: Int32Array, window: number, most?: number): Promise<Pick<LmEval, 'valLoss' | 'perplexity' | 'valAccuracy'>> {
  const all = Math.floor((val.length - 1) / window);
  const total = Math.min(all, most ?? all);
  const at = (i: number) => Math.floor((i * all) / total) * window;
  // Few, large calls: the forward pass has no gradient to keep, so only the logits bound a batch.
  const c = gpt.config;
  const chunk = Math.max(1, Math.min(256, Math.floor(EVAL_ACTIVATION / (window * Math.max(c.vocabSize, c.heads * window, 4 * c.dim)))));
  let loss = 0;
  let correct = 0;
  for (let first = 0; first < total; first += chunk) {
    const rows = Math.min(chunk, total - first);
    const x = new BigInt64Array(rows * window);
    const y = new BigInt64Array(rows * window);
    for (let r = 0; r < rows; r++) {
      const start = at(first + r);
      for (let j = 0; j < window; j++) {
        x[r * window + j] = BigInt(val[start + j]!);
        y[r * window + j] = BigInt(val[start + j + 1]!);
      }
    }
    const out = await s.run({ W: f32(gpt.weights, [gpt.weights.length]), x: i64(x, [rows, window]), y: i64(y, [rows, window]) });
    loss += Number(out.loss!.data[0]) * rows;
    correct += Number(out.correct!.data[0]);
  }
  const valLoss = loss / total;
  return { valLoss, perplexity: Math.exp(valLoss), valAccuracy: correct / (total * window) };
}

/** A GPT's loss, perplexity and next-token accuracy over every full window of held-out tokens (a teacher's, beside its student's). */
export async function evaluateLm(gpt: Gpt, val: Int32Array, window: number, o: RuntimeOptions = {}): Promise<Pick<LmEval, 'valLoss' | 'perplexity' | 'valAccuracy'>> {
  if (val.length < window + 1) throw new Error(`engine: ${val.length} held-out tokens make no window of ${window + 1}`);
  const s = await openSession(lmEvalModel(gpt, window), o);
  try {
    return await validate(s, gpt, val, window);
  } finally {
    await s.release();
  }
}

/** Continues `prompt` by `n` tokens, one forward pass per token over the last `window` tokens. */
export async function sample(s: ort.InferenceSession, gpt: Gpt, prompt: number[], n: number, window: number, temperature: number, rng: Rng): Promise<number[]> {
  const tokens = [...prompt];
  const vocab = gpt.config.vocabSize;
  const x = new BigInt64Array(window);
  for (let k = 0; k < n; k++) {
    const ctx = tokens.slice(-window);
    x.fill(0n);
    ctx.forEach((t, i) => (x[i] = BigInt(t)));
    const out = await s.run({ W: f32(gpt.weights, [gpt.weights.length]), x: i64(x, [1, window]) });
    // Positions after the context are padding; causal attention keeps them from affecting this row.
    const row = (out.logits!.data as Float32Array).subarray((ctx.length - 1) * vocab, ctx.length * vocab);
    tokens.push(chooseToken(row, { ...GREEDY, temperature }, rng));
  }
  return tokens.slice(prompt.length);
}
