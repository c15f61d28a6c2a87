/**
 * Serving quotas: what a tenant's endpoints may hold of this server. Per tenant: at most
 * `maxEndpoints` endpoints, `maxReplicasPerEndpoint` as any endpoint's `replicas.max`, and
 * `maxReplicas` replicas over all its endpoints; per server, at most `serverMaxReplicas`
 * replicas over all tenants (AIAAS_SERVING_MAX_REPLICAS, default 4 per CPU). A replica is a
 * thread with its own copy of the model, so these bound the memory and threads serving takes.
 *
 * Replicas are counted as reserved, not as running: an endpoint reserves `replicas.max` for
 * each version in its traffic (each version has its own pool that autoscaling may grow to
 * max), so a quota checked at create/update time can never be overrun later by a scale-up.
 *
 * A tenant without a stored value has the default; storing null restores the default.
 */
import type { Db } from '../../infra/store/database.js';
import { NotFoundError, QuotaExceededError } from '../../infra/errors.js';
import { nowIso } from '../../infra/ids.js';

export interface ServingQuota {
  maxEndpoints: number;
  maxReplicasPerEndpoint: number;
  maxReplicas: number;
}

export const DEFAULT_SERVING_QUOTA: ServingQuota = { maxEndpoints: 10, maxReplicasPerEndpoint: 8, maxReplicas: 16 };

/** Fields to change; null puts a field back to its default. */
export type ServingQuotaPatch = { [K in keyof ServingQuota]?: number | null };

/** What a tenant (or the whole server) holds. */
export interface ServingUse {
  endpoints: number;
  replicas: number;
}

export class ServingQuotas {
  constructor(private readonly db: Db) {}

  async get(tenantId: string): Promise<ServingQuota> {
    const r = await this.db.selectFrom('serving_quotas').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return {
      maxEndpoints: r?.max_endpoints ?? DEFAULT_SERVING_QUOTA.maxEndpoints,
      maxReplicasPerEndpoint: r?.max_replicas_per_endpoint ?? DEFAULT_SERVING_QUOTA.maxReplicasPerEndpoint,
      maxReplicas: r?.max_replicas ?? DEFAULT_SERVING_QUOTA.maxReplicas,
    };
  }

  async put(tenantId: string, patch: ServingQuotaPatch): Promise<ServingQuota> {
    const exists = await this.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!exists) throw NotFoundError.of('Tenant', tenantId);
    const stored = await this.db.selectFrom('serving_quotas').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    const pick = (v: number | null | undefined, old: number | null | undefined) => (v === undefined ? old ?? null : v);
    const row = {
      tenant_id: tenantId,
      max_endpoints: pick(patch.maxEndpoints, stored?.max_endpoints),
      max_replicas_per_endpoint: pick(patch.maxReplicasPerEndpoint, stored?.max_replicas_per_endpoint),
      max_replicas: pick(patch.maxReplicas, stored?.max_replicas),
      updated_at: nowIso(),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('serving_quotas').where('tenant_id', '=', tenantId).execute();
      await tx.insertInto('serving_quotas').values(row).execute();
    });
    return this.get(tenantId);
  }
}

/**
 * Over a quota: 429 `quota_exceeded`. No Retry-After (no `retryAfterSeconds`): waiting frees
 * nothing; only fewer replicas, a deleted endpoint or a higher quota do.
 */
function exceeded(quota: string, message: string, details: Record<string, unknown>): QuotaExceededError {
  return new QuotaExceededError('quota_exceeded', message, { quota, ...details });
}

const raise = (tenantId: string, field: keyof ServingQuota) =>
  `ask an admin to raise it (PUT /v1/tenants/${tenantId}/quota {"${field}": …})`;

/** An endpoint's `replicas.max` within the tenant's per-endpoint cap (checked before anything is loaded). */
export function checkReplicasPerEndpoint(tenantId: string, max: number, q: ServingQuota): void {
  if (max <= q.maxReplicasPerEndpoint) return;
  throw exceeded('maxReplicasPerEndpoint',
    `replicas.max ${max} is over your tenant's quota of ${q.maxReplicasPerEndpoint} replicas per endpoint: lower replicas.max, or ${raise(tenantId, 'maxReplicasPerEndpoint')}.`,
    { field: 'replicas.max', limit: q.maxReplicasPerEndpoint, requested: max });
}

/** Room for `add` more endpoints and replicas: in the tenant's quota, then on the server. */
export function checkRoom(tenantId: string, add: ServingUse, tenant: ServingUse, q: ServingQuota, server: ServingUse, serverMaxReplicas: number): void {
  if (add.endpoints > 0 && tenant.endpoints + add.endpoints > q.maxEndpoints) {
    throw exceeded('maxEndpoints',
      `Your tenant has ${tenant.endpoints} endpoints, its quota's maximum (${q.maxEndpoints}): delete one, or ${raise(tenantId, 'maxEndpoints')}.`,
      { limit: q.maxEndpoints, used: tenant.endpoints, requested: add.endpoints });
  }
  if (add.replicas > 0 && tenant.replicas + add.replicas > q.maxReplicas) {
    throw exceeded('maxReplicas',
      `This needs ${add.replicas} more replicas (replicas.max for each version in the traffic) but your tenant's endpoints already reserve ${tenant.replicas} of its quota of ${q.maxReplicas}: lower replicas.max here or elsewhere, delete an endpoint, or ${raise(tenantId, 'maxReplicas')}.`,
      { limit: q.maxReplicas, used: tenant.replicas, requested: add.replicas });
  }
  // The server's own bound counts every tenant's replicas; its details say how much is left, not who holds it.
  if (add.replicas > 0 && server.replicas + add.replicas > serverMaxReplicas) {
    const free = Math.max(0, serverMaxReplicas - server.replicas);
    throw exceeded('serverMaxReplicas',
      `This server runs at most ${serverMaxReplicas} replicas over all tenants and has ${free} free; this needs ${add.replicas}. Lower replicas.max, or ask the operator to raise AIAAS_SERVING_MAX_REPLICAS (or add CPUs).`,
      { limit: serverMaxReplicas, free, requested: add.replicas });
  }
}
