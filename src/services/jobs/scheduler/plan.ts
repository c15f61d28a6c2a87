/**
 * One scheduling round as a pure function of a snapshot: which queued jobs start on which node,
 * which running jobs are preempted for which, and why every other queued job waits.
 *
 * - Order: FairQueue (priority with aging, then DRF between tenants, then age), re-evaluated after
 *   every placement because placing a job raises its tenant's share.
 * - A job starts only within its tenant's quota and only on a node where all of cpu, memory and
 *   GPUs fit (best fit: the node left with the least free CPU, to keep big holes for big jobs).
 * - A job that does not fit may preempt running jobs of strictly lower (base, not aged) priority
 *   on one node, the fewest and lowest first; the victims checkpoint and go back to the queue,
 *   and the node is held for the job until they are gone.
 * - A job that has waited longer than `agingSeconds` and still does not fit holds the node with
 *   the most free room, so smaller jobs stop overtaking it (no starvation by backfilling).
 */
import type { Resources } from '../job-type.js';
import { add, dominantShare, fits, FairQueue, sub, ZERO } from './fair-share.js';
import { neverFits, quotaBlock, NO_QUOTA, type Quota, type TenantRunning } from './quotas.js';

export interface NodeInfo {
  id: string;
  capacity: Resources;
}

export interface RunningInfo {
  id: string;
  tenantId: string;
  nodeId: string;
  priority: number;
  attempt: number;
  resources: Resources;
  gpuIds: number[];
  /** ms since epoch */
  startedAt: number;
  /** The job it is being preempted for, if any. */
  preemptFor: string | null;
}

export interface QueuedInfo {
  id: string;
  tenantId: string;
  priority: number;
  resources: Resources;
  /** ms since epoch */
  createdAt: number;
  /** ms since epoch: retry backoff */
  notBefore: number | null;
}

export interface PlanInput {
  now: number;
  nodes: NodeInfo[];
  running: RunningInfo[];
  queued: QueuedInfo[];
  quotas: Map<string, Quota>;
  /** CPU-seconds each tenant used this month (only needed for tenants with a monthly quota). */
  monthUsed: Map<string, number>;
  agingSeconds: number;
}

export interface Start {
  jobId: string;
  nodeId: string;
  gpuIds: number[];
}

export interface Preemption {
  jobId: string;
  attempt: number;
  nodeId: string;
  forJob: string;
}

export interface Plan {
  starts: Start[];
  preemptions: Preemption[];
  /** Why each queued job that does not start waits (null for those that start). */
  reasons: Map<string, string | null>;
  /** Dominant share of every tenant with running or queued work, after this round. */
  shares: Map<string, number>;
}

interface NodeState {
  id: string;
  capacity: Resources;
  free: Resources;
  freeGpus: number[];
  /** Held for a job (preemption in progress, or a starving job): nothing else starts here. */
  heldFor: string | null;
}

