/**
 * A replica pool with real worker threads and ONNX Runtime. Nothing here waits for time to pass:
 * each step waits for the event it is about (a batch in flight, an answer, a thread's exit), so
 * the tests hold on a slow or busy machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { slowModel } from '../../ml/testing/onnx-fixtures.js';
import type { DomainError } from '../../infra/errors.js';
import type { Feeds } from './codec/instances.js';
import { VersionPool, type PoolHooks, type PoolSettings } from './pool.js';

const settings: PoolSettings = {
  replicas: { min: 1, max: 1 },
  batching: { maxBatchSize: 4, maxDelayMs: 0 },
  autoscaling: { intervalMs: 60_000, cooldownMs: 60_000, targetQueueDepth: 1000, targetLatencyMs: 0, targetTokensPerSecond: 0 },
};
const quiet: PoolHooks = { onScale: () => undefined, onBatch: () => undefined, onReplicaFailure: () => undefined };
const chunked = (maxBatchSize: number): PoolSettings => ({ ...settings, batching: { maxBatchSize, maxDelayMs: 0 } });

const row = (v: number): Feeds => ({ x: { dtype: 'float32', dims: [1, 256], data: new Float32Array(256).fill(v) } });
/** `rows` rows, row i filled with i/rows (each row's answer differs). */
function rowsOf(rows: number): Feeds {
  const data = new Float32Array(rows * 256);
  for (let i = 0; i < rows; i++) data.fill(i / rows, i * 256, (i + 1) * 256);
  return { x: { dtype: 'float32', dims: [rows, 256], data } };
}
const codeOf = (p: Promise<unknown>) => p.then(() => 'answered', (e: DomainError) => `${e.kind} ${e.code}`);
const threads = (pool: VersionPool) => (pool as unknown as { replicas: unknown[] }).replicas.length;

