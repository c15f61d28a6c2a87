/** The scheduling round as pure functions: order, fairness, aging, quotas, preemption. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCandidates, dominantShare, effectivePriority, FairQueue } from './fair-share.js';
import { plan, type PlanInput, type QueuedInfo, type RunningInfo } from './plan.js';
import { neverFits, quotaBlock, NO_QUOTA, type Quota } from './quotas.js';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const cpu = (n: number, gpu = 0) => ({ cpu: n, memoryMb: 100, gpu });

function q(id: string, tenantId: string, o: Partial<QueuedInfo> = {}): QueuedInfo {
  return { id, tenantId, priority: 0, resources: cpu(1), createdAt: NOW - 1000, notBefore: null, ...o };
}

function r(id: string, tenantId: string, o: Partial<RunningInfo> = {}): RunningInfo {
  return { id, tenantId, nodeId: 'n1', priority: 0, attempt: 1, resources: cpu(1), gpuIds: [], startedAt: NOW - 5000, preemptFor: null, ...o };
}

function input(o: Partial<PlanInput>): PlanInput {
  return {
    now: NOW, nodes: [{ id: 'n1', capacity: { cpu: 2, memoryMb: 1000, gpu: 0 } }], running: [], queued: [],
    quotas: new Map(), monthUsed: new Map(), agingSeconds: 300, ...o,
  };
}

describe('fair share (DRF) and aging', () => {
  test('the dominant share is the largest fraction of any resource', () => {
    assert.equal(dominantShare({ cpu: 1, memoryMb: 500, gpu: 0 }, { cpu: 4, memoryMb: 1000, gpu: 0 }), 0.5);
    assert.equal(dominantShare({ cpu: 3, memoryMb: 100, gpu: 1 }, { cpu: 4, memoryMb: 1000, gpu: 4 }), 0.75);
    // a resource the cluster does not have does not count
    assert.equal(dominantShare({ cpu: 1, memoryMb: 0, gpu: 0 }, { cpu: 2, memoryMb: 0, gpu: 0 }), 0.5);
  });

  test('aging adds a priority level per agingSeconds waited', () => {
    assert.equal(effectivePriority(0, 299, 300), 0);
    assert.equal(effectivePriority(0, 600, 300), 2);
    assert.equal(effectivePriority(5, 1e6, 0), 5);
  });

  test('order: priority, then the tenant with the smaller share, then age', () => {
    const shares = new Map([['a', 0.5], ['b', 0.1]]);
    const shareOf = (t: string) => shares.get(t) ?? 0;
    const old = { id: 'x', tenantId: 'a', priority: 0, createdAt: NOW - 10_000 };
    const young = { id: 'y', tenantId: 'b', priority: 0, createdAt: NOW - 1000 };
    const urgent = { id: 'z', tenantId: 'a', priority: 1, createdAt: NOW };
    assert.ok(compareCandidates(young, old, shareOf, NOW, 300) < 0, 'smaller share first');
    assert.ok(compareCandidates(urgent, young, shareOf, NOW, 300) < 0, 'priority first');
    shares.set('b', 0.5);
    assert.ok(compareCandidates(old, young, shareOf, NOW, 300) < 0, 'equal shares: older first');
  });

  test('FairQueue re-reads shares after every pick', () => {
    const alloc = new Map<string, number>();
    const jobs = [...[1, 2, 3].map((i) => q(`a${i}`, 'a', { createdAt: NOW - 100 + i })), ...[1, 2, 3].map((i) => q(`b${i}`, 'b', { createdAt: NOW + i }))];
    const fq = new FairQueue(jobs, NOW + 10, 300);
    const order: string[] = [];
    for (let j = fq.next((t) => alloc.get(t) ?? 0); j; j = fq.next((t) => alloc.get(t) ?? 0)) {
      order.push(j.id);
      alloc.set(j.tenantId, (alloc.get(j.tenantId) ?? 0) + 1);
    }
    assert.deepEqual(order, ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });
});

describe('a scheduling round', () => {
  test('higher priority starts first; the rest wait for resources with a reason', () => {
    const p = plan(input({ queued: [q('low', 'a', { createdAt: NOW - 9000 }), q('high', 'a', { priority: 5 }), q('mid', 'b', { priority: 1 })], nodes: [{ id: 'n1', capacity: { cpu: 2, memoryMb: 1000, gpu: 0 } }] }));
    assert.deepEqual(p.starts.map((s) => s.jobId), ['high', 'mid']);
    assert.match(p.reasons.get('low')!, /waiting for resources/);
  });

  test('DRF between tenants: the tenant with less running goes first', () => {
    const p = plan(input({
      nodes: [{ id: 'n1', capacity: { cpu: 4, memoryMb: 1000, gpu: 0 } }],
      running: [r('ra1', 'a'), r('ra2', 'a')],
      queued: [q('a3', 'a', { createdAt: NOW - 9000 }), q('a4', 'a', { createdAt: NOW - 8000 }), q('b1', 'b'), q('b2', 'b')],
    }));
    assert.deepEqual(p.starts.map((s) => s.jobId), ['b1', 'b2']);
  });

  test('a job starts only where cpu, memory and GPUs all fit, with GPU indices granted', () => {
    const p = plan(input({
      nodes: [{ id: 'cpu-only', capacity: { cpu: 8, memoryMb: 8000, gpu: 0 } }, { id: 'gpu', capacity: { cpu: 2, memoryMb: 8000, gpu: 2 } }],
      running: [r('g0', 'a', { nodeId: 'gpu', resources: cpu(1, 1), gpuIds: [0] })],
      queued: [q('needs-gpu', 'b', { resources: cpu(1, 1) }), q('big-mem', 'b', { resources: { cpu: 1, memoryMb: 9000, gpu: 0 } })],
    }));
    assert.deepEqual(p.starts, [{ jobId: 'needs-gpu', nodeId: 'gpu', gpuIds: [1] }]);
    assert.match(p.reasons.get('big-mem')!, /no node is large enough/);
  });

  test('backoff: a job waiting to retry does not start before its time', () => {
    const p = plan(input({ queued: [q('later', 'a', { notBefore: NOW + 5000 })] }));
    assert.equal(p.starts.length, 0);
    assert.match(p.reasons.get('later')!, /retry backoff/);
  });

  test('quotas: concurrent jobs, cpu and monthly CPU-seconds keep jobs queued with the reason', () => {
    const quotas = new Map<string, Quota>([
      ['a', { ...NO_QUOTA, maxConcurrentJobs: 1 }], ['b', { ...NO_QUOTA, maxCpu: 1.5 }], ['c', { ...NO_QUOTA, monthlyCpuSeconds: 100 }],
    ]);
    const p = plan(input({
      nodes: [{ id: 'n1', capacity: { cpu: 16, memoryMb: 10_000, gpu: 0 } }], quotas, monthUsed: new Map([['c', 100]]),
      queued: [q('a1', 'a'), q('a2', 'a'), q('b1', 'b'), q('b2', 'b'), q('c1', 'c')],
    }));
    assert.deepEqual(p.starts.map((s) => s.jobId).sort(), ['a1', 'b1']);
    assert.match(p.reasons.get('a2')!, /quota: .*1 concurrent/);
    assert.match(p.reasons.get('b2')!, /quota: .*cpu/);
    assert.match(p.reasons.get('c1')!, /quota: .*CPU-seconds this month/);
    assert.match(neverFits(cpu(4), { ...NO_QUOTA, maxCpu: 2 })!, /at most 2/);
    assert.equal(neverFits(cpu(2), { ...NO_QUOTA, maxCpu: 2 }), null);
    assert.equal(quotaBlock(cpu(1), { cpu: 0, gpu: 0, jobs: 0 }, NO_QUOTA, 1e9), null);
  });

  test('preemption: the fewest, lowest-priority, youngest runs on one node make room', () => {
    const p = plan(input({
      running: [r('old-low', 'a', { priority: 0, startedAt: NOW - 50_000 }), r('young-low', 'a', { priority: 0, startedAt: NOW - 1000 })],
      queued: [q('urgent', 'b', { priority: 10 }), q('same', 'b', { priority: 0 })],
    }));
    assert.equal(p.starts.length, 0);
    assert.deepEqual(p.preemptions.map((x) => [x.jobId, x.forJob]), [['young-low', 'urgent']]);
    assert.match(p.reasons.get('urgent')!, /preempting 1/);
    // the node is held for the urgent job: nothing else takes the room being freed
    assert.match(p.reasons.get('same')!, /waiting for resources/);
  });

  test('equal priority never preempts; preemption under way is waited for, not repeated', () => {
    const equal = plan(input({ running: [r('x', 'a'), r('y', 'a')], queued: [q('z', 'b')] }));
    assert.equal(equal.preemptions.length, 0);
    const pending = plan(input({
      running: [r('x', 'a', { preemptFor: 'urgent' }), r('y', 'a')],
      queued: [q('urgent', 'b', { priority: 10 })],
    }));
    assert.equal(pending.preemptions.length, 0);
    assert.match(pending.reasons.get('urgent')!, /waiting for 1 preempted/);
  });

  test('no starvation: an aged big job holds a node so small jobs stop overtaking it', () => {
    const running = [r('r1', 'a')];
    const big = q('big', 'b', { resources: cpu(2), createdAt: NOW - 400_000 });
    const small = q('small', 'c', { createdAt: NOW - 1000 });
    // Young: the small job backfills the free core.
    const young = plan(input({ agingSeconds: 1000, running, queued: [{ ...big, createdAt: NOW - 100 }, small] }));
    assert.deepEqual(young.starts.map((s) => s.jobId), ['small']);
    // Waited past agingSeconds: the node is held for it; the small job waits.
    const aged = plan(input({ agingSeconds: 300, running, queued: [big, small] }));
    assert.deepEqual(aged.starts, []);
    // And aging lifts a low-priority job above younger high-priority ones.
    const lifted = plan(input({
      nodes: [{ id: 'n1', capacity: { cpu: 1, memoryMb: 1000, gpu: 0 } }], agingSeconds: 60,
      queued: [q('patient', 'a', { priority: 0, createdAt: NOW - 600_000 }), q('eager', 'b', { priority: 3, createdAt: NOW - 10 })],
    }));
    assert.deepEqual(lifted.starts.map((s) => s.jobId), ['patient']);
  });
});
