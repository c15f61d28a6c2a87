/** A job run in its own process: what a lower layer throws there reaches the node agent with its code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRun } from './process-runner.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The worker entry the node agents start (dist/src/interfaces/job-process.js); tests run from dist/src/services/jobs.
const WORKER_ENTRY = path.join(here, '..', '..', 'interfaces', 'job-process.js');

test('a DomainError thrown by the ml layer inside a job worker keeps its code across the process boundary', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-runner-'));
  try {
    const run = startRun({
      workerEntry: WORKER_ENTRY,
      memoryMb: 256,
      env: { ...process.env, AIAAS_HOME: home },
      hooks: { progress: () => undefined, metrics: () => undefined, log: () => undefined, checkpoint: async () => undefined },
      job: {
        jobId: 'job-1', tenantId: 't-1', type: 'invalid-folds', name: null, spec: { rows: 5, folds: 1 }, attempt: 1,
        principal: { keyId: 'k-1', keyName: 'test', role: 'developer', tenantId: 't-1', keyTenantId: 't-1', endpoint: null },
        resources: { cpu: 1, memoryMb: 256, gpu: 0, gpuIds: [] }, threads: 1,
        module: path.join(here, 'testing', 'invalid-folds-job.js'), checkpoint: null,
      },
    });
    const exit = await run.done;
    if (exit.kind !== 'failed') assert.fail(`expected a failed run, got ${JSON.stringify(exit)}`);
    assert.equal(exit.code, 'bad_params');
    assert.match(exit.message, /Parameter 'folds' must be an integer in \[2, 5\]/);
    assert.equal(exit.retryable, false);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
