/**
 * The replicas of one model version behind an endpoint, and the queue in front of them: the
 * glue between the batch queue (./batch-queue.ts), the replicas (./replica.ts, each a state
 * machine around a worker thread) and the autoscaler (./autoscaler.ts, pure decisions).
 *
 * - A batch goes to the ready replica with the least outstanding work (rows in flight), at most
 *   two batches in flight per replica so that one is always ready to run when the other finishes.
 * - Dynamic batching as in Triton: a free replica takes the oldest request and every later
 *   compatible one up to `maxBatchSize` rows, waiting up to `maxDelayMs` for the batch to fill
 *   (0: take what has arrived, handing work to a free replica as soon as half a batch waits);
 *   the replica stacks them into one run and splits the outputs back. A request of more rows
 *   than `maxBatchSize` is run by its replica in pieces of `maxBatchSize` rows.
 * - Predict calls can reach the replica as raw JSON bytes (`submitJson`): the replica parses,
 *   checks, runs and answers them, so this thread only routes. Their rows are counted as one per
 *   request until a replica reads them.
 * - Every `intervalMs` the load since the last tick goes to the autoscaler; a replica is added or
 *   removed as it decides, and each change is reported through `onScale`.
 * - A replica whose thread dies has its batches queued again (twice at most) and is replaced.
 * - `drain()` (a version leaving the traffic) and `close()` (shutdown) take no new request;
 *   drain answers everything queued and in flight, close refuses what is queued (503) and lets
 *   the runs under way end after their current piece. Both end when every replica thread has
 *   exited: no thread is ever stopped inside a run, nor left running when they resolve.
 *
 * The hot path (submit → enqueue → pump → dispatch → result) allocates one promise per request
 * and one array per batch, nothing per replica or per state change.
 */
import { DomainError, InternalError, InvalidInputError, QuotaExceededError, UnavailableError, domainErrorFrom } from '../../infra/errors.js';
import type { Feeds } from './codec/instances.js';
import { Autoscaler, type AutoscalingSettings } from './autoscaler.js';
import { BatchQueue, type Pending } from './batch-queue.js';
import type { PredictSpec } from './codec/predict-body.js';
import type { BatchStats, SequenceRequest, TokenEvent } from '../../engine/lm/continuous-batch.js';
import type { ExternalDataFile, GenerationLoad, RunResult } from './replica-messages.js';
import { Replica, type ReplicaListener, type ReplicaState } from './replica.js';

export type { AutoscalingSettings } from './autoscaler.js';

export interface BatchingSettings {
  maxBatchSize: number;
  maxDelayMs: number;
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

/** A predict call answered by a replica: the JSON text of the answer, and the rows predicted. */
export interface JsonAnswer {
  answer: string;
  rows: number;
}

/** Where a sequence's tokens go (on the main thread), until one has `finish` or an error comes. */
export interface GenerationSink {
  onToken(e: TokenEvent): void;
  onError(err: DomainError): void;
}

/** A sequence submitted to a language model's pool. */
export interface GenerationHandle {
  /** Stops it: its slot in the batch is free at once; no more tokens come. */
  cancel(): void;
}

interface QueuedSequence {
  request: SequenceRequest;
  sink: GenerationSink;
  replica?: Replica;
}

/** Sequences that may wait for a slot, per sequence a replica runs at once (maxBatchSize). */
const SEQUENCE_QUEUE_FACTOR = 2;

/** running → draining (drain) → closed, or running/draining → closed (close). */
type PoolState = 'running' | 'draining' | 'closed';

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
/** A request whose replica died this many times is refused rather than retried for ever. */
const MAX_RETRIES = 2;

const shuttingDown = () => new UnavailableError('endpoint_unavailable', 'The server is shutting down; retry the request.');

export class VersionPool {
  /** Every replica whose thread has not exited yet, whatever its state. */
  private readonly replicas: Replica[] = [];
  private readonly queue: BatchQueue;
  private readonly autoscaler = new Autoscaler(performance.now());
  private state: PoolState = 'running';
  private pumpScheduled = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private scaleTimer: NodeJS.Timeout | undefined;
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  // Latencies answered since the last autoscaling tick.
  private latencySum = 0;
  private latencyCount = 0;
  private readonly constantKey: boolean;
  private readonly listener: ReplicaListener = {
    onReady: () => {
      this.schedulePump();
      if (this.generation) this.dispatchSequences();
    },
    onResult: (_r, batch, results, runs) => this.onResult(batch, results, runs),
    onFailed: (_r, why, from, lost) => this.onReplicaFailed(why, from, lost),
    onExit: (r) => this.onReplicaExit(r),
    onTokens: (_r, events) => this.onTokens(events),
    onSequencesLost: (_r, ids) => this.onSequencesLost(ids),
  };
  /** A language model's pool: every sequence not ended, by id; those without a replica wait in `waiting`. */
  private readonly sequences = new Map<number, QueuedSequence>();
  private readonly waiting: QueuedSequence[] = [];
  private sequenceIds = 0;
  /** Sequences waiting, integrated over time (sequence·ms) since the last autoscaling tick, and when that count last changed. */
  private waitingArea = 0;
  private waitingChangedAt = performance.now();
  /** Tokens generated since the last autoscaling tick. */
  private tokensGenerated = 0;

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
    /** The graph's external data files (Hugging Face imports over 2 GB keep their weights there). */
    private readonly externalData?: ExternalDataFile[],
    /** Given: a language model, whose replicas generate (`generate`) in a continuous batch. */
    private readonly generation?: GenerationLoad,
  ) {
    this.constantKey = fixedInnerShapes;
    this.queue = new BatchQueue(batchable, fixedInnerShapes);
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
    if (this.state === 'running') this.startTimer();
  }

