/**
 * A replica pool with real worker threads and ONNX Runtime: a replica whose thread dies while
 * it holds requests has them run again elsewhere, and is replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { slowModel } from '../../interfaces/testing/onnx-fixtures.js';
import type { Feeds } from '../../ml/instances.js';
import { VersionPool, type PoolSettings } from './pool.js';

const settings: PoolSettings = {
  replicas: { min: 1, max: 1 },
  batching: { maxBatchSize: 4, maxDelayMs: 0 },
  autoscaling: { intervalMs: 60_000, cooldownMs: 60_000, targetQueueDepth: 1000, targetLatencyMs: 0 },
};

const row = (v: number): Feeds => ({ x: { dtype: 'float32', dims: [1, 256], data: new Float32Array(256).fill(v) } });

test('a replica that dies with requests in flight: they are answered by its replacement, and the failure is reported', async () => {
  const failures: string[] = [];
  const pool = new VersionPool(1, slowModel(200), ['y'], settings, {
    onScale: () => undefined,
    onBatch: () => undefined,
    onReplicaFailure: (m) => failures.push(m),
  }, true, true);
  await pool.start();
  // Replica threads do not hold the process (a server's sockets do); this test holds it.
  const hold = setInterval(() => undefined, 1000);
  try {
    const expected = await pool.submit(row(0.5), 1);
    const replicas = (pool as unknown as { replicas: Array<{ worker: Worker }> }).replicas;
    const first = replicas[0]!.worker;
    // Batches go to the replica as they are submitted (half a batch waiting is enough): some are
    // in its hands, more wait in the queue, when it dies.
    const answers = Array.from({ length: 24 }, () => pool.submit(row(0.5), 1));
    assert.ok(pool.stats().inflight > 0, 'work is in flight when the replica dies');
    // A replica bug: a message it cannot read throws outside its run handling, and the thread dies.
    first.postMessage(null);
    const got = await Promise.all(answers);
    for (const out of got) assert.deepEqual(Array.from(out.y!.data as Float32Array), Array.from(expected.y!.data as Float32Array));
    assert.equal(failures.length, 1, failures.join('; '));
    assert.match(failures[0]!, /null|exited/);
    assert.equal(pool.stats().replicas, 1);
    assert.notEqual(replicas[0]!.worker, first, 'a new replica took its place');
    // And it keeps serving.
    assert.deepEqual(Array.from((await pool.submit(row(0.5), 1)).y!.data as Float32Array), Array.from(expected.y!.data as Float32Array));
  } finally {
    clearInterval(hold);
    await pool.close();
  }
});

test('closing a pool while a run is under way lets the run finish and answer (the thread is never stopped inside ONNX Runtime)', async () => {
  const pool = new VersionPool(1, slowModel(400), ['y'], { ...settings, batching: { maxBatchSize: 2048, maxDelayMs: 0 } }, {
    onScale: () => undefined, onBatch: () => undefined, onReplicaFailure: () => undefined,
  }, true, true);
  await pool.start();
  const rows = 2048;
  const started = performance.now();
  const answer = pool.submit({ x: { dtype: 'float32', dims: [rows, 256], data: new Float32Array(rows * 256).fill(0.1) } }, rows);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.stats().inflight, 1);
  await pool.close();
  const out = await answer;
  assert.equal(out.y!.dims[0], rows);
  assert.ok(performance.now() - started > 20);
});
