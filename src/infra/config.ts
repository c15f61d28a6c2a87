/**
 * Configuration from the environment (12-factor). Every variable has a default that makes
 * `npm start` work on a laptop with nothing set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InternalError } from './errors.js';

export interface Prices {
  /** Currency units per CPU-second, GPU-second, 1,000 predictions, GB-month of storage, prompt and completion token. */
  cpuSecond: number;
  gpuSecond: number;
  thousandPredictions: number;
  gbMonth: number;
  /** Per token of language-model prompts and completions (OpenAI-compatible API). */
  promptToken: number;
  completionToken: number;
}

/** Timings of the job system (seconds); the defaults suit production, tests shorten them. */
export interface SchedulerConfig {
  /** How often a node and its running jobs heartbeat into the store. */
  heartbeatSeconds: number;
  /** A running job whose heartbeat is older than this is requeued (its worker or node died). */
  leaseSeconds: number;
  /** A queued job gains one priority level per this many seconds of waiting (aging). */
  agingSeconds: number;
  /** How long a cancelled or preempted job may take to stop (and checkpoint) before it is killed. */
  graceSeconds: number;
  /** This node's id in the cluster (default: generated once, kept in AIAAS_HOME/node-id). */
  nodeId?: string;
}

/**
 * The HTTP edge: how many connections, and how long a client may take. The defaults suit a
 * server facing the internet directly; behind a reverse proxy every client has the proxy's
 * address, so set AIAAS_MAX_CONNECTIONS_PER_CLIENT=0 (no per-client cap) there.
 */