export function plan(input: PlanInput): Plan {
  const { now } = input;
  const nodes = new Map<string, NodeState>();
  for (const n of input.nodes) {
    nodes.set(n.id, { id: n.id, capacity: n.capacity, free: { ...n.capacity }, freeGpus: range(n.capacity.gpu), heldFor: null });
  }
  const tenantAlloc = new Map<string, Resources>();
  const tenantRunning = new Map<string, TenantRunning>();
  const preemptingFor = new Map<string, RunningInfo[]>();
  for (const r of input.running) {
    tenantAlloc.set(r.tenantId, add(tenantAlloc.get(r.tenantId) ?? ZERO, r.resources));
    const tr = tenantRunning.get(r.tenantId) ?? { cpu: 0, gpu: 0, jobs: 0 };
    tenantRunning.set(r.tenantId, { cpu: tr.cpu + r.resources.cpu, gpu: tr.gpu + r.resources.gpu, jobs: tr.jobs + 1 });
    const node = nodes.get(r.nodeId);
    if (node) {
      node.free = sub(node.free, r.resources);
      node.freeGpus = node.freeGpus.filter((g) => !r.gpuIds.includes(g));
    }
    if (r.preemptFor) preemptingFor.set(r.preemptFor, [...(preemptingFor.get(r.preemptFor) ?? []), r]);
  }
  const capacity = input.nodes.reduce((acc, n) => add(acc, n.capacity), ZERO);
  const shareOf = (t: string) => dominantShare(tenantAlloc.get(t) ?? ZERO, capacity);
  const largest = input.nodes.reduce((acc, n) => ({
    cpu: Math.max(acc.cpu, n.capacity.cpu), memoryMb: Math.max(acc.memoryMb, n.capacity.memoryMb), gpu: Math.max(acc.gpu, n.capacity.gpu),
  }), ZERO);

  const reasons = new Map<string, string | null>();
  const starts: Start[] = [];
  const preemptions: Preemption[] = [];
  const chosenVictims = new Set<string>();

  const eligible: QueuedInfo[] = [];
  for (const q of input.queued) {
    if (q.notBefore !== null && q.notBefore > now) reasons.set(q.id, `retry backoff: starts again at ${new Date(q.notBefore).toISOString()}`);
    else eligible.push(q);
  }
  const queue = new FairQueue(eligible, now, input.agingSeconds);

  for (let job = queue.next(shareOf); job; job = queue.next(shareOf)) {
    const quota = input.quotas.get(job.tenantId) ?? NO_QUOTA;
    const blocked = neverFits(job.resources, quota)
      ?? quotaBlock(job.resources, tenantRunning.get(job.tenantId) ?? { cpu: 0, gpu: 0, jobs: 0 }, quota, input.monthUsed.get(job.tenantId) ?? 0);
    if (blocked) {
      reasons.set(job.id, blocked);
      continue;
    }
    if (!fits(job.resources, largest)) {
      reasons.set(job.id, `no node is large enough: the job needs ${fmt(job.resources)}, the largest node has ${fmt(largest)}`);
      continue;
    }
    const node = bestFit(nodes, job);
    if (node) {
      const gpuIds = node.freeGpus.slice(0, job.resources.gpu);
      node.freeGpus = node.freeGpus.slice(job.resources.gpu);
      node.free = sub(node.free, job.resources);
      starts.push({ jobId: job.id, nodeId: node.id, gpuIds });
      reasons.set(job.id, null);
      tenantAlloc.set(job.tenantId, add(tenantAlloc.get(job.tenantId) ?? ZERO, job.resources));
      const tr = tenantRunning.get(job.tenantId) ?? { cpu: 0, gpu: 0, jobs: 0 };
      tenantRunning.set(job.tenantId, { cpu: tr.cpu + job.resources.cpu, gpu: tr.gpu + job.resources.gpu, jobs: tr.jobs + 1 });
      continue;
    }
    // Preemptions already under way for this job: hold their node and wait for them.
    const pending = preemptingFor.get(job.id);
    if (pending?.length) {
      const n = nodes.get(pending[0]!.nodeId);
      if (n && !n.heldFor) n.heldFor = job.id;
      reasons.set(job.id, `waiting for ${pending.length} preempted job(s) to checkpoint and stop`);
      continue;
    }
    const victims = choosePreemption(nodes, input.running, chosenVictims, job);
    if (victims) {
      victims.node.heldFor = job.id;
      for (const v of victims.jobs) {
        chosenVictims.add(v.id);
        preemptions.push({ jobId: v.id, attempt: v.attempt, nodeId: v.nodeId, forJob: job.id });
      }
      reasons.set(job.id, `preempting ${victims.jobs.length} lower-priority job(s) on node ${victims.node.id}`);
      continue;
    }
    const waited = (now - job.createdAt) / 1000;
    if (input.agingSeconds > 0 && waited >= input.agingSeconds) {
      const roomiest = [...nodes.values()].filter((n) => !n.heldFor && fits(job.resources, n.capacity))
        .sort((a, b) => b.free.cpu - a.free.cpu || b.free.memoryMb - a.free.memoryMb)[0];
      if (roomiest) roomiest.heldFor = job.id;
    }
    // Stable wording (no current free amounts): the reason is rewritten only when it changes.
    reasons.set(job.id, `waiting for resources: needs ${fmt(job.resources)}, more than any node has free now`);
  }

  const shares = new Map<string, number>();
  for (const t of new Set([...tenantAlloc.keys(), ...input.queued.map((q) => q.tenantId)])) shares.set(t, shareOf(t));
  return { starts, preemptions, reasons, shares };
}

function bestFit(nodes: Map<string, NodeState>, job: QueuedInfo): NodeState | undefined {
  let best: NodeState | undefined;
  for (const n of nodes.values()) {
    if (n.heldFor && n.heldFor !== job.id) continue;
    if (!fits(job.resources, n.free)) continue;
    if (!best || n.free.cpu - job.resources.cpu < best.free.cpu - job.resources.cpu) best = n;
  }
  return best;
}

/** The fewest running jobs of lower priority on one node whose removal makes the job fit. */
function choosePreemption(nodes: Map<string, NodeState>, running: RunningInfo[], taken: Set<string>, job: QueuedInfo): { node: NodeState; jobs: RunningInfo[] } | undefined {
  let best: { node: NodeState; jobs: RunningInfo[] } | undefined;
  for (const node of nodes.values()) {
    if (node.heldFor || !fits(job.resources, node.capacity)) continue;
    const candidates = running
      .filter((r) => r.nodeId === node.id && r.priority < job.priority && !r.preemptFor && !taken.has(r.id))
      .sort((a, b) => a.priority - b.priority || b.startedAt - a.startedAt);
    let free = { ...node.free };
    const chosen: RunningInfo[] = [];
    for (const c of candidates) {
      if (fits(job.resources, free)) break;
      chosen.push(c);
      free = add(free, c.resources);
    }
    if (!fits(job.resources, free) || chosen.length === 0) continue;
    if (!best || chosen.length < best.jobs.length) best = { node, jobs: chosen };
  }
  return best;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const fmt = (r: Resources) => `cpu ${+r.cpu.toFixed(3)}, memoryMb ${r.memoryMb}, gpu ${r.gpu}`;
