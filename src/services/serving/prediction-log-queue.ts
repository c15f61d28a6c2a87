/**
 * The prediction log's queue, on the main thread: the requests offered since the last flush, kept
 * in the columns of a LogBatch as they come (a raw body copied into one growing buffer, the rest
 * pushed onto arrays), so that a flush hands the writer one cheap message: no object per request
 * to clone, and the bodies' buffer moved rather than copied.
 */
import type { PredictSpec } from './codec/predict-body.js';
import type { Endpoint } from './endpoint.js';
import type { LogBatch, LoggedCall } from './prediction-log-records.js';

const INITIAL_BYTES = 64 * 1024;

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
  private requestIds!: string[];
  private answers!: string[];
  private bodyEnds!: number[];
  private tensorCalls!: LogBatch['tensorCalls'];
  private bodies!: Buffer;
  private used!: number;

  constructor() {
    this.reset(INITIAL_BYTES);
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
      this.reserve(call.json.byteLength);
      this.bodies.set(call.json, this.used);
      this.used += call.json.byteLength;
      this.answers.push(call.answer);
    } else {
      this.tensorCalls.push({ item: this.endpoint.length, feeds: call.feeds, outputs: call.outputs });
      this.answers.push('');
    }
    this.bodyEnds.push(this.used);
    this.endpoint.push(e);
    this.spec.push(s);
    this.rowCounts.push(rows);
    this.at.push(atMs);
    this.latencyMs.push(latencyMs);
    this.requestIds.push(requestId);
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

  /** Everything queued, as a batch (with the endpoints its items name), and an empty queue. */
  take(): { batch: LogBatch; endpoints: Endpoint[] } {
    const batch: LogBatch = {
      specs: this.specs,
      endpoints: this.eps.map((ep, e) => (ep.deleted || this.discarded.has(e) ? null : { tenantId: ep.row.tenant_id, endpointId: ep.row.id })),
      endpoint: Uint32Array.from(this.endpoint), spec: Uint32Array.from(this.spec), rows: Uint32Array.from(this.rowCounts),
      at: Float64Array.from(this.at), latencyMs: Float64Array.from(this.latencyMs), requestIds: this.requestIds,
      bodies: this.bodies.buffer as ArrayBuffer, bodyEnds: Uint32Array.from(this.bodyEnds), answers: this.answers, tensorCalls: this.tensorCalls,
    };
    const endpoints = this.eps;
    // The next batch's buffer: as large as this one needed (not as large as it ever grew).
    this.reset(Math.max(INITIAL_BYTES, this.used));
    return { batch, endpoints };
  }

  private reset(bodyBytes: number): void {
    this.rows = this.bytes = this.used = 0;
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
    this.requestIds = [];
    this.answers = [];
    this.bodyEnds = [];
    this.tensorCalls = [];
    this.bodies = Buffer.allocUnsafeSlow(bodyBytes);
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bodies.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bodies.length, this.used + n));
    this.bodies.copy(grown, 0, 0, this.used);
    this.bodies = grown;
  }
}