export interface HttpEdgeConfig {
  /** All open connections (AIAAS_MAX_CONNECTIONS). Past it the oldest quiet connection is shed for a new one. */
  maxConnections: number;
  /** Open connections from one client address (AIAAS_MAX_CONNECTIONS_PER_CLIENT, 0 = no cap). */
  maxConnectionsPerClient: number;
  /** Time to receive a request's headers (AIAAS_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (AIAAS_REQUEST_TIMEOUT_MS, 0 = no limit). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (AIAAS_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** A body must arrive at least this fast (AIAAS_BODY_MIN_BYTES_PER_SECOND, 0 = no minimum)… */
  bodyMinBytesPerSecond: number;
  /** …measured over windows of this length (AIAAS_BODY_RATE_WINDOW_MS). */
  bodyRateWindowMs: number;
  /** On SIGTERM, how long accepted requests may take to finish before their connections are cut (AIAAS_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
}

/** Where datasets and artifacts live: AIAAS_HOME/blobs, or an S3-compatible bucket (scale-out). */
export interface BlobConfig {
  /** AIAAS_BLOB_URL, `s3://bucket/prefix`; unset: local files under AIAAS_HOME/blobs. */
  url?: string;
  /** AIAAS_S3_ENDPOINT: a server other than AWS (Ceph RGW, MinIO, …); addressed path-style. */
  endpoint?: string;
  /** AIAAS_S3_REGION (else AWS_REGION), default us-east-1. */
  region: string;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; unset: the AWS SDK's usual chain (profiles, instance roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** AIAAS_BLOB_CACHE_BYTES: local copies of remote blobs kept on this node (least recently used go first). */
  cacheBytes: number;
}

/** Where jobs run (AIAAS_EXECUTOR): forked workers on this node, or a Slurm cluster through slurmrestd. */
export type ExecutorConfig = { kind: 'local' } | { kind: 'slurm'; slurm: SlurmConfig };

export interface SlurmConfig {
  /** AIAAS_SLURM_URL: slurmrestd's base URL, e.g. http://slurm-head:6820 (the API version is part of the client). */
  url: string;
  /** AIAAS_SLURM_USER: the Slurm user jobs are submitted as (X-SLURM-USER-NAME). */
  user: string;
  /** AIAAS_SLURM_TOKEN: that user's JWT (`scontrol token username=… lifespan=…`). */
  token: string;
  /** AIAAS_SLURM_PARTITION: where jobs go (unset: the cluster's default partition). */
  partition?: string;
  /** AIAAS_SLURM_OUTPUT: the batch script's stdout/stderr on the Slurm node (Slurm's %j patterns work); default /dev/null. */
  output: string;
}

export interface Config {
  /** Milliseconds since the epoch for rate limits and alerts (evaluations, windows, webhook retries); set by tests that step through time (default Date.now). */
  clock?: () => number;
  port: number;
  host: string;
  home: string;
  adminKey?: string;
  databaseUrl?: string;
  blobs: BlobConfig;
  workers: number;
  cpu: number;
  memoryMb: number;
  gpus: number;
  /** AIAAS_SPARE_WORKERS: worker processes the local node agent keeps started ahead of need, so a job starts without a process start (0: none). */
  spareWorkers: number;
  /** Replicas (model copies, one thread each) this server runs over all endpoints of all tenants. */
  servingMaxReplicas: number;
  /** Logged prediction rows held in memory waiting to be written (more are dropped and counted). */
  predictionLogQueueRows: number;
  /** Bytes (raw bodies and answers) of logged predictions held in memory, likewise. */
  predictionLogQueueBytes: number;
  /** AIAAS_NODE_NAME: this API node's name where several share one database (logs, the store's connections). */
  nodeName: string;
  /** AIAAS_CHANGE_POLL_MS: how often the node reads the store's change versions (the fallback to PostgreSQL's notifications). */
  changePollMs: number;
  /** Largest JSON request body, bytes. */
  bodyLimitBytes: number;
  /** Largest dataset, bytes: both the file as sent and its data after decompression (gzip bombs). */
  datasetMaxBytes: number;
  /**
   * Most cells (rows × columns) in one dataset. Training holds every cell as a float (4-8 bytes)
   * plus preprocessing copies, so the default 100 million is about 1-2 GB in a training worker.
   */
  datasetMaxCells: number;
  /** Largest ONNX model import (POST /v1/models/{name}/versions), bytes. */
  modelMaxBytes: number;
  logLevel: string;
  /** `pretty`: one short line per event (default at a terminal); `json`: pino's structured lines (default otherwise). */
  logFormat: 'json' | 'pretty';
  /** A log line per HTTP request (default: with `json` logs only, so a terminal is not flooded by the console's polling). */
  logRequests: boolean;
  /** Let Prometheus scrape /metrics without a key (default: an admin key is required). */
  metricsPublic: boolean;
  prices: Prices;
  scheduler: SchedulerConfig;
  executor: ExecutorConfig;
  http: HttpEdgeConfig;
  alerts: AlertsConfig;
}

/** Alerts' evaluation and webhook deliveries (services/alerts). */
export interface AlertsConfig {
  /** AIAAS_ALERTS_INTERVAL_MS: how often this node evaluates the alerts it owns and sends due webhooks. */
  intervalMs: number;
  /** AIAAS_WEBHOOK_TIMEOUT_MS: one attempt's time limit. */
  webhookTimeoutMs: number;
  /** AIAAS_WEBHOOK_MAX_ATTEMPTS: attempts before a delivery is marked failed. */
  webhookMaxAttempts: number;
  /** AIAAS_WEBHOOK_RETRY_MS: the first retry's delay; each next one doubles, up to AIAAS_WEBHOOK_RETRY_MAX_MS. */
  webhookBaseDelayMs: number;
  webhookMaxDelayMs: number;
  /** AIAAS_WEBHOOK_CONCURRENCY: attempts in flight at once on this node. */
  webhookConcurrency: number;
  /** AIAAS_WEBHOOK_PRIVATE_ADDRESSES: `allow` (default) or `deny` webhooks to loopback and private addresses; link-local ones are always refused. */
  webhookPrivateAddresses: 'allow' | 'deny';
}

type Env = Record<string, string | undefined>;

/** The blob settings as environment variables, for a process started with this node's settings (a job's worker). */
export function blobEnv(b: BlobConfig): Env {
  return {
    AIAAS_BLOB_URL: b.url ?? '', AIAAS_S3_ENDPOINT: b.endpoint ?? '', AIAAS_S3_REGION: b.region,
    AWS_ACCESS_KEY_ID: b.accessKeyId ?? '', AWS_SECRET_ACCESS_KEY: b.secretAccessKey ?? '', AIAAS_BLOB_CACHE_BYTES: String(b.cacheBytes),
  };
}

/** A setting that stops the node from starting: the message names the variable and how to fix it. */
export function badConfig(variable: string, message: string): InternalError {
  return new InternalError('bad_config', message, { variable });
}

/** AIAAS_LOG_FORMAT, else pretty at a terminal and JSON for a pipe, a file or a service manager. */
function logFormat(env: Env): 'json' | 'pretty' {
  const f = env.AIAAS_LOG_FORMAT;
  if (f === undefined || f === '') return process.stdout.isTTY ? 'pretty' : 'json';
  if (f !== 'json' && f !== 'pretty') throw new Error(`AIAAS_LOG_FORMAT must be 'json' or 'pretty', not '${f}'.`);
  return f;
}

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new InternalError('bad_config', `${name}=${raw} is not a whole number >= ${min}; unset it or fix its value.`, { variable: name });
  }
  return n;
}

