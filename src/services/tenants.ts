/** Tenants: the unit of isolation. Every object belongs to exactly one. */
import type { Db } from '../infra/store/database.js';
import { isUniqueViolation } from '../infra/store/database.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../infra/errors.js';
import { newId, nowIso } from '../infra/ids.js';
import type { Principal } from './principal.js';
import { isAdmin } from './principal.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError('invalid_name', `${kind} name '${name}' is not allowed: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.`, { name });
  }
}

export class TenantService {
  constructor(private readonly db: Db) {}

  async create(name: string): Promise<Tenant> {
    assertName('Tenant', name);
    const tenant = { id: newId('tn'), name, created_at: nowIso() };
    try {
      await this.db.insertInto('tenants').values(tenant).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('name_taken', `A tenant named '${name}' already exists; choose another name.`, { name });
      throw err;
    }
    return toTenant(tenant);
  }

  /** Admins see all tenants; everyone else sees their own. */
  async list(p: Principal): Promise<Tenant[]> {
    let q = this.db.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id');
    if (!isAdmin(p)) q = q.where('id', '=', p.keyTenantId);
    return (await q.execute()).map(toTenant);
  }

  async get(p: Principal, idOrName: string): Promise<Tenant> {
    const row = await this.find(idOrName);
    if (!row || (!isAdmin(p) && row.id !== p.keyTenantId)) throw NotFoundError.of('Tenant', idOrName);
    return row;
  }

  /** Resolves an id or a name; undefined when there is none. */
  async find(idOrName: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return row && toTenant(row);
  }

  async ensure(name: string): Promise<Tenant> {
    return (await this.find(name)) ?? this.create(name);
  }
}

function toTenant(row: { id: string; name: string; created_at: string }): Tenant {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}
