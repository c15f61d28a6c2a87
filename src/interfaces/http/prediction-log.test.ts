/**
 * Prediction logging over real HTTP: an endpoint's `logging.sampleRate`, the rows every
 * transport logs (fast path, Fastify route, Open Inference v2) through the one data plane,
 * GET …/predictions with time ranges and paging, tenants kept apart, rows deleted with their
 * endpoint, and a full queue dropping (and counting) instead of slowing a prediction.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { describeEachEngine } from '../testing/engines.js';
import { AiaasClient } from '../../sdk/client.js';
import { until } from '../testing/jobs-helpers.js';
import { IRIS_COLUMNS, irisClassifier, mixedTypesModel } from '../../ml/testing/onnx-fixtures.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';

const octet = { 'content-type': 'application/octet-stream' };
const iris = (petal_length: number, extra: Record<string, unknown> = {}) => ({ sepal_length: 5.1, sepal_width: 3.5, petal_length, petal_width: 0.2, color: 'red', ...extra });

async function deploy(s: TestServer, key: string, name: string, model: string, extra: Record<string, unknown> = {}) {
  const r = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name, model, version: 1, replicas: { min: 1, max: 1 }, ...extra } });
  assert.equal(r.status, 201, r.text);
  await until(`${name} ready`, async () => (await s.call('GET', `/v1/endpoints/${name}`, { key })).body.status === 'ready');
  return r.body;
}

/** Every logged record of an endpoint, following `next` with pages of `limit`. */
async function allLogged(s: TestServer, key: string, name: string, limit = 2, query = '') {
  const out: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await s.call('GET', `/v1/endpoints/${name}/predictions?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`, { key });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.data.length <= limit);
    out.push(...r.body.data);
    cursor = r.body.next;
    assert.ok(++pages < 100, 'paging ends');
  } while (cursor);
  return out;
}

