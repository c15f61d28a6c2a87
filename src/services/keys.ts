/**
 * API keys: shown once at creation, stored only as SHA-256.
 *
 * Authentication keeps what the store said about a key for at most AUTH_RECHECK_MS (1 s), so a
 * busy key costs one store read per second, not one per request; the cache is in memory only and
 * looked up by the key itself, so a cached key costs no SHA-256 either (`cached` answers from it
 * alone, synchronously, for the prediction fast path).
 * Revocation still lands at once on the node that revokes (its cache entry is dropped), and
 * within AUTH_RECHECK_MS on every other node (the store is read again once the entry is a second
 * old). Unknown and revoked keys are never cached: a key created on another node works at once.
 */
import type { Db } from '../infra/store/database.js';
import { ForbiddenError, InvalidInputError, MalformedInputError, NotFoundError } from '../infra/errors.js';
import { generateApiKey, hashApiKey, keyHint } from '../infra/crypto.js';
import { newId, nowIso } from '../infra/ids.js';
import type { ApiKeysTable } from '../infra/store/schema.js';
import { isAdmin, ROLES, type Principal, type Role } from './principal.js';
import type { TenantService } from './tenants.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  tenant: string | null;
  endpoint: string | null;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreateKeyInput {
  name: string;
  role: string;
  tenant?: string;
  endpoint?: string;
}

/** last_used_at is refreshed at most this often per key, so a busy key costs no write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** A key's cached authentication is re-read from the store after this long (revocation by another node lands within it). */
export const AUTH_RECHECK_MS = 1000;
const AUTH_CACHE_MAX = 10_000;

type KeyPrincipal = Omit<Principal, 'tenantId'>;

export class KeyService {
  private readonly lastTouched = new Map<string, number>();
  /** key → the key as the store last said, and when (by `now`). In memory only. */
  private readonly authCache = new Map<string, { key: Principal; checkedAt: number }>();
  /** Bumped by every revocation: a store read that a revocation overtook is not cached. */
  private revocations = 0;

  /**
   * @param now the auth cache's clock (monotonic ms). Tests hand in (or swap in) a manual clock to
   *   move past AUTH_RECHECK_MS without sleeping.
   */
  constructor(private readonly db: Db, private readonly tenants: TenantService, public now: () => number = () => performance.now()) {}

  async create(input: CreateKeyInput, by: Principal | null): Promise<ApiKeyInfo & { key: string }> {
    const role = parseRole(input.role);
    if (!input.name.trim()) throw new InvalidInputError('invalid_name', 'Key name must not be empty.', { field: 'name' });
    if (input.endpoint && role !== 'inference') {
      throw new InvalidInputError('invalid_key_scope', `Only inference keys can be scoped to an endpoint; drop 'endpoint' or use role 'inference'.`, { field: 'endpoint' });
    }
    const tenantId = await this.targetTenant(input, role, by);
    return this.insert({ name: input.name, role, tenantId, endpoint: input.endpoint ?? null, createdBy: by?.keyId ?? null });
  }

