/** The audit log: one entry per mutating API call (who, tenant, what, when, outcome). */
import type { Db } from '../infra/store/database.js';
import { newId } from '../infra/ids.js';
import type { AuditLogTable } from '../infra/store/schema.js';

export interface AuditEntry {
  id: string;
  at: string;
  requestId: string;
  keyId: string | null;
  keyName: string | null;
  role: string | null;
  tenant: string | null;
  method: string;
  path: string;
  route: string | null;
  objectId: string | null;
  statusCode: number;
  outcome: 'success' | 'failure';
  errorCode: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditQuery {
  tenant?: string;
  limit: number;
  /** Entries strictly older than this entry id (for paging backwards in time). */
  before?: string;
}

export class AuditService {
  constructor(private readonly db: Db) {}

  async record(e: NewAuditEntry): Promise<void> {
    const row: AuditLogTable = {
      id: newId('aud'), at: e.at, request_id: e.requestId, key_id: e.keyId, key_name: e.keyName, role: e.role,
      tenant_id: e.tenant, method: e.method, path: e.path, route: e.route, object_id: e.objectId,
      status_code: e.statusCode, outcome: e.outcome, error_code: e.errorCode,
    };
    await this.db.insertInto('audit_log').values(row).execute();
  }

  /** Newest first. */
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.tenant) query = query.where('tenant_id', '=', q.tenant);
    if (q.before) query = query.where('id', '<', q.before);
    return (await query.execute()).map((r) => ({
      id: r.id, at: r.at, requestId: r.request_id, keyId: r.key_id, keyName: r.key_name, role: r.role,
      tenant: r.tenant_id, method: r.method, path: r.path, route: r.route, objectId: r.object_id,
      statusCode: r.status_code, outcome: r.outcome as 'success' | 'failure', errorCode: r.error_code,
    }));
  }
}
