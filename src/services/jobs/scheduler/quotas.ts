/**
 * Per-tenant quotas: at most this much CPU and GPU at once, this many concurrent jobs, this many
 * CPU-seconds per calendar month (UTC). `null` means no limit. The checks are pure functions;
 * QuotaService stores the quotas.
 */
import type { Db } from '../../../infra/store/database.js';
import { NotFoundError } from '../../../infra/errors.js';
import { nowIso } from '../../../infra/ids.js';
import type { Resources } from '../job-type.js';

export interface Quota {
  maxCpu: number | null;
  maxGpu: number | null;
  maxConcurrentJobs: number | null;
  monthlyCpuSeconds: number | null;
}

export const NO_QUOTA: Quota = { maxCpu: null, maxGpu: null, maxConcurrentJobs: null, monthlyCpuSeconds: null };

export interface TenantRunning {
  cpu: number;
  gpu: number;
  jobs: number;
}

/** Why a job can never run under this quota (reject it with 429), or null. */
export function neverFits(need: Resources, q: Quota): string | null {
  if (q.maxCpu !== null && need.cpu > q.maxCpu) return `the job asks for cpu ${need.cpu} but the tenant's quota allows at most ${q.maxCpu} at once`;
  if (q.maxGpu !== null && need.gpu > q.maxGpu) return `the job asks for ${need.gpu} GPU(s) but the tenant's quota allows at most ${q.maxGpu} at once`;
  if (q.maxConcurrentJobs !== null && q.maxConcurrentJobs < 1) return `the tenant's quota allows no running jobs (maxConcurrentJobs 0)`;
  if (q.monthlyCpuSeconds !== null && q.monthlyCpuSeconds <= 0) return `the tenant's quota allows no CPU-seconds (monthlyCpuSeconds 0)`;
  return null;
}

/** Why a job must wait for its tenant's quota right now, or null when it may start. */
export function quotaBlock(need: Resources, running: TenantRunning, q: Quota, monthUsedCpuSeconds: number): string | null {
  if (q.maxConcurrentJobs !== null && running.jobs + 1 > q.maxConcurrentJobs) {
    return `quota: the tenant already runs ${running.jobs} of at most ${q.maxConcurrentJobs} concurrent jobs`;
  }
  if (q.maxCpu !== null && running.cpu + need.cpu > q.maxCpu + 1e-9) {
    return `quota: the tenant uses cpu ${round(running.cpu)} of at most ${q.maxCpu}; this job needs ${need.cpu} more`;
  }
  if (q.maxGpu !== null && running.gpu + need.gpu > q.maxGpu) {
    return `quota: the tenant uses ${running.gpu} of at most ${q.maxGpu} GPUs; this job needs ${need.gpu} more`;
  }
  if (q.monthlyCpuSeconds !== null && monthUsedCpuSeconds >= q.monthlyCpuSeconds) {
    return `quota: the tenant used ${Math.round(monthUsedCpuSeconds)} of its ${q.monthlyCpuSeconds} CPU-seconds this month; it waits for the next month (${nextMonthStart(new Date()).toISOString()}) or a higher quota`;
  }
  return null;
}

export function monthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextMonthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export class QuotaService {
  constructor(private readonly db: Db) {}

  async get(tenantId: string): Promise<Quota> {
    const r = await this.db.selectFrom('tenant_quotas').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return r ? { maxCpu: r.max_cpu, maxGpu: r.max_gpu, maxConcurrentJobs: r.max_concurrent_jobs, monthlyCpuSeconds: r.monthly_cpu_seconds } : { ...NO_QUOTA };
  }

  async all(): Promise<Map<string, Quota>> {
    const rows = await this.db.selectFrom('tenant_quotas').selectAll().execute();
    return new Map(rows.map((r) => [r.tenant_id, { maxCpu: r.max_cpu, maxGpu: r.max_gpu, maxConcurrentJobs: r.max_concurrent_jobs, monthlyCpuSeconds: r.monthly_cpu_seconds }]));
  }

  /** Sets the fields given; a field set to null removes that limit. */
  async put(tenantId: string, patch: Partial<Quota>): Promise<Quota> {
    const exists = await this.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!exists) throw NotFoundError.of('Tenant', tenantId);
    const q = { ...(await this.get(tenantId)), ...stripUndefined(patch) };
    const row = {
      tenant_id: tenantId, max_cpu: q.maxCpu, max_gpu: q.maxGpu, max_concurrent_jobs: q.maxConcurrentJobs,
      monthly_cpu_seconds: q.monthlyCpuSeconds, updated_at: nowIso(),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('tenant_quotas').where('tenant_id', '=', tenantId).execute();
      await tx.insertInto('tenant_quotas').values(row).execute();
    });
    return q;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
