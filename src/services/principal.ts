/**
 * Who is calling, after authentication, and what their role lets them do. Services take a
 * Principal and scope every query to `principal.tenantId`: objects of another tenant are
 * simply not found.
 */
import { ForbiddenError } from '../infra/errors.js';

export const ROLES = ['admin', 'developer', 'viewer', 'inference'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: read objects, change them, administer tenants, run predictions, or any valid key (who am I). */
export type Access = 'read' | 'write' | 'admin' | 'predict' | 'any';

export interface Principal {
  keyId: string;
  keyName: string;
  role: Role;
  /** The tenant this request acts in: the key's own, or for admins the one chosen by X-Tenant. */
  tenantId: string;
  /** The tenant the key belongs to. */
  keyTenantId: string;
  /** For inference keys scoped to one endpoint. */
  endpoint: string | null;
}

const ALLOWED: Record<Access, readonly Role[]> = {
  read: ['admin', 'developer', 'viewer'],
  write: ['admin', 'developer'],
  admin: ['admin'],
  predict: ['admin', 'developer', 'inference'],
  any: ROLES,
};

/** Whether a key of this role may make calls that need `access`. */
export function mayAccess(role: Role, access: Access): boolean {
  return ALLOWED[access].includes(role);
}

export function assertAccess(p: Principal, access: Access): void {
  if (!mayAccess(p.role, access)) {
    const need = ALLOWED[access].join(' or ');
    throw new ForbiddenError('forbidden', `This call needs a key with role ${need}; yours has role ${p.role}. Ask an admin or a developer of your tenant for such a key.`);
  }
}

export const isAdmin = (p: Principal): boolean => p.role === 'admin';

/** The roles a key of this role may give to a new key: admins any; developers the non-admin roles; others none. */
export function grantableRoles(role: Role): Role[] {
  if (role === 'admin') return [...ROLES];
  if (role === 'developer') return ['developer', 'viewer', 'inference'];
  return [];
}
