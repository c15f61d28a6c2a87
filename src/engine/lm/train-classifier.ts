/**
 * Training a text classifier (encoder.ts) on padded token windows: epochs over the rows in a
 * seeded shuffled order, full minibatches only (the rows a batch cannot fill wait for the next
 * epoch's order), many steps per ONNX Runtime call (program.ts' Loop), AdamW with linear warm-up
 * then cosine decay by step, clipping by global norm; after each epoch the mean training loss and
 * accuracy, and the loss and accuracy of the held-out rows (forward only).
 */
import type * as ort from 'onnxruntime-node';
import { CancelledError, InvalidInputError } from '../../infra/errors.js';
import { Rng } from '../init.js';
import type { EpochMetrics } from '../network.js';
import type { Distillation } from '../losses.js';
import { type OptimizerSpec, slotCount } from '../optimizers.js';
import { loopModel } from '../program.js';
import { f32, i64, openSession, type RuntimeOptions } from '../runtime.js';
import { buildTextClassifierTrainProgram, textClassifierEvalModel } from './classifier-program.js';
import type { TextEncoder } from './encoder.js';
import { lmLearningRate, type LmSchedule } from './schedule.js';

/** Rows of windows (rows × window ids, int64) and their class indices. */
export interface TextWindows {
  x: BigInt64Array;
  y: Int32Array;
}

export interface TextClassifierTrainOptions extends RuntimeOptions {
  epochs: number;
  batchSize: number;
  /** Default AdamW, learning rate 1e-3, weight decay 0.01. */
  optimizer?: OptimizerSpec;
  warmupSteps?: number;
  schedule?: LmSchedule;
  seed?: number;
  /** Dropout on embeddings, attention probabilities and residual branches, training only. */
  dropout?: number;
  /** Steps per runtime call (default 50). */
  stepsPerCall?: number;
  /**
   * Knowledge distillation: the teacher's probabilities softened at `temperature` for every
   * training row (rows × classes, losses.ts softenProbabilities), mixed with the labels by `alpha`.
   */
  distillation?: Distillation & { soft: Float32Array };
  onEpoch?(m: EpochMetrics): void | Promise<void>;
  signal?: AbortSignal;
}

export interface TextClassifierHistory {
  epochs: EpochMetrics[];
  trainSeconds: number;
  /** Rows trained on per second of training calls (evaluation excluded). */
  samplesPerSecond: number;
}

/** Rows per evaluation call. */
const EVAL_ROWS = 256;

