/**
 * One serving replica as seen from the main thread: a worker thread (./replica-worker.ts) that
 * owns an ONNX Runtime session, and the batches it holds.
 *
 * Its life is one state machine:
 *
 *   starting ──ready──▶ ready ──drain()/close()──▶ draining ──thread exits──▶ closed
 *       │                 │                           │
 *       └── the model does not load, or the thread dies ──▶ failed (its batches handed back)
 *
 * (`drain()`/`close()` while starting go to draining too: the load ends, then the thread exits.)
 *
 * Only a ready replica takes batches. Leaving it never stops the thread: a thread stopped inside
 * an ONNX Runtime run aborts the whole process (the run returns into a stopped N-API
 * environment), so draining means "no more batches; the worker releases its session once its
 * runs have ended, then exits", and the replica is done when the thread has exited.
 * `drain()` lets the runs held finish; `close()` has them end after their current piece of at
 * most `maxRows` rows (the rest of those batches is answered 503), so a shutdown waits for one
 * piece, however large the requests.
 *
 * The thread holds the process (is referenced) whenever it has work or is on its way out:
 * while starting, while a batch is in flight, and from drain/close/failure until it has exited.
 * Only a ready, idle replica lets the process exit (a server's sockets hold it meanwhile).
 */
import { Worker } from 'node:worker_threads';
// Loaded here too so that the native addon stays loaded for the life of the process: once every
// thread that loaded it has gone, a new replica thread cannot load it again (Node: "Module did
// not self-register"), and a pool that lost its last replica could not replace it.
import 'onnxruntime-node';
import type { Pending } from './batch-queue.js';
import type { BatchStats, SequenceRequest, TokenEvent } from '../../engine/lm/continuous-batch.js';
import type { FromReplica, ReplicaRequest, RunResult, ToReplica } from './replica-messages.js';

export type ReplicaState = 'starting' | 'ready' | 'draining' | 'closed' | 'failed';

export type LoadMessage = Extract<ToReplica, { type: 'load' }>;

export interface ReplicaListener {
  /** starting → ready: it takes batches. */
  onReady(r: Replica): void;
  /** A batch it held was answered: `results` in request order, `runs` the rows of each model run. */
  onResult(r: Replica, batch: Pending[], results: RunResult[], runs: number[]): void;
  /** → failed. `from`: the state it failed in; `lost`: the batches it held, unanswered. */
  onFailed(r: Replica, why: string, from: ReplicaState, lost: Pending[][]): void;
  /** Its thread has exited (after closed or failed): nothing of it remains. */
  onExit(r: Replica): void;
  /** A language model's replica: the tokens of one decoding iteration (sequences that ended are no longer `generating`). */
  onTokens?(r: Replica, events: TokenEvent[], stats: BatchStats): void;
  /** A language model's replica failed with these sequences under way. */
  onSequencesLost?(r: Replica, ids: number[]): void;
}

const WORKER_URL = new URL('./replica-worker.js', import.meta.url);

export class Replica {
  readonly worker: Worker;
  private current: ReplicaState = 'starting';
  /** Batches sent and not yet answered, by id. */
  readonly batches = new Map<number, Pending[]>();
  inflight = 0;
  /** Rows of the batches in flight (the pool sends work to the replica with the fewest). */
  outstandingRows = 0;
  private seq = 0;
  /** A language model's replica: the sequences it is generating. */
  readonly generating = new Set<number>();
  /** Its continuous batch after the last iteration reported. */
  batchStats: BatchStats = { running: 0, prefilling: 0, cachedTokens: 0 };
  private busySince = 0;
  private busyMs = 0;
  private closeSent = false;
  private stopSent = false;
  private gone = false;
  /** Resolves when it is ready; rejects if it fails, or is closed, before that. */
  readonly started: Promise<void>;
  /** Resolves when its thread has exited (never rejects). */
  readonly exited: Promise<void>;
  private settleStart!: (err?: Error) => void;
  private markExited!: () => void;

