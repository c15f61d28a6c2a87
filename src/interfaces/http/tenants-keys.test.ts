/** Tenants, keys, roles and the audit log, through real HTTP. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';
import { AUTH_RECHECK_MS } from '../../services/keys.js';
import { describeEachEngine } from '../testing/engines.js';

describeEachEngine('tenants, keys and roles', (engine) => {
  let s: TestServer;
  before(async () => { s = await startTestServer(await engine.env()); });
  after(() => s.stop());

  test('an admin creates tenants; names are unique and validated', async () => {
    const a = await s.call('POST', '/v1/tenants', { json: { name: 'acme' } });
    assert.equal(a.status, 201);
    assert.match(a.body.id, /^tn_/);
    assert.equal(a.body.name, 'acme');
    assert.equal((await s.call('POST', '/v1/tenants', { json: { name: 'acme' } })).body.error.code, 'name_taken');
    const bad = await s.call('POST', '/v1/tenants', { json: { name: 'no spaces please' } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'invalid_name');
    const got = await s.call('GET', '/v1/tenants/acme');
    assert.equal(got.body.id, a.body.id);
  });

  test('keys are shown once, prefixed aiaas_, and stored only hashed', async () => {
    const t = await s.call('POST', '/v1/tenants', { json: { name: 'keys-co' } });
    const k = await s.call('POST', '/v1/keys', { json: { name: 'ci', role: 'developer', tenant: t.body.id } });
    assert.equal(k.status, 201);
    assert.match(k.body.key, /^aiaas_[A-Za-z0-9_-]{43}$/);
    const listed = await s.call('GET', '/v1/keys?tenant=keys-co');
    assert.equal(listed.body.data.length, 1);
    assert.equal(listed.body.data[0].key, undefined);
    assert.equal(listed.body.data[0].hint, k.body.key.slice(0, 10) + '…');
    const stored = await s.server.platform.db.selectFrom('api_keys').selectAll().where('id', '=', k.body.id).executeTakeFirstOrThrow();
    assert.equal(stored.key_hash.length, 64);
    assert.ok(!JSON.stringify(stored).includes(k.body.key));
  });

  test('roles: developers manage their tenant, viewers read, inference keys only predict', async () => {
    const t = await s.tenant('roles-co');
    const inf = await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'svc', role: 'inference', endpoint: 'iris' } });
    assert.equal(inf.status, 201);
    assert.equal(inf.body.tenant, t.id);
    assert.equal(inf.body.endpoint, 'iris');
    // developer may not mint admin keys, viewer may not mint any, nobody but admins creates tenants
    assert.equal((await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'x', role: 'admin' } })).status, 403);
    assert.equal((await s.call('POST', '/v1/keys', { key: t.viewer, json: { name: 'x', role: 'viewer' } })).status, 403);
    assert.equal((await s.call('POST', '/v1/tenants', { key: t.developer, json: { name: 'evil' } })).status, 403);
    // viewer reads, inference key reads nothing
    assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 200);
    const denied = await s.call('GET', '/v1/datasets', { key: inf.body.key });
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, /role/);
    // endpoint scope only for inference keys
    const scoped = await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'x', role: 'viewer', endpoint: 'iris' } });
    assert.equal(scoped.status, 422);
    assert.equal((await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'x', role: 'root' } })).status, 422);
  });

  test('revocation takes effect on the very next request', async () => {
    const t = await s.tenant('revoke-co');
    assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 200);
    const keys = await s.call('GET', '/v1/keys', { key: t.developer });
    const viewer = keys.body.data.find((k: { role: string }) => k.role === 'viewer');
    const del = await s.call('DELETE', `/v1/keys/${viewer.id}`, { key: t.developer });
    assert.equal(del.status, 200);
    assert.ok(del.body.revokedAt);
    assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 401);
  });

  test('authentication is cached per key for at most a second: a revocation by another node lands within it', async () => {
    // The auth cache's clock moves only when this test says: no sleeping, whatever the machine's speed.
    const keys = s.server.platform.keys;
    const clock = new ManualClock(performance.now());
    const realClock = keys.now;
    keys.now = clock.now;
    try {
      const t = await s.tenant('revoke-elsewhere-co');
      assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 200); // now cached
      // Another node revokes: only the shared store changes, this node's cache does not hear of it.
      const listed = await s.call('GET', '/v1/keys', { key: t.developer });
      const viewer = listed.body.data.find((k: { role: string }) => k.role === 'viewer');
      await s.server.platform.db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', viewer.id).execute();
      clock.advance(AUTH_RECHECK_MS - 1);
      assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 200, 'still answered from the cache');
      clock.advance(1);
      assert.equal((await s.call('GET', '/v1/datasets', { key: t.viewer })).status, 401, 'the store is read again after AUTH_RECHECK_MS');
      // A key created elsewhere (never seen here) works at once: unknown keys are not cached.
      assert.equal((await s.call('GET', '/v1/datasets', { key: 'aiaas_not-a-key-yet' })).status, 401);
      const made = await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'later', role: 'viewer' } });
      assert.equal((await s.call('GET', '/v1/datasets', { key: made.body.key })).status, 200);
    } finally {
      keys.now = realClock;
    }
  });

  test('the last admin key cannot be revoked', async () => {
    const keys = await s.call('GET', '/v1/keys');
    const admin = keys.body.data.find((k: { role: string }) => k.role === 'admin');
    const r = await s.call('DELETE', `/v1/keys/${admin.id}`);
    assert.equal(r.status, 403);
  });

  test('tenant isolation: keys and tenants of another tenant answer 404', async () => {
    const a = await s.tenant('iso-a');
    const b = await s.tenant('iso-b');
    const bKeys = await s.call('GET', '/v1/keys', { key: b.developer });
    const aKeys = await s.call('GET', '/v1/keys', { key: a.developer });
    assert.ok(aKeys.body.data.every((k: { tenant: string }) => k.tenant === a.id));
    assert.equal((await s.call('DELETE', `/v1/keys/${bKeys.body.data[0].id}`, { key: a.developer })).status, 404);
    assert.equal((await s.call('GET', `/v1/tenants/${b.id}`, { key: a.developer })).status, 404);
    assert.deepEqual((await s.call('GET', '/v1/tenants', { key: a.viewer })).body.data.map((t: { id: string }) => t.id), [a.id]);
    const cross = await s.call('POST', '/v1/keys', { key: a.developer, json: { name: 'x', role: 'viewer', tenant: b.id } });
    assert.equal(cross.status, 404);
    // X-Tenant is for admins only
    assert.equal((await s.call('GET', '/v1/datasets', { key: a.developer, headers: { 'x-tenant': b.id } })).status, 403);
    assert.equal((await s.call('GET', '/v1/datasets', { headers: { 'x-tenant': 'no-such-tenant' } })).status, 404);
  });

  test('every mutating call is audited, readable by admins only', async () => {
    const t = await s.tenant('audit-co');
    await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'ok', role: 'viewer' } });
    await s.call('POST', '/v1/keys', { key: t.developer, json: { name: 'x', role: 'admin' } }); // refused
    const log = await s.call('GET', '/v1/audit?tenant=audit-co&limit=10');
    assert.equal(log.status, 200);
    const [refused, ...rest] = log.body.data;
    assert.equal(refused.method, 'POST');
    assert.equal(refused.route, '/v1/keys');
    assert.equal(refused.outcome, 'failure');
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.errorCode, 'forbidden');
    assert.equal(refused.keyName, 'audit-co-dev');
    assert.ok(rest.some((e: { outcome: string; route: string }) => e.outcome === 'success' && e.route === '/v1/keys'));
    assert.equal((await s.call('GET', '/v1/audit', { key: t.developer })).status, 403);
    const older = await s.call('GET', `/v1/audit?limit=1&before=${refused.id}`);
    assert.equal(older.body.data.length, 1);
    assert.ok(older.body.data[0].id < refused.id);
  });
});
