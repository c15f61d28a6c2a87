/**
 * Queue order, as pure functions: priority (raised by aging), then dominant-resource fairness
 * between tenants (DRF, as in Mesos and YARN: the tenant whose largest share of any one resource
 * is smallest goes first), then age.
 *
 * A tenant's dominant share is max over resources r of allocated_r / capacity_r, over the jobs it
 * has running. Aging adds one priority level per `agingSeconds` a job has waited, so a job that
 * keeps losing (to higher priorities or to other tenants) eventually comes first.
 */
import type { Resources } from '../job-type.js';

export const ZERO: Resources = { cpu: 0, memoryMb: 0, gpu: 0 };
export const RESOURCE_KEYS = ['cpu', 'memoryMb', 'gpu'] as const;

export function add(a: Resources, b: Resources): Resources {
  return { cpu: a.cpu + b.cpu, memoryMb: a.memoryMb + b.memoryMb, gpu: a.gpu + b.gpu };
}

export function sub(a: Resources, b: Resources): Resources {
  return { cpu: a.cpu - b.cpu, memoryMb: a.memoryMb - b.memoryMb, gpu: a.gpu - b.gpu };
}

/** Every dimension of `need` is at most `free` (with a little slack for float cpu). */
export function fits(need: Resources, free: Resources): boolean {
  return need.cpu <= free.cpu + 1e-9 && need.memoryMb <= free.memoryMb && need.gpu <= free.gpu;
}

/** max_r alloc_r / capacity_r over the resources the cluster has at all. */
export function dominantShare(alloc: Resources, capacity: Resources): number {
  let share = 0;
  for (const k of RESOURCE_KEYS) if (capacity[k] > 0) share = Math.max(share, alloc[k] / capacity[k]);
  return share;
}

export function effectivePriority(priority: number, waitedSeconds: number, agingSeconds: number): number {
  if (!(agingSeconds > 0) || waitedSeconds <= 0) return priority;
  return priority + Math.floor(waitedSeconds / agingSeconds);
}

export interface Candidate {
  id: string;
  tenantId: string;
  priority: number;
  /** Milliseconds since the epoch: when the job was submitted. */
  createdAt: number;
}

/**
 * Which candidate goes next: higher effective priority, then the tenant with the smaller dominant
 * share, then the older job. Negative when `a` goes before `b`.
 */
export function compareCandidates(a: Candidate, b: Candidate, shareOf: (tenant: string) => number, now: number, agingSeconds: number): number {
  const pa = effectivePriority(a.priority, (now - a.createdAt) / 1000, agingSeconds);
  const pb = effectivePriority(b.priority, (now - b.createdAt) / 1000, agingSeconds);
  if (pa !== pb) return pb - pa;
  const sa = shareOf(a.tenantId);
  const sb = shareOf(b.tenantId);
  if (Math.abs(sa - sb) > 1e-12) return sa - sb;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Per-tenant queues, each in (effective priority, age) order; `next` compares only the heads,
 * because shares change as jobs are placed. O(tenants) per pick.
 */
export class FairQueue<C extends Candidate> {
  private readonly queues = new Map<string, C[]>();

  constructor(candidates: C[], private readonly now: number, private readonly agingSeconds: number) {
    for (const c of candidates) {
      let q = this.queues.get(c.tenantId);
      if (!q) this.queues.set(c.tenantId, (q = []));
      q.push(c);
    }
    const noShare = () => 0;
    for (const q of this.queues.values()) q.sort((a, b) => compareCandidates(a, b, noShare, now, agingSeconds));
  }

  /** Removes and returns the candidate that goes next, or undefined when all are taken. */
  next(shareOf: (tenant: string) => number): C | undefined {
    let best: C | undefined;
    let bestTenant: string | undefined;
    for (const [tenant, q] of this.queues) {
      const head = q[0];
      if (!head) continue;
      if (!best || compareCandidates(head, best, shareOf, this.now, this.agingSeconds) < 0) {
        best = head;
        bestTenant = tenant;
      }
    }
    if (bestTenant) this.queues.get(bestTenant)!.shift();
    return best;
  }
}

/** The whole queue in the order the scheduler would consider it, shares held fixed (for display). */
export function orderQueue<C extends Candidate>(candidates: C[], shares: Map<string, number>, now: number, agingSeconds: number): C[] {
  return [...candidates].sort((a, b) => compareCandidates(a, b, (t) => shares.get(t) ?? 0, now, agingSeconds));
}
