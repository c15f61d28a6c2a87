/** The cluster (nodes, capacity, allocations, queue, per-tenant shares) and tenant quotas. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { IdParams } from '../../../api/schemas.js';
import { Cluster, TenantQuota, TenantQuotaPatch } from '../../../api/schemas-jobs.js';

export async function clusterRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v1/cluster', {
    config: { access: 'read' },
    schema: {
      tags: ['scheduler'], summary: 'Nodes, capacity, allocations, the queue and per-tenant shares',
      description: 'Admins see every tenant\'s share; others see their own.', response: { 200: Cluster },
    },
  }, async (req) => platform.jobs.cluster(principalOf(req)));

  app.get('/v1/tenants/:id/quota', {
    config: { access: 'read' },
    schema: { tags: ['scheduler'], summary: 'A tenant\'s quota: jobs (null: no limit) and serving (endpoints, replicas)', params: IdParams, response: { 200: TenantQuota } },
  }, async (req) => {
    const tenant = await platform.tenants.get(principalOf(req), req.params.id);
    return tenantQuota(platform, tenant.id);
  });

  app.put('/v1/tenants/:id/quota', {
    config: { access: 'admin' },
    schema: {
      tags: ['scheduler'], summary: 'Set a tenant\'s quota (admin)',
      description: 'Fields left out keep their value. Jobs: null removes a limit; jobs over the quota stay queued with the reason in `queueReason`; a job that could never fit is refused with 429. Serving: `maxEndpoints` (default 10), `maxReplicasPerEndpoint` (highest `replicas.max`, default 8) and `maxReplicas` (over all the tenant\'s endpoints, `replicas.max` counted once per version in the traffic, default 16); null restores the default. Creating or scaling an endpoint past them is refused with 429 `quota_exceeded`; what already runs is left as it is. `requestsPerMinute` and `tokensPerMinute` limit the tenant\'s calls to the OpenAI-compatible API (429 `rate_limit_exceeded` with Retry-After); null removes them.',
      params: IdParams, body: TenantQuotaPatch, response: { 200: TenantQuota },
    },
  }, async (req) => {
    const tenant = await platform.tenants.get(principalOf(req), req.params.id);
    req.auditObjectId = tenant.id;
    const { maxEndpoints, maxReplicasPerEndpoint, maxReplicas, requestsPerMinute, tokensPerMinute, ...jobs } = req.body;
    await platform.jobs.quotas.put(tenant.id, jobs);
    await platform.lm.limiter.set(`tenant:${tenant.id}`, { requestsPerMinute, tokensPerMinute });
    await platform.serving.quotas.put(tenant.id, { maxEndpoints, maxReplicasPerEndpoint, maxReplicas });
    platform.jobs.scheduler.wake();
    return tenantQuota(platform, tenant.id);
  });
}

async function tenantQuota(platform: Platform, tenantId: string) {
  return { ...(await platform.jobs.quotas.get(tenantId)), ...(await platform.serving.quotas.get(tenantId)), ...(await platform.lm.limiter.get(`tenant:${tenantId}`)) };
}
