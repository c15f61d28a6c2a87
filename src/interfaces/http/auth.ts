/**
 * Authentication and role checks, before the body is read: a route's `config.access` says who
 * may call it, and every non-public route gets `request.principal`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, InternalError, NotFoundError, UnauthenticatedError } from '../../infra/errors.js';
import { assertAccess, isAdmin, type Principal } from '../../services/principal.js';
import type { Platform } from '../platform.js';
import './context.js';

export function registerAuth(app: FastifyInstance, platform: Platform): void {
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access;
    if (!req.routeOptions.url) return; // unknown route: the 404 handler answers
    if (access === undefined) throw new InternalError('route_without_access', `Route ${req.routeOptions.url} declares no access rule.`);
    if (access === 'public') return;
    req.principal = await authenticate(req, platform);
    assertAccess(req.principal, access);
  });
}

async function authenticate(req: FastifyRequest, platform: Platform): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) throw new UnauthenticatedError('unauthorized', 'No API key given. Send the header "Authorization: Bearer <api key>".');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new UnauthenticatedError('unauthorized', 'The Authorization header must be "Bearer <api key>".');
  const key = await platform.keys.authenticate(match[1]!);
  if (!key) throw new UnauthenticatedError('unauthorized', 'This API key is unknown or revoked. Create a new one with POST /v1/keys.');
  const tenantId = await actingTenant(req, key, platform);
  return { ...key, tenantId };
}

/** Admins may act in any tenant by naming it in X-Tenant; everyone else acts in their own. */
async function actingTenant(req: FastifyRequest, key: Omit<Principal, 'tenantId'>, platform: Platform): Promise<string> {
  const wanted = req.headers['x-tenant'];
  if (typeof wanted !== 'string' || wanted === '') return key.keyTenantId;
  const tenant = await platform.tenants.find(wanted);
  if (!isAdmin(key as Principal)) {
    if (tenant?.id === key.keyTenantId) return key.keyTenantId;
    throw new ForbiddenError('forbidden', 'Only admin keys may act in another tenant with X-Tenant; drop the header.');
  }
  if (!tenant) throw NotFoundError.of('Tenant', wanted);
  return tenant.id;
}
