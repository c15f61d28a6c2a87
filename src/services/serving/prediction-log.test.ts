/**
 * The prediction log on its own, on a real store: sampling by the endpoint's rate, retention
 * (with a clock the test moves), what a deleted endpoint leaves (nothing), raw bodies packed many
 * to a record and read back row by row across pages (cursors inside a pack, time ranges, packs of
 * two nodes whose times overlap), and rows of the older layouts carried over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { Registry } from 'prom-client';
import { LocalBlobStore } from '../../infra/blob-store.js';
import { createLogger } from '../../infra/logger.js';
import { openStore, type Db } from '../../infra/store/database.js';
import { predictionLogs } from '../../infra/store/migrations/0006-prediction-logs.js';
import { predictionLogRequests } from '../../infra/store/migrations/0013-prediction-log-requests.js';
import { predictionLogPacks } from '../../infra/store/migrations/0015-prediction-log-packs.js';
import type { PredictionLogPacksTable } from '../../infra/store/tables-registry.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';
import { storeTest } from '../../infra/testing/store-engines.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';
import { BlobRefs } from '../blob-refs.js';
import { outputRoles, type Feeds } from './codec/instances.js';
import { Endpoint } from './endpoint.js';
import { PredictionLog } from './prediction-log.js';
import { LoggedPack, PACK_BYTES, PACK_REQUESTS } from './prediction-log-records.js';
import { DEFAULT_SETTINGS, settingsFrom } from './settings.js';

let home: string;
let db: Db;
/** Where the logs' segments go (of every store engine's logs). */
let blobs: LocalBlobStore;
before(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-predlog-'));
  db = await openStore({ home });
  blobs = new LocalBlobStore(path.join(home, 'blobs'));
});
after(async () => {
  await db.destroy();
  fs.rmSync(home, { recursive: true, force: true });
});

const sig = irisClassifier().signature;
const spec = { signature: sig, roles: outputRoles(sig), model: 'iris', version: 1 };

function endpoint(id: string, logging: { sampleRate: number; retentionDays?: number }): Endpoint {
  const settings = settingsFrom({ logging }, DEFAULT_SETTINGS);
  const now = new Date().toISOString();
  return new Endpoint({ id, tenant_id: 't', name: id, model_name: 'iris', stage: null, traffic: '[]', settings: JSON.stringify(settings), created_at: now, updated_at: now },
    [{ version: 1, weight: 100 }], settings);
}

/** One request of `rows` rows as the data plane hands it over. */
function call(rows: number): { feeds: Feeds; outputs: Feeds } {
  return {
    feeds: {
      features: { dtype: 'float32', dims: [rows, 4], data: new Float32Array(rows * 4).fill(1.5) },
      categories: { dtype: 'string', dims: [rows, 1], data: Array.from({ length: rows }, () => '') },
    },
    outputs: {
      label: { dtype: 'int64', dims: [rows], data: new BigInt64Array(rows) },
      probabilities: { dtype: 'float32', dims: [rows, 3], data: new Float32Array(rows * 3).fill(0.5) },
    },
  };
}

test('an endpoint logs the share of requests its sampleRate says, every row of a logged request', async () => {
  const ep = endpoint('ep_sampled', { sampleRate: 0.25 });
  const draws = [0.1, 0.3, 0.24, 0.25, 0.9, 0.0];
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { random: () => draws.shift()! });
  for (let i = 0; i < 6; i++) log.offer(ep, spec, call(2), 2, performance.now(), `req${i}`);
  const { data } = await log.list(ep, {});
  assert.deepEqual([...new Set(data.map((r) => r.requestId))].sort(), ['req0', 'req2', 'req5'], 'the draws below 0.25');
  assert.equal(data.length, 6);
  assert.deepEqual(data[0]!.input, { sepal_length: 1.5, sepal_width: 1.5, petal_length: 1.5, petal_width: 1.5, color: null });
  assert.deepEqual(data[0]!.output, { label: 'setosa', probabilities: [0.5, 0.5, 0.5] });
});

