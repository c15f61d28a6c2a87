/**
 * The replica state machine with real worker threads and ONNX Runtime: every transition is
 * awaited as an event (no sleeps), so the tests do not depend on the machine's speed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowModel } from '../../ml/testing/onnx-fixtures.js';
import type { Feeds } from './codec/instances.js';
import type { Answered, Pending } from './batch-queue.js';
import type { RunResult } from './replica-messages.js';
import { Replica, type ReplicaListener, type ReplicaState } from './replica.js';

interface Log {
  states: ReplicaState[];
  results: RunResult[][];
  failed: Array<{ why: string; from: ReplicaState; lost: Pending[][] }>;
  exits: number;
}

function replica(model: Uint8Array): { r: Replica; log: Log } {
  const log: Log = { states: [], results: [], failed: [], exits: 0 };
  const listener: ReplicaListener = {
    onReady: (r) => log.states.push(r.state),
    onResult: (r, _batch, results) => {
      log.states.push(r.state);
      log.results.push(results);
    },
    onFailed: (r, why, from, lost) => {
      log.states.push(r.state);
      log.failed.push({ why, from, lost });
    },
    onExit: (r) => {
      log.states.push(r.state);
      log.exits++;
    },
  };
  const r = new Replica({ type: 'load', model, threads: 1, fetches: ['y'], split: true }, listener);
  return { r, log };
}

function pending(rows: number): Pending {
  const feeds: Feeds = { x: { dtype: 'float32', dims: [rows, 256], data: new Float32Array(rows * 256).fill(0.1) } };
  return { request: { feeds }, rows, bytes: 0, key: '', enqueuedAt: 0, retries: 0, resolve: (_: Answered) => undefined, reject: () => undefined };
}

test('starting → ready → draining → closed: a drain finishes the batch held, then the thread exits', async () => {
  const { r, log } = replica(slowModel(4));
  assert.equal(r.state, 'starting');
  await r.started;
  assert.equal(r.state, 'ready');
  r.run([pending(10)], 4);
  assert.equal(r.inflight, 1);
  const drained = r.drain();
  assert.equal(r.state, 'draining');
  assert.throws(() => r.run([pending(1)], 4), /replica is draining, not ready/);
  await drained;
  assert.equal(r.state, 'closed');
  assert.deepEqual(log.states, ['ready', 'draining', 'closed']);
  // All three pieces of 4, 4 and 2 rows ran: the drain let the batch finish.
  const [only] = log.results[0]!;
  assert.ok(only?.ok && 'outputs' in only, JSON.stringify(only));
  assert.equal(only.outputs.y!.dims[0], 10);
  assert.equal(log.failed.length, 0);
});

test('close during a batch of several pieces: the piece under way ends, the rest is answered 503, the thread exits', async () => {
  const { r, log } = replica(slowModel(4));
  await r.started;
  // One request within the first piece, one of many pieces after it.
  r.run([pending(4), pending(400)], 4);
  await r.close();
  assert.equal(r.state, 'closed');
  const [first, second] = log.results[0]!;
  assert.ok(first?.ok && 'outputs' in first, JSON.stringify(first));
  assert.equal(first.outputs.y!.dims[0], 4);
  assert.ok(second && !second.ok, JSON.stringify(second));
  assert.equal(second.error?.kind, 'unavailable');
  assert.equal(second.error?.code, 'endpoint_unavailable');
});

test('a model that does not load: starting → failed, the start rejects, the thread still exits', async () => {
  const { r, log } = replica(new Uint8Array([1, 2, 3, 4]));
  await assert.rejects(r.started);
  assert.equal(r.state, 'failed');
  await r.exited;
  assert.equal(log.failed.length, 1);
  assert.equal(log.failed[0]!.from, 'starting');
  assert.equal(log.exits, 1);
});

test('closed while starting: the load ends, the thread exits, the start rejects', async () => {
  const { r, log } = replica(slowModel(4));
  const closed = r.close();
  assert.equal(r.state, 'draining');
  await assert.rejects(r.started, /closed before it was ready/);
  await closed;
  assert.equal(r.state, 'closed');
  assert.deepEqual(log.states, ['closed'], 'never ready');
});

test('a thread that dies with a batch in flight: → failed, the batch handed back unanswered', async () => {
  const { r, log } = replica(slowModel(4));
  await r.started;
  const batch = [pending(64)];
  r.run(batch, 64);
  // A replica bug: a message it cannot read throws outside its run handling, and the thread dies.
  r.worker.postMessage(null);
  await r.exited;
  assert.equal(r.state, 'failed');
  assert.equal(log.failed.length, 1);
  assert.equal(log.failed[0]!.from, 'ready');
  assert.deepEqual(log.failed[0]!.lost, [batch]);
  assert.equal(r.inflight, 0);
  assert.equal(log.results.length, 0);
});

test('takeBusyTime measures and restarts: a second call right after counts only from the first', async () => {
  const { r } = replica(slowModel(4));
  await r.started;
  assert.equal(r.takeBusyTime(performance.now()), 0, 'idle');
  r.run([pending(1)], 4);
  const t0 = performance.now();
  const busy = r.takeBusyTime(t0 + 1000);
  assert.ok(busy >= 1000, String(busy));
  assert.equal(r.takeBusyTime(t0 + 1000), 0, 'reset by the first call');
  await r.drain();
});
