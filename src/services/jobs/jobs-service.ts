/**
 * The jobs API as a service: submit (validated by the job type before anything queues), list,
 * get, cancel, events and logs, every query scoped to the caller's tenant (another tenant's job
 * is simply not found).
 */
import { ConflictError, InvalidInputError, NotFoundError, QuotaExceededError } from '../../infra/errors.js';
import type { Principal } from '../principal.js';
import { DEFAULT_RESOURCES, type JobTypeRegistry, type Resources } from './job-type.js';
import { TERMINAL, toJobView, type EventKind, type JobEvent, type JobStore, type JobView, type ListQuery } from './job-store.js';
import { neverFits, type QuotaService } from './scheduler/quotas.js';
import { fits } from './scheduler/fair-share.js';

export interface SubmitInput {
  type: string;
  priority?: number;
  resources?: Partial<Resources>;
  retry?: { maxAttempts?: number; backoffSeconds?: number };
  name?: string;
  [field: string]: unknown;
}

export interface JobServiceOptions<P> {
  store: JobStore;
  types: JobTypeRegistry<P>;
  quotas: QuotaService;
  /** The largest node that is up now (a job larger than it cannot run). */
  largestNode(): Promise<Resources>;
  platform(): P;
  /** A job was queued: the scheduler should look. */
  onSubmit(): void;
  /** A running job was flagged for cancellation: tell its node now. */
  onCancel(jobId: string, nodeId: string | null): void;
  graceSeconds: number;
}

const COMMON = new Set(['type', 'priority', 'resources', 'retry', 'name']);
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_SECONDS = 2;

export class JobService<P = unknown> {
  constructor(private readonly o: JobServiceOptions<P>) {}

  async submit(p: Principal, input: SubmitInput, opts: { parentId?: string } = {}): Promise<JobView> {
    const type = this.o.types.get(input.type);
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) if (!COMMON.has(k)) rest[k] = v;
    const validated = await type.validate(rest, { principal: p, platform: this.o.platform(), name: input.name });
    const resources: Resources = { ...DEFAULT_RESOURCES, ...type.defaultResources, ...validated.resources, ...stripUndefined(input.resources ?? {}) };
    checkResources(resources);
    const quota = await this.o.quotas.get(p.tenantId);
    const never = neverFits(resources, quota);
    if (never) {
      throw new QuotaExceededError('quota_exceeded', `This job could never run under your tenant's quota: ${never}. Ask for fewer resources, or ask an admin to raise the quota (PUT /v1/tenants/{id}/quota).`, {
        retryAfterSeconds: 3600, quota, resources,
      });
    }
    const largest = await this.o.largestNode();
    if (!fits(resources, largest)) {
      throw new InvalidInputError('insufficient_capacity', `No node can run this job: it asks for cpu ${resources.cpu}, memoryMb ${resources.memoryMb}, gpu ${resources.gpu}, and the largest node has cpu ${largest.cpu}, memoryMb ${largest.memoryMb}, gpu ${largest.gpu}. Ask for less, or add a larger node.`, {
        field: 'resources', resources, largestNode: largest,
      });
    }
    const row = await this.o.store.create({
      tenantId: p.tenantId, type: type.name, module: type.module, name: input.name ?? validated.name ?? null, priority: input.priority ?? 0,
      spec: validated.spec, resources, maxAttempts: input.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      backoffSeconds: input.retry?.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS, parentId: opts.parentId ?? null,
      createdBy: p.keyId, createdRole: p.role,
    });
    this.o.onSubmit();
    return toJobView(row);
  }

  async list(p: Principal, q: ListQuery): Promise<JobView[]> {
    return (await this.o.store.list(p.tenantId, q)).map((r) => toJobView(r));
  }

  async get(p: Principal, id: string): Promise<JobView> {
    const row = await this.o.store.row(id, p.tenantId);
    if (!row) throw NotFoundError.of('Job', id);
    return toJobView(row, await this.o.store.attempts(id));
  }

  /**
   * Cancels a job: a queued one at once; a running one is signalled, given the grace period to
   * stop, then killed. Answers once the job has stopped (or after the grace period and a little).
   */
  async cancel(p: Principal, id: string): Promise<JobView> {
    const row = await this.o.store.row(id, p.tenantId);
    if (!row) throw NotFoundError.of('Job', id);
    if (TERMINAL.has(row.status)) {
      throw new ConflictError('job_finished', `Job ${id} has already ${row.status === 'cancelled' ? 'been cancelled' : row.status}; there is nothing to cancel.`, { status: row.status });
    }
    if (!(await this.o.store.cancelQueued(id))) {
      if (await this.o.store.requestCancel(id)) {
        const now = await this.o.store.row(id);
        this.o.onCancel(id, now?.node_id ?? null);
      } else {
        const again = await this.o.store.row(id);
        if (again?.status === 'queued' && (await this.o.store.cancelQueued(id))) return this.get(p, id);
      }
    }
    const deadline = Date.now() + (this.o.graceSeconds + 3) * 1000;
    for (;;) {
      const cur = await this.o.store.row(id);
      if (!cur || TERMINAL.has(cur.status) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.get(p, id);
  }

  /** The job (of the caller's tenant) or 404. */
  async assertVisible(p: Principal, id: string): Promise<{ status: string }> {
    const row = await this.o.store.row(id, p.tenantId);
    if (!row) throw NotFoundError.of('Job', id);
    return row;
  }

  async events(p: Principal, id: string, after: number, limit = 1000, kinds?: EventKind[]): Promise<JobEvent[]> {
    await this.assertVisible(p, id);
    return this.o.store.events(id, after, limit, kinds);
  }

  get store(): JobStore {
    return this.o.store;
  }
}

function checkResources(r: Resources): void {
  if (!(r.cpu > 0) || r.cpu > 1024) throw new InvalidInputError('invalid_resources', `resources.cpu must be more than 0 (fractions allowed) and at most 1024; got ${r.cpu}.`, { field: 'resources.cpu' });
  if (!Number.isInteger(r.memoryMb) || r.memoryMb < 16) throw new InvalidInputError('invalid_resources', `resources.memoryMb must be a whole number of at least 16; got ${r.memoryMb}.`, { field: 'resources.memoryMb' });
  if (!Number.isInteger(r.gpu) || r.gpu < 0) throw new InvalidInputError('invalid_resources', `resources.gpu must be a whole number of at least 0; got ${r.gpu}.`, { field: 'resources.gpu' });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