describeEachEngine('prediction logging', (engine) => {
  let s: TestServer;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };

  before(async () => {
    s = await startTestServer(await engine.env());
    // The fast path takes keys authenticated "a moment ago": that moment must not depend on the machine's speed.
    s.server.platform.keys.now = new ManualClock(performance.now()).now;
    owner = await s.tenant('log-owner');
    stranger = await s.tenant('log-stranger');
    const v = irisClassifier();
    await s.server.platform.registry.registerVersion(owner.id, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature });
    const m = await s.call('POST', '/v1/models/mixed/versions', { key: owner.developer, body: mixedTypesModel(), headers: octet });
    assert.equal(m.status, 201, m.text);
  });
  after(() => s.stop());

  test('every transport logs its rows: input as sent, output as answered, version, latency, request id, time', async () => {
    const ep = await deploy(s, owner.developer, 'logged', 'iris', { logging: { sampleRate: 1 } });
    assert.deepEqual(ep.logging, { sampleRate: 1, retentionDays: 30 });
    const start = new Date().toISOString();
    const sent: Array<{ rows: Record<string, unknown>[]; answer: any[]; requestId: string }> = [];
    const route = await s.call('POST', '/v1/endpoints/logged/predict?via=fastify', { key: owner.developer, json: { instances: [iris(1.4), iris(5.9, { sepal_width: null })] } });
    const fast = await s.call('POST', '/v1/endpoints/logged/predict', { key: owner.developer, json: { instances: [iris(4.5)] } });
    for (const r of [route, fast]) assert.equal(r.status, 200, r.text);
    sent.push({ rows: [iris(1.4), iris(5.9, { sepal_width: null })], answer: route.body.predictions, requestId: route.headers.get('x-request-id')! });
    sent.push({ rows: [iris(4.5)], answer: fast.body.predictions, requestId: fast.headers.get('x-request-id')! });
    const v2 = await s.call('POST', '/v2/models/logged/infer', {
      key: owner.developer, json: { inputs: [...IRIS_COLUMNS.map((name) => ({ name, shape: [1], datatype: 'FP32', data: [name === 'petal_length' ? 6.1 : 1] })), { name: 'color', shape: [1], datatype: 'BYTES', data: ['blue'] }] },
    });
    assert.equal(v2.status, 200, v2.text);
    // A refused request logs nothing.
    assert.equal((await s.call('POST', '/v1/endpoints/logged/predict', { key: owner.developer, json: { instances: [{ petal_length: 'long' }] } })).status, 422);

    const logged = await allLogged(s, owner.developer, 'logged');
    assert.equal(logged.length, 4, 'one record per row of the three requests answered');
    for (const r of logged) {
      assert.equal(r.version, 1);
      assert.ok(r.latencyMs >= 0 && Number.isFinite(r.latencyMs));
      assert.ok(r.at >= start && !Number.isNaN(Date.parse(r.at)));
    }
    assert.ok(logged.every((r, i) => i === 0 || logged[i - 1].at >= r.at), 'newest first');
    for (const req of sent) {
      const mine = logged.filter((r) => r.requestId === req.requestId).reverse();
      assert.deepEqual(mine.map((r) => r.input), req.rows, 'the rows as sent, a missing value as null');
      assert.deepEqual(mine.map((r) => r.output), req.answer, 'the answer as returned');
    }
    const viaV2 = logged.find((r) => !sent.some((q) => q.requestId === r.requestId))!;
    assert.equal(viaV2.requestId, v2.headers.get('x-request-id'));
    assert.deepEqual(viaV2.input, { sepal_length: 1, sepal_width: 1, petal_length: 6.1, petal_width: 1, color: 'blue' });
    assert.equal(viaV2.output.label, 'virginica');

    // Time ranges: [from, to).
    assert.equal((await allLogged(s, owner.developer, 'logged', 10, `&to=${encodeURIComponent(start)}`)).length, 0);
    assert.equal((await allLogged(s, owner.developer, 'logged', 10, `&from=${encodeURIComponent(start)}`)).length, 4);
    assert.equal((await allLogged(s, owner.developer, 'logged', 10, `&from=${encodeURIComponent(viaV2.at)}`)).length, logged.filter((r) => r.at >= viaV2.at).length);
    // A viewer reads them too, through the SDK as well.
    assert.equal((await s.call('GET', '/v1/endpoints/logged/predictions', { key: owner.viewer })).body.data.length, 4);
    const sdk = new AiaasClient({ url: s.url, apiKey: owner.viewer });
    const first = await sdk.endpoints.predictions('logged', { limit: 3 });
    assert.deepEqual(first.data, logged.slice(0, 3));
    assert.deepEqual((await sdk.endpoints.predictions('logged', { limit: 3, cursor: first.next! })).data, logged.slice(3));
  });

  test('an imported model logs its input tensors as sent', async () => {
    await deploy(s, owner.developer, 'mixed-logged', 'mixed', { logging: { sampleRate: 1 } });
    const r = await s.call('POST', '/v1/endpoints/mixed-logged/predict', { key: owner.developer, json: { instances: [{ x: [1, 2], k: [3], b: [true], s: ['a'] }] } });
    assert.equal(r.status, 200, r.text);
    const [rec] = await allLogged(s, owner.developer, 'mixed-logged');
    assert.deepEqual(rec.input, { x: [1, 2], k: [3], b: [true], s: ['a'] });
    assert.deepEqual(rec.output, r.body.predictions[0]);
  });

  test('sampleRate 0 (the default) logs nothing; PATCH turns logging on; bad settings and queries are refused', async () => {
    const ep = await deploy(s, owner.developer, 'quiet', 'iris');
    assert.deepEqual(ep.logging, { sampleRate: 0, retentionDays: 30 });
    const predict = () => s.call('POST', '/v1/endpoints/quiet/predict', { key: owner.developer, json: { instances: [iris(1.4)] } });
    assert.equal((await predict()).status, 200);
    assert.equal((await allLogged(s, owner.developer, 'quiet')).length, 0);
    const patched = await s.call('PATCH', '/v1/endpoints/quiet', { key: owner.developer, json: { logging: { sampleRate: 1, retentionDays: 7 } } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.logging, { sampleRate: 1, retentionDays: 7 });
    assert.equal((await predict()).status, 200);
    assert.equal((await allLogged(s, owner.developer, 'quiet')).length, 1);
    // Other settings changes keep logging as it is.
    const batching = await s.call('PATCH', '/v1/endpoints/quiet', { key: owner.developer, json: { batching: { maxBatchSize: 8 } } });
    assert.deepEqual(batching.body.logging, { sampleRate: 1, retentionDays: 7 });

    const bad = await s.call('PATCH', '/v1/endpoints/quiet', { key: owner.developer, json: { logging: { sampleRate: 2 } } });
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.text, /sampleRate/);
    const cursor = await s.call('GET', '/v1/endpoints/quiet/predictions?cursor=nonsense', { key: owner.developer });
    assert.equal(cursor.status, 422, cursor.text);
    assert.equal(cursor.body.error.code, 'invalid_cursor');
    const from = await s.call('GET', '/v1/endpoints/quiet/predictions?from=yesterday', { key: owner.developer });
    assert.equal(from.status, 400, from.text);
    assert.equal(from.body.error.code, 'invalid_time');
  });

  test("another tenant gets the same 404 as for an endpoint that does not exist", async () => {
    await deploy(s, owner.developer, 'private', 'iris', { logging: { sampleRate: 1 } });
    assert.equal((await s.call('POST', '/v1/endpoints/private/predict', { key: owner.developer, json: { instances: [iris(1.4)] } })).status, 200);
    const theirs = await s.call('GET', '/v1/endpoints/private/predictions', { key: stranger.developer });
    const nowhere = await s.call('GET', '/v1/endpoints/private-nowhere/predictions', { key: stranger.developer });
    assert.equal(theirs.status, 404);
    assert.deepEqual(theirs.body.error.code, nowhere.body.error.code);
    assert.equal(theirs.body.error.message.replace('private', 'X'), nowhere.body.error.message.replace('private-nowhere', 'X'));
  });

  test('deleting the endpoint deletes its logged rows; a new endpoint of the same name starts empty', async () => {
    const ep = await deploy(s, owner.developer, 'doomed', 'iris', { logging: { sampleRate: 1 } });
    assert.equal((await s.call('POST', '/v1/endpoints/doomed/predict', { key: owner.developer, json: { instances: [iris(1.4), iris(2)] } })).status, 200);
    assert.equal((await allLogged(s, owner.developer, 'doomed')).length, 2);
    assert.equal((await s.call('DELETE', '/v1/endpoints/doomed', { key: owner.developer })).status, 200);
    const left = await s.server.platform.db.selectFrom('prediction_log_packs').select('id').where('endpoint_id', '=', ep.id).execute();
    assert.equal(left.length, 0);
    await deploy(s, owner.developer, 'doomed', 'iris', { logging: { sampleRate: 1 } });
    assert.equal((await allLogged(s, owner.developer, 'doomed')).length, 0);
  });
});

