/**
 * Versioned schema migrations, run on every start (Kysely's Migrator records what has run, and
 * runs the rest in name order). Each migration is written once with the schema builder, so it
 * means the same on SQLite and PostgreSQL. Never edit a released migration: add the next one,
 * one file per migration in ./migrations, listed here.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { foundation } from './migrations/0001-foundation.js';
import { jobs } from './migrations/0002-jobs.js';
import { registry } from './migrations/0003-registry.js';
import { servingQuotas } from './migrations/0004-serving-quotas.js';
import { versionFiles } from './migrations/0005-version-files.js';
import { predictionLogs } from './migrations/0006-prediction-logs.js';
import { changeVersions } from './migrations/0007-change-versions.js';
import { lmUsageLimits } from './migrations/0008-lm-usage-limits.js';
import { apiNodes } from './migrations/0009-api-nodes.js';
import { rateBuckets } from './migrations/0010-rate-buckets.js';
import { endpointShadow } from './migrations/0011-endpoint-shadow.js';
import { alerts } from './migrations/0012-alerts.js';
import { predictionLogRequests } from './migrations/0013-prediction-log-requests.js';
import { endpointTraffic } from './migrations/0014-endpoint-traffic.js';
import { predictionLogPacks } from './migrations/0015-prediction-log-packs.js';
import { predictionLogSegments } from './migrations/0016-prediction-log-segments.js';

const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_jobs': jobs,
  '0003_registry': registry,
  '0004_serving_quotas': servingQuotas,
  '0005_version_files': versionFiles,
  '0006_prediction_logs': predictionLogs,
  '0007_change_versions': changeVersions,
  '0008_lm_usage_limits': lmUsageLimits,
  '0009_api_nodes': apiNodes,
  '0010_rate_buckets': rateBuckets,
  '0011_endpoint_shadow': endpointShadow,
  '0012_alerts': alerts,
  '0013_prediction_log_requests': predictionLogRequests,
  '0014_endpoint_traffic': endpointTraffic,
  '0015_prediction_log_packs': predictionLogPacks,
  '0016_prediction_log_segments': predictionLogSegments,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