function num(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new InternalError('bad_config', `${name}=${raw} is not a non-negative number; unset it or fix its value.`, { variable: name });
  }
  return n;
}

/** One of a few words. */
function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw badConfig(name, `${name}=${raw} is not one of ${allowed.map((a) => `'${a}'`).join(', ')}; unset it (${fallback}) or use one of those.`);
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const cores = os.availableParallelism();
  const cpu = int(env, 'AIAAS_CPU', cores, 1);
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    home: path.resolve(env.AIAAS_HOME || './.aiaas'),
    adminKey: env.AIAAS_ADMIN_KEY || undefined,
    databaseUrl: env.AIAAS_DATABASE_URL || undefined,
    blobs: {
      url: env.AIAAS_BLOB_URL || undefined,
      endpoint: env.AIAAS_S3_ENDPOINT || undefined,
      region: env.AIAAS_S3_REGION || env.AWS_REGION || 'us-east-1',
      accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
      cacheBytes: int(env, 'AIAAS_BLOB_CACHE_BYTES', 4 * 2 ** 30, 0),
    },
    workers: int(env, 'AIAAS_WORKERS', cores, 1),
    cpu,
    memoryMb: int(env, 'AIAAS_MEMORY_MB', Math.floor((os.totalmem() / 2 ** 20) * 0.8), 64),
    gpus: int(env, 'AIAAS_GPUS', 0),
    spareWorkers: int(env, 'AIAAS_SPARE_WORKERS', 2),
    servingMaxReplicas: int(env, 'AIAAS_SERVING_MAX_REPLICAS', 4 * cpu, 1),
    predictionLogQueueRows: int(env, 'AIAAS_PREDICTION_LOG_QUEUE_ROWS', 100_000, 1),
    predictionLogQueueBytes: int(env, 'AIAAS_PREDICTION_LOG_QUEUE_BYTES', 64 * 2 ** 20, 1024),
    nodeName: env.AIAAS_NODE_NAME || os.hostname(),
    changePollMs: int(env, 'AIAAS_CHANGE_POLL_MS', 1000, 50),
    bodyLimitBytes: int(env, 'AIAAS_BODY_LIMIT_BYTES', 10 * 2 ** 20, 1024),
    datasetMaxBytes: int(env, 'AIAAS_DATASET_MAX_BYTES', 1024 * 2 ** 20, 1),
    datasetMaxCells: int(env, 'AIAAS_DATASET_MAX_CELLS', 100_000_000, 1),
    modelMaxBytes: int(env, 'AIAAS_MODEL_MAX_BYTES', 4 * 2 ** 30, 1),
    logLevel: env.AIAAS_LOG_LEVEL || env.LOG_LEVEL || 'info',
    logFormat: logFormat(env),
    logRequests: env.AIAAS_LOG_REQUESTS ? env.AIAAS_LOG_REQUESTS === 'true' || env.AIAAS_LOG_REQUESTS === '1' : logFormat(env) === 'json',
    metricsPublic: env.AIAAS_METRICS_PUBLIC === 'true' || env.AIAAS_METRICS_PUBLIC === '1',
    prices: {
      cpuSecond: num(env, 'AIAAS_PRICE_CPU_SECOND', 0.00001),
      gpuSecond: num(env, 'AIAAS_PRICE_GPU_SECOND', 0.0005),
      thousandPredictions: num(env, 'AIAAS_PRICE_1K_PREDICTIONS', 0.001),
      gbMonth: num(env, 'AIAAS_PRICE_GB_MONTH', 0.02),
      promptToken: num(env, 'AIAAS_PRICE_PROMPT_TOKEN', 0.0000001),
      completionToken: num(env, 'AIAAS_PRICE_COMPLETION_TOKEN', 0.0000002),
    },
    scheduler: {
      heartbeatSeconds: num(env, 'AIAAS_HEARTBEAT_SECONDS', 2),
      leaseSeconds: num(env, 'AIAAS_JOB_LEASE_SECONDS', 30),
      agingSeconds: num(env, 'AIAAS_SCHEDULER_AGING_SECONDS', 300),
      graceSeconds: num(env, 'AIAAS_JOB_GRACE_SECONDS', 10),
      nodeId: env.AIAAS_NODE_ID || undefined,
    },
    executor: loadExecutor(env),
    http: loadHttpEdge(env),
    alerts: {
      intervalMs: int(env, 'AIAAS_ALERTS_INTERVAL_MS', 10_000, 50),
      webhookTimeoutMs: int(env, 'AIAAS_WEBHOOK_TIMEOUT_MS', 10_000, 100),
      webhookMaxAttempts: int(env, 'AIAAS_WEBHOOK_MAX_ATTEMPTS', 10, 1),
      webhookBaseDelayMs: int(env, 'AIAAS_WEBHOOK_RETRY_MS', 5_000, 1),
      webhookMaxDelayMs: int(env, 'AIAAS_WEBHOOK_RETRY_MAX_MS', 15 * 60_000, 1),
      webhookConcurrency: int(env, 'AIAAS_WEBHOOK_CONCURRENCY', 8, 1),
      webhookPrivateAddresses: oneOf(env, 'AIAAS_WEBHOOK_PRIVATE_ADDRESSES', ['allow', 'deny'] as const, 'allow'),
    },
  };
}

