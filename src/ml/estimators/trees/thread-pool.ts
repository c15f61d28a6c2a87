/**
 * Helper threads for the tree ensembles: the trees of a forest, and a boosting iteration's
 * per-class trees, are independent, so `threads − 1` worker threads grow a share of them while
 * the calling thread grows its own. The fits are synchronous functions, so the pool is too: the
 * caller blocks on `Atomics.wait` until each helper has answered, and reads the answer with
 * `receiveMessageOnPort` (no event-loop turn needed). Helpers get the binned data once, in
 * shared memory (tree-worker.ts builds their growers from it).
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { TeamSetup } from './histogram-team.js';

/** What a helper is set up with (tree-worker.ts): a grower of either kind, or a histogram-team member, over shared data. */
export type HelperSetup =
  | { kind: 'forest'; bins: Uint8Array; n: number; F: number; thresholds: Float64Array[]; target: unknown; options: unknown; mtry: number }
  | { kind: 'boosting'; bins: Uint8Array; n: number; F: number; thresholds: Float64Array[]; options: unknown; grad: Float64Array; hess: Float64Array | null; delta: Float64Array }
  | ({ kind: 'histograms' } & TeamSetup);

interface Helper {
  worker: Worker;
  port: MessagePort;
}

/** A typed array's contents in shared memory (helpers read it without a copy). */
export function shared<T extends Uint8Array | Int32Array | Float64Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/**
 * How many helper threads a fit starts: none unless granted more than one thread, the work is
 * large enough to pay for starting them (`pays`) and there are independent trees to share out.
 */
export function helperThreads(threads: number | undefined, pays: boolean, independentTrees: number): number {
  const t = Math.floor(threads ?? 1);
  return pays && t > 1 ? Math.min(t, independentTrees) - 1 : 0;
}

export class TreeThreadPool {
  private readonly helpers: Helper[] = [];
  /** One counter per helper, bumped (and notified) when it has posted an answer. */
  private readonly done: Int32Array;

  /** Starts `count` helpers, each set up with `setup`. */
  constructor(count: number, setup: HelperSetup) {
    this.done = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, count)));
    const url = new URL('./tree-worker.js', import.meta.url);
    for (let j = 0; j < count; j++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(url, { workerData: { port: port2, done: this.done, slot: j, setup }, transferList: [port2] });
      worker.unref();
      this.helpers.push({ worker, port: port1 });
    }
  }

  get size(): number {
    return this.helpers.length;
  }

  /** Sends helper j its task (it starts at once). */
  send(j: number, task: unknown): void {
    this.helpers[j]!.port.postMessage(task);
  }

  /** Blocks until helper j answers; rethrows its error. */
  receive<R>(j: number): R {
    const { port } = this.helpers[j]!;
    for (;;) {
      const seen = Atomics.load(this.done, j);
      const m = receiveMessageOnPort(port);
      if (m) {
        const answer = m.message as { error?: string; result?: R };
        if (answer.error !== undefined) throw new Error(`a tree-growing thread failed: ${answer.error}`);
        return answer.result as R;
      }
      Atomics.wait(this.done, j, seen);
    }
  }

  close(): void {
    for (const h of this.helpers) { h.port.close(); void h.worker.terminate(); }
    this.helpers.length = 0;
  }
}