test('a replica that dies with requests in flight: they are answered by its replacement, and the failure is reported', async () => {
  const failures: string[] = [];
  const pool = new VersionPool(1, slowModel(200), ['y'], settings, { ...quiet, onReplicaFailure: (m) => failures.push(m) }, true, true);
  await pool.start();
  // Idle replica threads do not hold the process (a server's sockets do); this test holds it.
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

test('closing a pool while runs are under way: the piece under way is answered, the rest and the queue get 503, every thread exits', async () => {
  const pool = new VersionPool(1, slowModel(20), ['y'], chunked(64), quiet, true, true);
  await pool.start();
  // Both go to the replica at once (half a batch is enough): one within a piece, one of 32 pieces.
  const small = pool.submit(rowsOf(64), 64);
  const large = codeOf(pool.submit(rowsOf(2048), 2048));
  const queued = codeOf(pool.submit(row(0.1), 1));
  assert.equal(pool.stats().inflight, 2, 'two batches in flight');
  assert.equal(pool.stats().queueDepth, 1);
  // The replica has both runs before it reads the close (messages keep their order): the close
  // comes while they are under way.
  await pool.close();
  assert.equal((await small).y!.dims[0], 64);
  assert.equal(await large, 'unavailable endpoint_unavailable', 'stopped after its first piece, not run to its end');
  assert.equal(await queued, 'unavailable endpoint_unavailable');
  assert.equal(threads(pool), 0, 'every replica thread has exited when close resolves');
  assert.equal(await codeOf(pool.submit(row(0.1), 1)), 'unavailable endpoint_unavailable', 'no intake after a close');
});

test('a drain during a run of many pieces answers everything, the pieces joined into one answer', async () => {
  const pool = new VersionPool(1, slowModel(10), ['y'], chunked(64), quiet, true, true);
  await pool.start();
  const rows = 512;
  const input = rowsOf(rows);
  // References: rows 0, 300 and 511 run alone.
  const alone = await Promise.all([0, 300, 511].map((i) => pool.submit({ x: { ...input.x!, dims: [1, 256], data: (input.x!.data as Float32Array).slice(i * 256, (i + 1) * 256) } }, 1)));
  const answer = pool.submit(input, rows);
  const queued = pool.submit(row(0.1), 1);
  assert.equal(pool.stats().inflight, 1);
  const drained = pool.drain();
  assert.equal(await codeOf(pool.submit(row(0.1), 1)), 'unavailable endpoint_unavailable', 'no intake once draining');
  const out = await answer;
  assert.equal((await queued).y!.dims[0], 1, 'what was queued is answered too');
  await drained;
  assert.equal(threads(pool), 0);
  assert.deepEqual(out.y!.dims, [rows, 1]);
  const y = out.y!.data as Float32Array;
  [0, 300, 511].forEach((i, k) => {
    const want = (alone[k]!.y!.data as Float32Array)[0]!;
    assert.ok(Math.abs(y[i]! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `row ${i}: ${y[i]} vs ${want} alone`);
  });
});

test('a replica that dies during a drain: what it held is answered by a replacement, and the drain still ends', async () => {
  const failures: string[] = [];
  const pool = new VersionPool(1, slowModel(200), ['y'], settings, { ...quiet, onReplicaFailure: (m) => failures.push(m) }, true, true);
  await pool.start();
  const first = (pool as unknown as { replicas: Array<{ worker: Worker }> }).replicas[0]!.worker;
  const answers = Array.from({ length: 24 }, () => pool.submit(row(0.5), 1));
  assert.ok(pool.stats().inflight > 0);
  const drained = pool.drain();
  first.postMessage(null);
  const got = await Promise.all(answers);
  assert.equal(got.length, 24);
  await drained;
  assert.equal(failures.length, 1, failures.join('; '));
  assert.equal(threads(pool), 0);
});

test('a pool closed while its replicas start: the start fails, the close waits for the loads to end and the threads to exit', async () => {
  const pool = new VersionPool(1, slowModel(20), ['y'], { ...settings, replicas: { min: 2, max: 2 } }, quiet, true, true);
  const started = pool.start();
  const closed = pool.close();
  await assert.rejects(started, /closed before it was ready/);
  await closed;
  assert.equal(threads(pool), 0);
});

/**
 * The shutdown of a server: a request of 2,048 rows through 160 layers takes seconds on one core.
 * A close that gave up waiting for it let the process exit with the thread inside ONNX Runtime:
 * "terminate called after throwing an instance of 'Napi::Error'", exit code 134.
 */
test('a process that closes its pool during a long run of many pieces exits by itself, with code 0 and no native abort', async () => {
  const pool = new URL('./pool.js', import.meta.url).href;
  const fixtures = new URL('../../ml/testing/onnx-fixtures.js', import.meta.url).href;
  const script = `
    const { VersionPool } = await import(${JSON.stringify(pool)});
    const { slowModel } = await import(${JSON.stringify(fixtures)});
    const settings = ${JSON.stringify(chunked(64))};
    const hooks = { onScale() {}, onBatch() {}, onReplicaFailure(m) { console.error('replica failure: ' + m); } };
    const pool = new VersionPool(1, slowModel(160), ['y'], settings, hooks, true, true);
    await pool.start();
    const rows = 2048;
    const answer = pool.submit({ x: { dtype: 'float32', dims: [rows, 256], data: new Float32Array(rows * 256).fill(0.1) } }, rows);
    if (pool.stats().inflight !== 1) throw new Error('the run is not in flight');
    const outcome = answer.then(() => 'answered', (e) => e.kind + ' ' + e.code);
    await pool.close();
    console.log(JSON.stringify({ outcome: await outcome, replicas: pool.stats().replicas }));
    // No process.exit: the process ends when nothing holds it any more.
  `;
  // A file, not --eval: the replica threads inherit the process's flags, and --input-type is refused in a thread.
  const dir = await mkdtemp(join(tmpdir(), 'pool-close-'));
  const file = join(dir, 'close-during-run.mjs');
  await writeFile(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  await rm(dir, { recursive: true, force: true });
  assert.doesNotMatch(stderr, /Napi::Error|terminate called|replica failure/, stderr);
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout.trim()), { outcome: 'unavailable endpoint_unavailable', replicas: 0 });
});
