/**
 * Continuous batching over a key/value-cache decoder (./decoder.ts's layout), as vLLM and TGI
 * schedule it: every iteration runs one decode step for all the running sequences at once, and
 * one prefill chunk of at most `prefillChunk` prompt tokens for the oldest sequence waiting to
 * start, so a long prompt never stalls the running ones for more than one chunk. Sequences join
 * the running batch when their prompt is in the cache and leave it the step they finish (or are
 * cancelled); nothing of the others is recomputed.
 *
 * The running batch keeps its cache as one tensor per layer and kind, [batch, heads, P, head dim],
 * each sequence right-aligned (left padding, masked out by attention_mask; position_ids count a
 * sequence's real tokens). A step feeds the previous step's `present` tensors back as `past`
 * unchanged; only when the batch changes (a sequence joins or leaves) are the rows copied into
 * new tensors, trimmed to the longest remaining sequence.
 *
 * Each sequence samples with its own generator (seeded), so its tokens do not depend on which
 * others share its steps.
 */
import * as ort from 'onnxruntime-node';
import { Rng } from '../init.js';
import { pastName, presentName } from './decoder.js';
import { chooseToken, logprobsOf, noteGenerated, penalize, tokenHistory, type SamplingParams, type TokenHistory } from './sampling.js';

export interface DecoderShape {
  layers: number;
  heads: number;
  /** dim / heads. */
  headDim: number;
  vocabSize: number;
  /** Positions the model has (n_positions). */
  context: number;
}

/** What the batcher runs: an ONNX Runtime session (or anything that answers like one). */
export interface DecoderRunner {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

export interface SequenceRequest {
  id: number;
  prompt: number[];
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  /** Tokens that end the sequence (not emitted). */
  eos: number[];
  /** Alternatives per token to report with their log-probabilities; -1: no log-probabilities at all. */
  logprobs: number;
}

export interface TokenEvent {
  id: number;
  /** Absent on the event that only ends a sequence (an end-of-sequence token, which is not emitted). */
  token?: number;
  logprob?: number;
  top?: Array<{ token: number; logprob: number }>;
  finish?: 'stop' | 'length';
}

export interface BatchStats {
  /** Sequences in the running batch. */
  running: number;
  /** Sequences whose prompt is being read. */
  prefilling: number;
  /** Tokens held in the cache, all sequences. */
  cachedTokens: number;
}

interface Sequence {
  req: SequenceRequest;
  /** Tokens in the cache. */
  len: number;
  /** The token to feed next (the last one sampled). */
  next: number;
  generated: number;
  rng: Rng;
  history: TokenHistory;
  cancelled: boolean;
  /** While prefilling: the sequence's own cache ([1, heads, len, head dim] per layer and kind). */
  own?: Record<string, ort.Tensor>;
}

export class ContinuousBatcher {
  private running: Sequence[] = [];
  /** [batch, heads, P, head dim] per past name, the running batch's cache. */
  private past: Record<string, ort.Tensor> = {};
  private width = 0;
  private readonly waiting: Sequence[] = [];
  private readonly byId = new Map<number, Sequence>();
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly runner: DecoderRunner,
    private readonly shape: DecoderShape,
    /** The events of one iteration, in order (one call per iteration that produced any). */
    private readonly emit: (events: TokenEvent[], stats: BatchStats) => void,
    private readonly prefillChunk = 32,
    /** Between iterations: lets new requests and cancellations in (the replica's event loop). */
    private readonly yieldTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  ) {}

  stats(): BatchStats {
    let cached = 0;
    for (const s of this.byId.values()) cached += s.len;
    return { running: this.running.length, prefilling: this.waiting.length, cachedTokens: cached };
  }

  get size(): number {
    return this.byId.size;
  }

  add(req: SequenceRequest): void {
    if (req.prompt.length === 0) throw new Error('a sequence needs at least one prompt token');
    if (req.prompt.length > this.shape.context) throw new Error(`a prompt of ${req.prompt.length} tokens does not fit a context of ${this.shape.context}`);
    const s: Sequence = {
      req, len: 0, next: -1, generated: 0, rng: new Rng(req.seed >>> 0, Math.floor(req.seed / 2 ** 32), 0x5eed), history: tokenHistory(req.prompt), cancelled: false, own: this.emptyCache(1),
    };
    this.byId.set(req.id, s);
    this.waiting.push(s);
    this.wake();
  }

  /** Drops a sequence: it emits nothing more, and its place in the batch is free from the next step. */
  cancel(id: number): void {
    const s = this.byId.get(id);
    if (!s) return;
    s.cancelled = true;
    this.byId.delete(id);
    const w = this.waiting.indexOf(s);
    if (w >= 0) this.waiting.splice(w, 1);
  }

  /** Resolves when nothing is running (every sequence ended or cancelled). */
  idle(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Stops after the current iteration; what did not finish emits nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
  }

  private wake(): void {
    if (this.loop || this.closed) return;
    this.loop = this.work().finally(() => {
      this.loop = undefined;
      if (this.byId.size > 0 && !this.closed) this.wake();
    });
  }

  private async work(): Promise<void> {
    while (!this.closed && this.byId.size > 0) {
      const events: TokenEvent[] = [];
      const joining: Sequence[] = [];
      const head = this.waiting[0];
      if (head) {
        const done = await this.prefill(head, events);
        if (done) {
          this.waiting.shift();
          if (!head.cancelled && this.byId.has(head.req.id)) joining.push(head);
        }
      }
      if (this.running.length > 0) await this.decode(events);
      this.regroup(joining);
      if (events.length > 0) this.emit(events, this.stats());
      await this.yieldTurn();
    }
  }

