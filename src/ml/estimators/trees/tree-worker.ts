/**
 * A helper thread of thread-pool.ts: builds a grower over the shared binned data it is set up
 * with, then grows the trees it is asked for — forest trees by seed (the next untaken one, until
 * none is left), or boosting trees by class
 * (their raw-score updates go to the shared `delta`) — answering each task with the trees; or
 * serves as a member of a boosting histogram team (histogram-team.ts).
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { BoostingGrower, growBoostingTree } from './boosting-grower.js';
import type { BoostingGrowOptions } from './boosting-grower.js';
import { ForestGrower, growForestTree } from './forest-grower.js';
import type { ForestDraws, ForestGrowOptions } from './forest-grower.js';
import { serveHistograms } from './histogram-team.js';
import type { HelperSetup } from './thread-pool.js';
import type { Target, TreeState } from '../types.js';

/** Grow trees `seeds[t]` for t taken from the shared counter `next` until it passes the last. */
export interface ForestTask { seeds: number[]; draws: ForestDraws; next: Int32Array }
export interface BoostingTask { classes: number[]; outputs: number }

const { port, done, slot, setup } = workerData as { port: MessagePort; done: Int32Array; slot: number; setup: HelperSetup };

function handler(s: Exclude<HelperSetup, { kind: 'histograms' }>): (task: unknown) => unknown {
  if (s.kind === 'forest') {
    const grower = new ForestGrower(s.bins, s.n, s.F, s.thresholds, s.target as Target, s.options as ForestGrowOptions, s.mtry);
    const weights = new Float64Array(s.n);
    return (task) => {
      const { seeds, draws, next } = task as ForestTask;
      const grown: Array<[number, TreeState]> = [];
      for (let t = Atomics.add(next, 0, 1); t < seeds.length; t = Atomics.add(next, 0, 1)) grown.push([t, growForestTree(grower, seeds[t]!, draws, weights)]);
      return grown;
    };
  }
  const grower = new BoostingGrower(s.bins, s.n, s.F, s.thresholds, s.options as BoostingGrowOptions);
  return (task) => (task as BoostingTask).classes.map((k) => growBoostingTree(grower, k, (task as BoostingTask).outputs, s.grad, s.hess, s.delta));
}

if (setup.kind === 'histograms') serveHistograms(setup, port, slot); // returns when the team closes
else serve(setup);

function serve(s: Exclude<HelperSetup, { kind: 'histograms' }>): void {
  const run = handler(s);
  port.on('message', (task: unknown) => {
    let answer: { result?: unknown; error?: string };
    try {
      answer = { result: run(task) };
    } catch (e) {
      answer = { error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(answer);
    Atomics.add(done, slot, 1);
    Atomics.notify(done, slot);
  });
}
