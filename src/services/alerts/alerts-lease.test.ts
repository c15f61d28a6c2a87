/**
 * Alerts are evaluated once with several API nodes on one store: two nodes' services on one
 * database (both engines) split the alerts by lease, never both owning one; a lease that is not
 * renewed passes to the other node, and a stopped node hands its alerts back at once.
 */
import assert from 'node:assert/strict';
import { storeTest } from '../../infra/testing/store-engines.js';
import { createLogger } from '../../infra/logger.js';
import { TenantService } from '../tenants.js';
import { AlertService, type AlertSources } from './alerts.js';
import type { Principal } from '../principal.js';

// No endpoint is watched here: only the leases are under test.
const NO_ENDPOINTS: AlertSources = {
  endpointNames: () => [],
  trafficTotals: () => [],
  driftOf: () => Promise.reject(new Error('no endpoints in this test')),
};

storeTest('alert leases: one owner per alert across nodes, taken over when not renewed, handed back on stop', async (engine) => {
  const db = await engine.open();
  const tenant = await new TenantService(db).create('leases');
  const p: Principal = { keyId: 'k', keyName: 'k', role: 'developer', tenantId: tenant.id, keyTenantId: tenant.id, endpoint: null };
  let now = Date.parse('2026-01-01T00:00:00Z');
  const node = (id: string) => new AlertService({ db, serving: NO_ENDPOINTS, logger: createLogger('silent'), nodeId: id, intervalMs: 1000, leaseMs: 30_000, clock: () => now });
  const [a, b] = [node('A'), node('B')];
  for (let i = 0; i < 6; i++) {
    await a.create(p, { name: `rps-${i}`, metric: 'requestsPerSecond', op: '<', threshold: 1, windowSeconds: 60, webhook: { url: 'http://127.0.0.1:9/hook', secret: 's' } });
  }
  const [byA, byB] = await Promise.all([a.claim(), b.claim()]);
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
  assert.equal(byA.length + byB.length, 6, 'every alert has an owner');
  assert.deepEqual(ids(byA).filter((id) => ids(byB).includes(id)), [], 'no alert has two');
  // Renewals keep each node's own; neither takes the other's while its lease lives.
  now += 20_000;
  assert.deepEqual(ids(await a.claim()), ids(byA));
  assert.deepEqual(ids(await b.claim()), ids(byB));
  // A stops renewing: after its lease B owns everything, and A's next pass takes nothing back.
  now += 31_000;
  assert.equal((await b.claim()).length, 6);
  assert.equal((await a.claim()).length, 0);
  await b.stop();
  assert.equal((await a.claim()).length, 6, 'a stopped node hands its alerts back');
  await a.stop();
});
