/**
 * The Slurm executor's reconciling against a slurmrestd that answers what the test says, for the
 * race a real cluster shows only now and then (src/interfaces/http/slurm.test.ts runs the executor
 * against a real cluster): another API node submitting a run while this one reconciles.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../infra/config.js';
import { createLogger } from '../../../infra/logger.js';
import { storeTest } from '../../../infra/testing/store-engines.js';
import { SLURM_API } from '../../../infra/slurm-rest.js';
import { TenantService } from '../../tenants.js';
import { JobStore } from '../job-store.js';
import { newJob, registerNode } from '../testing/job-fixtures.js';
import { SlurmExecutor } from './slurm-executor.js';

const NODE = { name: 'n1', state: 'idle', state_flags: [], cpus: 2, alloc_cpus: 0, real_memory: 4096, alloc_memory: 0, gres: '', partitions: ['aiaas'], reason: '' };

/** A slurmrestd with one idle node whose job list is `onJobs`'s answer (it may act first, like a concurrent API node). */
async function fakeSlurmrestd(onJobs: () => Promise<unknown[]>): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const answer = (body: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
    if (req.url === `/slurm/${SLURM_API}/nodes`) answer({ nodes: [NODE] });
    else if (req.url === `/slurm/${SLURM_API}/jobs`) void onJobs().then((jobs) => answer({ jobs }));
    else (res.statusCode = 404, res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

storeTest('a run another API node submits while this one reconciles is not taken for a vanished Slurm job', async (engine, t) => {
  const db = await engine.open();
  const tenant = await new TenantService(db).create('slurm-race');
  const nodeId = 'slurm:aiaas';
  await registerNode(db, nodeId, 2);
  const store = new JobStore(db);
  const job = await store.create(newJob(tenant.id, 1));
  const run = await store.claim(job.id, nodeId, []);
  assert.ok(run);
  // The other API node's submission lands while this node asks Slurm for its jobs: Slurm's answer
  // predates the job, the store already names its Slurm job id.
  let submitting = true;
  const slurm = await fakeSlurmrestd(async () => {
    if (submitting) await store.setPid(job.id, run.attempt, 4242);
    submitting = false;
    return [];
  });
  t.after(() => slurm.close());
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-slurm-exec-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const executor = new SlurmExecutor({
    db, store, config: loadConfig({ AIAAS_HOME: home }), logger: createLogger('silent'), batchEntry: '/nonexistent',
    slurm: { url: slurm.url, user: 'root', token: 't', partition: 'aiaas', output: '/dev/null' },
  });
  await executor.sync();
  const during = await store.row(job.id);
  assert.equal(during?.status, 'running', 'the run stays running: its Slurm job was submitted after Slurm answered');
  assert.equal(during?.worker_pid, 4242);

  // Slurm still does not list it a round later: now it really is gone, and the run goes back to the queue.
  await executor.sync();
  const after = await store.row(job.id);
  assert.equal(after?.status, 'queued');
  const attempts = await store.attempts(job.id);
  assert.deepEqual(attempts.map((a) => a.outcome), ['lost']);
  assert.match(attempts[0].error ?? '', /Slurm job 4242 is gone from Slurm/);
});
