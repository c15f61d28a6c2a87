/**
 * The training loop: `fit` runs epochs of minibatch training through ONNX Runtime, by default
 * as an ONNX Loop over up to `stepsPerCall` minibatches per session.run (weights and optimizer
 * state stay inside the runtime for the whole call), with per-epoch metrics, validation,
 * early stopping, cancellation, and state kept on the network so training resumes exactly.
 */
import type * as ort from 'onnxruntime-node';
import { CancelledError, InvalidInputError } from '../infra/errors.js';
import { OthersLoad } from '../infra/others-load.js';
import { checkDataset, type Dataset, exampleSize, targetSize } from './data.js';
import { Rng } from './init.js';
import { type Distillation, sparseLabels } from './losses.js';
import type { EpochMetrics, Network, TrainingState } from './network.js';
import { defaultLearningRate, type OptimizerSpec, type ScheduleSpec, scheduledRate, slotCount } from './optimizers.js';
import { buildTrainProgram, evalModel, layerOutputsModel, loopModel, softWidth, stepModel, type TrainProgram } from './program.js';
import { f32, i64, openSession, spinWhenFree, type RuntimeOptions, withSession } from './runtime.js';

export interface EarlyStopping {
  patience: number;
  monitor?: 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy';
  minDelta?: number;
  restoreBestWeights?: boolean;
}

export interface FitCallbacks {
  /** After every epoch; return false to stop training. */
  onEpochEnd?(m: EpochMetrics): void | boolean | Promise<void | boolean>;
}

export interface FitOptions extends RuntimeOptions {
  /** Total epochs (a resumed network continues from the epochs it already has, as Keras' initial_epoch). */
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerSpec | OptimizerSpec['type'];
  learningRate?: number;
  schedule?: ScheduleSpec;
  /** Held-out data, or the fraction of the training rows (taken from the end) to hold out. */
  validation?: Dataset | number;
  earlyStopping?: EarlyStopping;
  callbacks?: FitCallbacks;
  signal?: AbortSignal;
  shuffle?: boolean;
  /** 'loop' (default): many steps per call in an ONNX Loop; 'step': one session.run per step. */
  mode?: 'loop' | 'step';
  /** Minibatches per Loop call (bounds the memory of the stacked epoch data). */
  stepsPerCall?: number;
  /** Knowledge distillation: the training data carries the teacher's soft targets (`soft`). */
  distillation?: Distillation;
}

export interface History {
  epochs: EpochMetrics[];
  stoppedEarly: boolean;
  trainSeconds: number;
  samplesPerSecond: number;
}

/** Resolve the optimizer of a fit call, keeping the network's state when it matches. */
function trainingState(net: Network, o: FitOptions): TrainingState {
  const base: OptimizerSpec = typeof o.optimizer === 'string' ? { type: o.optimizer } : { ...(o.optimizer ?? { type: 'adam' }) };
  if (o.learningRate !== undefined) base.learningRate = o.learningRate;
  base.learningRate = defaultLearningRate(base);
  const t = net.training;
  if (t && JSON.stringify(t.optimizer) === JSON.stringify(base)) return t;
  const fresh: TrainingState = {
    optimizer: base, slots: Array.from({ length: slotCount(base) }, () => new Float32Array(net.weights.length)),
    step: 0, epoch: t?.epoch ?? 0, history: t?.history ?? [], wait: 0, stopped: false,
  };
  net.training = fresh;
  return fresh;
}

function splitValidation(net: Network, data: Dataset, v: FitOptions['validation']): { train: Dataset; val?: Dataset } {
  if (v === undefined) return { train: data };
  if (typeof v !== 'number') return { train: data, val: v };
  if (!(v > 0 && v < 1)) throw new InvalidInputError('bad_option', 'validation fraction must be in (0, 1).', { validation: v });
  const d = exampleSize(net);
  const t = targetSize(net);
  const n = data.x.length / d;
  const k = n - Math.max(1, Math.round(n * v));
  const y = Float64Array.from(data.y);
  const w = softWidth(net);
  return {
    train: { x: data.x.subarray(0, k * d), y: y.subarray(0, k * t), ...(data.soft ? { soft: data.soft.subarray(0, k * w) } : {}) },
    val: { x: data.x.subarray(k * d), y: y.subarray(k * t) },
  };
}