function loadExecutor(env: Env): ExecutorConfig {
  const kind = env.AIAAS_EXECUTOR || 'local';
  if (kind === 'local') return { kind };
  if (kind !== 'slurm') throw badConfig('AIAAS_EXECUTOR', `AIAAS_EXECUTOR=${kind} is not an executor; use 'local' (forked workers on this node) or 'slurm'.`);
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw badConfig(name, `AIAAS_EXECUTOR=slurm needs ${name} (see docs/API.md, "Jobs on Slurm"); set it or use AIAAS_EXECUTOR=local.`);
    return v;
  };
  for (const shared of ['AIAAS_DATABASE_URL', 'AIAAS_BLOB_URL']) {
    if (!env[shared]) throw badConfig(shared, `AIAAS_EXECUTOR=slurm needs ${shared}: jobs on Slurm nodes share nothing with this node but PostgreSQL and an S3 bucket.`);
  }
  return {
    kind,
    slurm: {
      url: need('AIAAS_SLURM_URL').replace(/\/+$/, ''), user: need('AIAAS_SLURM_USER'), token: need('AIAAS_SLURM_TOKEN'),
      partition: env.AIAAS_SLURM_PARTITION || undefined, output: env.AIAAS_SLURM_OUTPUT || '/dev/null',
    },
  };
}

function loadHttpEdge(env: Env): HttpEdgeConfig {
  const edge: HttpEdgeConfig = {
    maxConnections: int(env, 'AIAAS_MAX_CONNECTIONS', defaultMaxConnections(), 1),
    maxConnectionsPerClient: int(env, 'AIAAS_MAX_CONNECTIONS_PER_CLIENT', 256),
    headersTimeoutMs: int(env, 'AIAAS_HEADERS_TIMEOUT_MS', 20_000, 1),
    // Long enough for the largest dataset over a slow link; slow-drip bodies are cut by the minimum rate.
    requestTimeoutMs: int(env, 'AIAAS_REQUEST_TIMEOUT_MS', 30 * 60_000),
    keepAliveTimeoutMs: int(env, 'AIAAS_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1),
    bodyMinBytesPerSecond: int(env, 'AIAAS_BODY_MIN_BYTES_PER_SECOND', 1024),
    bodyRateWindowMs: int(env, 'AIAAS_BODY_RATE_WINDOW_MS', 10_000, 10),
    shutdownGraceMs: int(env, 'AIAAS_SHUTDOWN_GRACE_MS', 30_000),
  };
  if (edge.requestTimeoutMs > 0 && edge.headersTimeoutMs > edge.requestTimeoutMs) {
    throw new InternalError('bad_config', `AIAAS_HEADERS_TIMEOUT_MS (${edge.headersTimeoutMs}) must not exceed AIAAS_REQUEST_TIMEOUT_MS (${edge.requestTimeoutMs}); lower the first or raise the second.`, { variable: 'AIAAS_HEADERS_TIMEOUT_MS' });
  }
  return edge;
}

/**
 * 10,000 connections, or fewer when the process may not open that many files (each connection
 * is one): a cap above the descriptor limit would fail accept() before any shedding could help.
 */
function defaultMaxConnections(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(64, Math.min(10_000, Number(m[1]) - 256));
  } catch {
    // Not Linux: no way to read the limit from Node; keep the default.
  }
  return 10_000;
}
