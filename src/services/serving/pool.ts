/**
 * The replicas of one model version behind an endpoint, and the queue in front of them.
 *
 * - Replicas are worker threads, each owning an ONNX Runtime session; a batch goes to the ready
 *   replica with the least outstanding work (rows in flight), at most two batches in flight per
 *   replica so that one is always ready to run when the other finishes.
 * - Dynamic batching as in Triton: requests queue; a free replica takes the oldest request and
 *   every later compatible one up to `maxBatchSize` rows, waiting up to `maxDelayMs` for the batch
 *   to fill (0: take what has arrived, handing work to a free replica as soon as half a batch
 *   waits); the replica stacks them into one run and splits the outputs back.
 * - Predict calls can reach the replica as raw JSON bytes (`submitJson`): the replica parses,
 *   checks, runs and answers them, so this thread only routes. Their rows are counted as one per
 *   request until a replica reads them (and the replica splits runs at `maxBatchSize` rows).
 * - Autoscaling between min and max replicas: every `intervalMs` the time-averaged queue depth,
 *   the mean latency and the busy fraction of the replicas are compared with their targets; a
 *   replica is added at once when they are exceeded, and one is removed only after `cooldownMs`
 *   of low load since the last scale event. Each change is reported through `onScale`.
 * - A replica whose thread dies has its batches queued again and is replaced.
 * - `drain()` stops nothing in flight: the queue empties through the replicas, then they close.
 */
import { Worker } from 'node:worker_threads';
// Loaded here too so that the native addon stays loaded for the life of the process: once every
// thread that loaded it has gone, a new replica thread cannot load it again (Node: "Module did
// not self-register"), and a pool that lost its last replica could not replace it.
import 'onnxruntime-node';
import { AppError } from '../../infra/errors.js';
import type { Feeds } from '../../ml/instances.js';
import type { FromReplica, PredictSpec, ReplicaRequest, RunResult, ToReplica } from './protocol.js';

/** A request as queued: a raw body is kept (not transferred) so it can be retried elsewhere. */
type QueuedRequest = { feeds: Feeds } | { json: Uint8Array };

export interface BatchingSettings {
  maxBatchSize: number;
  maxDelayMs: number;
}

export interface AutoscalingSettings {
  /** How often load is measured and replicas adjusted. */
  intervalMs: number;
  /** Low load must last this long since the last scale event before a replica is removed. */
  cooldownMs: number;
  /** Scale up when the average queue (rows waiting) per replica exceeds this. */
  targetQueueDepth: number;
  /** Scale up when the mean latency exceeds this while requests wait (0: off). */
  targetLatencyMs: number;
}

export interface PoolSettings {
  replicas: { min: number; max: number };
  batching: BatchingSettings;
  autoscaling: AutoscalingSettings;
}

export interface ScaleEvent {
  from: number;
  to: number;
  reason: string;
}

export interface PoolHooks {
  onScale(e: ScaleEvent): void;
  onBatch(rows: number, requests: number): void;
  onReplicaFailure(message: string): void;
}

type Answered = Extract<RunResult, { ok: true }>;

interface Pending {
  request: QueuedRequest;
  /** Rows (for a raw JSON body, not yet parsed: counted as 1 until the replica reads it). */
  rows: number;
  bytes: number;
  key: string;
  enqueuedAt: number;
  retries: number;
  resolve(result: Answered): void;
  reject(err: Error): void;
}

/** A predict call answered by a replica: the JSON text of the answer, and the rows predicted. */
export interface JsonAnswer {
  answer: string;
  rows: number;
}

const MAX_INFLIGHT = 2;
/**
 * With no batching delay, a free replica is handed work as soon as this fraction of a full batch
 * waits, without waiting for the end of the current I/O phase: the replica works on the first
 * rows while this thread still reads the next requests. Measured under 32 connections with
 * maxBatchSize 32 (bench:serve): 1/2 (batches of ~12) beat 1/8 (~8) by ~8% and dispatching
 * once per event-loop turn (~25) by more: smaller batches cost more hand-offs, larger ones
 * leave the replica idle while this thread reads.
 */
const EAGER_FRACTION = 1 / 2;
const MAX_QUEUED_ROWS = 50_000;
/** Raw bodies waiting (their rows are not known before a replica parses them). */
const MAX_QUEUED_BYTES = 256 * 2 ** 20;
const WORKER_URL = new URL('./replica-worker.js', import.meta.url);

