/**
 * Job leasing on both engines. On PostgreSQL two job stores on separate connection pools stand
 * for two API nodes claiming from one queue at once (FOR UPDATE SKIP LOCKED): no job is claimed
 * twice, and a node is never given more than it offers.
 */
import assert from 'node:assert/strict';
import { storeTest } from '../../infra/testing/store-engines.js';
import { TenantService } from '../tenants.js';
import { JobStore } from './job-store.js';
import { newJob, registerNode } from './testing/job-fixtures.js';

storeTest('a job goes queued → running → succeeded with numbered events and JSON fields intact', async (engine) => {
  const db = await engine.open();
  const t = await new TenantService(db).create('jobs');
  await registerNode(db, 'n1', 2, 1);
  const store = new JobStore(db);
  const job = await store.create(newJob(t.id, 1, 1));
  const run = await store.claim(job.id, 'n1', [0]);
  assert.equal(run?.attempt, 1);
  assert.equal(await store.claim(job.id, 'n1', [0]), undefined, 'a running job cannot be claimed again');
  assert.ok(await store.report(job.id, t.id, 1, { progress: { fraction: 0.5 }, metrics: [{ loss: 0.25 }] }, [{ kind: 'log', data: { line: 'half' } }]));
  assert.equal(await store.report(job.id, t.id, 2, { progress: { fraction: 0.9 } }, []), false, 'a stale attempt is fenced out');
  assert.deepEqual((await store.heartbeat('n1')).map((h) => [h.id, h.attempt, h.cancel, h.preempt]), [[job.id, 1, false, false]]);
  assert.ok(await store.endRun(job.id, 1, { status: 'succeeded', attemptOutcome: 'succeeded', result: { model: 'm' } as never, metrics: { acc: 1 } }));
  const row = await store.row(job.id, t.id);
  assert.equal(row?.status, 'succeeded');
  assert.deepEqual(JSON.parse(row!.metrics), { acc: 1, history: [{ loss: 0.25 }] }, 'the final metrics replace the running ones; the history stays');
  assert.deepEqual(JSON.parse(row!.spec), { a: [1, 2] });
  const events = await store.events(job.id, 0);
  assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4]);
  assert.deepEqual(events.map((e) => e.kind), ['status', 'status', 'log', 'status']);
  for (const e of events) assert.equal(typeof e.seq, 'number');
  const attempts = await store.attempts(job.id);
  assert.deepEqual(attempts.map((a) => [a.attempt, a.outcome, a.resumedFromCheckpoint]), [[1, 'succeeded', false]]);
  assert.equal((await store.list(t.id, { limit: 10, status: 'succeeded' })).length, 1);
});

storeTest('two nodes claiming from one queue at once never claim a job twice nor overfill a node', async (engine) => {
  // SQLite's connection blocks its process while it waits for the write lock: two in one process
  // would deadlock, so there both "nodes" share the process's one store (its claims still interleave).
  const dbA = await engine.open();
  const dbB = engine.name === 'sqlite' ? dbA : await engine.open();
  const t = await new TenantService(dbA).create('race');
  const JOBS = 40;
  await registerNode(dbA, 'na', JOBS);
  await registerNode(dbA, 'nb', 8); // room for 8 of them only
  const a = new JobStore(dbA);
  const b = new JobStore(dbB);
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) ids.push((await a.create(newJob(t.id, 1))).id);
  // Like scheduler rounds: each node claims what it sees queued (A in queue order, B in reverse), and
  // goes again while it got something; a job skipped because the other node held it is met next round.
  const rounds = async (store: JobStore, node: string, reverse: boolean) => {
    const got: string[] = [];
    for (let claimed = -1; claimed !== 0;) {
      const queued = (await store.database.selectFrom('jobs').select('id').where('status', '=', 'queued').orderBy('id').execute()).map((r) => r.id);
      if (reverse) queued.reverse();
      claimed = 0;
      await Promise.all(chunks(queued, 4).map(async (part) => {
        for (const id of part) if (await store.claim(id, node, [])) (got.push(id), claimed++);
      }));
    }
    return got;
  };
  const [gotA, gotB] = await Promise.all([rounds(a, 'na', false), rounds(b, 'nb', true)]);
  // What is still queued (both nodes' last rounds overlapped) goes to node A, which has room for all.
  gotA.push(...(await rounds(a, 'na', false)));
  assert.equal(new Set([...gotA, ...gotB]).size, gotA.length + gotB.length, 'no job claimed by both nodes');
  assert.equal(gotA.length + gotB.length, JOBS, 'every job claimed once');
  // SQLite has one scheduler whose plan respects capacity; PostgreSQL's claim re-checks it, as several plan at once.
  if (engine.name === 'postgres') assert.ok(gotB.length <= 8, `node B offers 8 CPUs and got ${gotB.length} one-CPU jobs`);
  const attempts = await dbA.selectFrom('job_attempts').select(['job_id']).execute();
  assert.equal(attempts.length, JOBS, 'one attempt per job');
  const rows = await dbA.selectFrom('jobs').select(['id', 'attempt', 'node_id', 'status']).execute();
  for (const r of rows) {
    assert.equal(r.status, 'running');
    assert.equal(r.attempt, 1);
    assert.equal(r.node_id, gotA.includes(r.id) ? 'na' : 'nb');
  }
});

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  xs.forEach((x, i) => out[i % n].push(x));
  return out;
}
