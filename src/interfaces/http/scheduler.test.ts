/**
 * The scheduler through real HTTP and real worker processes: priority order, quotas, preemption
 * with resume from a checkpoint, and fair share between two busy tenants. Small nodes
 * (AIAAS_CPU=1 or 2) and short sleeps keep it quick; assertions are on order and counts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, waitJob } from '../testing/jobs-helpers.js';

const TIMING = { AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '3' };

describe('scheduler on one core', () => {
  let s: TestServer;
  let t: { id: string; developer: string; viewer: string };
  before(async () => {
    s = await startTestServer({ ...TIMING, AIAAS_CPU: '1' });
    t = await s.tenant('one-core');
  });
  after(() => s.stop());

  test('priority order: higher priority first, then submission order', async () => {
    const blocker = await submit(s, { type: 'sleep', seconds: 1.5, steps: 3, priority: 100 }, t.developer);
    await waitJob(s, blocker.id, { key: t.developer, pred: (j) => j.status === 'running' });
    const low1 = await submit(s, { type: 'noop', priority: 0 }, t.developer);
    const low2 = await submit(s, { type: 'noop', priority: 0 }, t.developer);
    const high = await submit(s, { type: 'noop', priority: 5 }, t.developer);
    const mid = await submit(s, { type: 'noop', priority: 2 }, t.developer);
    const queued = await s.call('GET', `/v1/jobs/${low1.id}`, { key: t.developer });
    assert.equal(queued.body.status, 'queued');
    assert.match(queued.body.queueReason, /waiting for resources/);
    const done = [];
    for (const j of [low1, low2, high, mid]) done.push(await waitJob(s, j.id, { key: t.developer }));
    const order = done.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)).map((j) => j.id);
    assert.deepEqual(order, [high.id, mid.id, low1.id, low2.id]);
    assert.equal((await waitJob(s, blocker.id, { key: t.developer })).preemptions, 0, 'lower priorities never preempt');
  });

  test('preemption: a higher-priority job preempts; the preempted one checkpoints and resumes at its saved step', async () => {
    const low = await submit(s, { type: 'sleep', seconds: 4, steps: 8, priority: 0 }, t.developer);
    await waitJob(s, low.id, { key: t.developer, pred: (j) => j.status === 'running' && j.progress.fraction >= 0.25 });
    const high = await submit(s, { type: 'sleep', seconds: 0.5, steps: 1, priority: 10 }, t.developer);
    const h = await waitJob(s, high.id, { key: t.developer });
    assert.equal(h.status, 'succeeded');
    const l = await waitJob(s, low.id, { key: t.developer });
    assert.equal(l.status, 'succeeded');
    assert.equal(l.preemptions, 1);
    assert.deepEqual(l.attempts.map((a: { outcome: string }) => a.outcome), ['preempted', 'succeeded']);
    assert.equal(l.attempts[1].resumedFromCheckpoint, true);
    assert.ok(l.metrics.resumedFromStep >= 2, `resumed from step ${l.metrics.resumedFromStep}`);
    assert.equal(l.metrics.resumedFromStep + l.metrics.stepsThisRun, 8, 'resumed, not restarted');
    assert.ok(Date.parse(h.startedAt) >= Date.parse(l.attempts[0].finishedAt), 'the high-priority job ran once the low one had stopped');
    assert.ok(Date.parse(h.finishedAt) <= Date.parse(l.attempts[1].startedAt));
    const events = await s.call('GET', `/v1/jobs/${low.id}/logs`, { key: t.developer });
    assert.ok(events.body.data.some((e: { line: string }) => /stopping at step \d+ \(preempt\)/.test(e.line)));
  });
});

describe('quotas', () => {
  let s: TestServer;
  let t: { id: string; developer: string; viewer: string };
  before(async () => {
    s = await startTestServer({ ...TIMING, AIAAS_CPU: '4' });
    t = await s.tenant('quota-co');
  });
  after(() => s.stop());

  test('over quota: queued with the reason; could never fit: 429; admins only set quotas', async () => {
    assert.equal((await s.call('PUT', `/v1/tenants/${t.id}/quota`, { key: t.developer, json: { maxCpu: 8 } })).status, 403);
    const put = await s.call('PUT', `/v1/tenants/quota-co/quota`, { json: { maxCpu: 2, maxConcurrentJobs: 1 } });
    assert.equal(put.status, 200);
    // The serving part of the quota (endpoints, replicas) keeps its defaults.
    assert.deepEqual(put.body, { maxCpu: 2, maxGpu: null, maxConcurrentJobs: 1, monthlyCpuSeconds: null, maxEndpoints: 10, maxReplicasPerEndpoint: 8, maxReplicas: 16 });
    assert.deepEqual((await s.call('GET', `/v1/tenants/${t.id}/quota`, { key: t.viewer })).body, put.body);

    const never = await s.call('POST', '/v1/jobs', { key: t.developer, json: { type: 'noop', resources: { cpu: 3 } } });
    assert.equal(never.status, 429);
    assert.equal(never.body.error.code, 'quota_exceeded');
    assert.ok(Number(never.headers.get('retry-after')) > 0);

    const first = await submit(s, { type: 'sleep', seconds: 1.5, steps: 3 }, t.developer);
    await waitJob(s, first.id, { key: t.developer, pred: (j) => j.status === 'running' });
    const second = await submit(s, { type: 'noop' }, t.developer);
    const waiting = await waitJob(s, second.id, { key: t.developer, pred: (j) => !!j.queueReason });
    assert.equal(waiting.status, 'queued');
    assert.match(waiting.queueReason, /quota: the tenant already runs 1 of at most 1 concurrent jobs/);
    // Other tenants are not held back by this tenant's quota.
    const free = await s.tenant('free-co');
    assert.equal((await waitJob(s, (await submit(s, { type: 'noop' }, free.developer)).id, { key: free.developer })).status, 'succeeded');
    assert.equal((await waitJob(s, second.id, { key: t.developer })).status, 'succeeded');
    assert.ok(Date.parse((await waitJob(s, first.id, { key: t.developer })).finishedAt) <= Date.parse((await waitJob(s, second.id, { key: t.developer })).startedAt));

    // A used-up monthly budget holds new jobs (and a queued job can be cancelled at once).
    await s.call('PUT', `/v1/tenants/${t.id}/quota`, { json: { monthlyCpuSeconds: 0.5, maxConcurrentJobs: null } });
    const over = await submit(s, { type: 'noop' }, t.developer);
    const held = await waitJob(s, over.id, { key: t.developer, pred: (j) => !!j.queueReason });
    assert.match(held.queueReason, /CPU-seconds this month/);
    const cancelled = await s.call('POST', `/v1/jobs/${over.id}/cancel`, { key: t.developer });
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(cancelled.body.attempt, 0);
    const cluster = await s.call('GET', '/v1/cluster', { key: t.viewer });
    assert.equal(cluster.body.tenants[0].quota.monthlyCpuSeconds, 0.5);
  });
});

describe('fair share', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ ...TIMING, AIAAS_CPU: '2' }); });
  after(() => s.stop());

  test('two tenants submitting 20 jobs each get within 10% of each other\'s completed CPU-seconds while both have work queued', async () => {
    const a = await s.tenant('fair-a');
    const b = await s.tenant('fair-b');
    const spec = { type: 'sleep', seconds: 0.3, steps: 1 };
    const submitAll = async (key: string) => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await submit(s, spec, key)).id);
      return ids;
    };
    const [idsA, idsB] = await Promise.all([submitAll(a.developer), submitAll(b.developer)]);
    const jobsA = await Promise.all(idsA.map((id) => waitJob(s, id, { key: a.developer, timeoutMs: 120_000 })));
    const jobsB = await Promise.all(idsB.map((id) => waitJob(s, id, { key: b.developer, timeoutMs: 120_000 })));
    assert.ok([...jobsA, ...jobsB].every((j) => j.status === 'succeeded'));
    // Both tenants have work queued until the first of them starts its last job.
    const lastStart = (jobs: any[]) => Math.max(...jobs.map((j) => Date.parse(j.startedAt)));
    const cutoff = Math.min(lastStart(jobsA), lastStart(jobsB));
    const doneBy = (jobs: any[]) => jobs.filter((j) => Date.parse(j.finishedAt) <= cutoff).reduce((sum, j) => sum + j.cpuSeconds, 0);
    const [ca, cb] = [doneBy(jobsA), doneBy(jobsB)];
    const spread = Math.abs(ca - cb) / Math.max(ca, cb);
    console.log(`fair share: completed CPU-seconds while both had work queued: ${ca.toFixed(2)} vs ${cb.toFixed(2)} (${(spread * 100).toFixed(1)}% apart)`);
    assert.ok(ca > 0 && cb > 0);
    assert.ok(spread <= 0.1, `completed CPU-seconds ${ca} vs ${cb} differ by ${(spread * 100).toFixed(1)}%`);
    // At most 2 cores were ever in use at once.
    const runs = [...jobsA, ...jobsB].map((j) => [Date.parse(j.startedAt), Date.parse(j.finishedAt)] as const);
    for (const [start] of runs) assert.ok(runs.filter(([s0, f0]) => s0 <= start && start < f0).length <= 2);
  });
});
