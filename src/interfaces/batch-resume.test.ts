/**
 * A batch_predict job survives a crash: `aiaas server` is killed with SIGKILL after the job has
 * kept some chunks; on restart the job resumes after its last kept chunk (not from the start),
 * and its output equals, row for row, the output of a run that was never interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from './testing/jobs-helpers.js';
import { spawnServer, stopProcess } from './testing/server-process.js';
import { EXAMPLES } from './testing/test-server.js';

const KEY = 'aiaas_batch_resume_test_admin_key_0123456789';
const CHUNK = 512;

const startServer = (home: string) => spawnServer(home, { AIAAS_ADMIN_KEY: KEY, AIAAS_CPU: '2', AIAAS_HEARTBEAT_SECONDS: '0.2', AIAAS_JOB_GRACE_SECONDS: '2' });

const call = async (url: string, method: string, route: string, body?: unknown) => {
  const res = await fetch(url + route, {
    method, headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as any };
};
const finished = (url: string, id: string) => until(`job ${id} to end`, async () => {
  const j = (await call(url, 'GET', `/v1/jobs/${id}`)).body;
  return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
});

/** The loans rows twelve times over, each with an `id` in file order: 61,200 rows, 120 chunks of 512. */
function manyLoans(): { csv: string; rows: number } {
  const [header, ...lines] = fs.readFileSync(path.join(EXAMPLES, 'loans.csv'), 'utf8').trim().split(/\r?\n/);
  const out = [`id,${header}`];
  for (let k = 0; k < 12; k++) for (const l of lines) out.push(`${out.length - 1},${l}`);
  return { csv: out.join('\n') + '\n', rows: out.length - 1 };
}

test('kill -9 of the server mid batch_predict: the job resumes after its last kept chunk, and its output equals an uninterrupted run', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-batch-crash-'));
  let second: ChildProcess | undefined;
  try {
    const first = startServer(home);
    const url1 = await first.ready;
    const data = manyLoans();
    assert.equal((await call(url1, 'POST', '/v1/datasets?name=loans-many', data.csv)).status, 201);
    assert.equal((await call(url1, 'POST', '/v1/datasets?name=loans', fs.readFileSync(path.join(EXAMPLES, 'loans.csv'), 'utf8'))).status, 201);
    const train = await call(url1, 'POST', '/v1/jobs', { type: 'train', name: 'loans', dataset: 'loans', target: 'default', model: { kind: 'logistic_regression' } });
    assert.equal(train.status, 202, JSON.stringify(train.body));
    assert.equal((await finished(url1, train.body.id)).status, 'succeeded');

    const spec = { type: 'batch_predict', model: 'loans', version: 1, dataset: 'loans-many', chunkRows: CHUNK };
    const sub = await call(url1, 'POST', '/v1/jobs', { ...spec, output: 'scored-resumed' });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    const id = sub.body.id as string;
    // A kept chunk is a checkpoint; 119 more are to come, each waiting for the store, when the server goes.
    await until('the job to keep a chunk', async () => (await call(url1, 'GET', `/v1/jobs/${id}`)).body.checkpoint);
    const gone = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await gone;

    const restarted = startServer(home);
    second = restarted.child;
    const url2 = await restarted.ready;
    const done = await finished(url2, id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.deepEqual(done.attempts.map((a: { outcome: string }) => a.outcome), ['lost', 'succeeded']);
    assert.equal(done.attempts[1].resumedFromCheckpoint, true);
    const at = done.metrics.resumedAtRow as number;
    assert.ok(at >= CHUNK && at < data.rows && at % CHUNK === 0, `resumed at row ${at}: after a kept chunk, not from the start`);
    assert.equal(done.metrics.rows, data.rows);

    const once = await call(url2, 'POST', '/v1/jobs', { ...spec, output: 'scored-once' });
    assert.equal((await finished(url2, once.body.id)).status, 'succeeded');
    for (const name of ['scored-resumed', 'scored-once']) assert.equal((await call(url2, 'GET', `/v1/datasets/${name}`)).body.rows, data.rows);
    // Around the seam and at the end, the resumed output is the uninterrupted one, ids in order.
    for (const offset of [at - 8, data.rows - 8]) {
      const [a, b] = await Promise.all(['scored-resumed', 'scored-once'].map(async (n) => (await call(url2, 'GET', `/v1/datasets/${n}/rows?offset=${offset}&limit=16`)).body));
      const rows = a.rows ?? a.data;
      assert.deepEqual(rows, b.rows ?? b.data);
      assert.deepEqual(rows.map((r: { id: number }) => r.id), Array.from({ length: rows.length }, (_, i) => offset + i));
      assert.ok(rows.every((r: { prediction: unknown }) => r.prediction === 'yes' || r.prediction === 'no'));
    }
  } finally {
    await stopProcess(second);
    fs.rmSync(home, { recursive: true, force: true });
  }
});