  /** Used at first start: the admin key given in AIAAS_ADMIN_KEY, or a generated one. */
  async createAdmin(tenantId: string, key?: string): Promise<ApiKeyInfo & { key: string }> {
    return this.insert({ name: 'admin', role: 'admin', tenantId, endpoint: null, createdBy: null, key });
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin').where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private async insert(k: { name: string; role: Role; tenantId: string; endpoint: string | null; createdBy: string | null; key?: string }) {
    const key = k.key ?? generateApiKey();
    const row: ApiKeysTable = {
      id: newId('key'), tenant_id: k.tenantId, name: k.name, role: k.role, endpoint: k.endpoint,
      key_hash: hashApiKey(key), key_hint: keyHint(key), created_at: nowIso(), created_by: k.createdBy,
      revoked_at: null, last_used_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { ...toInfo(row), key };
  }

  private async targetTenant(input: CreateKeyInput, role: Role, by: Principal | null): Promise<string> {
    if (by && !isAdmin(by)) {
      if (role === 'admin') throw new ForbiddenError('forbidden', 'Only admins can create admin keys.');
      if (input.tenant && input.tenant !== by.keyTenantId) {
        const t = await this.tenants.find(input.tenant);
        if (!t || t.id !== by.keyTenantId) throw NotFoundError.of('Tenant', input.tenant);
      }
      return by.keyTenantId;
    }
    if (!input.tenant) {
      if (!by) throw new MalformedInputError('tenant_required', 'A tenant is required.');
      return by.tenantId;
    }
    const t = await this.tenants.find(input.tenant);
    if (!t) throw NotFoundError.of('Tenant', input.tenant);
    return t.id;
  }

  async authenticate(key: string): Promise<KeyPrincipal | undefined> {
    const hit = this.cached(key);
    if (hit) return hit;
    const cached = this.authCache.get(key);
    const now = this.now();
    const generation = this.revocations;
    const row = await this.db.selectFrom('api_keys').selectAll()
      .where('key_hash', '=', hashApiKey(key)).where('revoked_at', 'is', null).executeTakeFirst();
    if (!row || !row.tenant_id) {
      this.authCache.delete(key);
      return undefined;
    }
    this.touch(row.id);
    const found: KeyPrincipal = { keyId: row.id, keyName: row.name, role: row.role as Role, keyTenantId: row.tenant_id, endpoint: row.endpoint };
    if (generation !== this.revocations) return found; // answered as the store was when asked; not kept
    if (this.authCache.size >= AUTH_CACHE_MAX && !cached) this.authCache.delete(this.authCache.keys().next().value!);
    // Kept as the key acting in its own tenant, so a hit costs no new object.
    this.authCache.set(key, { key: { ...found, tenantId: found.keyTenantId }, checkedAt: now });
    return found;
  }

  /**
   * The key as authentication last read it, acting in its own tenant, if that was less than
   * AUTH_RECHECK_MS ago; else undefined (ask `authenticate`). The object is shared: do not change it.
   */
  cached(key: string): Principal | undefined {
    const c = this.authCache.get(key);
    if (!c || this.now() - c.checkedAt >= AUTH_RECHECK_MS) return undefined;
    this.touch(c.key.keyId);
    return c.key;
  }

  /** Forgets what authentication knows of a key: its next request reads the store. */
  private forget(id: string): void {
    this.revocations++;
    for (const [key, c] of this.authCache) if (c.key.keyId === id) this.authCache.delete(key);
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(id, now);
    // Best effort: a failed bookkeeping write must not fail the caller's request.
    this.db.updateTable('api_keys').set({ last_used_at: new Date(now).toISOString() }).where('id', '=', id)
      .execute().catch(() => undefined);
  }

  /** Admins list every key (or one tenant's); others list their tenant's keys. */
  async list(p: Principal, tenant?: string): Promise<ApiKeyInfo[]> {
    let q = this.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
    if (!isAdmin(p)) q = q.where('tenant_id', '=', p.keyTenantId);
    else if (tenant) {
      const t = await this.tenants.find(tenant);
      if (!t) throw NotFoundError.of('Tenant', tenant);
      q = q.where('tenant_id', '=', t.id);
    }
    return (await q.execute()).map(toInfo);
  }

  /** A key of the caller's tenant (admins: any), else 404. */
  async get(p: Principal, id: string): Promise<ApiKeyInfo> {
    let q = this.db.selectFrom('api_keys').selectAll().where('id', '=', id);
    if (!isAdmin(p)) q = q.where('tenant_id', '=', p.keyTenantId);
    const row = await q.executeTakeFirst();
    if (!row) throw NotFoundError.of('Key', id);
    return toInfo(row);
  }

  async revoke(p: Principal, id: string): Promise<ApiKeyInfo> {
    let q = this.db.selectFrom('api_keys').selectAll().where('id', '=', id);
    if (!isAdmin(p)) q = q.where('tenant_id', '=', p.keyTenantId);
    const row = await q.executeTakeFirst();
    if (!row) throw NotFoundError.of('Key', id);
    if (!isAdmin(p) && row.role === 'admin') throw new ForbiddenError('forbidden', 'Only admins can revoke admin keys.');
    if (row.role === 'admin' && !row.revoked_at && (await this.countAdmins()) <= 1) {
      throw new ForbiddenError('forbidden', 'This is the last admin key; create another admin key before revoking it.');
    }
    const revokedAt = row.revoked_at ?? nowIso();
    await this.db.updateTable('api_keys').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
    this.forget(id);
    return toInfo({ ...row, revoked_at: revokedAt });
  }
}

function parseRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new InvalidInputError('invalid_role', `Role '${role}' does not exist; use one of ${ROLES.join(', ')}.`, { field: 'role' });
  }
  return role as Role;
}

function toInfo(row: ApiKeysTable): ApiKeyInfo {
  return {
    id: row.id, name: row.name, role: row.role as Role, tenant: row.tenant_id, endpoint: row.endpoint,
    hint: row.key_hint, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at,
  };
}
