/**
 * Continuous batching over a key/value-cache decoder (./decoder.ts's layout), as vLLM and TGI
 * schedule it: every iteration runs one decode step for all the running sequences at once, and
 * one prefill run of at most `prefillChunk` prompt tokens: the next chunk of the oldest sequence
 * waiting to start, with the whole prompts of those behind it that fit, so a long prompt never
 * stalls the running ones for more than one chunk and short ones start together. Sequences join
 * the running batch when their prompt is in the cache and leave it the step they finish (or are
 * cancelled); nothing of the others is recomputed.
 *
 * The running batch keeps its cache in buffers of its own, one per layer and kind, laid out as
 * the decoder reads it, [batch, heads, W, head dim]: row i is running[i], its positions from 0
 * (right padding, masked out by attention_mask; position_ids count a sequence's real tokens),
 * and W is the longest sequence rounded up to WIDTH_STEP positions. A step passes views of these
 * buffers as `past` (ONNX Runtime reads them in place) and writes each sequence's new key and
 * value into its row at its length: with a graph that also outputs the new positions alone
 * (`DecoderRunner.appended`, decoder.ts's exposeAppendedKeyValues) the step fetches only those
 * and the logits, not `present`, the whole cache, which the Node binding would copy into fresh
 * buffers at every step. A sequence that joins is written into the next free row, one that
 * leaves is replaced by the last row; all the rows are copied only when W changes (every
 * WIDTH_STEP positions).
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
  /** `fetches`: the outputs wanted, the graph's first ones (all when absent; see decoder.ts's exposeAppendedKeyValues). */
  run(feeds: Record<string, ort.Tensor>, fetches?: string[]): Promise<Record<string, ort.Tensor>>;
  /**
   * Past input name → the output giving a step's new positions alone, [batch, heads, sequence,
   * head dim] (decoder.ts's exposeAppendedKeyValues). Absent: they are read out of `present`.
   */
  appended?: Record<string, string>;
}

