/** Tenants (admin) and the caller's own tenant. */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { CreateTenant, IdParams, ListOf, Tenant } from '../../../api/schemas.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

export async function tenantRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/v1/tenants', {
    config: { access: 'admin' },
    schema: { tags: ['tenants'], summary: 'Create a tenant', body: CreateTenant, response: { 201: Tenant } },
  }, async (req, reply) => {
    const t = await platform.tenants.create(req.body.name);
    req.auditObjectId = t.id;
    return reply.code(201).send(t);
  });

  app.get('/v1/tenants', {
    config: { access: 'read' },
    schema: { tags: ['tenants'], summary: 'List tenants (admins: all; others: their own)', response: { 200: ListOf(Tenant) } },
  }, async (req) => ({ data: await platform.tenants.list(principalOf(req)) }));

  app.get('/v1/tenants/:id', {
    config: { access: 'read' },
    schema: { tags: ['tenants'], summary: 'Get a tenant by id or name', params: IdParams, response: { 200: Tenant } },
  }, async (req) => platform.tenants.get(principalOf(req), req.params.id));
}