  constructor(load: LoadMessage, private readonly listener: ReplicaListener) {
    this.started = new Promise<void>((resolve, reject) => {
      this.settleStart = (err) => (err ? reject(err) : resolve());
    });
    // Whoever waits for it sees the rejection; nobody waiting is not an error.
    this.started.catch(() => undefined);
    this.exited = new Promise<void>((resolve) => (this.markExited = resolve));
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (m: FromReplica) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err.message));
    this.worker.on('exit', (code) => this.onThreadExit(code));
    this.worker.postMessage(load);
  }

  get state(): ReplicaState {
    return this.current;
  }

  /** Whether it counts as serving capacity (starting or ready). */
  get live(): boolean {
    return this.current === 'starting' || this.current === 'ready';
  }

  /** Sends a batch (only while ready). Rows past `maxRows` are run in further pieces by the replica. */
  run(batch: Pending[], maxRows: number): void {
    if (this.current !== 'ready') throw new Error(`replica is ${this.current}, not ready`);
    const id = ++this.seq;
    this.batches.set(id, batch);
    if (this.inflight++ === 0) {
      this.busySince = performance.now();
      this.worker.ref();
    }
    for (const p of batch) this.outstandingRows += p.rows;
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
    const msg: ToReplica = { type: 'run', id, requests, maxRows, bodies };
    this.worker.postMessage(msg, bodies ? [bodies.buffer] : []);
  }

  /** A language model's replica: starts generating a sequence (only while ready). */
  generate(request: SequenceRequest): void {
    if (this.current !== 'ready') throw new Error(`replica is ${this.current}, not ready`);
    this.generating.add(request.id);
    if (this.inflight++ === 0) {
      this.busySince = performance.now();
      this.worker.ref();
    }
    this.worker.postMessage({ type: 'generate', request } satisfies ToReplica);
  }

  /** Stops a sequence: it is no longer counted from now on (its slot is free at once). */
  cancel(id: number): void {
    if (!this.generating.delete(id)) return;
    this.sequenceEnded();
    try {
      this.worker.postMessage({ type: 'cancel', id } satisfies ToReplica);
    } catch {
      /* the thread is gone already */
    }
  }

  private sequenceEnded(): void {
    if (--this.inflight === 0) {
      this.busyMs += performance.now() - this.busySince;
      if (this.current === 'ready') this.worker.unref();
    }
  }

  private onTokens(events: TokenEvent[], stats: BatchStats): void {
    this.batchStats = stats;
    const live: TokenEvent[] = [];
    for (const e of events) {
      if (!this.generating.has(e.id)) continue; // cancelled here already
      live.push(e);
      if (e.finish) {
        this.generating.delete(e.id);
        this.sequenceEnded();
      }
    }
    if (live.length > 0) this.listener.onTokens?.(this, live, stats);
  }

  /** → draining: takes no more batches, finishes every batch it holds, then exits. Resolves on exit. */
  drain(): Promise<void> {
    return this.leave(false);
  }

  /**
   * → draining: takes no more batches; each batch it holds ends after the piece under way (the
   * requests not run to their end are answered 503), then it exits. Resolves on exit.
   */
  close(): Promise<void> {
    return this.leave(true);
  }

  /** Time spent with batches in flight since the previous call (ms); starts the next measure. */
  takeBusyTime(now: number): number {
    const t = this.busyMs + (this.inflight > 0 ? now - this.busySince : 0);
    this.busyMs = 0;
    if (this.inflight > 0) this.busySince = now;
    return t;
  }

  private leave(stop: boolean): Promise<void> {
    if (this.gone) return this.exited;
    if (this.current === 'starting') this.settleStart(new Error('the replica was closed before it was ready'));
    if (this.live) this.current = 'draining';
    this.worker.ref();
    this.askToClose(stop);
    return this.exited;
  }

  /** Asks the thread to release its session and exit (once, and again only to escalate to `stop`). */
  private askToClose(stop: boolean): void {
    if (this.closeSent && (this.stopSent || !stop)) return;
    this.closeSent = true;
    this.stopSent ||= stop;
    try {
      this.worker.postMessage({ type: 'close', stop } satisfies ToReplica);
    } catch {
      /* the thread is already gone: its exit event follows */
    }
  }

  private onMessage(m: FromReplica): void {
    if (m.type === 'result') this.onResult(m.id, m.results, m.runs);
    else if (m.type === 'tokens') this.onTokens(m.events, m.stats);
    else if (m.type === 'ready') {
      if (this.current !== 'starting') return; // closed while loading: it exits next
      this.current = 'ready';
      this.worker.unref();
      this.settleStart();
      this.listener.onReady(this);
    } else if (m.type === 'error') {
      this.fail(m.message);
    }
  }

  private onResult(id: number, results: RunResult[], runs: number[]): void {
    const batch = this.batches.get(id);
    if (!batch) return;
    this.batches.delete(id);
    for (const p of batch) this.outstandingRows -= p.rows;
    if (--this.inflight === 0) {
      this.busyMs += performance.now() - this.busySince;
      if (this.current === 'ready') this.worker.unref();
    }
    this.listener.onResult(this, batch, results, runs);
  }

  /** → failed (once): the batches it held go back to the listener; a living thread is asked to exit. */
  private fail(why: string): void {
    if (this.current === 'failed' || this.current === 'closed') return;
    const from = this.current;
    this.current = 'failed';
    if (from === 'starting') this.settleStart(new Error(why));
    const lost = [...this.batches.values()];
    const lostSequences = [...this.generating];
    this.generating.clear();
    this.batches.clear();
    this.inflight = 0;
    this.outstandingRows = 0;
    if (!this.gone) {
      // A model that did not load leaves a living thread: it releases what it holds and exits.
      this.worker.ref();
      this.askToClose(true);
    }
    this.listener.onFailed(this, why, from, lost);
    if (lostSequences.length > 0) this.listener.onSequencesLost?.(this, lostSequences);
  }

  private onThreadExit(code: number): void {
    this.gone = true;
    // Exiting as asked, with nothing held, is the end of a drain or close; anything else is a failure.
    if (this.current === 'draining' && this.batches.size === 0 && this.generating.size === 0) this.current = 'closed';
    else this.fail(`replica thread exited with code ${code}`);
    this.markExited();
    this.listener.onExit(this);
  }
}