/** Stacks minibatches (rows picked by a permutation) into reusable buffers for one call. */
class Batcher {
  private readonly xBuf: Float32Array;
  private readonly yInt?: BigInt64Array;
  private readonly yFloat?: Float32Array;
  private readonly softBuf?: Float32Array;
  private readonly noiseBufs: Float32Array[];
  private readonly noiseSizes: number[];

  constructor(private net: Network, private data: Dataset, private p: TrainProgram, maxRows: number) {
    this.xBuf = new Float32Array(maxRows * exampleSize(net));
    if (sparseLabels(net.options.loss)) this.yInt = new BigInt64Array(maxRows);
    else this.yFloat = new Float32Array(maxRows * targetSize(net));
    if (p.soft) this.softBuf = new Float32Array(maxRows * softWidth(net));
    this.noiseSizes = p.noises.map((t) => {
      const rest = t.shape.slice(1);
      if (!rest.every((d) => typeof d === 'number')) throw new Error('engine: dropout on a tensor with symbolic dims');
      return (rest as number[]).reduce((a, b) => a * b, 1);
    });
    this.noiseBufs = this.noiseSizes.map((s) => new Float32Array(maxRows * s));
  }

  /** Feeds for `steps` minibatches of `batch` rows starting at perm[first]; stacked adds the leading steps axis. */
  feeds(perm: Uint32Array, first: number, steps: number, batch: number, rng: Rng, stacked: boolean): Record<string, ort.Tensor> {
    const d = exampleSize(this.net);
    const t = targetSize(this.net);
    const rows = steps * batch;
    const x = this.xBuf.subarray(0, rows * d);
    for (let i = 0; i < rows; i++) {
      const r = perm[first + i]!;
      x.set(this.data.x.subarray(r * d, r * d + d), i * d);
    }
    const lead = stacked ? [steps, batch] : [batch];
    const feeds: Record<string, ort.Tensor> = { [stacked ? 'x_all' : 'x']: f32(x, [...lead, ...this.net.options.inputShape]) };
    const yName = stacked ? 'y_all' : 'y';
    if (this.yInt) {
      const y = this.yInt.subarray(0, rows);
      for (let i = 0; i < rows; i++) y[i] = BigInt(this.data.y[perm[first + i]!]!);
      feeds[yName] = i64(y, lead);
    } else {
      const y = this.yFloat!.subarray(0, rows * t);
      for (let i = 0; i < rows; i++) for (let j = 0; j < t; j++) y[i * t + j] = this.data.y[perm[first + i]! * t + j]!;
      feeds[yName] = f32(y, [...lead, t]);
    }
    if (this.softBuf) {
      const w = softWidth(this.net);
      const q = this.softBuf.subarray(0, rows * w);
      for (let i = 0; i < rows; i++) q.set(this.data.soft!.subarray(perm[first + i]! * w, perm[first + i]! * w + w), i * w);
      feeds[stacked ? 'soft_all' : 'soft'] = f32(q, [...lead, w]);
    }
    this.p.noises.forEach((nt, k) => {
      const buf = rng.fillUniform(this.noiseBufs[k]!.subarray(0, rows * this.noiseSizes[k]!));
      feeds[stacked ? `${nt.name}_all` : nt.name] = f32(buf, [...lead, ...(nt.shape.slice(1) as number[])]);
    });
    return feeds;
  }
}

/** What a training call carries from one call to the next (fresh arrays per call, never mutated). */
interface Carried {
  W: Float32Array;
  slots: Float32Array[];
  step: number;
  S: Float32Array;
}

