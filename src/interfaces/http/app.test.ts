/** The HTTP surface every route shares: health, docs, metrics, errors, request ids, limits. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';

describe('HTTP basics', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ AIAAS_BODY_LIMIT_BYTES: '2048' }); });
  after(() => s.stop());

  test('health and readiness need no key', async () => {
    const live = await s.call('GET', '/healthz', { key: null });
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'ok' });
    const ready = await s.call('GET', '/readyz', { key: null });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.store, 'ok');
  });

  test('openapi.json documents the routes with their schemas, and /docs renders it', async () => {
    const doc = await s.call('GET', '/openapi.json', { key: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    for (const p of ['/v1/tenants', '/v1/keys', '/v1/keys/{id}', '/v1/datasets', '/v1/datasets/{idOrName}/rows', '/v1/audit']) {
      assert.ok(doc.body.paths[p], `openapi lacks ${p}`);
    }
    assert.ok(doc.body.paths['/v1/keys'].post.requestBody.content['application/json'].schema.properties.role);
    const ui = await fetch(s.url + '/docs/');
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });

  test('metrics need an admin key and count requests by route and status', async () => {
    assert.equal((await s.call('GET', '/metrics', { key: null })).status, 401);
    await s.call('GET', '/v1/tenants');
    const m = await s.call('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /aiaas_http_requests_total\{method="GET",route="\/v1\/tenants",status="200"\} \d+/);
    assert.match(m.text, /aiaas_http_request_duration_seconds_bucket/);
    assert.match(m.text, /process_cpu_user_seconds_total/);
  });

  test('unknown routes answer 404 in the error format', async () => {
    const r = await s.call('GET', '/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'route_not_found');
    assert.match(r.body.error.message, /GET \/v1\/nope/);
  });

  test('no key, a malformed header, an unknown key: 401', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer aiaas_unknown' }] as Record<string, string>[]) {
      const r = await s.call('GET', '/v1/tenants', { key: null, headers });
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'unauthorized');
    }
  });

  test('malformed JSON is a 400 that says so', async () => {
    const r = await s.call('POST', '/v1/tenants', { body: '{"name": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_json');
  });

  test('a body that does not fit the schema is a 422 naming the field', async () => {
    const missing = await s.call('POST', '/v1/tenants', { json: {} });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error.code, 'invalid_request');
    assert.match(missing.body.error.message, /name/);
    const unknown = await s.call('POST', '/v1/tenants', { json: { name: 'x', colour: 'red' } });
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.error.message, /unknown field 'colour'/);
  });

  test('a body over the limit is a 413', async () => {
    const r = await s.call('POST', '/v1/tenants', { json: { name: 'x'.repeat(4000) } });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 'payload_too_large');
  });

  test('X-Request-Id is echoed, or generated when absent', async () => {
    const given = await s.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-123' } });
    assert.equal(given.headers.get('x-request-id'), 'trace-123');
    const generated = await s.call('GET', '/healthz');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
