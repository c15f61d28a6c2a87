/**
 * Fair share over many rounds, deterministically: the planner (./plan.ts) is driven by a simulated
 * cluster whose clock and CPU-seconds ledger belong to the test. Jobs "run" for exactly their
 * duration, so the outcome depends only on the scheduler's decisions, never on the machine's speed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../infra/testing/manual-clock.js';
import { plan, type QueuedInfo, type RunningInfo } from './plan.js';

interface SimJob {
  id: string;
  tenantId: string;
  durationMs: number;
  createdAt: number;
}

interface Decision {
  at: number;
  jobId: string;
  tenantId: string;
  /** Jobs each tenant had running when this one started (counting those the same round started before it). */
  runningBefore: Map<string, number>;
}

interface SimResult {
  decisions: Decision[];
  /** When each job finished (simulated ms). */
  finishedAt: Map<string, number>;
  /** CPU-seconds each tenant had completed by the moment the first tenant started its last job. */
  completedWhileBothQueued: Map<string, number>;
}

const T0 = Date.parse('2025-06-15T12:00:00Z');

/** Runs `jobs` to completion on one node of `cpu` cores, 1 core per job, one scheduling round per event. */
function simulate(jobs: SimJob[], cpu: number): SimResult {
  const clock = new ManualClock(T0);
  const queued = new Map(jobs.map((j) => [j.id, j]));
  const running = new Map<string, RunningInfo & { finishAt: number }>();
  const decisions: Decision[] = [];
  const finishedAt = new Map<string, number>();
  const ledger: Array<{ tenantId: string; at: number; cpuSeconds: number }> = [];
  while (queued.size || running.size) {
    const p = plan({
      now: clock.now(), nodes: [{ id: 'n1', capacity: { cpu, memoryMb: 64_000, gpu: 0 } }], running: [...running.values()],
      queued: [...queued.values()].map((j): QueuedInfo => ({ id: j.id, tenantId: j.tenantId, priority: 0, resources: { cpu: 1, memoryMb: 128, gpu: 0 }, createdAt: j.createdAt, notBefore: null })),
      quotas: new Map(), monthUsed: new Map(), agingSeconds: 300,
    });
    for (const s of p.starts) {
      const job = queued.get(s.jobId)!;
      queued.delete(job.id);
      decisions.push({ at: clock.now(), jobId: job.id, tenantId: job.tenantId, runningBefore: countBy([...running.values()].map((r) => r.tenantId)) });
      running.set(job.id, {
        id: job.id, tenantId: job.tenantId, nodeId: s.nodeId, priority: 0, attempt: 1, resources: { cpu: 1, memoryMb: 128, gpu: 0 },
        gpuIds: [], startedAt: clock.now(), preemptFor: null, finishAt: clock.now() + job.durationMs,
      });
    }
    assert.ok(running.size > 0, 'the planner started nothing on an idle node');
    // The next event: the earliest finish. Every job finishing then is recorded in the ledger.
    const next = Math.min(...[...running.values()].map((r) => r.finishAt));
    clock.advance(next - clock.now());
    for (const r of [...running.values()].filter((x) => x.finishAt === next)) {
      running.delete(r.id);
      finishedAt.set(r.id, next);
      ledger.push({ tenantId: r.tenantId, at: next, cpuSeconds: (next - r.startedAt) / 1000 });
    }
  }
  const lastStart = (t: string) => Math.max(...decisions.filter((d) => d.tenantId === t).map((d) => d.at));
  const cutoff = Math.min(...[...new Set(jobs.map((j) => j.tenantId))].map(lastStart));
  const completedWhileBothQueued = new Map<string, number>();
  for (const e of ledger) if (e.at <= cutoff) completedWhileBothQueued.set(e.tenantId, (completedWhileBothQueued.get(e.tenantId) ?? 0) + e.cpuSeconds);
  return { decisions, finishedAt, completedWhileBothQueued };
}

function countBy(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** `n` jobs of one tenant, submitted 1 ms apart starting at `from`. */
const batch = (tenantId: string, n: number, durationMs: (i: number) => number, from = T0 - 60_000): SimJob[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${tenantId}${String(i).padStart(2, '0')}`, tenantId, durationMs: durationMs(i), createdAt: from + i }));

const spread = (m: Map<string, number>, a: string, b: string) => {
  const [x, y] = [m.get(a) ?? 0, m.get(b) ?? 0];
  return Math.abs(x - y) / Math.max(x, y);
};

describe('fair share over many rounds (simulated clock)', () => {
  test('two tenants with 20 jobs each, all of A submitted before any of B: within 10% of each other\'s completed CPU-seconds', () => {
    // Durations vary per job (a fixed pattern), so completions do not line up by accident.
    const jobs = [...batch('a', 20, (i) => 250 + ((i * 37) % 100)), ...batch('b', 20, (i) => 250 + ((i * 53) % 100), T0 - 30_000)];
    const r = simulate(jobs, 2);
    const [ca, cb] = [r.completedWhileBothQueued.get('a') ?? 0, r.completedWhileBothQueued.get('b') ?? 0];
    assert.ok(ca > 0 && cb > 0, `a ${ca}, b ${cb}`);
    assert.ok(spread(r.completedWhileBothQueued, 'a', 'b') <= 0.1, `completed CPU-seconds ${ca} vs ${cb}`);
    // First come, first served would have run all of A first; fair share starts one of each at once.
    assert.deepEqual(r.decisions.slice(0, 2).map((d) => d.tenantId).sort(), ['a', 'b']);
    assert.equal(r.finishedAt.size, 40);
  });

  test('every start goes to a tenant with no more running than the other while both have work queued', () => {
    const jobs = [...batch('a', 20, () => 300), ...batch('b', 20, () => 700)];
    const r = simulate(jobs, 2);
    const lastStart = (t: string) => Math.max(...r.decisions.filter((d) => d.tenantId === t).map((d) => d.at));
    const cutoff = Math.min(lastStart('a'), lastStart('b'));
    const contested = r.decisions.filter((d) => d.at < cutoff);
    assert.ok(contested.length >= 10, `${contested.length} contested decisions`);
    for (const d of contested) {
      const other = d.tenantId === 'a' ? 'b' : 'a';
      assert.ok((d.runningBefore.get(d.tenantId) ?? 0) <= (d.runningBefore.get(other) ?? 0), `${d.jobId} at ${d.at - T0} ms`);
    }
    // Jobs of different lengths: each tenant holds one core, so both complete CPU-seconds at the same rate.
    assert.ok(spread(r.completedWhileBothQueued, 'a', 'b') <= 0.1, JSON.stringify([...r.completedWhileBothQueued]));
  });

  test('one tenant alone uses the whole node', () => {
    const r = simulate(batch('solo', 6, () => 100), 2);
    assert.deepEqual(r.decisions.map((d) => d.at - T0), [0, 0, 100, 100, 200, 200]);
  });
});
