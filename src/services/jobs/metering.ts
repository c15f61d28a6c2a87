/**
 * Metering: CPU-seconds and GPU-seconds per job run (allocated × wall time, written when a run
 * ends), predictions (counted by serving), storage (bytes held), and their cost at the configured
 * prices. `GET /v1/usage` reads it.
 *
 * Serving counts predictions with `recordPredictions(tenantId, n, endpoint?)`: cheap to call per
 * request (it adds to an in-memory counter), flushed to the `usage_events` table every few seconds
 * and on close.
 */
import type { Db } from '../../infra/store/database.js';
import type { Prices } from '../../infra/config.js';
import { newId, nowIso } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';

export interface TenantUsage {
  tenant: string;
  name: string;
  cpuSeconds: number;
  gpuSeconds: number;
  /** Jobs submitted in the period. */
  jobs: number;
  predictions: number;
  /** Language-model tokens metered in the period (OpenAI-compatible API). */
  promptTokens: number;
  completionTokens: number;
  /** Bytes held now (datasets, and whatever other storage sources report). */
  storageBytes: number;
  cost: number;
}

export interface UsageReport {
  from: string;
  to: string;
  prices: Prices;
  data: TenantUsage[];
}

/** Bytes a tenant holds in some kind of object (datasets are built in; model artifacts join later). */
export type StorageSource = (db: Db, tenantIds: string[]) => Promise<Map<string, number>>;

/** Predictions per tenant in [from, to) counted elsewhere (serving keeps hourly counts of its own). */
export type PredictionSource = (from: string, to: string) => Promise<Map<string, number>>;
/** Language-model tokens per tenant in [from, to), counted by serving. */
export type TokenSource = (from: string, to: string) => Promise<Map<string, { prompt: number; completion: number }>>;

const FLUSH_MS = 5000;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

export class Metering {
  private pending = new Map<string, { tenantId: string; endpoint: string | null; n: number }>();
  private timer?: NodeJS.Timeout;
  private readonly storage: StorageSource[] = [datasetStorage];
  private readonly predictionSources: PredictionSource[] = [];
  private readonly tokenSources: TokenSource[] = [];

  constructor(private readonly db: Db, private readonly prices: Prices, private readonly logger: Logger) {}

  /** Counts `n` predictions served for a tenant (optionally by one endpoint). Never throws. */
  recordPredictions(tenantId: string, n: number, endpoint?: string): void {
    if (!(n > 0)) return;
    const key = `${tenantId}\u0000${endpoint ?? ''}`;
    const p = this.pending.get(key);
    if (p) p.n += n;
    else this.pending.set(key, { tenantId, endpoint: endpoint ?? null, n });
    this.timer ??= setTimeout(() => { void this.flush(); }, FLUSH_MS);
    this.timer.unref?.();
  }

  /** Writes counted predictions to the store (also done every few seconds, and on close). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const at = nowIso();
    try {
      await this.db.insertInto('usage_events').values(batch.map((b) => ({
        id: newId('use'), tenant_id: b.tenantId, kind: 'predictions', job_id: null, endpoint: b.endpoint,
        cpu_seconds: 0, gpu_seconds: 0, predictions: b.n, at,
      }))).execute();
    } catch (err) {
      this.logger.error({ err }, 'writing prediction counts failed');
    }
  }

  /** Another count of predictions to add to those recorded with recordPredictions. */
  addPredictionSource(source: PredictionSource): void {
    this.predictionSources.push(source);
  }

  /** Where language-model tokens are counted. */
  addTokenSource(source: TokenSource): void {
    this.tokenSources.push(source);
  }

  /** Another kind of stored bytes to count in storageBytes (e.g. model artifacts). */
  addStorageSource(source: StorageSource): void {
    this.storage.push(source);
  }

