/** What the HTTP layer adds to Fastify's types: per-route access rules and the caller. */
import type { Access, Principal } from '../../services/principal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; 'public' needs no key. Every route must say. */
    access?: Access | 'public';
  }
  interface FastifyRequest {
    principal?: Principal;
    /** The object a mutating call acted on, for the audit log. */
    auditObjectId?: string;
    /** The error code answered, for the audit log and metrics. */
    errorCode?: string;
  }
}

export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new Error('route reached without authentication: give it config.access');
  return req.principal;
}
