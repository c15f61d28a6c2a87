/**
 * The data plane's request steps on their own: who may predict on which endpoint (every
 * transport gets these answers, in this order), version picking, and what is recorded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { LocalBlobStore } from '../../infra/blob-store.js';
import { DomainError } from '../../infra/errors.js';
import { createLogger } from '../../infra/logger.js';
import { openStore, type Db } from '../../infra/store/database.js';
import { BlobRefs } from '../blob-refs.js';
import type { Principal, Role } from '../principal.js';
import { DataPlane } from './data-plane.js';
import { Endpoint } from './endpoint.js';
import { PredictionMeter } from './metering.js';
import { ServingMetrics } from './metrics.js';
import { PredictionLog } from './prediction-log.js';
import { DEFAULT_SETTINGS } from './settings.js';

let home: string;
let db: Db;
let blobs: LocalBlobStore;
before(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-plane-'));
  db = await openStore({ home });
  blobs = new LocalBlobStore(path.join(home, 'blobs'));
});
after(async () => {
  await db.destroy();
  fs.rmSync(home, { recursive: true, force: true });
});

function endpoint(tenant: string, name: string, status: Endpoint['status'] = 'ready'): Endpoint {
  const now = new Date().toISOString();
  const ep = new Endpoint({
    id: `ep_${tenant}_${name}`, tenant_id: tenant, name, model_name: 'm', stage: null,
    traffic: '[]', settings: JSON.stringify(DEFAULT_SETTINGS), created_at: now, updated_at: now,
  }, [{ version: 1, weight: 100 }], DEFAULT_SETTINGS);
  ep.status = status;
  if (status === 'failed') ep.error = 'the model did not load';
  return ep;
}

function principal(tenantId: string, role: Role = 'developer', endpoint: string | null = null): Principal {
  return { keyId: 'k', keyName: 'k', role, tenantId, keyTenantId: tenantId, endpoint };
}

function newPlane(registry = new Registry(), meter = new PredictionMeter(db, createLogger('silent', 'test'))): DataPlane {
  return new DataPlane(new ServingMetrics(registry, { pools: () => [] }), meter, new PredictionLog(db, blobs, new BlobRefs(db, blobs), createLogger('silent', 'test'), registry, () => []));
}

function plane() {
  const registry = new Registry();
  const p = newPlane(registry);
  for (const ep of [endpoint('t1', 'iris'), endpoint('t1', 'mixed'), endpoint('t1', 'warming', 'loading'), endpoint('t1', 'broken', 'failed'), endpoint('t2', 'theirs')]) p.add(ep);
  return { plane: p, registry };
}

/** What a refusal says: kind (the status, at the HTTP edge), code, message, details (the error body's fields). */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DomainError, String(err));
    return { kind: err.kind, code: err.code, message: err.message, details: err.details };
  }
  assert.fail('not refused');
}

test('authorizePredict: the caller\'s ready endpoint; other tenants\' endpoints are not found', () => {
  const { plane: p } = plane();
  assert.equal(p.authorizePredict(principal('t1'), 'iris').row.name, 'iris');
  assert.equal(p.authorizePredict(principal('t2'), 'theirs').row.tenant_id, 't2');
  const alone = newPlane();
  alone.add(endpoint('t2', 'theirs'));
  assert.deepEqual(refusal(() => p.authorizePredict(principal('t2'), 'iris')), refusal(() => alone.authorizePredict(principal('t2'), 'iris')),
    'another tenant\'s endpoint answers exactly as if it did not exist');
  assert.equal(refusal(() => p.authorizePredict(principal('t1'), 'theirs')).kind, 'not_found');
  assert.equal(refusal(() => p.find(principal('t1'), 'theirs')).kind, 'not_found');
});

test('authorizePredict: an inference key scoped to one endpoint reaches it only, by name or id', () => {
  const { plane: p } = plane();
  const scoped = principal('t1', 'inference', 'iris');
  assert.equal(p.authorizePredict(scoped, 'iris').row.name, 'iris');
  assert.equal(p.authorizePredict(principal('t1', 'inference', 'ep_t1_iris'), 'iris').row.name, 'iris');
  const other = refusal(() => p.authorizePredict(scoped, 'mixed'));
  assert.deepEqual(other, { kind: 'forbidden', code: 'forbidden', message: "This inference key may call endpoint 'iris' only; use a key for 'mixed'.", details: other.details });
  // A scoped key learns nothing of what else exists: 403 whether the endpoint exists or not.
  assert.deepEqual(refusal(() => p.authorizePredict(scoped, 'nope')).message, "This inference key may call endpoint 'iris' only; use a key for 'nope'.");
  assert.equal(refusal(() => p.isReady(scoped, 'mixed')).kind, 'forbidden');
});

