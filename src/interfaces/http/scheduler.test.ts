/**
 * The scheduler through real HTTP and real worker processes: priority order, quotas, preemption
 * with resume from a checkpoint, and fair share between two busy tenants. Small nodes
 * (AIAAS_CPU=1 or 2) keep it quick. Nothing depends on how fast the machine is: a job that must
 * still be running when the test acts runs for minutes and is cancelled once it has served, and
 * every assertion is on the scheduler's decisions (which job started, in what order, the
 * reasons and shares it recorded), never on durations. Fairness over many rounds of short jobs is
 * checked deterministically against the planner in src/services/jobs/scheduler/fairness.test.ts.
 */
import { after, before, test } from 'node:test';
import { describeEachEngine } from '../testing/engines.js';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';

/** A sleep job that outlasts any test: it ends when the test cancels it. */
const LONG = { type: 'sleep', seconds: 3600, steps: 3600 };

/** Cancels a job and waits for it to end (the cancel's answer waits only a grace period). */
async function cancel(s: TestServer, id: string, key: string): Promise<any> {
  const r = await s.call('POST', `/v1/jobs/${id}/cancel`, { key });
  assert.equal(r.status, 200, r.text);
  return waitJob(s, id, { key });
}

const TIMING = { AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '3' };

describeEachEngine('scheduler on one core', (engine) => {
  let s: TestServer;
  let t: { id: string; developer: string; viewer: string };
  before(async () => {
    s = await startTestServer(await engine.env({ ...TIMING, AIAAS_CPU: '1' }));
    t = await s.tenant('one-core');
  });
  after(() => s.stop());

  test('priority order: higher priority first, then submission order', async () => {
    const blocker = await submit(s, { ...LONG, priority: 100 }, t.developer);
    await waitJob(s, blocker.id, { key: t.developer, pred: (j) => j.status === 'running' });
    const low1 = await submit(s, { type: 'noop', priority: 0 }, t.developer);
    const low2 = await submit(s, { type: 'noop', priority: 0 }, t.developer);
    const high = await submit(s, { type: 'noop', priority: 5 }, t.developer);
    const mid = await submit(s, { type: 'noop', priority: 2 }, t.developer);
    const queued = await waitJob(s, low1.id, { key: t.developer, pred: (j) => !!j.queueReason });
    assert.equal(queued.status, 'queued');
    assert.match(queued.queueReason, /waiting for resources/);
    // All four wait behind the blocker; once it is gone they run one at a time on the one core.
    const ended = await cancel(s, blocker.id, t.developer);
    assert.equal(ended.preemptions, 0, 'lower priorities never preempt');
    const done = [];
    for (const j of [low1, low2, high, mid]) done.push(await waitJob(s, j.id, { key: t.developer }));
    const order = done.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)).map((j) => j.id);
    assert.deepEqual(order, [high.id, mid.id, low1.id, low2.id]);
  });

  test('preemption: a higher-priority job preempts; the preempted one checkpoints and resumes at its saved step', async () => {
    const low = await submit(s, { ...LONG, priority: 0 }, t.developer);
    await waitJob(s, low.id, { key: t.developer, pred: (j) => j.status === 'running' && Math.round(j.progress.fraction * 3600) >= 2 });
    const high = await submit(s, { type: 'sleep', seconds: 0.5, steps: 1, priority: 10 }, t.developer);
    const h = await waitJob(s, high.id, { key: t.developer });
    assert.equal(h.status, 'succeeded');
    // The low job went back to the queue and runs again, from its checkpoint.
    const l = await waitJob(s, low.id, { key: t.developer, pred: (j) => j.status === 'running' && j.attempts.length === 2 });
    assert.equal(l.preemptions, 1);
    assert.deepEqual(l.attempts.map((a: { outcome: string }) => a.outcome), ['preempted', 'running']);
    assert.equal(l.attempts[1].resumedFromCheckpoint, true);
    assert.ok(Date.parse(h.startedAt) >= Date.parse(l.attempts[0].finishedAt), 'the high-priority job ran once the low one had stopped');
    assert.ok(Date.parse(h.finishedAt) <= Date.parse(l.attempts[1].startedAt));
    const logs = await until('the second run to log its start', async () => {
      const r = await s.call('GET', `/v1/jobs/${low.id}/logs?format=text`, { key: t.developer });
      return /resuming at step \d+ \(run 2\)/.test(r.text) ? r.text : undefined;
    });
    const stoppedAt = Number(/stopping at step (\d+) \(preempt\)/.exec(logs)?.[1]);
    assert.ok(stoppedAt >= 2, logs);
    assert.match(logs, new RegExp(`resuming at step ${stoppedAt} \\(run 2\\)`), 'resumed at the saved step, not restarted');
    assert.equal((await cancel(s, low.id, t.developer)).status, 'cancelled');
  });
});