  /** Usage between `from` and `to` (ISO times; `to` defaults to now) of the given tenants (all when undefined). */
  async report(from: string, toOrNow: string | undefined, tenantIds?: string[]): Promise<UsageReport> {
    await this.flush();
    const to = toOrNow ?? new Date(Date.now() + 1).toISOString();
    let tq = this.db.selectFrom('tenants').select(['id', 'name']).orderBy('name');
    if (tenantIds) tq = tq.where('id', 'in', tenantIds.length ? tenantIds : ['']);
    const tenants = await tq.execute();
    const ids = tenants.map((t) => t.id);
    const usage = new Map<string, { cpu: number; gpu: number; predictions: number; jobs: number; storage: number; prompt: number; completion: number }>();
    for (const id of ids) usage.set(id, { cpu: 0, gpu: 0, predictions: 0, jobs: 0, storage: 0, prompt: 0, completion: 0 });
    if (ids.length) {
      const rows = await this.db.selectFrom('usage_events')
        .select((eb) => ['tenant_id', eb.fn.sum<number>('cpu_seconds').as('cpu'), eb.fn.sum<number>('gpu_seconds').as('gpu'), eb.fn.sum<number>('predictions').as('predictions')])
        .where('tenant_id', 'in', ids).where('at', '>=', from).where('at', '<', to).groupBy('tenant_id').execute();
      for (const r of rows) Object.assign(usage.get(r.tenant_id)!, { cpu: Number(r.cpu ?? 0), gpu: Number(r.gpu ?? 0), predictions: Number(r.predictions ?? 0) });
      // Runs in progress count up to now.
      const running = await this.db.selectFrom('jobs').select(['tenant_id', 'cpu', 'gpu', 'run_started_at'])
        .where('status', '=', 'running').where('tenant_id', 'in', ids).execute();
      const end = Math.min(Date.now(), Date.parse(to));
      for (const r of running) {
        const start = Math.max(Date.parse(r.run_started_at ?? to), Date.parse(from));
        const secs = Math.max(0, (end - start) / 1000);
        const u = usage.get(r.tenant_id)!;
        u.cpu += r.cpu * secs;
        u.gpu += r.gpu * secs;
      }
      const jobs = await this.db.selectFrom('jobs').select((eb) => ['tenant_id', eb.fn.countAll<number>().as('n')])
        .where('tenant_id', 'in', ids).where('created_at', '>=', from).where('created_at', '<', to).groupBy('tenant_id').execute();
      for (const r of jobs) usage.get(r.tenant_id)!.jobs = Number(r.n);
      for (const source of this.predictionSources) {
        for (const [t, n] of await source(from, to)) {
          const u = usage.get(t);
          if (u) u.predictions += n;
        }
      }
      for (const source of this.tokenSources) {
        for (const [t, n] of await source(from, to)) {
          const u = usage.get(t);
          if (u) {
            u.prompt += n.prompt;
            u.completion += n.completion;
          }
        }
      }
      for (const source of this.storage) {
        for (const [t, bytes] of await source(this.db, ids)) {
          const u = usage.get(t);
          if (u) u.storage += bytes;
        }
      }
    }
    const months = Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000 / SECONDS_PER_MONTH);
    const p = this.prices;
    return {
      from, to, prices: p,
      data: tenants.map((t) => {
        const u = usage.get(t.id)!;
        const cost = u.cpu * p.cpuSecond + u.gpu * p.gpuSecond + (u.predictions / 1000) * p.thousandPredictions
          + u.prompt * p.promptToken + u.completion * p.completionToken
          + (u.storage / 1e9) * p.gbMonth * Math.min(months, (Date.now() - Date.parse(from)) / 1000 / SECONDS_PER_MONTH);
        return {
          tenant: t.id, name: t.name, cpuSeconds: round(u.cpu), gpuSeconds: round(u.gpu), jobs: u.jobs,
          predictions: u.predictions, promptTokens: u.prompt, completionTokens: u.completion, storageBytes: u.storage, cost: Math.round(cost * 1e6) / 1e6,
        };
      }),
    };
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

const datasetStorage: StorageSource = async (db, ids) => {
  const rows = await db.selectFrom('dataset_versions').select((eb) => ['tenant_id', eb.fn.sum<number>('bytes').as('b')])
    .where('tenant_id', 'in', ids).groupBy('tenant_id').execute();
  return new Map(rows.map((r) => [r.tenant_id, Number(r.b ?? 0)]));
};

/** Model artifacts (ONNX files) of the registry. */
export const modelArtifactStorage: StorageSource = async (db, ids) => {
  const rows = await db.selectFrom('model_versions').select((eb) => ['tenant_id', eb.fn.sum<number>('size_bytes').as('b')])
    .where('tenant_id', 'in', ids).groupBy('tenant_id').execute();
  return new Map(rows.map((r) => [r.tenant_id, Number(r.b ?? 0)]));
};

const round = (x: number) => Math.round(x * 1000) / 1000;
