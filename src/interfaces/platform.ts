/**
 * The composition root: opens the store and blob store, builds the services, and owns their
 * lifetimes. The HTTP server, the CLI and the tests all start the platform through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../infra/config.js';
import { createLogger, type Logger } from '../infra/logger.js';
import { openStore, pingStore, type Db } from '../infra/store/database.js';
import { openChangeFeed } from '../infra/store/change-feed.js';
import { type BlobStore } from '../infra/blob-store.js';
import { openBlobStore } from '../infra/open-blob-store.js';
import { TenantService } from '../services/tenants.js';
import { KeyService } from '../services/keys.js';
import { AuditService } from '../services/audit.js';
import { DatasetService } from '../services/datasets.js';
import { BlobRefs } from '../services/blob-refs.js';
import { JobSystem } from '../services/jobs/job-system.js';
import { modelArtifactStorage } from '../services/jobs/metering.js';
import { RegistryService } from '../services/registry.js';
import { ServingService } from '../services/serving/serving.js';
import { LmAccounting } from '../services/serving/lm-accounting.js';
import { registerTrainingJobs } from '../services/training/training-jobs.js';
import { registerOptimizeJobs } from '../services/optimization/optimize-jobs.js';
import { registerBatchPredictJobs } from '../services/batch/batch-predict-jobs.js';
import { AlertService } from '../services/alerts/alerts.js';
import { newId } from '../infra/ids.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface Platform {
  config: Config;
  logger: Logger;
  db: Db;
  blobs: BlobStore;
  metrics: Registry;
  readiness: ReadinessCheck[];
  tenants: TenantService;
  keys: KeyService;
  audit: AuditService;
  datasets: DatasetService;
  /** Model registry: versions, stages, artifacts (the training service registers versions here). */
  registry: RegistryService;
  /** Endpoints: replicas, batching, autoscaling, traffic splitting, predictions. */
  serving: ServingService;
  /** Language-model accounting: rate limits (`admit`) and tokens (`recordTokens(principal, endpoint, {prompt, completion})`). */
  lm: LmAccounting;
  /** Alerts: rules, their evaluation on the node holding each one's lease, webhook deliveries. */
  alerts: AlertService;
  /**
   * Jobs and the scheduler: `jobs.types.register(…)` adds a job type (see services/jobs/job-type.ts),
   * `jobs.jobs` submits and reads jobs, `jobs.metering.recordPredictions(tenantId, n, endpoint?)` counts predictions.
   */
  jobs: JobSystem<Platform>;
  /** The admin key generated or taken from AIAAS_ADMIN_KEY on this start, if this was the first start. */
  firstAdminKey?: string;
  close(): Promise<void>;
}

export const DEFAULT_TENANT = 'default';

export async function createPlatform(config: Config, logger: Logger = createLogger(config.logLevel, 'aiaas', config.logFormat)): Promise<Platform> {
  // Owner only: the home holds the database (key hashes, audit log), the blobs and admin.key.
  fs.mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const db = await openStore({ home: config.home, databaseUrl: config.databaseUrl });
  const blobs = await openBlobStore(config.home, config.blobs);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const tenants = new TenantService(db);
  const keys = new KeyService(db, tenants);
  const refs = new BlobRefs(db, blobs);
  const registry = new RegistryService(db, blobs, refs, config.modelMaxBytes);
  const changes = await openChangeFeed(db, { databaseUrl: config.databaseUrl, pollMs: config.changePollMs, nodeName: config.nodeName, logger });
  const serving = new ServingService(db, blobs, refs, changes, registry, logger, metrics, { maxReplicas: config.servingMaxReplicas, predictionLog: { queueRows: config.predictionLogQueueRows, queueBytes: config.predictionLogQueueBytes, thread: true } });
  const jobs: JobSystem<Platform> = new JobSystem<Platform>({
    db, refs, config, logger, metrics, platform: () => platform,
    workerEntry: fileURLToPath(new URL('./job-process.js', import.meta.url)),
    slurmBatchEntry: fileURLToPath(new URL('./slurm-job.js', import.meta.url)),
  });
  // GET /v1/usage counts what serving counted, and model artifacts as storage.
  jobs.metering.addPredictionSource(async (from, to) => new Map((await serving.predictionsByTenant(from, to)).map((r) => [r.tenant, r.predictions])));
  jobs.metering.addStorageSource(modelArtifactStorage);
  const lm = new LmAccounting(db, logger, config.clock);
  jobs.metering.addTokenSource((from, to) => lm.byTenant(from, to));
  const a = config.alerts;
  const alerts = new AlertService({
    db, serving, logger: logger.child({ component: 'alerts' }), nodeId: `${config.nodeName}/${newId('node')}`, clock: config.clock,
    intervalMs: a.intervalMs, leaseMs: Math.max(config.scheduler.leaseSeconds * 1000, 3 * a.intervalMs),
    webhook: { timeoutMs: a.webhookTimeoutMs, maxAttempts: a.webhookMaxAttempts, baseDelayMs: a.webhookBaseDelayMs, maxDelayMs: a.webhookMaxDelayMs, concurrency: a.webhookConcurrency, privateAddresses: a.webhookPrivateAddresses },
  });
  registerTrainingJobs(jobs.types);
  registerOptimizeJobs(jobs.types);
  registerBatchPredictJobs(jobs.types);
  const platform: Platform = {
    config, logger, db, blobs, metrics, jobs,
    readiness: [{ name: 'store', check: () => pingStore(db) }, { name: 'serving', check: async () => serving.readiness() }, { name: 'scheduler', check: () => jobs.check() }],
    tenants, keys,
    audit: new AuditService(db),
    datasets: new DatasetService(db, blobs, refs, config.datasetMaxBytes, config.datasetMaxCells),
    registry, serving, lm, alerts,
    async close() {
      await alerts.stop();
      await jobs.close();
      await serving.close();
      await changes.close();
      await lm.stop();
      await db.destroy();
    },
  };
  platform.firstAdminKey = await bootstrapAdmin(platform);
  await jobs.start();
  // Endpoints of the store come back by themselves (each loads in the background).
  await serving.start();
  lm.start(5000);
  alerts.start();
  return platform;
}

/**
 * First start: a default tenant and an admin key (AIAAS_ADMIN_KEY, or generated and written to
 * $AIAAS_HOME/admin.key with mode 0600). Later starts change nothing.
 */
async function bootstrapAdmin(p: Platform): Promise<string | undefined> {
  if ((await p.keys.countAdmins()) > 0) return undefined;
  if (p.config.adminKey !== undefined && p.config.adminKey.length < 16) {
    throw new Error('AIAAS_ADMIN_KEY must be at least 16 characters long; choose a longer secret or unset it to have one generated.');
  }
  const tenant = await p.tenants.ensure(DEFAULT_TENANT);
  const created = await p.keys.createAdmin(tenant.id, p.config.adminKey);
  if (!p.config.adminKey) {
    fs.writeFileSync(path.join(p.config.home, 'admin.key'), created.key + '\n', { mode: 0o600 });
  }
  return created.key;
}