export async function fit(net: Network, data: Dataset, o: FitOptions): Promise<History> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new InvalidInputError('bad_option', '`epochs` must be a positive integer.', { epochs: o.epochs });
  const batch = o.batchSize ?? 32;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidInputError('bad_option', '`batchSize` must be a positive integer.', { batchSize: batch });
  const { train, val } = splitValidation(net, data, o.validation);
  const n = checkDataset(net, train);
  if (val) checkDataset(net, val, 'validation data');
  if (o.distillation) checkDistillation(net, train, o.distillation);
  const threads = o.intraOpThreads ?? 1;
  // Measured while the program is built: whether other processes leave the cores free to spin on.
  const load = o.spinning === undefined && threads > 1 ? OthersLoad.start() : undefined;
  const state = trainingState(net, o);
  const mode = o.mode ?? 'loop';
  const program = buildTrainProgram(net, state.optimizer, o.distillation);
  const ro: RuntimeOptions = { ...o, spinning: o.spinning ?? (await spinWhenFree(threads, load)) };
  const session = await openSession(mode === 'loop' ? loopModel(program) : stepModel(program), ro);
  const evalSession = val ? await openSession(evalModel(net), ro) : undefined;
  const full = Math.floor(n / batch);
  const rem = n - full * batch;
  const stepsPerEpoch = full + (rem ? 1 : 0);
  const perCall = mode === 'loop' ? Math.max(1, Math.min(o.stepsPerCall ?? 256, full || 1)) : 1;
  const batcher = new Batcher(net, train, program, Math.max(perCall * batch, rem));
  const seed = net.options.seed;
  const history: EpochMetrics[] = [];
  let trainSeconds = 0;
  let samples = 0;
  let stoppedEarly = false;
  try {
    while (state.epoch < o.epochs && !state.stopped) {
      const started = performance.now();
      const epoch = state.epoch;
      const perm = o.shuffle === false ? Uint32Array.from({ length: n }, (_, i) => i) : new Rng(seed, 2, epoch).permutation(n);
      const noise = new Rng(seed, 3, epoch);
      const c: Carried = { W: net.weights, slots: state.slots, step: state.step, S: net.stateValues };
      let lossSum = 0;
      let correct = 0;
      let lastRate = 0;
      const chunks: [number, number, number][] = [];
      for (let s = 0; s < full; s += perCall) chunks.push([s * batch, Math.min(perCall, full - s), batch]);
      if (rem) chunks.push([full * batch, 1, rem]);
      for (const [first, steps, b] of chunks) {
        if (o.signal?.aborted) throw abortError(o.signal);
        const rates = Float32Array.from({ length: steps }, (_, i) =>
          scheduledRate(state.optimizer.learningRate!, o.schedule, c.step + i, stepsPerEpoch, o.epochs));
        lastRate = rates[steps - 1]!;
        const r = await runChunk(session, mode, batcher.feeds(perm, first, steps, b, noise, mode === 'loop'), c, rates, net);
        const bad = r.losses.findIndex((l) => !Number.isFinite(l));
        if (bad >= 0) throw await nanError(net, train, r.W, c.S, epoch, c.step - steps + bad, o);
        for (const l of r.losses) lossSum += l * b;
        correct += r.correct;
      }
      const seconds = (performance.now() - started) / 1000;
      trainSeconds += seconds;
      samples += n;
      // Commit the epoch: the network now holds exactly the state an uninterrupted run would.
      net.weights = c.W;
      net.stateValues = c.S;
      state.slots = c.slots;
      state.step = c.step;
      state.epoch = epoch + 1;
      const m: EpochMetrics = { epoch: epoch + 1, loss: lossSum / n, learningRate: lastRate, seconds, samplesPerSecond: n / seconds };
      if (net.options.task === 'classification') m.accuracy = correct / n;
      if (val && evalSession) {
        const e = await evaluateWith(evalSession, net, val, 2048);
        m.valLoss = e.loss;
        if (e.accuracy !== undefined) m.valAccuracy = e.accuracy;
      }
      history.push(m);
      state.history.push(m);
      if (o.earlyStopping && earlyStop(net, state, m, o.earlyStopping)) stoppedEarly = true;
      const go = await o.callbacks?.onEpochEnd?.(m);
      if (go === false || stoppedEarly) break;
    }
  } finally {
    await session.release();
    await evalSession?.release();
  }
  return { epochs: history, stoppedEarly, trainSeconds, samplesPerSecond: trainSeconds > 0 ? samples / trainSeconds : 0 };
}