test('authorizePredict: roles that may not predict are refused first, whatever the transport screened', () => {
  const { plane: p } = plane();
  const viewer = refusal(() => p.authorizePredict(principal('t1', 'viewer'), 'nope'));
  assert.equal(viewer.kind, 'forbidden');
  assert.match(viewer.message, /needs a key with role admin or developer or inference; yours has role viewer/);
  assert.equal(DataPlane.mayPredict('viewer'), false);
  for (const role of ['admin', 'developer', 'inference'] as const) assert.equal(DataPlane.mayPredict(role), true, role);
});

test('authorizePredict: an endpoint not ready answers 503 with why; isReady says false', () => {
  const { plane: p } = plane();
  const me = principal('t1');
  assert.deepEqual(refusal(() => p.authorizePredict(me, 'warming')), {
    kind: 'unavailable', code: 'endpoint_not_ready', message: "Endpoint 'warming' is not ready: it is still loading; retry in a moment.", details: { status: 'loading', retryAfterSeconds: 1 },
  });
  assert.match(refusal(() => p.authorizePredict(me, 'broken')).message, /failed to start: the model did not load\. Fix it with PATCH \/v1\/endpoints\/broken/);
  assert.equal(p.isReady(me, 'warming'), false);
  assert.equal(p.isReady(me, 'iris'), true);
  assert.equal(refusal(() => p.isReady(principal('t2'), 'iris')).kind, 'not_found');
});

test('pickVersion: a version not served is not found; no version with traffic is 503', () => {
  const { plane: p } = plane();
  const ep = p.authorizePredict(principal('t1'), 'iris');
  const missing = refusal(() => p.pickVersion(ep, '3'));
  assert.deepEqual([missing.kind, missing.code], ['not_found', 'not_found']);
  assert.match(missing.message, /iris@3/);
  assert.deepEqual(refusal(() => p.pickVersion(ep)), { kind: 'unavailable', code: 'endpoint_not_ready', message: "Endpoint 'iris' has no version with traffic; PATCH its traffic.", details: { retryAfterSeconds: 1 } });
  assert.equal(refusal(() => p.target(principal('t1', 'inference', 'mixed'), 'iris')).kind, 'forbidden', 'target authorizes before it picks');
});

test('recordRequest counts requests of endpoints that exist only; recordPredictions meters rows per tenant', async () => {
  const { plane: p, registry } = plane();
  p.recordRequest('t1', 'iris', 200, 0.002);
  p.recordRequest('t1', 'iris', 422, 0.001);
  p.recordRequest('t1', 'nope', 404, 0.001);
  p.recordRequest('t1', 'theirs', 200, 0.001);
  const text = await registry.metrics();
  assert.match(text, /aiaas_endpoint_requests_total\{tenant="t1",endpoint="iris",status="200"\} 1/);
  assert.match(text, /aiaas_endpoint_requests_total\{tenant="t1",endpoint="iris",status="422"\} 1/);
  assert.doesNotMatch(text, /endpoint="nope"|endpoint="theirs"/, 'no series for names that are not endpoints of the tenant');
  const meter = new PredictionMeter(db, createLogger('silent', 'test'));
  const metered = newPlane(new Registry(), meter);
  const [a, b] = [endpoint('t8', 'x'), endpoint('t9', 'y')];
  metered.add(a);
  metered.add(b);
  metered.recordPredictions(a, 3);
  metered.recordPredictions(a, 2);
  metered.recordPredictions(b, 1);
  const usage = (await meter.byTenant()).filter((u) => u.tenant === 't8' || u.tenant === 't9').sort((x, y) => x.tenant.localeCompare(y.tenant));
  assert.deepEqual(usage, [{ tenant: 't8', predictions: 5, requests: 2 }, { tenant: 't9', predictions: 1, requests: 1 }]);
});