class Replica {
  readonly worker: Worker;
  ready = false;
  closing = false;
  dead = false;
  inflight = 0;
  outstandingRows = 0;
  busySince = 0;
  busyMs = 0;
  readonly batches = new Map<number, Pending[]>();

  constructor() {
    this.worker = new Worker(WORKER_URL);
    this.worker.unref();
  }

  busyTime(now: number): number {
    const t = this.busyMs + (this.inflight > 0 ? now - this.busySince : 0);
    this.busyMs = 0;
    if (this.inflight > 0) this.busySince = now;
    return t;
  }
}

export class VersionPool {
  private readonly replicas: Replica[] = [];
  private queue: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private seq = 0;
  private pumpScheduled = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private scaleTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private drained: (() => void) | undefined;
  private closed = false;
  // Autoscaling measurements since the last tick.
  private queueArea = 0;
  private queueChangedAt = performance.now();
  private latencySum = 0;
  private latencyCount = 0;
  private lastScaleAt = performance.now();
  private lastBusyAt = performance.now();
  private readonly constantKey: boolean;

  constructor(
    readonly version: number,
    private readonly model: Uint8Array,
    private readonly fetches: string[],
    private settings: PoolSettings,
    private readonly hooks: PoolHooks,
    /** Whether requests may be stacked (every input and output has a free first axis). */
    private readonly batchable: boolean,
    /** Whether every input's shape past the first axis is fixed (then all requests stack). */
    fixedInnerShapes: boolean,
    private readonly warmup?: Feeds,
    /** Given: replicas read predict bodies themselves (`submitJson`). */
    private readonly predict?: PredictSpec,
  ) {
    this.constantKey = fixedInnerShapes;
  }

  /**
   * Whether raw predict bodies can be handed to the replicas: they need what answers look like,
   * and requests that all stack (fixed inner shapes), since rows are grouped before they are read.
   */
  get readsJson(): boolean {
    return this.predict !== undefined && this.constantKey;
  }

  /** Starts the minimum number of replicas; resolves when they can serve, rejects if the model does not load. */
  async start(): Promise<void> {
    const n = Math.max(1, this.settings.replicas.min);
    await Promise.all(Array.from({ length: n }, () => this.addReplica()));
    this.scaleTimer = setInterval(() => this.autoscale(), this.settings.autoscaling.intervalMs);
    this.scaleTimer.unref();
  }

  update(settings: PoolSettings): void {
    const intervalChanged = settings.autoscaling.intervalMs !== this.settings.autoscaling.intervalMs;
    this.settings = settings;
    if (intervalChanged && this.scaleTimer) {
      clearInterval(this.scaleTimer);
      this.scaleTimer = setInterval(() => this.autoscale(), settings.autoscaling.intervalMs);
      this.scaleTimer.unref();
    }
    // Bring the count inside the new bounds now; the autoscaler does the rest.
    const live = this.live();
    if (live.length < settings.replicas.min) {
      const from = live.length;
      for (let i = from; i < settings.replicas.min; i++) void this.addReplica().catch(() => undefined);
      this.scaled(from, settings.replicas.min, 'replicas.min raised');
    } else if (live.length > settings.replicas.max) {
      const from = live.length;
      for (let i = settings.replicas.max; i < from; i++) this.retireOne();
      this.scaled(from, settings.replicas.max, 'replicas.max lowered');
    }
    this.schedulePump();
  }

  stats() {
    const live = this.live();
    return {
      version: this.version,
      replicas: live.length,
      ready: live.filter((r) => r.ready).length,
      queueDepth: this.queue.length,
      queuedRows: this.queuedRows,
      inflight: live.reduce((n, r) => n + r.inflight, 0),
    };
  }

  submit(feeds: Feeds, rows: number): Promise<Feeds> {
    const refused = this.refuse(rows, 0);
    if (refused) return Promise.reject(refused);
    let key = '';
    if (!this.constantKey) {
      for (const name in feeds) key += feeds[name]!.dims.slice(1).join(',') + ';';
    }
    return new Promise<Feeds>((resolve, reject) => {
      this.enqueue({ request: { feeds }, rows, bytes: 0, key, enqueuedAt: performance.now(), retries: 0, resolve: (r) => resolve((r as { outputs: Feeds }).outputs), reject });
    });
  }

