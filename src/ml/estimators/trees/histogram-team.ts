/**
 * Boosting's dense node histograms built by several threads at once, for the fits that grow one
 * tree per iteration (regression, binary classification: no per-class trees to share out). The
 * node's active features are cut into one contiguous block per thread, each thread builds its
 * features' cells of the one shared histogram with the same `RowHistograms` code over the same
 * rows in the same order, so every cell holds the same sum as on one thread: the trees are the
 * same bit for bit. The hand-off is a few words in shared memory and an `Atomics.notify` per
 * node (no message, no copy); a node with little work stays on the calling thread.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { RowHistograms } from './histogram.js';
import { TreeThreadPool } from './thread-pool.js';

/**
 * Row × feature updates of a node below which its histogram is built on the calling thread: a
 * hand-off (wake a helper, wait for it) costs about as much as this many updates on one thread.
 */
export const TEAM_MIN_WORK = 40_000;

// Control words per helper (CONTROL of them): the task number it is asked for and the last it
// finished (both count up), a stop flag, a failure flag, then the task.
const SEQ = 0;
const DONE = 1;
const STOP = 2;
const FAILED = 3;
const HIST = 4;
const START = 5;
const END = 6;
const COUNT = 7;
const CONTROL = 8;

/** What a histogram helper is set up with: the data and the per-fit arrays, all shared. */
export interface TeamSetup {
  rowBins: Uint8Array;
  n: number;
  F: number;
  offset: Int32Array;
  nBins: Int32Array;
  indices: Int32Array;
  grad: Float64Array;
  hess: Float64Array | null;
  control: Int32Array;
  /** Helper j's features of the current task at [j·F, j·F + COUNT). */
  features: Int32Array;
}

export class HistogramTeam {
  private readonly pool: TreeThreadPool;
  private readonly local: RowHistograms;
  private readonly control: Int32Array;
  private readonly features: Int32Array;
  private readonly mine: Int32Array;
  /** The shared histogram buffers the helpers know, by id. */
  private readonly ids = new Map<Float64Array, number>();
  private seq = 0;

  constructor(helpers: number, private readonly setup: Omit<TeamSetup, 'control' | 'features'>) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * CONTROL * helpers));
    this.features = new Int32Array(new SharedArrayBuffer(4 * setup.F * helpers));
    this.mine = new Int32Array(setup.F);
    this.local = new RowHistograms(setup.rowBins, setup.F, setup.offset, setup.nBins);
    this.pool = new TreeThreadPool(helpers, { kind: 'histograms', ...setup, control: this.control, features: this.features });
  }

  /** A histogram buffer the helpers can write (they are told of it before their first task on it). */
  allocate(size: number): Float64Array {
    const hist = new Float64Array(new SharedArrayBuffer(8 * size));
    const id = this.ids.size;
    this.ids.set(hist, id);
    for (let j = 0; j < this.pool.size; j++) this.pool.send(j, { id, hist });
    return hist;
  }

  /**
   * The node histogram of rows indices[start, end) over features active[at, at + nActive), as
   * `RowHistograms.build` over the gradients the team was set up with (hist: from `allocate`).
   */
  build(hist: Float64Array, start: number, end: number, active: Int32Array, at: number, nActive: number): void {
    const { F, offset, indices, grad: g, hess: h } = this.setup;
    const helpers = this.pool.size;
    if ((end - start) * nActive < TEAM_MIN_WORK || nActive <= helpers) {
      this.local.build(hist, indices, start, end, g, h, active, at, nActive, 2 * nActive >= F);
      return;
    }
    // Blocks of about equal cell counts (a row's work on a feature does not depend on its bins,
    // but the clearing and merging do), in active order.
    const cells = (a: number): number => offset[active[at + a]! + 1]! - offset[active[at + a]!]! + 8;
    let total = 0;
    for (let a = 0; a < nActive; a++) total += cells(a);
    const id = this.ids.get(hist)!;
    const seq = ++this.seq;
    const c = this.control;
    let a = 0;
    let sum = 0;
    let mineCount = 0;
    for (let part = 0; part <= helpers; part++) {
      const stop = part === helpers ? nActive : nActive - (helpers - part); // at least one feature each
      const first = a;
      while (a < stop && (a === first || sum + cells(a) / 2 <= (total * (part + 1)) / (helpers + 1))) sum += cells(a++);
      if (part === 0) {
        for (let b = first; b < a; b++) this.mine[mineCount++] = active[at + b]!;
        continue;
      }
      const j = part - 1;
      for (let b = first; b < a; b++) this.features[j * F + b - first] = active[at + b]!;
      const w = j * CONTROL;
      c[w + HIST] = id; c[w + START] = start; c[w + END] = end; c[w + COUNT] = a - first;
      Atomics.store(c, w + SEQ, seq);
      Atomics.notify(c, w + SEQ);
    }
    this.local.build(hist, indices, start, end, g, h, this.mine, 0, mineCount, false);
    for (let j = 0; j < helpers; j++) this.wait(j, seq);
  }

  /** Whether g and h are the gradients the team was set up with (the same memory, from its start). */
  reads(g: Float64Array, h: Float64Array | null): boolean {
    const same = (a: Float64Array | null, b: Float64Array | null) => a === b || (!!a && !!b && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length <= b.length);
    return same(g, this.setup.grad) && same(h, this.setup.hess);
  }

  private wait(j: number, seq: number): void {
    const c = this.control;
    const w = j * CONTROL;
    for (;;) {
      const done = Atomics.load(c, w + DONE);
      if (done === seq) break;
      if (Atomics.load(c, w + FAILED)) this.pool.receive(j); // rethrows the helper's error
      Atomics.wait(c, w + DONE, done);
    }
    if (Atomics.load(c, w + FAILED)) this.pool.receive(j);
  }

  close(): void {
    for (let j = 0; j < this.pool.size; j++) {
      Atomics.store(this.control, j * CONTROL + STOP, 1);
      Atomics.add(this.control, j * CONTROL + SEQ, 1);
      Atomics.notify(this.control, j * CONTROL + SEQ);
    }
    this.pool.close();
  }
}

/**
 * A helper thread's loop (tree-worker.ts): waits for a task, builds its features' cells, reports
 * it done; the buffers it writes arrive on `port` before their first task.
 */
export function serveHistograms(s: TeamSetup, port: MessagePort, slot: number): void {
  const { control: c, features, F } = s;
  const w = slot * CONTROL;
  const builder = new RowHistograms(s.rowBins, F, s.offset, s.nBins);
  const hists: Float64Array[] = [];
  let seen = 0;
  for (;;) {
    Atomics.wait(c, w + SEQ, seen);
    const seq = Atomics.load(c, w + SEQ);
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(c, w + STOP)) return;
    const id = c[w + HIST]!;
    try {
      while (!hists[id]) {
        const m = receiveMessageOnPort(port);
        if (m) { const { id: k, hist } = m.message as { id: number; hist: Float64Array }; hists[k] = hist; }
      }
      builder.build(hists[id]!, s.indices, c[w + START]!, c[w + END]!, s.grad, s.hess, features, slot * F, c[w + COUNT]!, false);
    } catch (e) {
      // The message first: the caller reads it as soon as it sees the flag.
      port.postMessage({ error: e instanceof Error ? e.message : String(e) });
      Atomics.store(c, w + FAILED, 1);
    }
    Atomics.store(c, w + DONE, seq);
    Atomics.notify(c, w + DONE);
  }
}
