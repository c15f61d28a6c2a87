/** The audit log, for admins. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { NotFoundError } from '../../../infra/errors.js';
import { AuditEntry, ListOf } from '../../../api/schemas.js';

export async function auditRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/v1/audit', {
    config: { access: 'admin' },
    schema: {
      tags: ['audit'], summary: 'Mutating calls, newest first',
      querystring: Type.Object({
        tenant: Type.Optional(Type.String({ description: 'tenant id or name' })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        before: Type.Optional(Type.String({ description: 'an entry id: return older entries (paging)' })),
      }),
      response: { 200: ListOf(AuditEntry) },
    },
  }, async (req) => {
    let tenant: string | undefined;
    if (req.query.tenant) {
      const t = await platform.tenants.find(req.query.tenant);
      if (!t) throw NotFoundError.of('Tenant', req.query.tenant);
      tenant = t.id;
    }
    return { data: await platform.audit.list({ tenant, limit: req.query.limit, before: req.query.before }) };
  });
}
