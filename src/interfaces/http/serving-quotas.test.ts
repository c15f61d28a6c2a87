/**
 * Serving quotas through real HTTP: endpoints per tenant, replicas.max per endpoint, replicas
 * per tenant and per server, on create and on PATCH; 429 `quota_exceeded` naming the quota
 * (without Retry-After: waiting frees nothing); one tenant's use never counts against another.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';

const SERVER_MAX = 6;

describe('serving quotas', () => {
  let s: TestServer;
  let a: { id: string; developer: string; viewer: string };
  let b: { id: string; developer: string; viewer: string };
  const create = (key: string, name: string, max: number, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/endpoints', { key, json: { name, model: 'iris', version: 1, replicas: { min: 1, max }, ...extra } });
  const over = (r: { status: number; headers: Headers; body: any; text: string }, quota: string) => {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.error.code, 'quota_exceeded', r.text);
    assert.equal(r.body.error.details.quota, quota, r.text);
    assert.equal(r.headers.get('retry-after'), null, 'waiting will not help: no Retry-After');
  };

  before(async () => {
    s = await startTestServer({ AIAAS_SERVING_MAX_REPLICAS: String(SERVER_MAX) });
    a = await s.tenant('quota-a');
    b = await s.tenant('quota-b');
    for (const t of [a, b]) {
      for (const bias of [0, 100]) {
        const v = irisClassifier({ bias });
        await s.server.platform.registry.registerVersion(t.id, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature });
      }
    }
  });
  after(async () => {
    // Stop once every endpoint has loaded: a server closed while an endpoint is still loading
    // leaves that endpoint's replica threads running (serving.close closes the pools it has).
    for (const t of [a, b]) {
      for (let i = 0; ; i++) {
        const list = await s.call('GET', '/v1/endpoints', { key: t.viewer });
        if (list.body.data.every((e: { status: string }) => e.status === 'ready' || e.status === 'failed')) break;
        assert.ok(i < 600, 'endpoints never loaded');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await s.stop();
  });

  test('defaults, admin-only changes, null back to the default, and each tenant sees only its own', async () => {
    const defaults = await s.call('GET', `/v1/tenants/${a.id}/quota`, { key: a.viewer });
    assert.equal(defaults.status, 200, defaults.text);
    assert.deepEqual(
      { maxEndpoints: defaults.body.maxEndpoints, maxReplicasPerEndpoint: defaults.body.maxReplicasPerEndpoint, maxReplicas: defaults.body.maxReplicas },
      { maxEndpoints: 10, maxReplicasPerEndpoint: 8, maxReplicas: 16 },
    );
    assert.equal(defaults.body.maxCpu, null, 'the jobs quota is still there');
    assert.equal((await s.call('PUT', `/v1/tenants/${a.id}/quota`, { key: a.developer, json: { maxEndpoints: 50 } })).status, 403);
    const put = await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxEndpoints: 2, maxReplicas: 3, maxCpu: 4 } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual([put.body.maxEndpoints, put.body.maxReplicasPerEndpoint, put.body.maxReplicas, put.body.maxCpu], [2, 8, 3, 4]);
    assert.deepEqual((await s.call('GET', `/v1/tenants/${a.id}/quota`, { key: a.viewer })).body, put.body);
    // A jobs-only change keeps the serving fields, and the other way round.
    const jobsOnly = await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxCpu: null } });
    assert.deepEqual([jobsOnly.body.maxEndpoints, jobsOnly.body.maxReplicas, jobsOnly.body.maxCpu], [2, 3, null]);
    // 0 stays a limit of 0 on the jobs fields too (type coercion once made it null: no limit).
    const zeroJobs = await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxConcurrentJobs: 0, maxCpu: 0 } });
    assert.deepEqual([zeroJobs.body.maxConcurrentJobs, zeroJobs.body.maxCpu], [0, 0], zeroJobs.text);
    await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxConcurrentJobs: null, maxCpu: null } });
    // Tenant B is untouched, and neither tenant can read the other's quota.
    const other = await s.call('GET', `/v1/tenants/${b.id}/quota`, { key: b.viewer });
    assert.deepEqual([other.body.maxEndpoints, other.body.maxReplicas], [10, 16]);
    assert.equal((await s.call('GET', `/v1/tenants/${b.id}/quota`, { key: a.developer })).status, 404);
    assert.equal((await s.call('GET', `/v1/tenants/${a.id}/quota`, { key: b.developer })).status, 404);
    for (const bad of [{ maxEndpoints: -1 }, { maxReplicasPerEndpoint: 0 }, { maxReplicasPerEndpoint: 65 }, { maxReplicas: 1.5 }, { maxReplicas: 'many' }, { maxEndpoint: 3 }]) {
      const r = await s.call('PUT', `/v1/tenants/${b.id}/quota`, { json: bad });
      assert.equal(r.status, 422, `${JSON.stringify(bad)}: ${r.text}`);
    }
    const zero = await s.call('PUT', `/v1/tenants/${b.id}/quota`, { json: { maxEndpoints: 0, maxReplicas: 5 } });
    assert.deepEqual([zero.body.maxEndpoints, zero.body.maxReplicas], [0, 5], '0 is a limit, not "no value"');
    over(await create(b.developer, 'none', 1), 'maxEndpoints');
    assert.equal((await s.call('PUT', `/v1/tenants/${b.id}/quota`, { json: { maxEndpoints: null } })).body.maxEndpoints, 10);
    assert.equal((await s.call('PUT', `/v1/tenants/${b.id}/quota`, { json: { maxReplicas: null } })).body.maxReplicas, 16);
  });

  test('endpoints per tenant, replicas.max per endpoint and replicas per tenant, on create and on PATCH', async () => {
    // replicas.max over the per-endpoint cap is refused before anything is resolved or loaded.
    await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxReplicasPerEndpoint: 2 } });
    const tooWide = await create(a.developer, 'wide', 3);
    over(tooWide, 'maxReplicasPerEndpoint');
    assert.deepEqual([tooWide.body.error.details.limit, tooWide.body.error.details.requested], [2, 3]);
    assert.match(tooWide.body.error.message, /PUT \/v1\/tenants\/.+\/quota/);
    assert.equal((await create(a.developer, 'e1', 2)).status, 201);
    // 2 of 3 replicas reserved: a second endpoint with max 2 does not fit, one with max 1 does.
    const tooMany = await create(a.developer, 'e2', 2);
    over(tooMany, 'maxReplicas');
    assert.deepEqual([tooMany.body.error.details.used, tooMany.body.error.details.limit, tooMany.body.error.details.requested], [2, 3, 2]);
    assert.equal((await create(a.developer, 'e2', 1)).status, 201);
    over(await create(a.developer, 'e3', 1), 'maxEndpoints');
    // PATCH: raising replicas.max past the quotas is refused; lowering is always allowed.
    over(await s.call('PATCH', '/v1/endpoints/e2', { key: a.developer, json: { replicas: { max: 3 } } }), 'maxReplicasPerEndpoint');
    over(await s.call('PATCH', '/v1/endpoints/e2', { key: a.developer, json: { replicas: { max: 2 } } }), 'maxReplicas');
    const lowered = await s.call('PATCH', '/v1/endpoints/e1', { key: a.developer, json: { replicas: { max: 1 } } });
    assert.equal(lowered.status, 200, lowered.text);
    assert.equal(lowered.body.replicas.max, 1);
    assert.equal((await s.call('PATCH', '/v1/endpoints/e2', { key: a.developer, json: { replicas: { max: 2 } } })).status, 200);
    // A canary counts replicas.max once per version in the traffic: e1 (max 1) with two versions needs 2.
    over(await s.call('PATCH', '/v1/endpoints/e1', { key: a.developer, json: { traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] } }), 'maxReplicas');
    await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxReplicas: 4 } });
    const canary = await s.call('PATCH', '/v1/endpoints/e1', { key: a.developer, json: { traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] } });
    assert.equal(canary.status, 200, canary.text);
    over(await s.call('PATCH', '/v1/endpoints/e1', { key: a.developer, json: { replicas: { max: 2 } } }), 'maxReplicas');
    // A refused change changed nothing.
    const e1 = await s.call('GET', '/v1/endpoints/e1', { key: a.viewer });
    assert.deepEqual([e1.body.replicas.max, e1.body.traffic.length], [1, 2]);
    // A lowered quota leaves what runs alone, and deleting frees room.
    await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxEndpoints: 1 } });
    assert.equal((await s.call('GET', '/v1/endpoints/e1', { key: a.viewer })).status, 200);
    assert.equal((await s.call('DELETE', '/v1/endpoints/e1', { key: a.developer })).status, 200);
    over(await create(a.developer, 'e3', 1), 'maxEndpoints');
    await s.call('PUT', `/v1/tenants/${a.id}/quota`, { json: { maxEndpoints: null } });
    assert.equal((await create(a.developer, 'e3', 1)).status, 201);
  });

  test("one tenant at its quota does not hold back another; the server's own bound counts everyone", async () => {
    // A holds 3 replicas (e2: 2, e3: 1); B has its default quota and is not held back by A's.
    assert.equal((await create(b.developer, 'e1', 2)).status, 201, 'B is not counted against A');
    assert.equal((await create(b.developer, 'e2', 1)).status, 201);
    // 6 of the server's 6 replicas are reserved: B's own quota (16) has room, the server has none.
    const full = await create(b.developer, 'e3', 1);
    over(full, 'serverMaxReplicas');
    assert.deepEqual([full.body.error.details.limit, full.body.error.details.free], [SERVER_MAX, 0]);
    assert.equal(full.body.error.details.used, undefined, "other tenants' use is not shown");
    assert.match(full.body.error.message, /AIAAS_SERVING_MAX_REPLICAS/);
    // Endpoints with the same name in two tenants are two endpoints, each counted in its own tenant.
    assert.equal((await s.call('DELETE', '/v1/endpoints/e2', { key: b.developer })).status, 200);
    assert.equal((await create(b.developer, 'e3', 1)).status, 201);
    const listA = await s.call('GET', '/v1/endpoints', { key: a.viewer });
    assert.deepEqual(listA.body.data.map((e: { name: string }) => e.name), ['e2', 'e3']);
  });

  test('concurrent creates cannot both take the last room', async () => {
    for (const name of ['e2', 'e3']) assert.equal((await s.call('DELETE', `/v1/endpoints/${name}`, { key: a.developer })).status, 200);
    // A's quota has room for 4 replicas but the server only 6 - 3 (B's) = 3. Four creates of 1 at once: exactly three fit.
    const results = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((n) => create(a.developer, n, 1)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 429], results.map((r) => r.text).join('\n'));
  });
});
