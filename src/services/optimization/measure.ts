/**
 * What an optimization is judged by, measured by the job on the node that runs it: the
 * artifact's size, single-row and batch latency (p50), and the test metrics. Source and optimized
 * graph are timed interleaved (A, B, A, B…), so a load change on the node affects both alike.
 */
import type * as ort from 'onnxruntime-node';
import { openSession } from '../../engine/runtime.js';
import type { Signature } from '../../ml/signature.js';

export interface Latency {
  /** Median milliseconds of one call with one row (a language model: one decoding step after a 32-token past). */
  p50Row: number;
  /** Median milliseconds of one call with `batchRows` rows (a language model: a prompt of that many tokens). */
  p50Batch: number;
  batchRows: number;
}

export interface LatencyFeeds {
  row: Record<string, ort.Tensor>;
  batch: Record<string, ort.Tensor>;
  batchRows: number;
}

// Runs per series: at least the first figure, more while the budget lasts (a single-row call of a
// small model takes tens of µs, where 41 samples leave the medians a few µs apart by chance; a
// language model's step takes milliseconds, where the budget stops it early).
const ROW_RUNS = { min: 41, max: 1001 };
const BATCH_RUNS = { min: 15, max: 201 };
const SERIES_BUDGET_MS = 2000;
const WARMUP = 3;

/** p50 latencies of several artifacts on the same feeds, runs interleaved. */
export async function measureLatency(artifacts: Uint8Array[], feeds: LatencyFeeds, threads: number): Promise<Latency[]> {
  const sessions = await Promise.all(artifacts.map((a) => openSession(a, { intraOpThreads: threads })));
  try {
    const time = async (s: ort.InferenceSession, f: Record<string, ort.Tensor>) => {
      const t0 = performance.now();
      await s.run(f);
      return performance.now() - t0;
    };
    const series = async (f: Record<string, ort.Tensor>, runs: { min: number; max: number }) => {
      const times = sessions.map(() => [] as number[]);
      const start = performance.now();
      for (let i = 0; i < WARMUP + runs.max; i++) {
        if (i >= WARMUP + runs.min && performance.now() - start > SERIES_BUDGET_MS) break;
        // Alternate who goes first, so neither always runs on caches the other warmed.
        const order = sessions.map((_, k) => (i % 2 ? sessions.length - 1 - k : k));
        for (const k of order) {
          const ms = await time(sessions[k]!, f);
          if (i >= WARMUP) times[k]!.push(ms);
        }
      }
      return times.map(median);
    };
    const rows = await series(feeds.row, ROW_RUNS);
    const batches = await series(feeds.batch, BATCH_RUNS);
    return sessions.map((_, k) => ({ p50Row: round(rows[k]!), p50Batch: round(batches[k]!), batchRows: feeds.batchRows }));
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * Feeds made up from the signature (`context`: a decoder's longest sequence) when no rows are at hand (a language model, an imported graph
 * measured without a dataset): zeros, with a decoder's cache and mask sized consistently.
 */
export async function syntheticFeeds(signature: Signature, batchRows: number, context = Infinity): Promise<LatencyFeeds> {
  const ort = await import('onnxruntime-node');
  const decoder = signature.tensors.some((t) => t.name === 'input_ids') && signature.tensors.some((t) => t.name.startsWith('past_key_values.'));
  const make = (batch: number, seq: number, past: number) => {
    const out: Record<string, ort.Tensor> = {};
    for (const t of signature.tensors) {
      let free = 0;
      const dims = t.shape.map((d) => {
        if (d >= 0) return d;
        if (!decoder) return free++ === 0 ? batch : 1;
        if (free++ === 0) return batch;
        if (t.name.startsWith('past_key_values.')) return past;
        return t.name === 'attention_mask' ? past + seq : seq;
      });
      const n = dims.reduce((a, b) => a * b, 1);
      if (t.dtype === 'int64') {
        const data = t.name === 'position_ids' ? BigInt64Array.from({ length: n }, (_, i) => BigInt(past + (i % seq)))
          : t.name === 'attention_mask' ? new BigInt64Array(n).fill(1n) : new BigInt64Array(n).fill(1n);
        out[t.name] = new ort.Tensor('int64', data, dims);
      } else if (t.dtype === 'string') out[t.name] = new ort.Tensor('string', Array.from({ length: n }, () => ''), dims);
      else if (t.dtype === 'int32') out[t.name] = new ort.Tensor('int32', new Int32Array(n), dims);
      else out[t.name] = new ort.Tensor('float32', new Float32Array(n), dims);
    }
    return out;
  };
  // A decoder's positions stay within its context.
  const prompt = Math.min(batchRows, context);
  return decoder
    ? { row: make(1, 1, Math.min(32, context - 1)), batch: make(1, prompt, 0), batchRows: prompt }
    : { row: make(1, 1, 0), batch: make(batchRows, 1, 0), batchRows };
}
