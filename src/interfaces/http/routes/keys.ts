/** API keys: create (the secret is in this response only), list, revoke. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { grantableRoles } from '../../../services/principal.js';
import { ApiKey, CreatedKey, CreateKey, IdParams, ListOf, Whoami } from '../../../api/schemas.js';
import { RateLimitsPatch, RateLimitsSchema } from '../../../api/schemas-jobs.js';

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

  app.get('/v1/keys/:id/limits', {
    config: { access: 'write' },
    schema: { tags: ['keys'], summary: "A key's rate limits on the OpenAI-compatible API (null: none)", params: IdParams, response: { 200: RateLimitsSchema } },
  }, async (req) => {
    const k = await platform.keys.get(principalOf(req), req.params.id);
    return platform.lm.limiter.get(`key:${k.id}`);
  });

  app.put('/v1/keys/:id/limits', {
    config: { access: 'write' },
    schema: {
      tags: ['keys'], summary: "Set a key's rate limits: requestsPerMinute, tokensPerMinute (prompt + completion); null removes one",
      description: 'Checked on every call under /openai/v1 together with the tenant\'s limits (PUT /v1/tenants/{id}/quota): over either → 429 `rate_limit_exceeded` with Retry-After; every answer carries x-ratelimit-limit|remaining|reset-requests|tokens.',
      params: IdParams, body: RateLimitsPatch, response: { 200: RateLimitsSchema },
    },
  }, async (req) => {
    const k = await platform.keys.get(principalOf(req), req.params.id);
    req.auditObjectId = k.id;
    return platform.lm.limiter.set(`key:${k.id}`, req.body);
  });

  app.delete('/v1/keys/:id', {
    config: { access: 'write' },
    schema: { tags: ['keys'], summary: 'Revoke a key (takes effect at once)', params: IdParams, response: { 200: ApiKey } },
  }, async (req) => platform.keys.revoke(principalOf(req), req.params.id));
}
