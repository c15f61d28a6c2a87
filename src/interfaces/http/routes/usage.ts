/** Metered usage per tenant: CPU- and GPU-seconds, jobs, predictions, storage, and cost. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { NotFoundError } from '../../../infra/errors.js';
import { queryTime } from '../query-time.js';
import { isAdmin } from '../../../services/principal.js';
import { monthStart } from '../../../services/jobs/scheduler/quotas.js';
import { principalOf } from '../context.js';
import { Usage } from '../../../api/schemas-jobs.js';

export async function usageRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/v1/usage', {
    config: { access: 'read' },
    schema: {
      tags: ['usage'], summary: 'Usage and cost per tenant (admins: every tenant, or ?tenant=; others: their own)',
      description: 'Between `from` (default: the start of this month, UTC) and `to` (default: now). CPU- and GPU-seconds are allocated resources × wall time of job runs; storageBytes is what the tenant holds now; cost uses the configured prices.',
      querystring: Type.Object({
        from: Type.Optional(Type.String({ description: 'ISO date or time' })),
        to: Type.Optional(Type.String({ description: 'ISO date or time' })),
        tenant: Type.Optional(Type.String({ description: 'admins: one tenant (id or name)' })),
      }),
      response: { 200: Usage },
    },
  }, async (req) => {
    const p = principalOf(req);
    const from = queryTime(req.query.from, 'from') ?? monthStart(new Date()).toISOString();
    const to = queryTime(req.query.to, 'to');
    let tenants: string[] | undefined;
    if (!isAdmin(p)) tenants = [p.keyTenantId];
    else if (req.query.tenant) {
      const t = await platform.tenants.find(req.query.tenant);
      if (!t) throw NotFoundError.of('Tenant', req.query.tenant);
      tenants = [t.id];
    }
    return platform.jobs.metering.report(from, to, tenants);
  });
}

