/** API keys: create (the secret is in this response only), list, revoke. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { grantableRoles } from '../../../services/principal.js';
import { ApiKey, CreatedKey, CreateKey, IdParams, ListOf, Whoami } from '../../../api/schemas.js';

export async function keyRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  // A created key is shown once, in this answer: no cache (browser, proxy) may keep a copy.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.method === 'POST') reply.header('cache-control', 'no-store');
    done();
  });

  app.post('/v1/keys', {
    config: { access: 'write' },
    schema: { tags: ['keys'], summary: 'Create an API key (shown once)', body: CreateKey, response: { 201: CreatedKey } },
  }, async (req, reply) => {
    const k = await platform.keys.create(req.body, principalOf(req));
    req.auditObjectId = k.id;
    return reply.code(201).send(k);
  });

  app.get('/v1/keys', {
    config: { access: 'write' },
    schema: {
      tags: ['keys'], summary: 'List keys (admins: all, or ?tenant=; developers: their tenant)',
      querystring: Type.Object({ tenant: Type.Optional(Type.String()) }), response: { 200: ListOf(ApiKey) },
    },
  }, async (req) => ({ data: await platform.keys.list(principalOf(req), req.query.tenant) }));

  // Any valid key may ask who it is (the console's header, `aiaas whoami`); nothing secret is returned.
  app.get('/v1/whoami', {
    config: { access: 'any' },
    schema: { tags: ['keys'], summary: 'The calling key: name, role, tenant, acting tenant, roles it may grant', response: { 200: Whoami } },
  }, async (req) => {
    const p = principalOf(req);
    const name = async (id: string) => (await platform.tenants.find(id))?.name ?? id;
    return {
      key: { id: p.keyId, name: p.keyName, role: p.role, endpoint: p.endpoint },
      tenant: { id: p.keyTenantId, name: await name(p.keyTenantId) },
      actingTenant: { id: p.tenantId, name: await name(p.tenantId) },
      canGrant: grantableRoles(p.role),
    };
  });

  app.delete('/v1/keys/:id', {
    config: { access: 'write' },
    schema: { tags: ['keys'], summary: 'Revoke a key (takes effect at once)', params: IdParams, response: { 200: ApiKey } },
  }, async (req) => platform.keys.revoke(principalOf(req), req.params.id));
}
