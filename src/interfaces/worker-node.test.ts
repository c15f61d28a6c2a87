/**
 * `aiaas worker` joins the server's cluster through the store: its node shows in /v1/cluster,
 * the scheduler places jobs on it, and cancellation reaches it through the store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startTestServer, type TestServer } from './testing/test-server.js';
import { submit, until, waitJob } from './testing/jobs-helpers.js';

const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../bin/aiaas.js');
const TIMING = { AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '2' };

let s: TestServer;
let worker: ChildProcess;
before(async () => {
  s = await startTestServer({ ...TIMING, AIAAS_CPU: '1' });
  worker = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, ...TIMING, AIAAS_HOME: s.home, AIAAS_CPU: '2', AIAAS_NODE_ID: 'remote-1', AIAAS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
});
after(async () => {
  if (worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await s.stop();
});

test('a worker node joins, runs the jobs that only fit on it, and obeys cancel', async () => {
  const cluster = await until('the worker node to join', async () => {
    const c = await s.call('GET', '/v1/cluster');
    return c.body.nodes.filter((n: { alive: boolean }) => n.alive).length === 2 ? c.body : undefined;
  });
  const remote = cluster.nodes.find((n: { id: string }) => n.id === 'remote-1');
  assert.deepEqual([remote.kind, remote.cpu], ['worker', 2]);
  assert.equal(cluster.capacity.cpu, 3);

  const big = await submit(s, { type: 'sleep', seconds: 0.5, steps: 2, resources: { cpu: 2 } });
  const done = await waitJob(s, big.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.equal(done.attempts[0].node, 'remote-1');

  const long = await submit(s, { type: 'sleep', seconds: 60, steps: 60, resources: { cpu: 2 } });
  await waitJob(s, long.id, { pred: (j) => j.status === 'running' && j.progress.fraction > 0 });
  assert.equal((await s.call('POST', `/v1/jobs/${long.id}/cancel`)).status, 200);
  // The cancel's answer waits only a grace period; the job's end is waited for, however long it takes.
  assert.equal((await waitJob(s, long.id)).status, 'cancelled');

  // A stopped worker leaves the cluster.
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  assert.equal(await exited, 0);
  const after = await until('the worker node to leave', async () => {
    const c = await s.call('GET', '/v1/cluster');
    return c.body.nodes.length === 1 ? c.body : undefined;
  });
  assert.notEqual(after.nodes[0].id, 'remote-1');
});
