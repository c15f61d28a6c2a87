/**
 * Spare worker processes: a node agent keeps a few worker processes started ahead of need, with
 * the last job type's module already imported, so that a job's run starts without paying for a
 * Node process start and its module graph (0.5–1.5 s of CPU, most of a small training job's
 * overhead). A spare is forked with the environment every run of this node shares; what differs
 * per job (its id, thread counts, GPUs) goes in the start message and is applied before the job's
 * code runs. Jobs a spare cannot serve exactly (GPUs, more than 4 threads: libuv's thread pool is
 * sized at the first file access, and the spare has done that) get a process of their own.
 *
 * Spares are started when the agent starts and after a run ends (not when one starts, where they
 * would take CPU from the job being started), exit with their parent (the worker exits when its
 * IPC channel closes) and are killed when the agent stops.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { FromWorker } from './job-process-protocol.js';

export interface SpareOptions {
  workerEntry: string;
  /** The environment shared by every run of the node (without the per-job variables). */
  env: Record<string, string | undefined>;
  /** Spares kept at most, one per heap limit (0: none). */
  count: number;
}

/** A worker process started ahead of need; `ready` once it said so (it may be handed over before). */
export interface SpareWorker {
  child: ChildProcess;
  memoryMb: number;
  ready: boolean;
}

/** The libuv thread pool every spare gets (the per-job value is max(4, threads)). */
export const SPARE_THREADPOOL = 4;

export class SpareWorkers {
  private readonly idle: SpareWorker[] = [];
  private stopped = false;

  constructor(private readonly o: SpareOptions) {}

  /** Whether a job with these resources can run in a spare. */
  static fits(job: { threads: number; gpuIds: number[] }): boolean {
    return job.gpuIds.length === 0 && job.threads <= SPARE_THREADPOOL;
  }

  /** An idle spare started with this heap limit, now the caller's (undefined: none). */
  take(memoryMb: number): SpareWorker | undefined {
    const i = this.idle.findIndex((s) => s.memoryMb === memoryMb && s.child.connected);
    if (i < 0) return undefined;
    const [spare] = this.idle.splice(i, 1);
    spare!.child.removeAllListeners('exit');
    spare!.child.removeAllListeners('message');
    return spare;
  }

  /**
   * Makes sure a spare waits for the next job with this heap limit (importing `preload` ahead):
   * one per heap limit, the `count` most recently asked for (the oldest other one gives way).
   */
  fill(memoryMb: number, preload: string | undefined): void {
    if (this.stopped || this.o.count < 1 || this.idle.some((s) => s.memoryMb === memoryMb)) return;
    if (this.idle.length >= this.o.count) void this.kill(this.idle.shift()!);
    this.idle.push(this.start(memoryMb, preload));
  }

  /** Kills the idle spares and waits for them to exit; no more are started. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.idle.splice(0).map((s) => this.kill(s)));
  }

  /** Idle spares (tests, metrics). */
  get size(): number {
    return this.idle.length;
  }

  private start(memoryMb: number, preload: string | undefined): SpareWorker {
    const child = fork(this.o.workerEntry, [], {
      execArgv: [`--max-old-space-size=${Math.max(16, Math.floor(memoryMb))}`],
      env: { ...this.o.env, UV_THREADPOOL_SIZE: String(SPARE_THREADPOOL), ...(preload ? { AIAAS_WORKER_PRELOAD: preload } : {}) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const spare: SpareWorker = { child, memoryMb, ready: false };
    // An idle spare keeps no process alive; what it prints before it is handed a job is nobody's.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    child.stdout?.resume();
    child.stderr?.resume();
    child.on('message', (m: FromWorker) => { if (m.t === 'ready') spare.ready = true; });
    child.once('exit', () => {
      const i = this.idle.indexOf(spare);
      if (i >= 0) this.idle.splice(i, 1);
    });
    child.once('error', () => undefined);
    return spare;
  }

  private kill(s: SpareWorker): Promise<void> {
    const c = s.child;
    if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      // Waited for: the exit must keep the process alive until it comes.
      c.ref();
      c.kill('SIGKILL');
    });
  }
}
