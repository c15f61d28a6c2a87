/**
 * The metadata store on both engines (embedded SQLite and PostgreSQL in a throwaway cluster):
 * migrations when several nodes start at once, tenants and keys, quotas and the usage ledger the
 * scheduler's fair share and the metering read. The job store's leasing is in
 * jobs/job-store.test.ts; datasets, the registry and serving through the API on PostgreSQL in
 * src/interfaces/http/postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { StoreOptions } from '../infra/store/database.js';
import { sql } from 'kysely';
import { storeTest } from '../infra/testing/store-engines.js';
import { createLogger } from '../infra/logger.js';
import { TenantService } from './tenants.js';
import { KeyService } from './keys.js';
import { JobStore } from './jobs/job-store.js';
import { QuotaService } from './jobs/scheduler/quotas.js';
import { Metering } from './jobs/metering.js';
import type { Principal } from './principal.js';
import { RateLimiter } from './rate-limits.js';
import { newJob, registerNode } from './jobs/testing/job-fixtures.js';

storeTest('migrations run once when two nodes open a fresh store at the same time', async (engine) => {
  const opts = await engine.options();
  // Two processes, as two nodes are (SQLite's lock wait blocks a whole process).
  await Promise.all([startNode(opts), startNode(opts)]);
  const [a, b] = [await engine.open(), await engine.open()];
  const ran = await a.selectFrom('kysely_migration' as never).select(sql<string>`name`.as('name')).execute();
  const names = ran.map((r) => (r as { name: string }).name);
  assert.equal(new Set(names).size, names.length, 'no migration recorded twice');
  assert.ok(names.includes('0001_foundation') && names.length >= 4, names.join());
  // Both nodes see one schema: what one writes the other reads.
  await new TenantService(a).create('shared');
  assert.equal((await new TenantService(b).find('shared'))?.name, 'shared');
});

const OPEN_STORE = fileURLToPath(new URL('../infra/testing/open-store-main.js', import.meta.url));

async function startNode(opts: StoreOptions): Promise<void> {
  const child = spawn(process.execPath, [OPEN_STORE, JSON.stringify(opts)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, `a node failed to open the store: ${err}`);
}

storeTest('tenants and keys: unique names, authentication, revocation, counts', async (engine) => {
  const db = await engine.open();
  const tenants = new TenantService(db);
  const keys = new KeyService(db, tenants);
  const t = await tenants.create('acme');
  await assert.rejects(tenants.create('acme'), (e: { code?: string }) => e.code === 'name_taken');
  const admin = await keys.createAdmin(t.id);
  assert.equal(await keys.countAdmins(), 1);
  assert.equal(typeof (await keys.countAdmins()), 'number');
  const p = await keys.authenticate(admin.key);
  assert.ok(p, 'the admin key authenticates');
  const by: Principal = { ...p, tenantId: p.keyTenantId };
  const dev = await keys.create({ name: 'dev', role: 'developer', tenant: 'acme' }, by);
  assert.equal((await keys.authenticate(dev.key))?.role, 'developer');
  const listed = await keys.list(by);
  assert.deepEqual(listed.map((k) => k.name).sort(), ['admin', 'dev']);
  const revoked = await keys.revoke(by, dev.id);
  assert.ok(revoked.revokedAt);
  // Another node (no cache) no longer accepts it.
  assert.equal(await new KeyService(db, tenants).authenticate(dev.key), undefined);
  assert.equal((await tenants.list(by)).length, 1);
});

storeTest('usage ledger and quotas: metered runs add up per tenant and month', async (engine) => {
  const db = await engine.open();
  const t = await new TenantService(db).create('ledger');
  const quotas = new QuotaService(db);
  assert.deepEqual(await quotas.put(t.id, { maxCpu: 2, monthlyCpuSeconds: 1000 }), { maxCpu: 2, maxGpu: null, maxConcurrentJobs: null, monthlyCpuSeconds: 1000 });
  assert.equal((await quotas.all()).get(t.id)?.maxCpu, 2);
  const store = new JobStore(db);
  await registerNode(db, 'n1', 4);
  for (let i = 0; i < 3; i++) {
    const job = await store.create(newJob(t.id, 1.5));
    const run = await store.claim(job.id, 'n1', []);
    assert.ok(run);
    assert.ok(await store.endRun(job.id, run.attempt, { status: 'succeeded', attemptOutcome: 'succeeded', result: { ok: i } as never }));
  }
  const rows = await db.selectFrom('usage_events').selectAll().where('tenant_id', '=', t.id).execute();
  assert.equal(rows.length, 3);
  for (const r of rows) assert.equal(typeof r.cpu_seconds, 'number');
  const m = new Metering(db, { cpuSecond: 1, gpuSecond: 1, thousandPredictions: 1, gbMonth: 0, promptToken: 0, completionToken: 0 }, createLogger('silent'));
  m.recordPredictions(t.id, 7, 'ep');
  const report = await m.report('2000-01-01T00:00:00.000Z', undefined, [t.id]);
  const u = report.data[0];
  assert.equal(u.jobs, 3);
  assert.equal(u.predictions, 7);
  assert.equal(typeof u.cpuSeconds, 'number');
  const sum = rows.reduce((a, r) => a + r.cpu_seconds, 0);
  assert.ok(Math.abs(u.cpuSeconds - sum) < 0.01, `${u.cpuSeconds} vs ${sum}`);
  await m.close();
});

storeTest('rate limits hold across API nodes: two limiters on one store take from the same buckets', async (engine) => {
  const db = await engine.open();
  let now = 1_000_000;
  const clock = () => now;
  // Two API nodes: each its own limiter (its own cache of the limits), one store.
  const [a, b] = [new RateLimiter(db, clock), new RateLimiter(db, clock)];
  await a.set('key:k1', { requestsPerMinute: 3, tokensPerMinute: null });
  const p = { keyId: 'k1', tenantId: 't1' } as Principal;
  const admitted = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).admit(p)));
  assert.equal(admitted.filter((r) => r.status === 'fulfilled').length, 3, 'three of eight requests through two nodes at once');
  const refused = admitted.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.equal(refused.reason.code, 'rate_limit_exceeded');
  assert.equal(refused.reason.details.retryAfterSeconds, 20);
  now += 20_000; // a limit of 3 per minute gives one back every 20 s
  assert.equal((await b.admit(p)).requests?.remaining, 0);
  await assert.rejects(a.admit(p), (e: { code?: string }) => e.code === 'rate_limit_exceeded');
  // Tokens spent through one node are gone for the other.
  await a.set('tenant:t1', { tokensPerMinute: 100 });
  now += 60_000;
  assert.equal((await b.spend(p, 150)).tokens?.remaining, 0);
  await assert.rejects(a.admit(p), (e: { code?: string; message: string }) => e.code === 'rate_limit_exceeded' && /tokens per minute/.test(e.message));
});