function checkDistillation(net: Network, d: Dataset, o: Distillation): void {
  if (net.options.task !== 'classification' || net.head === 'linear') {
    throw new InvalidInputError('bad_option', 'Distillation needs a classifier with a softmax or sigmoid head (the soft targets are class probabilities).', { task: net.options.task });
  }
  if (!(o.temperature > 0) || !(o.alpha >= 0 && o.alpha <= 1)) {
    throw new InvalidInputError('bad_option', 'Distillation needs temperature > 0 and alpha in [0, 1].', { temperature: o.temperature, alpha: o.alpha });
  }
  const n = d.x.length / exampleSize(net);
  const w = softWidth(net);
  if (!d.soft || d.soft.length !== n * w) {
    throw new InvalidInputError('shape_mismatch', `Distillation needs soft targets for every training row: ${n} rows × ${w} outputs, got ${d.soft?.length ?? 0} values.`, { rows: n, outputs: w });
  }
}

async function runChunk(
  s: ort.InferenceSession, mode: 'loop' | 'step', feeds: Record<string, ort.Tensor>, c: Carried, rates: Float32Array, net: Network,
): Promise<{ losses: Float32Array; correct: number; W: Float32Array }> {
  const carried: Record<string, ort.Tensor> = { W: f32(c.W, [c.W.length]), step: f32(Float32Array.of(c.step), []) };
  c.slots.forEach((v, i) => { carried[`slot${i}`] = f32(v, [v.length]); });
  if (net.states.length) carried.S = f32(c.S, [c.S.length]);
  const steps = rates.length;
  const extra: Record<string, ort.Tensor> = mode === 'loop'
    ? { M: i64(BigInt64Array.of(BigInt(steps)), []), lr_all: f32(rates, [steps]) }
    : { lr: f32(rates.subarray(0, 1), []) };
  const out = await s.run({ ...carried, ...feeds, ...extra });
  c.W = out.W_out!.data as Float32Array;
  c.slots = c.slots.map((_, i) => out[`slot${i}_out`]!.data as Float32Array);
  c.step += steps;
  if (net.states.length) c.S = out.S_out!.data as Float32Array;
  const losses = (mode === 'loop' ? out.losses! : out.loss!).data as Float32Array;
  const corrects = (mode === 'loop' ? out.corrects! : out.correct!).data as Float32Array;
  let correct = 0;
  for (const v of corrects) correct += v;
  return { losses, correct, W: c.W };
}

function earlyStop(net: Network, s: TrainingState, m: EpochMetrics, e: EarlyStopping): boolean {
  const monitor = e.monitor ?? (m.valLoss !== undefined ? 'val_loss' : 'loss');
  const key = ({ loss: 'loss', accuracy: 'accuracy', val_loss: 'valLoss', val_accuracy: 'valAccuracy' } as const)[monitor];
  const value = m[key];
  if (value === undefined) throw new InvalidInputError('bad_option', `earlyStopping monitors '${monitor}', which this run does not report.`, { monitor });
  const sign = monitor.endsWith('loss') ? 1 : -1;
  if (s.best === undefined || sign * (value - s.best) < -(e.minDelta ?? 0)) {
    s.best = value;
    s.wait = 0;
    if (e.restoreBestWeights) {
      s.bestWeights = net.weights;
      s.bestState = net.stateValues;
    }
    return false;
  }
  s.wait++;
  if (s.wait < e.patience) return false;
  s.stopped = true;
  if (e.restoreBestWeights && s.bestWeights) {
    net.weights = s.bestWeights;
    net.stateValues = s.bestState ?? net.stateValues;
  }
  return true;
}