export async function trainTextClassifier(enc: TextEncoder, train: TextWindows, val: TextWindows | undefined, o: TextClassifierTrainOptions): Promise<TextClassifierHistory> {
  const n = train.y.length;
  const window = train.x.length / Math.max(1, n);
  if (n < 1 || !Number.isInteger(window) || window < 1 || window > enc.config.context) throw new Error(`engine: ${train.x.length} ids for ${n} rows do not make windows of at most ${enc.config.context}`);
  const batch = Math.min(o.batchSize, n);
  const perEpoch = Math.floor(n / batch);
  const total = perEpoch * o.epochs;
  const optimizer: OptimizerSpec = o.optimizer ?? { type: 'adamw', learningRate: 1e-3, weightDecay: 0.01 };
  const base = optimizer.learningRate ?? 1e-3;
  const perCall = Math.max(1, o.stepsPerCall ?? 50);
  const seed = o.seed ?? 0;
  const k = enc.config.outputs;
  const d = o.distillation;
  if (d && d.soft.length !== n * k) throw new Error(`engine: distillation needs ${n} × ${k} soft targets, got ${d.soft.length}`);
  const session = await openSession(loopModel(buildTextClassifierTrainProgram(enc, optimizer, window, { rate: o.dropout ?? 0, seed }, d)), o);
  const evalSession = val && val.y.length ? await openSession(textClassifierEvalModel(enc, window), o) : undefined;
  let W = enc.weights;
  let slots: Float32Array[] = Array.from({ length: slotCount(optimizer) }, () => new Float32Array(W.length));
  let step = 0;
  let trainSeconds = 0;
  const epochs: EpochMetrics[] = [];
  const x = new BigInt64Array(perCall * batch * window);
  const y = new BigInt64Array(perCall * batch);
  const soft = d ? new Float32Array(perCall * batch * k) : undefined;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const perm = new Rng(seed, 31, epoch).permutation(n);
      const t0 = performance.now();
      let loss = 0;
      let correct = 0;
      for (let first = 0; first < perEpoch; first += perCall) {
        if (o.signal?.aborted) throw o.signal.reason ?? new CancelledError('cancelled', 'Training was cancelled.');
        const steps = Math.min(perCall, perEpoch - first);
        const rows = steps * batch;
        for (let i = 0; i < rows; i++) {
          const r = perm[first * batch + i]!;
          x.set(train.x.subarray(r * window, (r + 1) * window), i * window);
          y[i] = BigInt(train.y[r]!);
          soft?.set(d!.soft.subarray(r * k, (r + 1) * k), i * k);
        }
        const rates = Float32Array.from({ length: steps }, (_, i) => lmLearningRate(base, step + i, total, o.warmupSteps ?? 0, o.schedule));
        const feeds: Record<string, ort.Tensor> = {
          M: i64(BigInt64Array.of(BigInt(steps)), []), W: f32(W, [W.length]), step: f32(Float32Array.of(step), []),
          x_all: i64(x.subarray(0, rows * window), [steps, batch, window]), y_all: i64(y.subarray(0, rows), [steps, batch]), lr_all: f32(rates, [steps]),
        };
        if (soft) feeds.soft_all = f32(soft.subarray(0, rows * k), [steps, batch, k]);
        slots.forEach((v, i) => { feeds[`slot${i}`] = f32(v, [v.length]); });
        const out = await session.run(feeds);
        W = out.W_out!.data as Float32Array;
        slots = slots.map((_, i) => out[`slot${i}_out`]!.data as Float32Array);
        step += steps;
        for (const l of out.losses!.data as Float32Array) loss += l;
        for (const c of out.corrects!.data as Float32Array) correct += c;
      }
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      if (!Number.isFinite(loss)) throw new InvalidInputError('nan_loss', `The loss became NaN or infinite in epoch ${epoch}. Lower training.learningRate or set training.clipNorm.`, { epoch });
      enc.weights = W;
      const m: EpochMetrics = {
        epoch, loss: loss / perEpoch, accuracy: correct / (perEpoch * batch), learningRate: lmLearningRate(base, step - 1, total, o.warmupSteps ?? 0, o.schedule),
        seconds, samplesPerSecond: (perEpoch * batch) / Math.max(seconds, 1e-9),
      };
      if (evalSession && val) Object.assign(m, await evaluate(evalSession, W, val, window));
      epochs.push(m);
      await o.onEpoch?.(m);
    }
  } finally {
    await session.release();
    await evalSession?.release();
  }
  enc.weights = W;
  return { epochs, trainSeconds, samplesPerSecond: trainSeconds > 0 ? (total * batch) / trainSeconds : 0 };
}

async function evaluate(s: ort.InferenceSession, W: Float32Array, val: TextWindows, window: number): Promise<{ valLoss: number; valAccuracy: number }> {
  const n = val.y.length;
  let loss = 0;
  let correct = 0;
  for (let first = 0; first < n; first += EVAL_ROWS) {
    const rows = Math.min(EVAL_ROWS, n - first);
    const out = await s.run({
      W: f32(W, [W.length]), x: i64(val.x.subarray(first * window, (first + rows) * window), [rows, window]),
      y: i64(BigInt64Array.from(val.y.subarray(first, first + rows), (v) => BigInt(v)), [rows]),
    });
    loss += Number(out.loss!.data[0]) * rows;
    correct += Number(out.correct!.data[0]);
  }
  return { valLoss: loss / n, valAccuracy: correct / n };
}