test('rows older than the retention are deleted; younger ones are kept', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const ep = endpoint('ep_retained', { sampleRate: 1, retentionDays: 2 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { now: clock.now, purgeMs: 3_600_000 });
  log.offer(ep, spec, call(1), 1, performance.now(), 'old');
  await log.flush();
  clock.advance(36 * 3_600_000);
  log.offer(ep, spec, call(1), 1, performance.now(), 'young');
  await log.flush();
  assert.equal((await log.list(ep, {})).data.length, 2, 'both within 2 days');
  clock.advance(13 * 3_600_000);
  await log.flush(); // a flush purges once purgeMs has passed
  assert.deepEqual((await log.list(ep, {})).data.map((r) => r.requestId), ['young']);
});

storeTest('a pack is deleted when its last request is past the retention, not its first', async (engine) => {
  const db = await engine.open();
  const clock = new ManualClock(Date.parse('2026-02-01T00:00:00Z'));
  const ep = endpoint('ep_retained_pack', { sampleRate: 1, retentionDays: 2 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { now: clock.now, purgeMs: 3_600_000 });
  log.offer(ep, spec, call(1), 1, performance.now(), 'early');
  clock.advance(36 * 3_600_000);
  log.offer(ep, spec, call(1), 1, performance.now(), 'late');
  await log.flush(); // one pack: 'early' and 'late', 36 hours apart
  clock.advance(13 * 3_600_000);
  await log.flush(); // 'early' is 49 hours old, 'late' 13
  assert.deepEqual((await log.list(ep, {})).data.map((r) => r.requestId), ['late', 'early']);
  clock.advance(36 * 3_600_000);
  await log.flush();
  assert.deepEqual((await log.list(ep, {})).data, []);
});

storeTest('discard forgets queued rows and deletes written ones', async (engine) => {
  const db = await engine.open();
  const ep = endpoint('ep_discarded', { sampleRate: 1 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep]);
  log.offer(ep, spec, call(3), 3, performance.now());
  await log.flush();
  log.offer(ep, spec, call(2), 2, performance.now());
  await log.discard(ep.row.id);
  await log.flush();
  const left = await db.selectFrom('prediction_log_packs').select('id').where('endpoint_id', '=', ep.row.id).execute();
  assert.equal(left.length, 0);
});

storeTest('texts live in segments (one blob per flush) held by their packs: a segment goes with the last pack that holds it', async (engine) => {
  const db = await engine.open();
  const segmentsOf = async (ids: string[]) => {
    const rows = await db.selectFrom('prediction_log_packs').select(['blob', 'inputs', 'outputs', 'blob_bytes']).where('endpoint_id', 'in', ids).execute();
    for (const r of rows) assert.ok(r.blob && r.inputs.byteLength === 0 && r.outputs.byteLength === 0 && r.blob_bytes > 0, 'texts out of the record');
    return new Set(rows.map((r) => r.blob!));
  };
  const held = async (hash: string) => (await db.selectFrom('blob_refs').select('owner_id').where('hash', '=', hash).execute()).length;
  const clock = new ManualClock(Date.parse('2026-04-01T00:00:00Z'));
  const short = endpoint('ep_seg_short', { sampleRate: 1, retentionDays: 1 });
  const long = endpoint('ep_seg_long', { sampleRate: 1, retentionDays: 30 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [short, long], { now: clock.now, purgeMs: 3_600_000 });
  // One flush, two endpoints: two packs in one segment.
  log.offer(short, spec, rawCall([[1, 2, 3, 4]], [{ label: 'a' }]), 1, performance.now(), 'short-1');
  log.offer(long, spec, rawCall([[5, 6, 7, 8]], [{ label: 'b' }]), 1, performance.now(), 'long-1');
  await log.flush();
  const [segment, ...others] = await segmentsOf([short.row.id, long.row.id]);
  assert.ok(segment && others.length === 0, 'one segment for the flush');
  assert.ok(await blobs.has(segment));
  assert.equal(await held(segment), 2, 'held by both packs');
  assert.deepEqual((await log.list(long, {})).data.map((r) => [r.requestId, r.input, r.output]), [['long-1', { features: [5, 6, 7, 8] }, { label: 'b' }]]);
  // The short retention passes: its pack goes, the segment stays for the other.
  clock.advance(2 * 86_400_000);
  await log.flush();
  assert.deepEqual((await log.list(short, {})).data, []);
  assert.ok(await blobs.has(segment), 'still held by the long endpoint');
  assert.equal(await held(segment), 1);
  assert.equal((await log.list(long, {})).data.length, 1);
  // The same texts again (another flush): the same blob, held by two packs more; deleting the endpoints releases all of it.
  log.offer(short, spec, rawCall([[1, 2, 3, 4]], [{ label: 'a' }]), 1, performance.now(), 'short-2');
  log.offer(long, spec, rawCall([[5, 6, 7, 8]], [{ label: 'b' }]), 1, performance.now(), 'long-2');
  await log.flush();
  assert.deepEqual([...(await segmentsOf([short.row.id, long.row.id]))], [segment], 'identical bytes: one blob');
  assert.equal(await held(segment), 3);
  await log.discard(long.row.id);
  assert.equal(await held(segment), 1);
  assert.deepEqual((await log.list(short, {})).data.map((r) => r.requestId), ['short-2']);
  await log.discard(short.row.id);
  assert.equal(await held(segment), 0);
  assert.equal(await blobs.has(segment), false, 'no pack holds it: deleted');
});

test('the writer thread packs at the lowest priority (it takes the CPU predictions leave), and what it packs reads back', { skip: process.platform !== 'linux' && 'thread priorities are read from /proc' }, async () => {
  const ep = endpoint('ep_threaded', { sampleRate: 1 });
  const niceOf = () => fs.readdirSync('/proc/self/task').map((tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
  assert.ok(!niceOf().includes(19), 'no thread at nice 19 before');
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { thread: true });
  log.start();
  try {
    log.offer(ep, spec, rawCall([[1, 2, 3, 4]], [{ label: 'a' }]), 1, performance.now(), 'threaded');
    assert.deepEqual((await log.list(ep, {})).data.map((r) => [r.requestId, r.input]), [['threaded', { features: [1, 2, 3, 4] }]]);
    assert.equal(niceOf().filter((n) => n === 19).length, 1, 'one thread, the writer, at nice 19');
  } finally {
    await log.stop();
  }
});

test('a pack whose segment is lost says so when read, rather than reading as empty', async () => {
  const ep = endpoint('ep_lost_segment', { sampleRate: 1 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep]);
  log.offer(ep, spec, rawCall([[1, 2, 3, 4]], [{ label: 'a' }]), 1, performance.now(), 'lost');
  await log.flush();
  const { blob } = await db.selectFrom('prediction_log_packs').select('blob').where('endpoint_id', '=', ep.row.id).executeTakeFirstOrThrow();
  await blobs.delete(blob!);
  await assert.rejects(log.list(ep, {}), new RegExp(`segment ${blob} of pack pl_\\w+ cannot be read`));
  await log.discard(ep.row.id);
  assert.deepEqual((await log.list(ep, {})).data, [], 'deleted with the endpoint: nothing to read');
});

test('a queue full by rows or by bytes drops the request and counts its rows', async () => {
  const ep = endpoint('ep_full', { sampleRate: 1 });
  const registry = new Registry();
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), registry, () => [ep], { queueRows: 3, queueBytes: 400 });
  const body = (n: number) => {
    const text = JSON.stringify({ instances: Array.from({ length: n }, () => ({ sepal_length: 1, sepal_width: 1, petal_length: 1, petal_width: 1, color: 'red' })) });
    const answer = JSON.stringify({ predictions: Array.from({ length: n }, () => ({ label: 'setosa' })), model: 'iris', version: 1 });
    return { json: new TextEncoder().encode(text), answer };
  };
  log.offer(ep, spec, body(1), 1, performance.now(), 'fits');
  log.offer(ep, spec, body(3), 3, performance.now(), 'too-many-rows');
  log.offer(ep, spec, body(2), 2, performance.now(), 'too-many-bytes');
  assert.deepEqual((await log.list(ep, {})).data.map((r) => r.requestId), ['fits']);
  assert.match(await registry.metrics(), /aiaas_prediction_log_dropped_rows_total\{tenant="t",endpoint="ep_full",reason="queue_full"\} 5/);
});

storeTest('raw bodies are kept as sent, packed into one record, and read back row by row across pages', async (engine) => {
  const db = await engine.open();
  const ep = endpoint('ep_raw', { sampleRate: 1 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep]);
  const sent: Array<{ id: string; rows: unknown[]; predictions: unknown[] }> = [];
  for (let i = 0; i < 4; i++) {
    // Rows of numbers (shown under the input tensor's name) and named rows; bodies as Node hands them over: slices of a shared buffer.
    const rows = i % 2 === 0 ? [[i, 1, 2, 3], [i, 4, 5, 6.5]] : [{ sepal_length: i, sepal_width: 1, petal_length: 1, petal_width: 1, color: 'blue' }];
    const predictions = rows.map((_, r) => ({ label: 'setosa', probabilities: [i, r, 0] }));
    const text = Buffer.from(JSON.stringify({ instances: rows }));
    const json = Buffer.concat([text.subarray(0, 5), text.subarray(5)]);
    log.offer(ep, spec, { json, answer: JSON.stringify({ predictions, model: 'iris', version: 1 }) }, rows.length, performance.now(), `raw${i}`);
    sent.push({ id: `raw${i}`, rows: rows.map((r) => (Array.isArray(r) ? { features: r } : r)), predictions });
  }
  await log.flush();
  const records = await db.selectFrom('prediction_log_packs').select(['requests', 'rows', 'request_index']).where('endpoint_id', '=', ep.row.id).execute();
  assert.equal(records.length, 1, 'one flush of one endpoint and version: one pack');
  assert.deepEqual([records[0]!.requests, records[0]!.rows], [4, 6]);
  assert.deepEqual((JSON.parse(records[0]!.request_index) as unknown[][]).map((e) => [e[1], e[3]]), [['raw0', 2], ['raw1', 1], ['raw2', 2], ['raw3', 1]]);
  const expected = sent.flatMap((q) => q.rows.map((input, r) => ({ requestId: q.id, input, output: q.predictions[r] }))).reverse();
  for (const limit of [1, 2, 6]) {
    const read: Array<{ requestId: string; input: unknown; output: unknown }> = [];
    let cursor: string | undefined;
    do {
      const page = await log.list(ep, { limit, cursor });
      read.push(...page.data);
      cursor = page.next ?? undefined;
    } while (cursor);
    assert.deepEqual(read.map(({ requestId, input, output }) => ({ requestId, input, output })), expected, `pages of ${limit}: newest first, every row once`);
  }
  const window = await log.window(ep, 1, '1970-01-01T00:00:00.000Z', '9999-01-01T00:00:00.000Z', 3);
  assert.deepEqual(window, expected.slice(0, 3).map(({ input, output }) => ({ input, output })));
});

/** A raw body and the answer a replica wrote, as the fast path hands them over. */
function rawCall(rows: unknown[], predictions: unknown[]): { json: Uint8Array; answer: string } {
  return { json: Buffer.from(JSON.stringify({ instances: rows })), answer: JSON.stringify({ predictions, model: 'iris', version: 1 }) };
}

/** Every page of a listing, following `next`. */
async function allPages(log: PredictionLog, ep: Endpoint, q: { from?: string; to?: string; limit: number }) {
  const pages: Array<Array<{ requestId: string; input: unknown; output: unknown }>> = [];
  let cursor: string | undefined;
  do {
    const page = await log.list(ep, { ...q, cursor });
    assert.ok(page.data.length <= q.limit);
    pages.push(page.data.map(({ requestId, input, output }) => ({ requestId, input, output })));
    cursor = page.next ?? undefined;
    assert.ok(pages.length < 1000, 'paging ends');
  } while (cursor);
  return pages;
}

storeTest('pages cross packs: cursors inside a pack and inside a request, with from/to', async (engine) => {
  const db = await engine.open();
  const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
  const ep = endpoint('ep_paged', { sampleRate: 1 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { now: clock.now });
  const sent: Array<{ id: string; at: number; rows: unknown[]; predictions: unknown[] }> = [];
  for (let flush = 0; flush < 3; flush++) {
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      const rows = Array.from({ length: 1 + ((flush + i) % 3) }, (_, r) => [flush, i, r, 0.5]);
      const predictions = rows.map((_, r) => ({ label: 'setosa', probabilities: [flush, i, r] }));
      log.offer(ep, spec, rawCall(rows, predictions), rows.length, performance.now(), `f${flush}q${i}`);
      sent.push({ id: `f${flush}q${i}`, at: clock.now(), rows: rows.map((r) => ({ features: r })), predictions });
    }
    await log.flush();
  }
  const packs = await db.selectFrom('prediction_log_packs').select(['requests', 'first_at', 'last_at']).where('endpoint_id', '=', ep.row.id).orderBy('last_at').execute();
  assert.deepEqual(packs.map((p) => p.requests), [4, 4, 4], 'a pack per flush');
  assert.ok(packs.every((p) => p.first_at < p.last_at));
  // From the middle of the first pack to the middle of the last: requests 1 to 9 (each logged about a millisecond before the clock's time).
  const from = new Date(sent[1]!.at - 500).toISOString();
  const to = new Date(sent[10]!.at - 500).toISOString();
  const rowsOf = (qs: typeof sent) => qs.flatMap((q) => q.rows.map((input, r) => ({ requestId: q.id, input, output: q.predictions[r] }))).reverse();
  const expected = rowsOf(sent.slice(1, 10));
  for (const limit of [1, 2, 3, 5, 7, 100]) {
    const pages = await allPages(log, ep, { from, to, limit });
    assert.deepEqual(pages.flat(), expected, `pages of ${limit}: newest first, every row in [from, to) once`);
    if (limit === 2) {
      const cuts = pages.slice(1).map((p, k) => [pages[k]!.at(-1)!.requestId, p[0]!.requestId]);
      assert.ok(cuts.some(([a, b]) => a === b), 'a cursor inside a request');
      assert.ok(cuts.some(([a, b]) => a !== b && a![1] === b![1]), 'a cursor between two requests of one pack');
    }
  }
  assert.deepEqual((await allPages(log, ep, { limit: 4 })).flat(), rowsOf(sent), 'without a range: all of them');
  const window = await log.window(ep, 1, from, to, 5);
  assert.deepEqual(window, expected.slice(0, 5).map(({ input, output }) => ({ input, output })));
  assert.deepEqual(await log.window(ep, 2, from, to, 5), [], 'another version: none');
});

storeTest('packs of two nodes whose times overlap: ordered by their last request, then by time within; every row once', async (engine) => {
  const ep = endpoint('ep_two_nodes', { sampleRate: 1 });
  const t0 = Date.parse('2026-03-02T00:00:00Z');
  const clocks = [new ManualClock(t0), new ManualClock(t0)];
  // One after another: two SQLite connections of one process must not wait for each other's write lock (it blocks the thread).
  const logs: PredictionLog[] = [];
  for (const clock of clocks) {
    const db = await engine.open();
    logs.push(new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { now: clock.now }));
  }
  // Node 0 logs at seconds 1, 3, 5 and node 1 at 2, 4, 6: one pack each, their time ranges overlapping.
  for (let second = 1; second <= 6; second++) {
    const n = (second + 1) % 2;
    clocks[n]!.advance(t0 + second * 1000 - clocks[n]!.now());
    logs[n]!.offer(ep, spec, rawCall([[second, 0, 0, 0], [second, 1, 0, 0]], [{ label: 'a' }, { label: 'b' }]), 2, performance.now(), `s${second}`);
  }
  for (const log of logs) await log.flush();
  const order = ['s6', 's4', 's2', 's5', 's3', 's1'].flatMap((id) => [id, id]);
  for (const limit of [1, 3, 5]) {
    for (const log of logs) {
      assert.deepEqual((await allPages(log, ep, { limit })).flat().map((r) => r.requestId), order, `pages of ${limit}`);
    }
  }
});