/**
 * Name the culprit of a NaN/infinite loss: the first layer whose parameters are no longer finite,
 * else the first layer whose output on training rows is not finite, else the output layer (the
 * loss itself overflowed).
 */
async function nanError(net: Network, data: Dataset, w: Float32Array, s: Float32Array, epoch: number, step: number, o: RuntimeOptions): Promise<InvalidInputError> {
  const badParam = net.params.find((p) => w.subarray(p.offset, p.offset + p.size).some((v) => !Number.isFinite(v)));
  let layer = badParam?.layer;
  let why = badParam ? `its parameter '${badParam.name}' [${badParam.shape.join(', ')}] is no longer finite` : '';
  if (layer === undefined) {
    const { model, layers } = layerOutputsModel(net);
    const d = exampleSize(net);
    const rows = Math.min(256, data.x.length / d);
    const feeds: Record<string, ort.Tensor> = { W: f32(w, [w.length]), x: f32(data.x.subarray(0, rows * d), [rows, ...net.options.inputShape]) };
    if (net.states.length) feeds.S = f32(s, [s.length]);
    const out = await withSession(model, o, (sess) => sess.run(feeds));
    layer = layers.find((i) => (out[`layer${i}`]!.data as Float32Array).some((v) => !Number.isFinite(v)));
    why = layer === undefined ? 'its outputs overflow the loss' : 'its output is no longer finite';
    layer ??= net.layers.length - 1;
  }
  const l = net.layers[layer]!;
  const inputShape = layer === 0 ? net.options.inputShape : net.shapes[layer - 1];
  return new InvalidInputError('nan_loss',
    `The loss became NaN or infinite at epoch ${epoch + 1}, step ${step + 1}: layer ${layer} (${l.name ?? l.type}, input [${inputShape!.join(', ')}] → output [${net.shapes[layer]!.join(', ')}]): ${why}. ` +
    'Lower the learning rate, clip gradients (clipNorm) or scale the inputs.', {
      epoch: epoch + 1, step: step + 1, layerIndex: layer, layerType: l.type, layerName: l.name, parameter: badParam?.name, parameterShape: badParam?.shape,
      inputShape, outputShape: net.shapes[layer],
    });
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new CancelledError('cancelled', 'Training was cancelled.');
}

export interface Evaluation {
  loss: number;
  accuracy?: number;
}

async function evaluateWith(s: ort.InferenceSession, net: Network, data: Dataset, chunk: number): Promise<Evaluation> {
  const d = exampleSize(net);
  const t = targetSize(net);
  const n = data.x.length / d;
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i += chunk) {
    const rows = Math.min(chunk, n - i);
    const feeds: Record<string, ort.Tensor> = {
      W: f32(net.weights, [net.weights.length]),
      x: f32(data.x.subarray(i * d, (i + rows) * d), [rows, ...net.options.inputShape]),
      y: sparseLabels(net.options.loss)
        ? i64(BigInt64Array.from({ length: rows }, (_, k) => BigInt(data.y[i + k]!)), [rows])
        : f32(Float32Array.from({ length: rows * t }, (_, k) => data.y[i * t + k]!), [rows, t]),
    };
    if (net.states.length) feeds.S = f32(net.stateValues, [net.stateValues.length]);
    const out = await s.run(feeds);
    loss += Number(out.loss!.data[0]) * rows;
    correct += Number(out.correct!.data[0]);
  }
  return net.options.task === 'classification' ? { loss: loss / n, accuracy: correct / n } : { loss: loss / n };
}

/** Loss (and accuracy for classification) of the inference-mode network on a dataset. */
export async function evaluate(net: Network, data: Dataset, o: RuntimeOptions = {}): Promise<Evaluation> {
  checkDataset(net, data, 'evaluation data');
  const s = await openSession(evalModel(net), o);
  try {
    return await evaluateWith(s, net, data, 2048);
  } finally {
    await s.release();
  }
}
