/**
 * Spare workers: a job handed a process started ahead runs there (same pid), with its own
 * environment applied; spares that do not fit are not taken, and stop() leaves no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRun } from './process-runner.js';
import { SpareWorkers } from './spare-workers.js';
import type { StartPayload } from './job-process-protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER_ENTRY = path.join(here, '..', '..', 'interfaces', 'job-process.js');
const MODULE = pathToFileURL(path.join(here, 'testing', 'whoami-job.js')).href;

const job = (id: string): StartPayload => ({
  jobId: id, tenantId: 't-1', type: 'whoami', name: null, spec: {}, attempt: 1,
  principal: { keyId: 'k-1', keyName: 'test', role: 'developer', tenantId: 't-1', keyTenantId: 't-1', endpoint: null },
  resources: { cpu: 1, memoryMb: 256, gpu: 0, gpuIds: [] }, threads: 1, module: MODULE, checkpoint: null,
  env: { AIAAS_JOB_ID: id, OMP_NUM_THREADS: '1' },
});
const hooks = { progress: () => undefined, metrics: () => undefined, log: () => undefined, checkpoint: async () => undefined };
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('a job runs in the spare started ahead, with its own environment applied; stop() kills idle spares', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-spares-'));
  const spares = new SpareWorkers({ workerEntry: WORKER_ENTRY, env: { ...process.env, AIAAS_HOME: home }, count: 1 });
  try {
    spares.fill(256, MODULE);
    assert.equal(spares.size, 1);
    assert.equal(spares.take(512), undefined, 'a spare with another heap limit is not taken');
    assert.ok(!SpareWorkers.fits({ threads: 8, gpuIds: [] }) && !SpareWorkers.fits({ threads: 1, gpuIds: [0] }) && SpareWorkers.fits({ threads: 2, gpuIds: [] }));
    const spare = spares.take(256)!;
    assert.ok(spare, 'the spare is handed over');
    // Ready or not yet: the runner starts the job as soon as the spare says so.
    const exit = await startRun({ workerEntry: WORKER_ENTRY, memoryMb: 256, env: {}, hooks, spare, job: job('job-a') }).done;
    if (exit.kind !== 'done') assert.fail(JSON.stringify(exit));
    const m = exit.outcome.metrics as Record<string, unknown>;
    assert.equal(m.pid, spare.child.pid, 'the job ran in the spare');
    assert.equal(m.envJobId, 'job-a', "the job's own environment was applied");
    assert.equal(m.ompThreads, '1');
    assert.equal(spares.size, 0);

    // A fresh process when there is no spare, as before.
    const fresh = await startRun({ workerEntry: WORKER_ENTRY, memoryMb: 256, env: { ...process.env, AIAAS_HOME: home }, hooks, job: job('job-b') }).done;
    if (fresh.kind !== 'done') assert.fail(JSON.stringify(fresh));
    assert.equal((fresh.outcome.metrics as Record<string, unknown>).envJobId, 'job-b');

    spares.fill(256, MODULE);
    spares.fill(256, MODULE);
    assert.equal(spares.size, 1, 'one spare per heap limit');
    const pid = (spares as unknown as { idle: { child: { pid: number } }[] }).idle[0]!.child.pid;
    await spares.stop();
    assert.ok(!alive(pid), 'stop() killed the idle spare');
    spares.fill(256, MODULE);
    assert.equal(spares.size, 0, 'a stopped pool starts no spares');
  } finally {
    await spares.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
});