storeTest('tensor calls and raw bodies of one flush share a pack, and each request reads back its own rows', async (engine) => {
  const db = await engine.open();
  const ep = endpoint('ep_mixed', { sampleRate: 1 });
  const other = endpoint('ep_mixed_other', { sampleRate: 1 });
  // A clock that stands still: every request of the same millisecond.
  const clock = new ManualClock(Date.parse('2026-03-03T00:00:00Z'));
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep, other], { now: clock.now });
  // Raw bodies lie one after another in the batch's buffer and go as slices of it; a tensor call's
  // printed input, and another endpoint's body between two of ours, break a run of slices.
  log.offer(ep, spec, rawCall([[1, 1, 1, 1]], [{ label: 'r1' }]), 1, performance.now(), 'raw1');
  log.offer(ep, spec, call(2), 2, performance.now(), 'tensor1');
  log.offer(ep, spec, rawCall([[2, 2, 2, 2], [3, 3, 3, 3]], [{ label: 'r2a' }, { label: 'r2b' }]), 2, performance.now(), 'raw2');
  log.offer(ep, spec, rawCall([[4, 4, 4, 4]], [{ label: 'r3' }]), 1, performance.now(), 'raw3');
  log.offer(other, spec, rawCall([[9, 9, 9, 9]], [{ label: 'o1' }]), 1, performance.now(), 'other1');
  log.offer(ep, spec, rawCall([[5, 5, 5, 5]], [{ label: 'r4' }]), 1, performance.now(), 'raw4');
  log.offer(ep, spec, call(1), 1, performance.now(), 'tensor2');
  await log.flush();
  const packs = await db.selectFrom('prediction_log_packs').select(['endpoint_id', 'requests', 'rows']).orderBy('endpoint_id').where('endpoint_id', 'in', [ep.row.id, other.row.id]).execute();
  assert.deepEqual(packs.map((p) => [p.endpoint_id, p.requests, p.rows]), [[ep.row.id, 6, 8], [other.row.id, 1, 1]]);
  const tensorRow = { input: { sepal_length: 1.5, sepal_width: 1.5, petal_length: 1.5, petal_width: 1.5, color: null }, output: { label: 'setosa', probabilities: [0.5, 0.5, 0.5] } };
  const read = (await log.list(ep, { limit: 100 })).data.map(({ requestId, input, output }) => ({ requestId, input, output }));
  // Requests of one millisecond: the later written first.
  assert.deepEqual(read.map((r) => r.requestId), ['tensor2', 'raw4', 'raw3', 'raw2', 'raw2', 'tensor1', 'tensor1', 'raw1']);
  assert.deepEqual(read.map(({ input, output }) => ({ input, output })), [
    tensorRow,
    { input: { features: [5, 5, 5, 5] }, output: { label: 'r4' } },
    { input: { features: [4, 4, 4, 4] }, output: { label: 'r3' } },
    { input: { features: [3, 3, 3, 3] }, output: { label: 'r2b' } },
    { input: { features: [2, 2, 2, 2] }, output: { label: 'r2a' } },
    tensorRow, tensorRow,
    { input: { features: [1, 1, 1, 1] }, output: { label: 'r1' } },
  ]);
  assert.deepEqual((await log.list(other, {})).data.map((r) => [r.requestId, r.input]), [['other1', { features: [9, 9, 9, 9] }]]);
});