describeEachEngine('quotas', (engine) => {
  let s: TestServer;
  let t: { id: string; developer: string; viewer: string };
  before(async () => {
    s = await startTestServer(await engine.env({ ...TIMING, AIAAS_CPU: '4' }));
    t = await s.tenant('quota-co');
  });
  after(() => s.stop());

  test('over quota: queued with the reason; could never fit: 429; admins only set quotas', async () => {
    assert.equal((await s.call('PUT', `/v1/tenants/${t.id}/quota`, { key: t.developer, json: { maxCpu: 8 } })).status, 403);
    const put = await s.call('PUT', `/v1/tenants/quota-co/quota`, { json: { maxCpu: 2, maxConcurrentJobs: 1 } });
    assert.equal(put.status, 200);
    // The serving part of the quota (endpoints, replicas) keeps its defaults.
    assert.deepEqual(put.body, { maxCpu: 2, maxGpu: null, maxConcurrentJobs: 1, monthlyCpuSeconds: null, maxEndpoints: 10, maxReplicasPerEndpoint: 8, maxReplicas: 16, requestsPerMinute: null, tokensPerMinute: null });
    assert.deepEqual((await s.call('GET', `/v1/tenants/${t.id}/quota`, { key: t.viewer })).body, put.body);

    const never = await s.call('POST', '/v1/jobs', { key: t.developer, json: { type: 'noop', resources: { cpu: 3 } } });
    assert.equal(never.status, 429);
    assert.equal(never.body.error.code, 'quota_exceeded');
    assert.ok(Number(never.headers.get('retry-after')) > 0);

    const first = await submit(s, LONG, t.developer);
    await waitJob(s, first.id, { key: t.developer, pred: (j) => j.status === 'running' });
    const second = await submit(s, { type: 'noop' }, t.developer);
    const waiting = await waitJob(s, second.id, { key: t.developer, pred: (j) => !!j.queueReason });
    assert.equal(waiting.status, 'queued');
    assert.match(waiting.queueReason, /quota: the tenant already runs 1 of at most 1 concurrent jobs/);
    // Other tenants are not held back by this tenant's quota.
    const free = await s.tenant('free-co');
    assert.equal((await waitJob(s, (await submit(s, { type: 'noop' }, free.developer)).id, { key: free.developer })).status, 'succeeded');
    assert.equal((await s.call('GET', `/v1/jobs/${second.id}`, { key: t.developer })).body.status, 'queued', 'still held by the quota');
    const firstEnded = await cancel(s, first.id, t.developer);
    const secondDone = await waitJob(s, second.id, { key: t.developer });
    assert.equal(secondDone.status, 'succeeded');
    assert.ok(Date.parse(firstEnded.finishedAt) <= Date.parse(secondDone.startedAt));

    // A used-up monthly budget holds new jobs (and a queued job can be cancelled at once).
    // 0.01 CPU-seconds: less than any run so far took, however fast the machine.
    await s.call('PUT', `/v1/tenants/${t.id}/quota`, { json: { monthlyCpuSeconds: 0.01, maxConcurrentJobs: null } });
    const over = await submit(s, { type: 'noop' }, t.developer);
    const held = await waitJob(s, over.id, { key: t.developer, pred: (j) => !!j.queueReason });
    assert.match(held.queueReason, /CPU-seconds this month/);
    const cancelled = await s.call('POST', `/v1/jobs/${over.id}/cancel`, { key: t.developer });
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(cancelled.body.attempt, 0);
    const cluster = await s.call('GET', '/v1/cluster', { key: t.viewer });
    assert.equal(cluster.body.tenants[0].quota.monthlyCpuSeconds, 0.01);
  });
});

describeEachEngine('fair share', (engine) => {
  let s: TestServer;
  before(async () => { s = await startTestServer(await engine.env({ ...TIMING, AIAAS_CPU: '2' })); });
  after(() => s.stop());

  test('two busy tenants: each freed core goes to the tenant with the smaller share, whoever submitted first', async () => {
    const a = await s.tenant('fair-a');
    const b = await s.tenant('fair-b');
    const owner = await s.tenant('fair-blocker');
    // The node is full while both tenants queue, A's jobs all before B's: first come, first served
    // would give both cores to A.
    const blocker = await submit(s, { ...LONG, priority: 100, resources: { cpu: 2 } }, owner.developer);
    await waitJob(s, blocker.id, { key: owner.developer, pred: (j) => j.status === 'running' });
    const jobsOf = async (key: string) => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await submit(s, LONG, key)).id);
      return ids;
    };
    const A = await jobsOf(a.developer);
    const B = await jobsOf(b.developer);
    const keyOf = (id: string) => (A.includes(id) ? a.developer : b.developer);
    /** The jobs of A and B that run once `expected` of them do (the scheduler's decisions so far). */
    const runningOnce = (expected: number) => until(`${expected} jobs of A and B to run`, async () => {
      const ids = [];
      for (const key of [a.developer, b.developer]) ids.push(...(await s.call('GET', '/v1/jobs?status=running', { key })).body.data.map((j: { id: string }) => j.id));
      return ids.length >= expected ? ids.sort() : undefined;
    });
    const end = async (...ids: string[]) => {
      for (const j of await Promise.all(ids.map((id) => cancel(s, id, keyOf(id))))) assert.equal(j.status, 'cancelled');
    };

    assert.equal((await cancel(s, blocker.id, owner.developer)).status, 'cancelled');
    assert.deepEqual(await runningOnce(2), [A[0], B[0]].sort(), 'one core each');
    const shares = await until('the cluster view of both shares', async () => {
      const c = await s.call('GET', '/v1/cluster');
      const mine = c.body.tenants.filter((t: { tenant: string }) => t.tenant === a.id || t.tenant === b.id);
      return mine.length === 2 && mine.every((t: { usage: { jobs: number } }) => t.usage.jobs === 1) ? mine : undefined;
    });
    assert.deepEqual(shares.map((t: { share: number }) => t.share), [0.5, 0.5]);
    // A's job ends: A now has the smaller share, so A's next job gets the core, not B's.
    await end(A[0]!);
    assert.deepEqual(await runningOnce(2), [A[1], B[0]].sort());
    await end(B[0]!);
    assert.deepEqual(await runningOnce(2), [A[1], B[1]].sort());
    // Both end (in one round or two): one core each again, not both to the older queue.
    await end(A[1]!, B[1]!);
    assert.deepEqual(await runningOnce(2), [A[2], B[2]].sort());
    const still = await s.call('GET', `/v1/jobs/${A[3]}`, { key: a.developer });
    assert.equal(still.body.status, 'queued');
    await end(A[2]!, B[2]!, A[3]!, B[3]!);
  });
});