  /** A raw predict body (UTF-8 JSON), read and answered by a replica (only when `readsJson`). */
  submitJson(json: Uint8Array): Promise<JsonAnswer> {
    const refused = this.refuse(1, json.byteLength);
    if (refused) return Promise.reject(refused);
    return new Promise<JsonAnswer>((resolve, reject) => {
      this.enqueue({ request: { json }, rows: 1, bytes: json.byteLength, key: '', enqueuedAt: performance.now(), retries: 0, resolve: (r) => resolve(r as JsonAnswer), reject });
    });
  }

  private refuse(rows: number, bytes: number): AppError | undefined {
    if (this.closed) return new AppError(503, 'endpoint_unavailable', 'This model version is no longer served; retry the request.');
    if (this.queuedRows + rows > MAX_QUEUED_ROWS || this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      return new AppError(429, 'too_many_requests', 'The endpoint queue is full; retry shortly, or raise replicas.max.', { retryAfterSeconds: 1 });
    }
    return undefined;
  }

  private enqueue(p: Pending): void {
    this.noteQueue();
    this.queue.push(p);
    this.queuedRows += p.rows;
    this.queuedBytes += p.bytes;
    const { maxBatchSize, maxDelayMs } = this.settings.batching;
    if (maxDelayMs === 0 && this.queuedRows >= Math.max(1, Math.ceil(maxBatchSize * EAGER_FRACTION))) this.pump();
    else this.schedulePump();
  }