test('a flush of more requests than a pack takes is split into packs, by requests and by bytes', async () => {
  const ep = endpoint('ep_split', { sampleRate: 1 });
  const log = new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), new Registry(), () => [ep], { batchRows: 100_000 });
  for (let i = 0; i < PACK_REQUESTS * 2 + 88; i++) log.offer(ep, spec, rawCall([[i, 0, 0, 0]], [{ label: 'setosa' }]), 1, performance.now(), `n${i}`);
  const big = 'x'.repeat(PACK_BYTES * 0.6);
  for (let i = 0; i < 3; i++) log.offer(ep, spec, rawCall([{ color: big, sepal_length: i }], [{ label: 'setosa' }]), 1, performance.now(), `big${i}`);
  await log.flush();
  const packs = await db.selectFrom('prediction_log_packs').select(['requests', 'rows']).where('endpoint_id', '=', ep.row.id).execute();
  assert.deepEqual(packs.map((p) => p.requests).sort((a, b) => a - b), [1, 1, 89, PACK_REQUESTS, PACK_REQUESTS], "the third pack takes the first large request too, not the next two");
  const ids = (await allPages(log, ep, { limit: 1000 })).flat().map((r) => r.requestId);
  assert.equal(ids.length, PACK_REQUESTS * 2 + 88 + 3);
  assert.deepEqual(new Set(ids).size, ids.length, 'every row once');
});