  update(settings: PoolSettings): void {
    const intervalChanged = settings.autoscaling.intervalMs !== this.settings.autoscaling.intervalMs;
    this.settings = settings;
    if (this.state !== 'running') return;
    if (intervalChanged && this.scaleTimer) this.startTimer();
    // Bring the count inside the new bounds now; the autoscaler does the rest.
    const from = this.live().length;
    if (from < settings.replicas.min) {
      for (let i = from; i < settings.replicas.min; i++) void this.addReplica().catch(() => undefined);
      this.scaled(from, settings.replicas.min, 'replicas.min raised');
    } else if (from > settings.replicas.max) {
      for (let i = settings.replicas.max; i < from; i++) this.retireOne();
      this.scaled(from, settings.replicas.max, 'replicas.max lowered');
    }
    this.schedulePump();
  }

  stats() {
    let replicas = 0;
    let ready = 0;
    let inflight = 0;
    for (const r of this.replicas) {
      if (r.live) replicas++;
      if (r.state === 'ready') ready++;
      inflight += r.inflight;
    }
    return { version: this.version, replicas, ready, queueDepth: this.queue.length + this.waiting.length, queuedRows: this.queue.rows, inflight };
  }

  /**
   * A language model's continuous batches: sequences running and being prefilled, tokens in the
   * cache, and what the replicas can hold (maxBatchSize sequences × the context each).
   */
  generationStats(): BatchStats & { waiting: number; sequenceSlots: number; cacheTokens: number } {
    const out = { running: 0, prefilling: 0, cachedTokens: 0, waiting: this.waiting.length, sequenceSlots: 0, cacheTokens: 0 };
    const slots = this.settings.batching.maxBatchSize;
    for (const r of this.replicas) {
      if (r.state !== 'ready') continue;
      out.running += r.batchStats.running;
      out.prefilling += r.batchStats.prefilling;
      out.cachedTokens += r.batchStats.cachedTokens;
      out.sequenceSlots += slots;
      out.cacheTokens += slots * (this.generation?.shape.context ?? 0);
    }
    return out;
  }

  /**
   * Generates a sequence on the replica with the fewest under way, or waits for a slot in a
   * bounded queue (maxBatchSize × SEQUENCE_QUEUE_FACTOR per replica); beyond it → 429.
   */
  generate(request: Omit<SequenceRequest, 'id'>, sink: GenerationSink): GenerationHandle {
    if (!this.generation) throw new Error('this pool does not serve a language model');
    if (this.state !== 'running') throw new UnavailableError('endpoint_unavailable', 'This model version is no longer served; retry the request.', { retryAfterSeconds: 1 });
    const capacity = this.settings.batching.maxBatchSize * SEQUENCE_QUEUE_FACTOR * Math.max(1, this.live().length);
    if (this.waiting.length >= capacity && !this.freeReplica()) {
      throw new QuotaExceededError('too_many_requests', `Every sequence slot of this endpoint is taken and ${this.waiting.length} requests wait already; retry shortly, or raise batching.maxBatchSize or replicas.max.`, { retryAfterSeconds: 1, waiting: this.waiting.length });
    }
    const q: QueuedSequence = { request: { ...request, id: ++this.sequenceIds }, sink };
    this.sequences.set(q.request.id, q);
    this.noteWaiting();
    this.waiting.push(q);
    this.dispatchSequences();
    return { cancel: () => this.cancelSequence(q) };
  }

  private cancelSequence(q: QueuedSequence): void {
    if (!this.sequences.delete(q.request.id)) return;
    const w = this.waiting.indexOf(q);
    this.noteWaiting();
    if (w >= 0) this.waiting.splice(w, 1);
    q.replica?.cancel(q.request.id);
    this.dispatchSequences();
  }

