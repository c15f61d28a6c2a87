/**
 * The prediction log's queue, on the main thread: the requests offered since the last flush, kept
 * in the columns of a LogBatch as they come (a raw body, the answer and the request id each copied
 * into a growing buffer of their own, numbers pushed onto arrays), so that a flush hands the
 * writer one cheap message: three buffers moved rather than copied, and no string or object per
 * request to clone (cloning the answers and ids was about half of a logged request's cost on this
 * thread), nor held for a second until the next flush (into the old generation, for a major GC).
 * The writer gives the buffers back once their batch is written, and the queue fills them again:
 * a new 2-10 MB buffer per flush counted as external memory, for which V8 ran a full collection
 * every few flushes (on its helper threads: a fifth of logging's cost per request).
 */
import type { PredictSpec } from './codec/predict-body.js';
import type { Endpoint } from './endpoint.js';
import type { LogBatch, LoggedCall } from './prediction-log-records.js';

const INITIAL_BYTES = 64 * 1024;
/** Buffers kept for reuse at most: two batches' (one being written while the next fills). */
const SPARE_BUFFERS = 6;

export class LogQueue {
  /** Rows and bytes held (bodies, answers, tensors: what the queue's bounds count). */
  rows!: number;
  bytes!: number;
  private specs!: PredictSpec[];
  private specIndex!: Map<PredictSpec, number>;
  private eps!: Endpoint[];
  private epIndex!: Map<Endpoint, number>;
  /** Rows and bytes per endpoint (by index), for discard. */
  private epRows!: number[];
  private epBytes!: number[];
  private discarded!: Set<number>;
  private endpoint!: number[];
  private spec!: number[];
  private rowCounts!: number[];
  private at!: number[];
  private latencyMs!: number[];
  private bodyEnds!: number[];
  private answerEnds!: number[];
  private requestIdEnds!: number[];
  private tensorCalls!: LogBatch['tensorCalls'];
  private bodies!: Bytes;
  private answers!: Bytes;
  private requestIds!: Bytes;
  /** Buffers given back (by `recycle`) for the next batches, largest last. */
  private readonly spare: ArrayBuffer[] = [];

  constructor() {
    this.reset();
  }

  get length(): number {
    return this.endpoint.length;
  }

  push(ep: Endpoint, spec: PredictSpec, call: LoggedCall, rows: number, bytes: number, atMs: number, latencyMs: number, requestId: string): void {
    let e = this.epIndex.get(ep);
    if (e === undefined) {
      this.epIndex.set(ep, (e = this.eps.length));
      this.eps.push(ep);
      this.epRows.push(0);
      this.epBytes.push(0);
    }
    let s = this.specIndex.get(spec);
    if (s === undefined) {
      this.specIndex.set(spec, (s = this.specs.length));
      this.specs.push(spec);
    }
    if ('json' in call) {
      this.bodies.add(call.json);
      this.answers.write(call.answer);
    } else {
      this.tensorCalls.push({ item: this.endpoint.length, feeds: call.feeds, outputs: call.outputs });
    }
    this.bodyEnds.push(this.bodies.used);
    this.answerEnds.push(this.answers.used);
    this.requestIds.write(requestId);
    this.requestIdEnds.push(this.requestIds.used);
    this.endpoint.push(e);
    this.spec.push(s);
    this.rowCounts.push(rows);
    this.at.push(atMs);
    this.latencyMs.push(latencyMs);
    this.rows += rows;
    this.bytes += bytes;
    this.epRows[e]! += rows;
    this.epBytes[e]! += bytes;
  }

  /** Forgets an endpoint's queued requests (they are skipped when written) and frees their room. */
  discard(endpointId: string): void {
    for (const [ep, e] of this.epIndex) {
      if (ep.row.id !== endpointId || this.discarded.has(e)) continue;
      this.discarded.add(e);
      this.rows -= this.epRows[e]!;
      this.bytes -= this.epBytes[e]!;
    }
  }

  /** Takes back a written batch's buffers (they are the queue's to fill again; the batch is not read after). */
  recycle(buffers: ArrayBuffer[]): void {
    for (const b of buffers) if (b.byteLength > 0 && this.spare.length < SPARE_BUFFERS) this.spare.push(b);
    this.spare.sort((a, b) => a.byteLength - b.byteLength);
  }

  /** Everything queued, as a batch (with the endpoints its items name), and an empty queue. */
  take(): { batch: LogBatch; endpoints: Endpoint[] } {
    const batch: LogBatch = {
      specs: this.specs,
      endpoints: this.eps.map((ep, e) => (ep.deleted || this.discarded.has(e) ? null : { tenantId: ep.row.tenant_id, endpointId: ep.row.id })),
      endpoint: Uint32Array.from(this.endpoint), spec: Uint32Array.from(this.spec), rows: Uint32Array.from(this.rowCounts),
      at: Float64Array.from(this.at), latencyMs: Float64Array.from(this.latencyMs),
      bodies: this.bodies.buffer(), bodyEnds: Uint32Array.from(this.bodyEnds),
      answers: this.answers.buffer(), answerEnds: Uint32Array.from(this.answerEnds),
      requestIds: this.requestIds.buffer(), requestIdEnds: Uint32Array.from(this.requestIdEnds), tensorCalls: this.tensorCalls,
    };
    const endpoints = this.eps;
    // The next batch's buffers: as large as this one needed (not as large as they ever grew).
    this.reset(this.bodies.used, this.answers.used, this.requestIds.used);
    return { batch, endpoints };
  }

  private reset(bodyBytes = 0, answerBytes = 0, idBytes = 0): void {
    this.rows = this.bytes = 0;
    this.specs = [];
    this.specIndex = new Map();
    this.eps = [];
    this.epIndex = new Map();
    this.epRows = [];
    this.epBytes = [];
    this.discarded = new Set();
    this.endpoint = [];
    this.spec = [];
    this.rowCounts = [];
    this.at = [];
    this.latencyMs = [];
    this.bodyEnds = [];
    this.answerEnds = [];
    this.requestIdEnds = [];
    this.tensorCalls = [];
    this.bodies = new Bytes(this.buffer(bodyBytes));
    this.answers = new Bytes(this.buffer(answerBytes));
    this.requestIds = new Bytes(this.buffer(idBytes));
  }

  /** A spare buffer of at least `bytes` and a quarter more (the smallest such), or a new one: a batch a little larger than the last grows none. */
  private buffer(bytes: number): Buffer {
    const want = Math.max(INITIAL_BYTES, Math.ceil(bytes * 1.25));
    const i = this.spare.findIndex((b) => b.byteLength >= want);
    // A buffer of its own (not a slice of Node's pool), so that it can be moved.
    return i >= 0 ? Buffer.from(this.spare.splice(i, 1)[0]!) : Buffer.allocUnsafeSlow(want);
  }
}

/** Bytes appended one after another into a buffer that grows (doubling), then moved to the writer whole. */
class Bytes {
  used = 0;

  /** `buf`: a buffer of its own, whole (not a slice of Node's pool), so that it can be moved. */
  constructor(private buf: Buffer) {}

  add(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength);
    this.buf.set(bytes, this.used);
    this.used += bytes.byteLength;
  }

  /** A string as UTF-8. */
  write(text: string): void {
    this.reserve(3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.used += this.buf.write(text, this.used, 'utf8');
  }

  /** The whole buffer (its first `used` bytes are the data); this object is not used after. */
  buffer(): ArrayBuffer {
    return this.buf.buffer as ArrayBuffer;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.used + n));
    this.buf.copy(grown, 0, 0, this.used);
    this.buf = grown;
  }
}