  /** One chunk of a waiting sequence's prompt; true when the prompt is all in (its first token sampled). */
  private async prefill(s: Sequence, events: TokenEvent[]): Promise<boolean> {
    const prompt = s.req.prompt;
    const n = Math.min(this.prefillChunk, prompt.length - s.len);
    const ids = prompt.slice(s.len, s.len + n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(ids, [1, n]),
      attention_mask: int64(new Array(s.len + n).fill(1), [1, s.len + n]),
      position_ids: int64(ids.map((_, i) => s.len + i), [1, n]),
      ...s.own!,
    };
    const out = await this.runner.run(feeds);
    s.own = this.presentAsPast(out);
    s.len += n;
    if (s.len < prompt.length) return false;
    const logits = out.logits!.data as Float32Array;
    const v = this.shape.vocabSize;
    if (!s.cancelled) this.sampleInto(s, logits.subarray((n - 1) * v, n * v), events);
    return true;
  }

  private async decode(events: TokenEvent[]): Promise<void> {
    const b = this.running.length;
    const p = this.width;
    const mask = new Array<number>(b * (p + 1)).fill(0);
    this.running.forEach((s, i) => {
      for (let j = p - s.len; j <= p; j++) mask[i * (p + 1) + j] = 1;
    });
    const out = await this.runner.run({
      input_ids: int64(this.running.map((s) => s.next), [b, 1]),
      attention_mask: int64(mask, [b, p + 1]),
      position_ids: int64(this.running.map((s) => s.len), [b, 1]),
      ...this.past,
    });
    this.past = this.presentAsPast(out);
    this.width = p + 1;
    const logits = out.logits!.data as Float32Array;
    const v = this.shape.vocabSize;
    this.running.forEach((s, i) => {
      s.len++;
      if (!s.cancelled) this.sampleInto(s, logits.subarray(i * v, (i + 1) * v), events);
    });
  }

  /** Samples a sequence's next token from its logits row; ends it on an end-of-sequence token, at max tokens or at the context's end. */
  private sampleInto(s: Sequence, row: Float32Array, events: TokenEvent[]): void {
    const token = chooseToken(penalize(row, s.history, s.req.sampling), s.req.sampling, s.rng);
    if (s.req.eos.includes(token)) {
      events.push({ id: s.req.id, finish: 'stop' });
      this.end(s);
      return;
    }
    const ev: TokenEvent = { id: s.req.id, token };
    if (s.req.logprobs >= 0) {
      const lp = logprobsOf(row, token, s.req.logprobs);
      ev.logprob = lp.logprob;
      if (s.req.logprobs > 0) ev.top = lp.top;
    }
    noteGenerated(s.history, token);
    s.next = token;
    s.generated++;
    if (s.generated >= s.req.maxTokens || s.len >= this.shape.context) {
      ev.finish = 'length';
      this.end(s);
    }
    events.push(ev);
  }

  private end(s: Sequence): void {
    s.cancelled = true;
    this.byId.delete(s.req.id);
  }

  /**
   * The running batch after a step: without the sequences that ended, with those whose prompt
   * is in. Unchanged membership keeps the tensors as they are; otherwise the rows still running
   * are copied, right-aligned, into tensors as wide as the longest of them.
   */
  private regroup(joining: Sequence[]): void {
    const staying = this.running.filter((s) => !s.cancelled);
    if (staying.length === this.running.length && joining.length === 0) return;
    const members = [...staying, ...joining];
    const width = members.reduce((m, s) => Math.max(m, s.len), 0);
    const { heads, headDim } = this.shape;
    const past: Record<string, ort.Tensor> = {};
    for (const name of this.pastNames()) {
      const data = new Float32Array(members.length * heads * width * headDim);
      members.forEach((s, row) => {
        const from = s.own ? { data: s.own[name]!.data as Float32Array, row: 0, width: s.len } : { data: this.past[name]!.data as Float32Array, row: this.running.indexOf(s), width: this.width };
        for (let h = 0; h < heads; h++) {
          const src = ((from.row * heads + h) * from.width + (from.width - s.len)) * headDim;
          const dst = ((row * heads + h) * width + (width - s.len)) * headDim;
          data.set(from.data.subarray(src, src + s.len * headDim), dst);
        }
      });
      past[name] = new ort.Tensor('float32', data, [members.length, heads, width, headDim]);
    }
    for (const s of joining) s.own = undefined;
    this.running = members;
    this.past = past;
    this.width = width;
  }

  private pastNames(): string[] {
    const names: string[] = [];
    for (let i = 0; i < this.shape.layers; i++) names.push(pastName(i, 'key'), pastName(i, 'value'));
    return names;
  }

  private presentAsPast(out: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
    const past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.shape.layers; i++) {
      for (const k of ['key', 'value'] as const) past[pastName(i, k)] = out[presentName(i, k)]!;
    }
    return past;
  }

  private emptyCache(batch: number): Record<string, ort.Tensor> {
    const past: Record<string, ort.Tensor> = {};
    for (const name of this.pastNames()) past[name] = new ort.Tensor('float32', new Float32Array(0), [batch, this.shape.heads, 0, this.shape.headDim]);
    return past;
  }
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
}