  private freeReplica(): Replica | undefined {
    let best: Replica | undefined;
    const slots = this.settings.batching.maxBatchSize;
    for (const r of this.replicas) {
      if (r.state !== 'ready' || r.generating.size >= slots) continue;
      if (!best || r.generating.size < best.generating.size) best = r;
    }
    return best;
  }

  private dispatchSequences(): void {
    while (this.waiting.length > 0) {
      const r = this.freeReplica();
      if (!r) return;
      this.noteWaiting();
      const q = this.waiting.shift()!;
      q.replica = r;
      r.generate(q.request);
    }
    this.checkDrained();
  }

  /** Before the number of waiting sequences changes: their area so far, for the autoscaler (waiting sequences count as queued rows). */
  private noteWaiting(): void {
    const now = performance.now();
    this.waitingArea += this.waiting.length * (now - this.waitingChangedAt);
    this.waitingChangedAt = now;
  }

  private onTokens(events: TokenEvent[]): void {
    for (const e of events) {
      const q = this.sequences.get(e.id);
      if (!q) continue;
      if (e.finish) this.sequences.delete(e.id);
      if (e.token !== undefined) this.tokensGenerated++;
      q.sink.onToken(e);
    }
    this.dispatchSequences();
  }

  private onSequencesLost(ids: number[]): void {
    for (const id of ids) {
      const q = this.sequences.get(id);
      if (!q) continue;
      this.sequences.delete(id);
      q.sink.onError(this.state === 'closed' ? shuttingDown() : new UnavailableError('replica_failed', 'The model stopped while generating this answer; retry the request.', { retryAfterSeconds: 1 }));
    }
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

  /**
   * Takes no new request, answers everything queued and in flight, then closes the replicas.
   * Resolves when their threads have exited.
   */
  drain(): Promise<void> {
    if (this.state === 'closed') return this.closing ?? this.drained ?? Promise.resolve();
    if (!this.drained) {
      this.state = 'draining';
      this.stopTimers(false);
      this.drained = new Promise<void>((resolve) => (this.resolveDrained = resolve));
    }
    this.checkDrained();
    return this.drained;
  }

  /**
   * Takes no new request and refuses what is queued (503); the runs under way end after their
   * current piece of at most `maxBatchSize` rows (answered, or 503 for what they did not reach).
   * Resolves when every replica thread has exited, which takes at most one piece.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.state = 'closed';
      this.stopTimers(true);
      this.queue.rejectAll(shuttingDown());
      for (const q of this.waiting.splice(0)) {
        this.sequences.delete(q.request.id);
        q.sink.onError(shuttingDown());
      }
      const exits = this.replicas.map((r) => r.close());
      this.closing = Promise.all(exits).then(() => this.resolveDrained?.());
    }
    return this.closing;
  }

  private refuse(rows: number, bytes: number): DomainError | undefined {
    if (this.state !== 'running') return new UnavailableError('endpoint_unavailable', 'This model version is no longer served; retry the request.');
    if (this.queue.full(rows, bytes)) {
      return new QuotaExceededError('too_many_requests', 'The endpoint queue is full; retry shortly, or raise replicas.max.', { retryAfterSeconds: 1 });
    }
    return undefined;
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    const { maxBatchSize, maxDelayMs } = this.settings.batching;
    if (maxDelayMs === 0 && this.queue.rows >= Math.max(1, Math.ceil(maxBatchSize * EAGER_FRACTION))) this.pump();
    else this.schedulePump();
  }

  private startTimer(): void {
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    this.scaleTimer = setInterval(() => this.autoscale(), this.settings.autoscaling.intervalMs);
    this.scaleTimer.unref();
  }

  private stopTimers(all: boolean): void {
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    this.scaleTimer = undefined;
    if (all && this.delayTimer) clearTimeout(this.delayTimer);
  }

  /** Replicas starting or ready: the serving capacity. */
  private live(): Replica[] {
    return this.replicas.filter((r) => r.live);
  }

  private addReplica(): Promise<void> {
    const r = new Replica({
      type: 'load', model: this.model, threads: 1, fetches: this.fetches, split: this.batchable, warmup: this.warmup, predict: this.predict, externalData: this.externalData, generation: this.generation,
    }, this.listener);
    this.replicas.push(r);
    return r.started;
  }

  private onReplicaFailed(why: string, from: ReplicaState, lost: Pending[][]): void {
    // A replica that did not load is reported by whoever started it (start, replace, scale-up).
    if (from === 'starting') return;
    this.hooks.onReplicaFailure(why);
    const again: Pending[] = [];
    for (const batch of lost) {
      for (const p of batch) {
        if (this.state === 'closed') p.reject(shuttingDown());
        else if (++p.retries > MAX_RETRIES) p.reject(new InternalError('replica_failed', `The model crashed while serving this request (${why}).`));
        else again.push(p);
      }
    }
    this.queue.requeueFront(again);
    this.replace();
    this.schedulePump();
  }

  private onReplicaExit(r: Replica): void {
    const i = this.replicas.indexOf(r);
    if (i >= 0) this.replicas.splice(i, 1);
    this.checkDrained();
  }

  /**
   * Brings the replicas back to what is needed after a death: the minimum while running, one
   * while a drain still has requests to answer. If none can start, what waits is refused (503,
   * rather than waiting for ever) and starting is tried again every second.
   */
  private replace(): void {
    if (this.state === 'closed') return;
    const needed = this.state === 'running' ? Math.max(1, this.settings.replicas.min) : this.queue.length > 0 ? 1 : 0;
    if (this.live().length >= needed) return;
    this.addReplica().catch((err) => {
      const why = (err as Error).message;
      this.hooks.onReplicaFailure(`a replacement replica did not start: ${why}`);
      if (this.live().length === 0) {
        this.queue.rejectAll(new UnavailableError('endpoint_unavailable', `No replica of this model version could be started (${why}); retry shortly.`, { retryAfterSeconds: 1 }));
        this.checkDrained();
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
      if (r.state !== 'ready' || r.inflight >= MAX_INFLIGHT) continue;
      if (!best || r.outstandingRows < best.outstandingRows) best = r;
    }
    return best;
  }

  private pump(): void {
    const { maxBatchSize, maxDelayMs } = this.settings.batching;
    while (this.queue.length > 0) {
      const r = this.pick();
      if (!r) return;
      if (this.batchable && maxDelayMs > 0 && this.queue.rows < maxBatchSize) {
        const waited = performance.now() - this.queue.oldestAt;
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
      r.run(this.queue.take(maxBatchSize), maxBatchSize);
    }
    this.checkDrained();
  }

  private onResult(batch: Pending[], results: RunResult[], runs: number[]): void {
    const now = performance.now();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      this.latencySum += now - p.enqueuedAt;
      this.latencyCount++;
      const res = results[i];
      if (res?.ok) p.resolve(res);
      else if (res?.error) p.reject(domainErrorFrom(res.error));
      else p.reject(new InvalidInputError('inference_failed', `The model could not run on this input: ${res?.message ?? 'no result'}. Check the input against GET /v2/models/{endpoint}.`, { reason: res?.message }));
    }
    for (const rows of runs) this.hooks.onBatch(rows, batch.length);
    this.pump();
  }

  /** While draining: once nothing waits, the replicas drain; once their threads have exited, the drain is over. */
  private checkDrained(): void {
    if (this.state !== 'draining' || this.queue.length > 0 || this.waiting.length > 0) return;
    for (const r of this.replicas) if (r.live) void r.drain();
    if (this.replicas.length > 0) return;
    this.state = 'closed';
    this.resolveDrained?.();
  }

  private retireOne(): void {
    const live = this.live();
    if (live.length === 0) return;
    // The least busy goes; a replica still loading is the cheapest to drop.
    const victim = live.find((r) => r.state === 'starting') ?? live.reduce((a, b) => (b.outstandingRows < a.outstandingRows ? b : a));
    void victim.drain();
  }

  private scaled(from: number, to: number, reason: string): void {
    this.autoscaler.noteScaled(performance.now());
    this.hooks.onScale({ from, to, reason });
  }

  /** One autoscaling tick: the load since the last one, to the autoscaler; its decision, applied. */
  private autoscale(): void {
    if (this.state !== 'running') return;
    const now = performance.now();
    let replicas = 0;
    let ready = 0;
    let busyMs = 0;
    for (const r of this.replicas) {
      if (!r.live) continue;
      replicas++;
      if (r.state === 'ready') {
        ready++;
        busyMs += r.takeBusyTime(now);
      }
    }
    this.noteWaiting();
    const load = { queueRowMs: this.queue.takeArea() + this.waitingArea, busyMs, latencySumMs: this.latencySum, latencyCount: this.latencyCount, tokens: this.tokensGenerated, replicas, ready };
    this.tokensGenerated = 0;
    this.latencySum = 0;
    this.latencyCount = 0;
    this.waitingArea = 0;
    const d = this.autoscaler.decide(load, this.settings, now);
    if (d.change === 1) {
      void this.addReplica().catch((err) => this.hooks.onReplicaFailure((err as Error).message));
      this.hooks.onScale({ from: replicas, to: replicas + 1, reason: d.reason });
    } else if (d.change === -1) {
      this.retireOne();
      this.hooks.onScale({ from: replicas, to: replicas - 1, reason: d.reason });
    }
  }
}
