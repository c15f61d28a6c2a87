/**
 * Crash safety: `aiaas server` is killed with SIGKILL while a job runs. Its worker process goes
 * with it (never two runs of one job at once); on restart the job is found, requeued and resumed
 * from its last checkpoint, and it succeeds exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, until } from './testing/jobs-helpers.js';
import { spawnServer, stopProcess } from './testing/server-process.js';

const KEY = 'aiaas_recovery_test_admin_key_0123456789';

const startServer = (home: string) => spawnServer(home, {
  AIAAS_ADMIN_KEY: KEY, AIAAS_CPU: '2', AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '2',
});

const api = async (url: string, method: string, route: string, json?: unknown) => {
  const res = await fetch(url + route, {
    method, headers: { authorization: `Bearer ${KEY}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  return { status: res.status, body: await res.json() as any };
};

test('kill -9 of the server mid-job: on restart the job resumes from its checkpoint and succeeds once', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-crash-'));
  let second: ChildProcess | undefined;
  try {
    const first = startServer(home);
    const url1 = await first.ready;
    const sub = await api(url1, 'POST', '/v1/jobs', { type: 'sleep', seconds: 12, steps: 24 });
    assert.equal(sub.status, 202);
    const id = sub.body.id as string;
    const running = await until('the job to pass step 6', async () => {
      const j = (await api(url1, 'GET', `/v1/jobs/${id}`)).body;
      return j.progress.fraction >= 0.25 && j.attempts?.[0]?.pid ? j : undefined;
    });
    const workerPid = running.attempts[0].pid as number;
    assert.ok(isAlive(workerPid));

    const gone = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await gone;
    // The worker notices its parent is gone and stops at once: the job never runs twice at once.
    await until('the orphaned worker to exit', async () => !isAlive(workerPid));

    const restarted = startServer(home);
    second = restarted.child;
    const url2 = await restarted.ready;
    const done = await until('the job to finish after the restart', async () => {
      const j = (await api(url2, 'GET', `/v1/jobs/${id}`)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
    }, 100);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.deepEqual(done.attempts.map((a: { outcome: string }) => a.outcome), ['lost', 'succeeded']);
    assert.equal(done.attempts[1].resumedFromCheckpoint, true);
    assert.ok(done.metrics.resumedFromStep >= 6, `resumed from step ${done.metrics.resumedFromStep}`);
    assert.equal(done.metrics.resumedFromStep + done.metrics.stepsThisRun, 24, 'resumed, not restarted');
    // Exactly one success in the job's history.
    const events = await fetch(`${url2}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${KEY}` } }).then((r) => r.text());
    assert.equal((events.match(/"status":"succeeded"/g) ?? []).length, 1);
    assert.equal((events.match(/"status":"running"/g) ?? []).length, 2);
    const ready = await fetch(`${url2}/readyz`).then((r) => r.json()) as { checks: Record<string, string> };
    assert.equal(ready.checks.scheduler, 'ok');
  } finally {
    await stopProcess(second);
    fs.rmSync(home, { recursive: true, force: true });
  }
});
