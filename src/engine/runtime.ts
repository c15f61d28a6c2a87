/**
 * ONNX Runtime sessions with explicit thread settings and explicit release. Every session the
 * engine opens goes through here so thread counts are never left to ORT's default (all cores,
 * which oversubscribes a machine shared by several jobs).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { OthersLoad } from '../infra/others-load.js';
import { encodeModel, type GraphDef, type ModelDef } from '../onnx/model.js';

export interface RuntimeOptions {
  /** Threads inside one op (ORT intra-op pool). Default: 1 (the training loop is latency-bound at batch 32). */
  intraOpThreads?: number;
  /** Threads across independent ops; 1 means sequential execution. */
  interOpThreads?: number;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Let idle intra-op threads spin for work (ORT's default). Off by default: on a machine shared
   * with other processes the spinning threads steal the cores the work needs (measured on 2 busy
   * cores: 2-thread training steps 2-4× slower with spinning than without, and slower than 1 thread).
   * `fit` decides it for its sessions when it is not given (`spinWhenFree`).
   */
  spinning?: boolean;
}

/**
 * Whether `threads` intra-op threads should spin: when the cores they would spin on are free of
 * other processes' work, measured over the window `load` started (at least 100 ms). On a quiet
 * 2-core machine spinning takes the MNIST MLP at 2 threads from 45,000 to 74,000 samples/s and the
 * CNN from 8,400 to 9,900; on busy cores it makes them 2–4× slower, hence the measurement.
 */
export async function spinWhenFree(threads: number, load: OthersLoad | undefined): Promise<boolean> {
  if (threads <= 1 || !load) return false;
  return (await load.busyCores()) < availableParallelism() - threads + 0.5;
}

/** Opsets of every engine graph: ONNX 17 (LayerNorm-era ops, Reduce* axes as in 13–17). */
export const ENGINE_OPSET = 17;
export const ENGINE_IR_VERSION = 8;

export function modelOf(graph: GraphDef, metadata?: Record<string, string>): ModelDef {
  return {
    graph, opsets: [{ domain: '', version: ENGINE_OPSET }, ...(usesDomain(graph, 'com.microsoft') ? [{ domain: 'com.microsoft', version: 1 }] : [])], irVersion: ENGINE_IR_VERSION,
    producerName: 'aiaas-engine', producerVersion: '0.1.0', metadata,
  };
}

/** Whether a node of the graph, or of a sub-graph (a Loop's body), is of `domain`. */
function usesDomain(g: GraphDef, domain: string): boolean {
  return g.nodes.some((n) => n.domain === domain || Object.values(n.attributes ?? {}).some((a) => a.kind === 'graph' && usesDomain(a.value, domain)));
}

export function sessionOptions(o: RuntimeOptions = {}): ort.InferenceSession.SessionOptions {
  const intra = Math.max(1, Math.min(o.intraOpThreads ?? 1, availableParallelism()));
  const inter = Math.max(1, o.interOpThreads ?? 1);
  return {
    intraOpNumThreads: intra,
    interOpNumThreads: inter,
    executionMode: inter > 1 ? 'parallel' : 'sequential',
    graphOptimizationLevel: o.optimization ?? 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(intra > 1 ? { extra: { session: { intra_op: { allow_spinning: o.spinning ? '1' : '0' } } } } : {}),
  };
}

export async function openSession(model: ModelDef | Uint8Array, o: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  return ort.InferenceSession.create(bytes, sessionOptions(o));
}

/** Run `fn` with a session that is released afterwards, whatever happens. */
export async function withSession<T>(model: ModelDef | Uint8Array, o: RuntimeOptions, fn: (s: ort.InferenceSession) => Promise<T>): Promise<T> {
  const s = await openSession(model, o);
  try {
    return await fn(s);
  } finally {
    await s.release();
  }
}

export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}
export function i64(data: BigInt64Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', data, dims);
}
