/**
 * The queue in front of the replicas of one model version: requests wait here, in arrival
 * order, until a free replica takes a batch of them (dynamic batching as in Triton).
 *
 * It counts what waits (rows, and the bytes of raw bodies) for the queue limits, and the area
 * under the queued-rows curve for the autoscaler's time-averaged queue depth. Taking a batch
 * allocates only the batch array: this is the hot path of every prediction.
 */
import type { Feeds } from './codec/instances.js';
import type { RunResult } from './replica-messages.js';

/** A request as queued: a raw body is kept (not transferred) so it can be retried elsewhere. */
export type QueuedRequest = { feeds: Feeds } | { json: Uint8Array };

export type Answered = Extract<RunResult, { ok: true }>;

export interface Pending {
  request: QueuedRequest;
  /** Rows (for a raw JSON body, not yet parsed: counted as 1 until the replica reads it). */
  rows: number;
  bytes: number;
  /** Requests stack only with requests of the same key (their shapes past the first axis). */
  key: string;
  enqueuedAt: number;
  /** How many replicas died while holding it. */
  retries: number;
  resolve(result: Answered): void;
  reject(err: Error): void;
}

const MAX_QUEUED_ROWS = 50_000;
/** Raw bodies waiting (their rows are not known before a replica parses them). */
const MAX_QUEUED_BYTES = 256 * 2 ** 20;

export class BatchQueue {
  private items: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private area = 0;
  private changedAt: number;

  constructor(
    /** Whether requests may be stacked at all (every input and output has a free first axis). */
    private readonly batchable: boolean,
    /** Whether all requests stack (fixed shapes past the first axis): then only the head's neighbours are looked at. */
    private readonly constantKey: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.changedAt = now();
  }

  get length(): number {
    return this.items.length;
  }

  get rows(): number {
    return this.queuedRows;
  }

  /** When the oldest waiting request arrived (the queue must not be empty). */
  get oldestAt(): number {
    return this.items[0]!.enqueuedAt;
  }

  /** Whether `rows` more rows and `bytes` more body bytes would overflow the queue. */
  full(rows: number, bytes: number): boolean {
    return this.queuedRows + rows > MAX_QUEUED_ROWS || this.queuedBytes + bytes > MAX_QUEUED_BYTES;
  }

  push(p: Pending): void {
    this.note();
    this.items.push(p);
    this.queuedRows += p.rows;
    this.queuedBytes += p.bytes;
  }

  /** The oldest request and every later one that stacks with it, up to `maxRows` rows (the oldest alone may exceed it). */
  take(maxRows: number): Pending[] {
    this.note();
    const head = this.items.shift()!;
    const batch = [head];
    let rows = head.rows;
    if (this.batchable) {
      for (let i = 0; i < this.items.length && rows < maxRows;) {
        const p = this.items[i]!;
        if (p.key === head.key && rows + p.rows <= maxRows) {
          batch.push(p);
          rows += p.rows;
          this.items.splice(i, 1);
        } else if (this.constantKey) {
          break;
        } else {
          i++;
        }
      }
    }
    this.queuedRows -= rows;
    for (const p of batch) this.queuedBytes -= p.bytes;
    return batch;
  }

  /** Requests given back (their replica died): they go first, in their order. */
  requeueFront(ps: Pending[]): void {
    if (ps.length === 0) return;
    this.note();
    for (const p of ps) {
      this.queuedRows += p.rows;
      this.queuedBytes += p.bytes;
    }
    this.items = ps.concat(this.items);
  }

  /** Empties the queue, failing every waiting request with `err`. */
  rejectAll(err: Error): void {
    this.note();
    const all = this.items;
    this.items = [];
    this.queuedRows = 0;
    this.queuedBytes = 0;
    for (const p of all) p.reject(err);
  }

  /** Rows waiting integrated over time (rows·ms) since the previous call. */
  takeArea(): number {
    this.note();
    const a = this.area;
    this.area = 0;
    return a;
  }

  private note(): void {
    const now = this.now();
    this.area += this.queuedRows * (now - this.changedAt);
    this.changedAt = now;
  }
}
