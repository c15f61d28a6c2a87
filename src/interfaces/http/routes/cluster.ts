/** The cluster (nodes, capacity, allocations, queue, per-tenant shares) and tenant quotas. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { IdParams } from '../schemas.js';
import { Cluster, Quota, QuotaPatch } from '../schemas-jobs.js';

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
    schema: { tags: ['scheduler'], summary: 'A tenant\'s quota (null: no limit)', params: IdParams, response: { 200: Quota } },
  }, async (req) => {
    const tenant = await platform.tenants.get(principalOf(req), req.params.id);
    return platform.jobs.quotas.get(tenant.id);
  });

  app.put('/v1/tenants/:id/quota', {
    config: { access: 'admin' },
    schema: {
      tags: ['scheduler'], summary: 'Set a tenant\'s quota (admin)',
      description: 'Fields left out keep their value; null removes a limit. Jobs over the quota stay queued with the reason in `queueReason`; a job that could never fit is refused with 429.',
      params: IdParams, body: QuotaPatch, response: { 200: Quota },
    },
  }, async (req) => {
    const tenant = await platform.tenants.get(principalOf(req), req.params.id);
    req.auditObjectId = tenant.id;
    const q = await platform.jobs.quotas.put(tenant.id, req.body);
    platform.jobs.scheduler.wake();
    return q;
  });
}
