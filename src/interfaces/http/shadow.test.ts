/**
 * Shadow traffic through real HTTP: a candidate version gets copies of an exact share of the
 * requests (predict and Open Inference infer), on replicas of its own; its answers are compared
 * (agreement 1 for the same model, less for a biased one) and never returned; a candidate that
 * refuses every row never fails a request; bad settings; the endpoint's Prometheus metrics; another
 * tenant.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../infra/config.js';
import { startServer, type RunningServer } from '../server.js';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { until } from '../testing/jobs-helpers.js';
import { irisClassifier, irisExpected } from '../../ml/testing/onnx-fixtures.js';

const row = (petal_length: number) => ({ sepal_length: 5.1, sepal_width: 3.5, petal_length, petal_width: 0.2, color: 'red' });
const v2Body = (petal: number[]) => ({
  inputs: [
    { name: 'sepal_length', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 5.1) },
    { name: 'sepal_width', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 3.5) },
    { name: 'petal_length', shape: [petal.length], datatype: 'FP32', data: petal },
    { name: 'petal_width', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 0.2) },
    { name: 'color', shape: [petal.length], datatype: 'BYTES', data: petal.map(() => 'red') },
  ],
});

describe('shadow traffic', () => {
  let s: TestServer;
  let dev: string;
  let viewer: string;
  let other: string;
  let tenantId: string;

  const get = async () => {
    const g = await s.call('GET', '/v1/endpoints/iris', { key: viewer });
    assert.equal(g.status, 200, g.text);
    return g.body;
  };
  const shadowOnce = (pred: (sh: any) => boolean) => until('shadow figures', async () => {
    const sh = (await get()).shadow;
    return sh && pred(sh) ? sh : undefined;
  });
  const patch = (json: unknown, key = dev) => s.call('PATCH', '/v1/endpoints/iris', { key, json });
  async function predict(lengths: number[]) {
    const p = await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: lengths.map(row) } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.version, 1);
    // The answer is always the primary's (v1), whatever the candidate says.
    assert.deepEqual(p.body.predictions.map((x: { label: string }) => x.label), lengths.map((l) => irisExpected(l)));
  }

  before(async () => {
    s = await startTestServer();
    const t = await s.tenant('shadow-co');
    dev = t.developer;
    viewer = t.viewer;
    tenantId = t.id;
    other = (await s.tenant('shadow-other')).developer;
    const registry = s.server.platform.registry;
    // v1; v2 says virginica for every row (bias); v3 has no `color` column, so it refuses every row sent with one; v4 claims to be a language model.
    for (const v of [irisClassifier(), irisClassifier({ bias: 100 }), irisClassifier({ color: false })]) {
      await registry.registerVersion(t.id, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature });
    }
    const lm = irisClassifier();
    await registry.registerVersion(t.id, { name: 'iris', artifact: lm.bytes, kind: 'causal_lm', task: 'classification', signature: lm.signature });
    const r = await s.call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris', model: 'iris', version: 1, replicas: { min: 1, max: 1 } } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.shadow, null);
  });
  let restarted: RunningServer | undefined;
  after(async () => {
    await restarted?.stop();
    await s.stop();
  });

  test('the same version in shadow at 50%: exactly every other request is copied (predict and infer), and all agree', async () => {
    const r = await patch({ shadow: { version: 1, percent: 50 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.shadow.version, 1);
    assert.equal(r.body.shadow.percent, 50);
    assert.equal(r.body.shadow.requests, 0);
    assert.equal(r.body.shadow.ready, 1, 'the candidate runs on a replica of its own');
    assert.equal(r.body.replicas.ready, 1, "the traffic's replicas are unchanged");
    for (let i = 0; i < 10; i++) await predict([1.0, 4.5]);
    // Copies are counted once the request is answered: the count is exact at once.
    assert.equal((await get()).shadow.requests, 5);
    for (let i = 0; i < 4; i++) {
      const p = await s.call('POST', '/v2/models/iris/infer', { key: dev, json: v2Body([6.5]) });
      assert.equal(p.status, 200, p.text);
    }
    assert.equal((await get()).shadow.requests, 7);
    const sh = await shadowOnce((x) => x.rows === 5 * 2 + 2);
    assert.equal(sh.agreement, 1);
    assert.equal(sh.errors, 0);
    assert.equal(sh.dropped, 0);
    assert.ok(sh.p50LatencyMs > 0, JSON.stringify(sh));
    const m = await s.call('GET', '/v1/endpoints/iris/metrics', { key: viewer });
    assert.match(m.text, /aiaas_endpoint_shadow_requests_total\{tenant="[^"]+",endpoint="iris",version="1",outcome="compared"\} 7/);
    assert.match(m.text, /aiaas_endpoint_shadow_rows_total\{[^}]*agreement="agree"\} 12/);
    assert.match(m.text, /aiaas_endpoint_shadow_duration_seconds_count\{[^}]*version="1"\} 7/);
  });

  test('a biased candidate at 100%: every request copied, agreement below 1, answers still the primary\'s; 0% copies none', async () => {
    const r = await patch({ shadow: { version: 2, percent: 100 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.shadow.requests, 0, 'a new candidate starts its figures afresh');
    assert.ok(r.body.events.some((e: { type: string; message: string }) => e.type === 'shadow' && /shadow v2 gets 100% of requests/.test(e.message)));
    // v1: setosa, versicolor, versicolor, virginica; v2: virginica for all.
    for (let i = 0; i < 3; i++) await predict([1.0, 3.0, 4.5, 6.9]);
    assert.equal((await get()).shadow.requests, 3);
    const sh = await shadowOnce((x) => x.rows === 12);
    assert.equal(sh.agreement, 0.25);
    const m = await s.call('GET', '/v1/endpoints/iris/metrics', { key: viewer });
    assert.match(m.text, /aiaas_endpoint_shadow_rows_total\{[^}]*version="2",agreement="disagree"\} 9/, 'the new candidate\'s series');
    assert.doesNotMatch(m.text, /aiaas_endpoint_shadow_rows_total\{[^}]*version="1"/, 'the replaced one\'s are gone');
    assert.equal((await patch({ shadow: { version: 2, percent: 0 } })).status, 200);
    for (let i = 0; i < 3; i++) await predict([1.0]);
    const still = (await get()).shadow;
    assert.equal(still.requests, 3, 'a new share of the same candidate keeps its figures and copies nothing at 0%');
    assert.equal(still.percent, 0);
  });

  test('a candidate that refuses every row never fails a request: its errors are counted', async () => {
    assert.equal((await patch({ shadow: { version: 3, percent: 100 } })).status, 200);
    for (let i = 0; i < 3; i++) await predict([1.0, 6.9]);
    const p = await s.call('POST', '/v2/models/iris/infer', { key: dev, json: v2Body([1.0]) });
    assert.equal(p.status, 200, p.text);
    const sh = await shadowOnce((x) => x.errors === 4);
    assert.equal(sh.requests, 4);
    assert.equal(sh.rows, 0);
    assert.equal(sh.agreement, null);
    assert.match(sh.lastError, /color/);
  });

  test('bad settings are refused naming what is wrong; shadow: null removes it; another tenant sees nothing', async () => {
    const missing = await patch({ shadow: { version: 9, percent: 10 } });
    assert.equal(missing.status, 404, missing.text);
    assert.match(missing.body.error.message, /iris@9|9/);
    const over = await patch({ shadow: { version: 2, percent: 101 } });
    assert.ok(over.status === 400 || over.status === 422, over.text);
    assert.match(over.text, /percent/);
    const lm = await patch({ shadow: { version: 4, percent: 10 } });
    assert.equal(lm.status, 422, lm.text);
    assert.equal(lm.body.error.code, 'shadow_not_supported');
    assert.match(lm.body.error.message, /not supported for generation/);
    assert.equal((await get()).shadow.version, 3, 'a refused change leaves the shadow as it was');
    assert.equal(s.server.platform.serving.servingUse(tenantId).replicas, 2, 'the candidate holds replicas.max against the quota');

    assert.equal((await patch({ shadow: { version: 2, percent: 10 } }, other)).status, 404);
    assert.equal((await s.call('GET', '/v1/endpoints/iris', { key: other })).status, 404);

    const removed = await patch({ shadow: null });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.body.shadow, null);
    await predict([1.0]);
    const m = await s.call('GET', '/v1/endpoints/iris/metrics', { key: viewer });
    assert.doesNotMatch(m.text, /aiaas_endpoint_shadow_requests_total\{/, 'the removed shadow\'s series are gone');
    assert.equal(s.server.platform.serving.servingUse(tenantId).replicas, 1, 'the candidate\'s replicas are no longer held');
  });

  test('the shadow is stored with the endpoint: after a restart it runs again', async () => {
    assert.equal((await patch({ shadow: { version: 2, percent: 100 } })).status, 200);
    await s.server.stop();
    restarted = await startServer(loadConfig({ AIAAS_HOME: s.home, AIAAS_ADMIN_KEY: s.adminKey, PORT: '0', AIAAS_LOG_LEVEL: 'silent' }));
    const base = restarted.url;
    const call = async (route: string, init: RequestInit = {}) => {
      const r = await fetch(base + route, { ...init, headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' } });
      return { status: r.status, body: await r.json() as any };
    };
    await until('shadow running after restart', async () => (await call('/v1/endpoints/iris')).body.shadow?.ready === 1 || undefined);
    const p = await call('/v1/endpoints/iris/predict', { method: 'POST', body: JSON.stringify({ instances: [row(1.0)] }) });
    assert.equal(p.status, 200);
    assert.equal(p.body.predictions[0].label, 'setosa');
    const sh = await until('compared', async () => {
      const x = (await call('/v1/endpoints/iris')).body.shadow;
      return x.rows === 1 ? x : undefined;
    });
    assert.equal(sh.agreement, 0, 'v2 says virginica');
  });
});