storeTest('rows of the older layouts (migrations 0006 and 0013) are carried over as packs of one request', async (engine) => {
  const { databaseUrl } = await engine.options();
  const old = new Kysely<any>({
    dialect: databaseUrl ? new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) : new SqliteDialect({ database: new SqliteDatabase(':memory:') }),
  });
  try {
    await predictionLogs.up(old);
    await old.insertInto('prediction_logs').values({
      id: 'pl_1_000000', tenant_id: 't', endpoint_id: 'ep', at: '2026-01-01T00:00:00.000Z', request_id: 'req', version: 2, latency_ms: 1.5,
      input: JSON.stringify({ sepal_length: 1, color: null }), output: JSON.stringify({ label: 'setosa' }),
    }).execute();
    await predictionLogRequests.up(old);
    // A record as 0013's writer wrote it: two rows of numbers, an answer beyond ASCII (its byte length is not its length).
    await old.insertInto('prediction_log_requests').values({
      id: 'pl_2_000000', tenant_id: 't', endpoint_id: 'ep', at: '2026-01-02T00:00:00.000Z', request_id: 'req "2"', version: 3, latency_ms: 0.25, rows: 2,
      input: '{"instances":[[1,2],[3,4]]}', output: '{"predictions":[{"label":"café 🐍"},{"label":"b"}],"model":"m","version":3}', array_tensor: 'features',
    }).execute();
    await predictionLogPacks.up(old);
    const packs = (await old.selectFrom('prediction_log_packs').selectAll().orderBy('id').execute()) as PredictionLogPacksTable[];
    assert.deepEqual(packs.map((p) => [p.id, p.tenant_id, p.endpoint_id, p.version, p.first_at, p.last_at, p.requests, p.rows]), [
      ['pl_1_000000', 't', 'ep', 2, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, 1],
      ['pl_2_000000', 't', 'ep', 3, '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z', 1, 2],
    ]);
    const read = packs.map((p) => new LoggedPack(p, p)).map((pack) => pack.requests.map((r) => ({ ...r, rows: pack.rows(r) })));
    assert.deepEqual(read.map((rs) => rs.map(({ at, requestId, latencyMs }) => ({ at, requestId, latencyMs }))), [
      [{ at: '2026-01-01T00:00:00.000Z', requestId: 'req', latencyMs: 1.5 }],
      [{ at: '2026-01-02T00:00:00.000Z', requestId: 'req "2"', latencyMs: 0.25 }],
    ]);
    assert.deepEqual(read[0]![0]!.rows, [{ input: { sepal_length: 1, color: null }, output: { label: 'setosa' } }]);
    assert.deepEqual(read[1]![0]!.rows, [{ input: { features: [1, 2] }, output: { label: 'café 🐍' } }, { input: { features: [3, 4] }, output: { label: 'b' } }]);
  } finally {
    await old.destroy();
  }
});