/** The cache's width grows and shrinks by this many positions (padding is at most this, less one). */
export const WIDTH_STEP = 16;

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
  /** Per past name: the running batch's cache, `rows` × [heads, width, head dim] (see the file's comment). */
  private cache: Record<string, Float32Array> = {};
  private rows = 0;
  private width = 0;
  private readonly waiting: Sequence[] = [];
  private readonly byId = new Map<number, Sequence>();
  private loop: Promise<void> | undefined;
  private closed = false;
  private readonly names: { past: string[]; present: string[] };

  constructor(
    private readonly runner: DecoderRunner,
    private readonly shape: DecoderShape,
    /** The events of one iteration, in order (one call per iteration that produced any). */
    private readonly emit: (events: TokenEvent[], stats: BatchStats) => void,
    private readonly prefillChunk = 32,
    /** Between iterations: lets new requests and cancellations in (the replica's event loop). */
    private readonly yieldTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  ) {
    const layers = Array.from({ length: shape.layers }, (_, i) => i);
    this.names = {
      past: layers.flatMap((i) => [pastName(i, 'key'), pastName(i, 'value')]),
      present: layers.flatMap((i) => [presentName(i, 'key'), presentName(i, 'value')]),
    };
  }

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
      const group = this.prefillGroup();
      if (group.length > 0) {
        for (const s of await this.prefill(group, events)) {
          const w = this.waiting.indexOf(s);
          if (w >= 0) this.waiting.splice(w, 1); // else cancelled during the run (cancel took it out)
          if (!s.cancelled && this.byId.has(s.req.id)) joining.push(s);
        }
      }
      if (this.running.length > 0) await this.decode(events);
      this.regroup(joining);
      if (events.length > 0) this.emit(events, this.stats());
      await this.yieldTurn();
    }
  }

  /**
   * What the next prefill reads: the oldest waiting sequence's next chunk and, while they fit in
   * `prefillChunk` tokens with it, whole prompts of those behind it (one run for several short
   * prompts; only the oldest can be part-way through its prompt, see `prefill`).
   */
  private prefillGroup(): Sequence[] {
    const head = this.waiting[0];
    if (!head) return [];
    const group = [head];
    if (head.len > 0) return group;
    let tokens = Math.min(this.prefillChunk, head.req.prompt.length);
    for (const s of this.waiting.slice(1)) {
      const n = Math.min(this.prefillChunk, s.req.prompt.length);
      if (tokens + n > this.prefillChunk) break;
      group.push(s);
      tokens += n;
    }
    return group;
  }

  /**
   * One chunk of each sequence's prompt in one run; returns those whose prompt is all in (their
   * first token sampled). Several sequences start their prompts together (their own caches are
   * empty): chunks shorter than the longest are padded at the end (masked, repeating the last
   * token) and each own cache keeps its real positions only.
   */
  private async prefill(group: Sequence[], events: TokenEvent[]): Promise<Sequence[]> {
    const g = group.length;
    const past = group[0]!.len; // 0 when g > 1
    const n = group.map((s) => Math.min(this.prefillChunk, s.req.prompt.length - s.len));
    const t = Math.max(...n);
    const ids = new BigInt64Array(g * t);
    const positions = new BigInt64Array(g * t);
    const mask = new BigInt64Array(g * (past + t));
    group.forEach((s, i) => {
      for (let j = 0; j < t; j++) {
        const k = s.len + Math.min(j, n[i]! - 1);
        ids[i * t + j] = BigInt(s.req.prompt[k]!);
        positions[i * t + j] = BigInt(k);
      }
      mask.fill(1n, i * (past + t), i * (past + t) + past + n[i]!);
    });
    const out = await this.runner.run({
      input_ids: new ort.Tensor('int64', ids, [g, t]),
      attention_mask: new ort.Tensor('int64', mask, [g, past + t]),
      position_ids: new ort.Tensor('int64', positions, [g, t]),
      ...(g === 1 ? group[0]!.own! : this.emptyCache(g)),
    });
    const own = this.presentAsPast(out);
    const { heads, headDim, vocabSize: v } = this.shape;
    const logits = out.logits!.data as Float32Array;
    const done: Sequence[] = [];
    group.forEach((s, i) => {
      if (g === 1) s.own = own;
      else {
        s.own = {};
        for (const name of this.pastNames()) {
          const data = new Float32Array(heads * n[i]! * headDim);
          this.copyRow(own[name]!.data as Float32Array, i, t, data, 0, n[i]!, n[i]!);
          s.own[name] = new ort.Tensor('float32', data, [1, heads, n[i]!, headDim]);
        }
      }
      s.len += n[i]!;
      if (s.len < s.req.prompt.length) return;
      if (!s.cancelled) this.sampleInto(s, logits.subarray((i * t + n[i]! - 1) * v, (i * t + n[i]!) * v), events);
      done.push(s);
    });
    return done;
  }

  private async decode(events: TokenEvent[]): Promise<void> {
    const b = this.running.length;
    const w = this.width;
    const { heads, headDim } = this.shape;
    const mask = new BigInt64Array(b * (w + 1));
    this.running.forEach((s, i) => {
      mask.fill(1n, i * (w + 1), i * (w + 1) + s.len);
      mask[i * (w + 1) + w] = 1n;
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(this.running.map((s) => s.next), [b, 1]),
      attention_mask: new ort.Tensor('int64', mask, [b, w + 1]),
      position_ids: int64(this.running.map((s) => s.len), [b, 1]),
    };
    const names = this.pastNames();
    for (const name of names) feeds[name] = new ort.Tensor('float32', this.cache[name]!.subarray(0, b * heads * w * headDim), [b, heads, w, headDim]);
    const appended = this.runner.appended;
    const out = await this.runner.run(feeds, appended && ['logits', ...names.map((name) => appended[name]!)]);
    // The new positions: alone ([b, heads, 1, head dim]) or the last of `present` ([b, heads, w + 1, head dim]).
    const [from, at] = appended ? [1, 0] : [w + 1, w];
    names.forEach((name, k) => {
      const t = out[appended?.[name] ?? this.names.present[k]!]!;
      if (t.dims.join() !== [b, heads, from, headDim].join()) throw new Error(`the decoder's ${appended?.[name] ?? this.names.present[k]} is [${t.dims.join(', ')}], not [${[b, heads, from, headDim].join(', ')}]`);
      const src = t.data as Float32Array;
      const dst = this.cache[name]!;
      this.running.forEach((s, i) => {
        if (s.len >= w) return; // at the context's end: the sequence ends with this step
        for (let h = 0; h < heads; h++) {
          const o = ((i * heads + h) * from + at) * headDim;
          dst.set(src.subarray(o, o + headDim), ((i * heads + h) * w + s.len) * headDim);
        }
      });
    });
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
   * The running batch after a step: without the sequences that ended (the last row moves into
   * each one's place), with those whose prompt is in (written into the next rows). All rows are
   * copied only into buffers of another width (the longest sequence crossed a WIDTH_STEP) or
   * more rows.
   */
  private regroup(joining: Sequence[]): void {
    const rows = this.running;
    let n = rows.length;
    for (let i = 0; i < n; i++) {
      if (!rows[i]!.cancelled) continue;
      while (n - 1 > i && rows[n - 1]!.cancelled) n--;
      n--;
      if (i < n) {
        for (const name of this.pastNames()) this.copyRow(this.cache[name]!, n, this.width, this.cache[name]!, i, this.width, rows[n]!.len);
        rows[i] = rows[n]!;
      }
    }
    rows.length = n;
    if (n + joining.length === 0) {
      this.cache = {};
      this.rows = this.width = 0;
      return;
    }
    const longest = [...rows, ...joining].reduce((m, s) => Math.max(m, s.len), 0);
    // Room for the next step's position; a sequence at the context's end ends with that step, without it.
    const width = Math.min(Math.ceil((longest + 1) / WIDTH_STEP) * WIDTH_STEP, this.shape.context - 1);
    const need = n + joining.length;
    if (width !== this.width || need > this.rows) {
      const count = need > this.rows ? Math.max(need, Math.min(2 * this.rows, need + WIDTH_STEP)) : this.rows;
      const { heads, headDim } = this.shape;
      const cache: Record<string, Float32Array> = {};
      for (const name of this.pastNames()) {
        cache[name] = new Float32Array(count * heads * width * headDim);
        rows.forEach((s, i) => this.copyRow(this.cache[name]!, i, this.width, cache[name]!, i, width, s.len));
      }
      this.cache = cache;
      this.rows = count;
      this.width = width;
    }
    for (const s of joining) {
      for (const name of this.pastNames()) this.copyRow(s.own![name]!.data as Float32Array, 0, s.len, this.cache[name]!, rows.length, this.width, s.len);
      s.own = undefined;
      rows.push(s);
    }
  }

  /** Positions 0..len-1 of a row of one cache buffer ([rows, heads, width, head dim]) into a row of another. */
  private copyRow(from: Float32Array, fromRow: number, fromWidth: number, to: Float32Array, toRow: number, toWidth: number, len: number): void {
    const { heads, headDim } = this.shape;
    for (let h = 0; h < heads; h++) {
      const src = (fromRow * heads + h) * fromWidth * headDim;
      to.set(from.subarray(src, src + len * headDim), (toRow * heads + h) * toWidth * headDim);
    }
  }

  private pastNames(): string[] {
    return this.names.past;
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
