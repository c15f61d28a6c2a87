/**
 * Table types of the metadata store. Times are ISO-8601 text and structured values JSON text,
 * so the same SQL runs on SQLite and PostgreSQL.
 */
import type { JobTables } from './tables-jobs.js';
import type { RegistryTables } from './tables-registry.js';
import type { LmTables } from './tables-lm.js';
import type { AlertTables } from './tables-alerts.js';

export interface TenantsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  /** null only for keys that belong to no tenant (never created by the API; reserved). */
  tenant_id: string | null;
  name: string;
  role: string;
  /** For `inference` keys scoped to one endpoint. */
  endpoint: string | null;
  key_hash: string;
  key_hint: string;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface AuditLogTable {
  id: string;
  at: string;
  request_id: string;
  key_id: string | null;
  key_name: string | null;
  role: string | null;
  tenant_id: string | null;
  method: string;
  path: string;
  route: string | null;
  object_id: string | null;
  status_code: number;
  outcome: string;
  error_code: string | null;
}

export interface DatasetsTable {
  id: string;
  tenant_id: string;
  name: string;
  latest_version: number;
  created_at: string;
  updated_at: string;
}

export interface DatasetVersionsTable {
  id: string;
  dataset_id: string;
  tenant_id: string;
  version: number;
  format: string;
  filename: string | null;
  rows: number;
  bytes: number;
  columns: string;
  original_blob: string;
  columnar_blob: string;
  created_at: string;
}

/** Which object holds which blob: a blob with no reference left is deleted. */
export interface BlobRefsTable {
  hash: string;
  owner_type: string;
  owner_id: string;
  created_at: string;
}

/** One row per topic of shared state nodes hold in memory; `version` grows by one per change. */
export interface ChangeVersionsTable {
  topic: string;
  version: number;
}

/**
 * Every table. A later part of the platform declares its tables in a file of its own
 * (e.g. `tables-jobs.ts`) and adds them here with `extends`.
 */
export interface Database extends JobTables, RegistryTables, LmTables, AlertTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  blob_refs: BlobRefsTable;
  change_versions: ChangeVersionsTable;
}