describe('prediction logging with a full queue', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ AIAAS_PREDICTION_LOG_QUEUE_ROWS: '2' });
  });
  after(() => s.stop());

  test('rows that do not fit are dropped and counted; the prediction is answered', async () => {
    const t = await s.tenant('full-queue');
    const v = irisClassifier();
    await s.server.platform.registry.registerVersion(t.id, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature });
    await deploy(s, t.developer, 'busy', 'iris', { logging: { sampleRate: 1 } });
    const r = await s.call('POST', '/v1/endpoints/busy/predict', { key: t.developer, json: { instances: [iris(1), iris(2), iris(3)] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.predictions.length, 3);
    const ok = await s.call('POST', '/v1/endpoints/busy/predict', { key: t.developer, json: { instances: [iris(1)] } });
    assert.equal(ok.status, 200);
    assert.equal((await allLogged(s, t.developer, 'busy')).length, 1, 'the request that fitted is logged');
    const metrics = (await s.call('GET', '/metrics')).text;
    assert.match(metrics, new RegExp(`aiaas_prediction_log_dropped_rows_total\\{tenant="${t.id}",endpoint="busy",reason="queue_full"\\} 3`));
    assert.match(metrics, new RegExp(`aiaas_prediction_log_rows_total\\{tenant="${t.id}",endpoint="busy"\\} 1`));
  });
});
