/** Jobs through real HTTP: lifecycle, events, logs, validation, isolation, cancel, retries, crashes, usage. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { isAlive, readEvents, submit, TERMINAL, until, waitJob } from '../testing/jobs-helpers.js';
import { describeEachEngine } from '../testing/engines.js';

const FAST = { AIAAS_CPU: '4', AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '2' };

describeEachEngine('jobs API', (engine) => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };
  before(async () => {
    s = await startTestServer(await engine.env(FAST));
    acme = await s.tenant('acme');
    other = await s.tenant('other');
  });
  after(() => s.stop());

  test('a sleep job runs in a worker process: progress, checkpoints, metrics, attempts', async () => {
    const queued = await submit(s, { type: 'sleep', seconds: 0.4, steps: 4 }, acme.developer);
    assert.equal(queued.status, 'queued');
    assert.match(queued.id, /^job_/);
    assert.deepEqual(queued.resources, { cpu: 1, memoryMb: 128, gpu: 0 });
    const job = await waitJob(s, queued.id, { key: acme.viewer });
    assert.equal(job.status, 'succeeded');
    assert.equal(job.progress.fraction, 1);
    assert.deepEqual(job.metrics, { steps: 4, resumedFromStep: 0, stepsThisRun: 4 });
    assert.equal(job.attempts.length, 1);
    assert.equal(job.attempts[0].outcome, 'succeeded');
    assert.ok(job.attempts[0].pid > 0 && job.attempts[0].pid !== process.pid, 'ran in another process');
    assert.ok(job.cpuSeconds > 0);
    assert.ok(job.startedAt && job.finishedAt);

    const list = await s.call('GET', '/v1/jobs?status=succeeded&type=sleep', { key: acme.viewer });
    assert.ok(list.body.data.some((j: { id: string }) => j.id === job.id));
    const logs = await s.call('GET', `/v1/jobs/${job.id}/logs`, { key: acme.viewer });
    assert.equal(logs.status, 200);
    assert.match(logs.body.data[0].line, /sleep: 4 steps/);
    const text = await s.call('GET', `/v1/jobs/${job.id}/logs?format=text`, { key: acme.viewer });
    assert.match(text.headers.get('content-type')!, /text\/plain/);
    assert.match(text.text, /^sleep: 4 steps/);
  });

  test('events: SSE replays the whole history, after Last-Event-ID, then streams live to the end', async () => {
    const job = await submit(s, { type: 'sleep', seconds: 1, steps: 5 }, acme.developer);
    const live = await readEvents(`${s.url}/v1/jobs/${job.id}/events`, acme.viewer);
    assert.equal(live.status, 200);
    assert.match(live.contentType!, /text\/event-stream/);
    assert.deepEqual(live.events.map((e) => e.id), live.events.map((_, i) => i + 1), 'ids are 1, 2, 3, … without gaps');
    assert.deepEqual(live.events[0], { id: 1, event: 'status', data: { status: 'queued', attempt: 0, at: live.events[0]!.data.at } });
    const last = live.events[live.events.length - 1]!;
    assert.equal(last.event, 'status');
    assert.equal(last.data.status, 'succeeded');
    assert.equal(live.events.filter((e) => e.event === 'progress').length, 5);
    assert.ok(live.events.some((e) => e.event === 'log'));

    // A reconnecting client gets what it missed, by header or query.
    const resumed = await readEvents(`${s.url}/v1/jobs/${job.id}/events`, acme.viewer, { 'last-event-id': '3' });
    assert.deepEqual(resumed.events.map((e) => e.id), live.events.slice(3).map((e) => e.id));
    const byQuery = await readEvents(`${s.url}/v1/jobs/${job.id}/events?lastEventId=${last.id - 1}`, acme.viewer);
    assert.deepEqual(byQuery.events.map((e) => e.id), [last.id]);
  });

  test('bad specs never queue: unknown type, bad fields, too large for any node', async () => {
    const unknown = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'teleport' } });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.code, 'unknown_job_type');
    assert.match(unknown.body.error.message, /use one of: batch_predict, noop, optimize, sleep, train, tune\./);
    const bad = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'sleep', seconds: -1 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.details.field, 'seconds');
    const extra = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'noop', colour: 'blue' } });
    assert.equal(extra.status, 422);
    const huge = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'noop', resources: { cpu: 64 } } });
    assert.equal(huge.status, 422);
    assert.equal(huge.body.error.code, 'insufficient_capacity');
    const badRes = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'noop', resources: { cpu: 0 } } });
    assert.equal(badRes.status, 422);
    assert.equal((await s.call('POST', '/v1/jobs', { key: acme.viewer, json: { type: 'noop' } })).status, 403);
    const listed = await s.call('GET', '/v1/jobs?limit=1000', { key: acme.viewer });
    assert.ok(listed.body.data.every((j: { type: string }) => j.type !== 'teleport'));
    const types = await s.call('GET', '/v1/job-types', { key: acme.viewer });
    assert.deepEqual(types.body.data.map((t: { name: string }) => t.name).filter((n: string) => n === 'noop' || n === 'sleep'), ['noop', 'sleep']);
  });

  test('isolation: another tenant\'s job answers 404 on every route and is never listed', async () => {
    const job = await submit(s, { type: 'sleep', seconds: 0.2, steps: 1 }, acme.developer);
    for (const [method, route] of [['GET', ''], ['GET', '/logs'], ['GET', '/events'], ['POST', '/cancel']] as const) {
      const r = await s.call(method, `/v1/jobs/${job.id}${route}`, { key: other.developer });
      assert.equal(r.status, 404, `${method} ${route}`);
      assert.equal(r.body.error.code, 'not_found');
    }
    const theirs = await s.call('GET', '/v1/jobs', { key: other.developer });
    assert.ok(theirs.body.data.every((j: { tenant: string }) => j.tenant === other.id));
    const mine = await s.call('GET', '/v1/jobs', { key: acme.viewer });
    assert.ok(mine.body.data.length > 0 && mine.body.data.every((j: { tenant: string }) => j.tenant === acme.id));
    await waitJob(s, job.id, { key: acme.developer });
  });

  test('cancel stops the worker process; a finished job cannot be cancelled', async () => {
    // A job that would run for 10 minutes: only the cancel can end it soon.
    const job = await submit(s, { type: 'sleep', seconds: 600, steps: 600 }, acme.developer);
    const running = await waitJob(s, job.id, { key: acme.developer, pred: (j) => j.status === 'running' && j.attempts?.[0]?.pid });
    const pid = running.attempts[0].pid as number;
    assert.ok(isAlive(pid));
    const r = await s.call('POST', `/v1/jobs/${job.id}/cancel`, { key: acme.developer });
    assert.equal(r.status, 200);
    // The answer waits a grace period for the worker; a busy machine may take longer, so the
    // outcome is read from the job's own events, as it happens.
    assert.ok(['running', 'cancelled'].includes(r.body.status), r.body.status);
    const ended = await readEvents(`${s.url}/v1/jobs/${job.id}/events`, acme.viewer, {}, (e) => e.event === 'status' && TERMINAL.includes(e.data.status));
    assert.equal(ended.events.at(-1)?.data.status, 'cancelled');
    const cancelled = await waitJob(s, job.id, { key: acme.developer });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.attempts[0].outcome, 'cancelled');
    await until('the worker process to exit', async () => !isAlive(pid));
    const again = await s.call('POST', `/v1/jobs/${job.id}/cancel`, { key: acme.developer });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'job_finished');
  });

  test('retries: a retryable failure is retried with backoff; attempts are visible', async () => {
    const flaky = await submit(s, { type: 'sleep', seconds: 0.2, steps: 2, failAt: 2, retryable: true, failAttempts: 1, retry: { backoffSeconds: 0.3 } }, acme.developer);
    const done = await waitJob(s, flaky.id, { key: acme.developer });
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.attempts.map((a: { outcome: string }) => a.outcome), ['failed', 'succeeded']);
    assert.equal(done.failures, 1);
    assert.match(done.attempts[0].error, /on purpose at step 2/);
    const gap = Date.parse(done.attempts[1].startedAt) - Date.parse(done.attempts[0].finishedAt);
    assert.ok(gap >= 250, `waited ${gap} ms before retrying`);
    // it resumed from the checkpoint of step 1 rather than starting over
    assert.equal(done.metrics.resumedFromStep, 1);

    const hopeless = await submit(s, { type: 'sleep', seconds: 0.1, steps: 1, failAt: 1, retryable: true, retry: { maxAttempts: 2, backoffSeconds: 0.1 } }, acme.developer);
    const failed = await waitJob(s, hopeless.id, { key: acme.developer });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts.length, 2);
    assert.equal(failed.failures, 2);

    const fatal = await submit(s, { type: 'sleep', seconds: 0.1, steps: 1, failAt: 1 }, acme.developer);
    const once = await waitJob(s, fatal.id, { key: acme.developer });
    assert.equal(once.status, 'failed');
    assert.equal(once.attempts.length, 1, 'a failure not marked retryable is not retried');
    assert.equal(once.errorCode, 'job_failed');
  });

  test('a worker that exits or runs out of memory fails its job with the reason; the server keeps serving', async () => {
    const exits = await submit(s, { type: 'sleep', seconds: 0.1, steps: 1, failAt: 1, crash: 'exit' }, acme.developer);
    const oom = await submit(s, { type: 'sleep', seconds: 0.1, steps: 1, failAt: 1, crash: 'oom', resources: { memoryMb: 32 } }, acme.developer);
    const e = await waitJob(s, exits.id, { key: acme.developer });
    assert.equal(e.status, 'failed');
    assert.equal(e.errorCode, 'worker_exited');
    assert.match(e.error, /exited with code 3/);
    const o = await waitJob(s, oom.id, { key: acme.developer });
    assert.equal(o.status, 'failed');
    assert.equal(o.errorCode, 'out_of_memory');
    assert.match(o.error, /memoryMb = 32/);
    assert.equal((await s.call('GET', '/healthz', { key: null })).status, 200);
    const ready = await s.call('GET', '/readyz', { key: null });
    assert.equal(ready.body.checks.scheduler, 'ok');
  });

  test('cluster, usage and metrics', async () => {
    // Runs until cancelled below, so it is still running whenever the cluster is read.
    const job = await submit(s, { type: 'sleep', seconds: 600, steps: 600 }, acme.developer);
    await waitJob(s, job.id, { key: acme.developer, pred: (j) => j.status === 'running' });
    const cluster = await until('the job to show in /v1/cluster', async () => {
      const c = await s.call('GET', '/v1/cluster');
      return c.body.queue.running >= 1 ? c : undefined;
    });
    assert.equal(cluster.body.nodes.length, 1);
    const node = cluster.body.nodes[0];
    assert.deepEqual([node.cpu, node.gpus, node.alive], [4, 0, true]);
    assert.ok(node.allocated.cpu >= 1);
    const mine = cluster.body.tenants.find((t: { tenant: string }) => t.tenant === acme.id);
    assert.ok(mine.share > 0 && mine.usage.jobs >= 1);
    const asDev = await s.call('GET', '/v1/cluster', { key: other.developer });
    assert.deepEqual(asDev.body.tenants.map((t: { tenant: string }) => t.tenant), [other.id]);

    const metrics = await s.call('GET', '/metrics');
    assert.match(metrics.text, /aiaas_node_capacity\{node="[^"]+",resource="cpu"\} 4/);
    assert.match(metrics.text, /aiaas_jobs\{status="running"\} [1-9]/);
    assert.match(metrics.text, /aiaas_tenant_dominant_share\{tenant="[^"]+"\} 0\.\d+/);
    await s.call('POST', `/v1/jobs/${job.id}/cancel`, { key: acme.developer });

    s.server.platform.jobs.metering.recordPredictions(acme.id, 1500, 'iris');
    const upload = await s.call('POST', '/v1/datasets?name=tiny', { key: acme.developer, body: 'a,b\n1,2\n3,4\n' });
    assert.equal(upload.status, 201);
    const usage = await s.call('GET', '/v1/usage', { key: acme.viewer });
    assert.equal(usage.status, 200);
    assert.equal(usage.body.data.length, 1);
    const u = usage.body.data[0];
    assert.equal(u.tenant, acme.id);
    assert.ok(u.cpuSeconds > 0);
    assert.ok(u.jobs >= 8);
    assert.equal(u.predictions, 1500);
    assert.ok(u.storageBytes > 0);
    const p = usage.body.prices;
    assert.ok(Math.abs(u.cost - (u.cpuSeconds * p.cpuSecond + 1.5 * p.thousandPredictions)) < 1e-5 + u.storageBytes * 1e-9);
    const all = await s.call('GET', '/v1/usage');
    assert.ok(all.body.data.length >= 3);
    const none = await s.call('GET', '/v1/usage?from=2000-01-01&to=2000-02-01', { key: acme.viewer });
    assert.equal(none.body.data[0].cpuSeconds, 0);
    assert.equal((await s.call('GET', '/v1/usage?from=yesterday', { key: acme.viewer })).status, 400);
  });
});