  /** Serves what is queued and in flight, then closes the replicas. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    return new Promise<void>((resolve) => {
      this.drained = resolve;
      this.checkDrained();
    });
  }

  /** Stops at once: queued requests fail (used when the platform shuts down after draining HTTP). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    for (const p of this.queue.splice(0)) p.reject(new AppError(503, 'endpoint_unavailable', 'The server is shutting down; retry the request.'));
    await Promise.all(this.replicas.splice(0).map((r) => this.terminate(r)));
  }

  private live(): Replica[] {
    return this.replicas.filter((r) => !r.closing && !r.dead);
  }

  private noteQueue(): void {
    const now = performance.now();
    this.queueArea += this.queuedRows * (now - this.queueChangedAt);
    this.queueChangedAt = now;
  }

  private addReplica(): Promise<void> {
    const r = new Replica();
    this.replicas.push(r);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      r.worker.on('message', (m: FromReplica) => {
        if (m.type === 'result') this.onResult(r, m.id, m.results, m.runs);
        else if (m.type === 'ready') {
          r.ready = true;
          settled = true;
          if (this.closed || this.draining) this.retire(r);
          resolve();
          this.schedulePump();
        } else if (m.type === 'error') {
          settled = true;
          r.dead = true;
          void this.terminate(r);
          reject(new Error(m.message));
        }
      });
      const failed = (why: string) => {
        if (r.closing && r.inflight === 0) return;
        if (!settled) {
          settled = true;
          r.dead = true;
          this.remove(r);
          reject(new Error(why));
          return;
        }
        if (r.dead) return;
        r.dead = true;
        this.onReplicaDied(r, why);
      };
      r.worker.on('error', (err) => failed(err.message));
      r.worker.on('exit', (code) => failed(`replica thread exited with code ${code}`));
      const load: ToReplica = { type: 'load', model: this.model, threads: 1, fetches: this.fetches, warmup: this.warmup, predict: this.predict };
      r.worker.postMessage(load);
    });
  }

  private remove(r: Replica): void {
    const i = this.replicas.indexOf(r);
    if (i >= 0) this.replicas.splice(i, 1);
  }

  private onReplicaDied(r: Replica, why: string): void {
    this.remove(r);
    this.hooks.onReplicaFailure(why);
    // Its batches go back to the front of the queue, in order; a request that has killed two
    // replicas is refused rather than retried forever.
    const again: Pending[] = [];
    for (const batch of r.batches.values()) {
      for (const p of batch) {
        if (++p.retries > 2) p.reject(new AppError(500, 'replica_failed', `The model crashed while serving this request (${why}).`));
        else again.push(p);
      }
    }
    r.batches.clear();
    this.noteQueue();
    for (const p of again) {
      this.queuedRows += p.rows;
      this.queuedBytes += p.bytes;
    }
    this.queue = again.concat(this.queue);
    this.replace();
    this.schedulePump();
  }

  /**
   * Brings the replicas back to the minimum after a death. If none can start, what waits is
   * refused (503, rather than waiting for ever) and starting is tried again every second.
   */
  private replace(): void {
    if (this.closed || this.draining || this.live().length >= Math.max(1, this.settings.replicas.min)) return;
    this.addReplica().catch((err) => {
      const why = (err as Error).message;
      this.hooks.onReplicaFailure(`a replacement replica did not start: ${why}`);
      if (this.live().length === 0) {
        const refused = new AppError(503, 'endpoint_unavailable', `No replica of this model version could be started (${why}); retry shortly.`, { retryAfterSeconds: 1 });
        this.noteQueue();
        for (const p of this.queue.splice(0)) p.reject(refused);
        this.queuedRows = 0;
        this.queuedBytes = 0;
      }
      setTimeout(() => this.replace(), 1000).unref();
    });
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the current I/O phase: requests that arrived together are batched together.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pick(): Replica | undefined {
    let best: Replica | undefined;
    for (const r of this.replicas) {
      if (!r.ready || r.closing || r.dead || r.inflight >= MAX_INFLIGHT) continue;
      if (!best || r.outstandingRows < best.outstandingRows) best = r;
    }
    return best;
  }

  private pump(): void {
    const { maxBatchSize, maxDelayMs } = this.settings.batching;
    while (this.queue.length > 0) {
      const r = this.pick();
      if (!r) return;
      if (this.batchable && maxDelayMs > 0 && this.queuedRows < maxBatchSize) {
        const waited = performance.now() - this.queue[0]!.enqueuedAt;
        if (waited < maxDelayMs) {
          if (!this.delayTimer) {
            this.delayTimer = setTimeout(() => {
              this.delayTimer = undefined;
              this.pump();
            }, Math.max(0, maxDelayMs - waited));
          }
          return;
        }
      }
      this.dispatch(r, this.takeBatch(maxBatchSize));
    }
    this.checkDrained();
  }

  private takeBatch(maxRows: number): Pending[] {
    this.noteQueue();
    const head = this.queue.shift()!;
    const batch = [head];
    let rows = head.rows;
    if (this.batchable) {
      for (let i = 0; i < this.queue.length && rows < maxRows;) {
        const p = this.queue[i]!;
        if (p.key === head.key && rows + p.rows <= maxRows) {
          batch.push(p);
          rows += p.rows;
          this.queue.splice(i, 1);
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

  private dispatch(r: Replica, batch: Pending[]): void {
    const id = ++this.seq;
    r.batches.set(id, batch);
    if (r.inflight === 0) r.busySince = performance.now();
    r.inflight++;
    for (const p of batch) r.outstandingRows += p.rows;
    // Raw bodies go as one buffer, transferred: cloning buffers through postMessage is slow.
    let bytes = -1;
    for (const p of batch) if ('json' in p.request) bytes = Math.max(bytes, 0) + p.request.json.byteLength;
    const bodies = bytes >= 0 ? new Uint8Array(bytes) : undefined; // empty bodies too: the replica refuses them
    const requests: ReplicaRequest[] = new Array(batch.length);
    let at = 0;
    for (let i = 0; i < batch.length; i++) {
      const q = batch[i]!.request;
      if ('feeds' in q) requests[i] = q;
      else {
        bodies!.set(q.json, at);
        at += q.json.byteLength;
        requests[i] = { json: q.json.byteLength };
      }
    }
    const msg: ToReplica = { type: 'run', id, requests, maxRows: this.settings.batching.maxBatchSize, bodies };
    r.worker.postMessage(msg, bodies ? [bodies.buffer] : []);
  }

  private onResult(r: Replica, id: number, results: RunResult[], runs: number[]): void {
    const batch = r.batches.get(id);
    if (!batch) return;
    r.batches.delete(id);
    r.inflight--;
    const now = performance.now();
    if (r.inflight === 0) r.busyMs += now - r.busySince;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      r.outstandingRows -= p.rows;
      this.latencySum += now - p.enqueuedAt;
      this.latencyCount++;
      const res = results[i];
      if (res?.ok) p.resolve(res);
      else if (res?.error) p.reject(new AppError(res.error.status, res.error.code, res.error.message, res.error.details));
      else p.reject(new AppError(422, 'inference_failed', `The model could not run on this input: ${res?.message ?? 'no result'}. Check the input against GET /v2/models/{endpoint}.`, { reason: res?.message }));
    }
    for (const rows of runs) this.hooks.onBatch(rows, batch.length);
    if (r.closing && r.inflight === 0) void this.terminate(r);
    this.pump();
  }

  private checkDrained(): void {
    if (!this.draining || !this.drained) return;
    if (this.queue.length > 0 || this.replicas.some((r) => r.inflight > 0)) return;
    const done = this.drained;
    this.drained = undefined;
    this.closed = true;
    void Promise.all(this.replicas.splice(0).map((r) => this.terminate(r))).then(() => done());
  }

  private retireOne(): void {
    const live = this.live();
    if (live.length === 0) return;
    // The least busy goes; a replica still loading is the cheapest to drop.
    const victim = live.find((r) => !r.ready) ?? live.reduce((a, b) => (b.outstandingRows < a.outstandingRows ? b : a));
    this.retire(victim);
  }

  private retire(r: Replica): void {
    r.closing = true;
    if (r.inflight === 0) void this.terminate(r);
  }

  private async terminate(r: Replica): Promise<void> {
    r.closing = true;
    this.remove(r);
    try {
      r.worker.postMessage({ type: 'close' } satisfies ToReplica);
    } catch {
      /* already gone */
    }
    // Referenced again, so that the process waits for the replica to release its session.
    r.worker.ref();
    const exited = new Promise<boolean>((resolve) => r.worker.once('exit', () => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref());
    if (await Promise.race([exited, timeout])) return;
    // Still inside a long run: it exits once the run ends. It is not forced: stopping a thread
    // inside an ONNX Runtime run aborts the whole process (the run returns into a stopped
    // N-API environment), so it is only no longer waited for.
    r.worker.unref();
  }

  private scaled(from: number, to: number, reason: string): void {
    this.lastScaleAt = performance.now();
    this.lastBusyAt = this.lastScaleAt;
    this.hooks.onScale({ from, to, reason });
  }

  /** One autoscaling decision from the load since the last one. */
  private autoscale(): void {
    if (this.closed || this.draining) return;
    const now = performance.now();
    this.noteQueue();
    const { intervalMs, cooldownMs, targetQueueDepth, targetLatencyMs } = this.settings.autoscaling;
    const live = this.live();
    const ready = live.filter((r) => r.ready);
    let busy = 0;
    for (const r of ready) busy += r.busyTime(now);
    const n = Math.max(1, ready.length);
    const span = Math.max(1, intervalMs);
    const utilization = busy / (span * n);
    const avgQueue = this.queueArea / span;
    const latency = this.latencyCount > 0 ? this.latencySum / this.latencyCount : 0;
    this.queueArea = 0;
    this.latencySum = 0;
    this.latencyCount = 0;
    const { min, max } = this.settings.replicas;
    if (live.length > ready.length) return; // a replica is still starting: judge once it serves
    const fmt = (x: number) => (Math.round(x * 100) / 100).toString();
    let up: string | undefined;
    if (avgQueue / n > targetQueueDepth) up = `queue depth ${fmt(avgQueue)} rows over ${n} replica(s) > target ${targetQueueDepth}`;
    else if (targetLatencyMs > 0 && latency > targetLatencyMs && avgQueue >= 1) up = `mean latency ${fmt(latency)} ms > target ${targetLatencyMs} ms`;
    else if (utilization > 0.9 && avgQueue >= 1) up = `replicas ${Math.round(utilization * 100)}% busy with requests waiting`;
    if (up) {
      this.lastBusyAt = now;
      if (live.length < max) {
        const from = live.length;
        void this.addReplica().catch((err) => this.hooks.onReplicaFailure((err as Error).message));
        this.scaled(from, from + 1, up);
      }
      return;
    }
    const quiet = avgQueue < 0.5 && (n <= 1 || (utilization * n) / (n - 1) < 0.5);
    if (!quiet) {
      this.lastBusyAt = now;
      return;
    }
    if (live.length > Math.max(1, min) && now - this.lastBusyAt >= cooldownMs && now - this.lastScaleAt >= cooldownMs) {
      const from = live.length;
      this.retireOne();
      this.scaled(from, from - 1, `low load for ${Math.round(cooldownMs / 1000)} s (${Math.round(utilization * 100)}% busy, queue ${fmt(avgQueue)})`);
    }
  }
}
