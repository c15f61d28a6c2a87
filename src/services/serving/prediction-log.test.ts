/**
 * The prediction log on its own, on a real store: sampling by the endpoint's rate, retention
 * (with a clock the test moves), what a deleted endpoint leaves (nothing), raw bodies read back
 * row by row across pages, and rows of the older layout carried over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { Registry } from 'prom-client';
import { createLogger } from '../../infra/logger.js';
import { openStore, type Db } from '../../infra/store/database.js';
import { predictionLogs } from '../../infra/store/migrations/0006-prediction-logs.js';
import { predictionLogRequests } from '../../infra/store/migrations/0013-prediction-log-requests.js';
import type { PredictionLogRequestsTable } from '../../infra/store/tables-registry.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';
import { storeTest } from '../../infra/testing/store-engines.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';
import { outputRoles, type Feeds } from './codec/instances.js';
import { Endpoint } from './endpoint.js';
import { PredictionLog } from './prediction-log.js';
import { recordRows } from './prediction-log-records.js';
import { DEFAULT_SETTINGS, settingsFrom } from './settings.js';

let home: string;
let db: Db;
before(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-predlog-'));
  db = await openStore({ home });
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
  const log = new PredictionLog(db, createLogger('silent', 'test'), new Registry(), () => [ep], { random: () => draws.shift()! });
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
  const log = new PredictionLog(db, createLogger('silent', 'test'), new Registry(), () => [ep], { now: clock.now, purgeMs: 3_600_000 });
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

test('discard forgets queued rows and deletes written ones', async () => {
  const ep = endpoint('ep_discarded', { sampleRate: 1 });
  const log = new PredictionLog(db, createLogger('silent', 'test'), new Registry(), () => [ep]);
  log.offer(ep, spec, call(3), 3, performance.now());
  await log.flush();
  log.offer(ep, spec, call(2), 2, performance.now());
  await log.discard(ep.row.id);
  await log.flush();
  const left = await db.selectFrom('prediction_log_requests').select('id').where('endpoint_id', '=', ep.row.id).execute();
  assert.equal(left.length, 0);
});

test('a queue full by rows or by bytes drops the request and counts its rows', async () => {
  const ep = endpoint('ep_full', { sampleRate: 1 });
  const registry = new Registry();
  const log = new PredictionLog(db, createLogger('silent', 'test'), registry, () => [ep], { queueRows: 3, queueBytes: 400 });
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

storeTest('raw bodies are kept as sent, one record per request, and read back row by row across pages', async (engine) => {
  const db = await engine.open();
  const ep = endpoint('ep_raw', { sampleRate: 1 });
  const log = new PredictionLog(db, createLogger('silent', 'test'), new Registry(), () => [ep]);
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
  const records = await db.selectFrom('prediction_log_requests').select(['request_id', 'rows']).where('endpoint_id', '=', ep.row.id).execute();
  assert.deepEqual(records.map((r) => [r.request_id, r.rows]).sort(), [['raw0', 2], ['raw1', 1], ['raw2', 2], ['raw3', 1]]);
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

test('rows logged one per record before (migration 0013) are carried over as one-row requests', async () => {
  const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  await predictionLogs.up(old);
  await old.insertInto('prediction_logs').values({
    id: 'pl_1_000000', tenant_id: 't', endpoint_id: 'ep', at: '2026-01-01T00:00:00.000Z', request_id: 'req', version: 2, latency_ms: 1.5,
    input: JSON.stringify({ sepal_length: 1, color: null }), output: JSON.stringify({ label: 'setosa' }),
  }).execute();
  await predictionLogRequests.up(old);
  const [r] = (await old.selectFrom('prediction_log_requests').selectAll().execute()) as PredictionLogRequestsTable[];
  assert.equal(r.rows, 1);
  assert.deepEqual(recordRows(r), [{ input: { sepal_length: 1, color: null }, output: { label: 'setosa' } }]);
  await old.destroy();
});
