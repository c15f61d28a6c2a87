/**
 * Configuration from the environment (12-factor). Every variable has a default that makes
 * `npm start` work on a laptop with nothing set.
 */
import os from 'node:os';
import path from 'node:path';
import { AppError } from './errors.js';

export interface Prices {
  /** Currency units per CPU-second, GPU-second, 1,000 predictions, GB-month of storage. */
  cpuSecond: number;
  gpuSecond: number;
  thousandPredictions: number;
  gbMonth: number;
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

export interface Config {
  port: number;
  host: string;
  home: string;
  adminKey?: string;
  databaseUrl?: string;
  workers: number;
  cpu: number;
  memoryMb: number;
  gpus: number;
  /** Largest JSON request body, bytes. */
  bodyLimitBytes: number;
  /** Largest dataset upload (the raw file as sent, compressed or not), bytes. */
  datasetMaxBytes: number;
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
}

type Env = Record<string, string | undefined>;

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
    throw new AppError(500, 'bad_config', `${name}=${raw} is not a whole number >= ${min}; unset it or fix its value.`, { variable: name });
  }
  return n;
}

function num(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new AppError(500, 'bad_config', `${name}=${raw} is not a non-negative number; unset it or fix its value.`, { variable: name });
  }
  return n;
}

export function loadConfig(env: Env = process.env): Config {
  const cores = os.availableParallelism();
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    home: path.resolve(env.AIAAS_HOME || './.aiaas'),
    adminKey: env.AIAAS_ADMIN_KEY || undefined,
    databaseUrl: env.AIAAS_DATABASE_URL || undefined,
    workers: int(env, 'AIAAS_WORKERS', cores, 1),
    cpu: int(env, 'AIAAS_CPU', cores, 1),
    memoryMb: int(env, 'AIAAS_MEMORY_MB', Math.floor((os.totalmem() / 2 ** 20) * 0.8), 64),
    gpus: int(env, 'AIAAS_GPUS', 0),
    bodyLimitBytes: int(env, 'AIAAS_BODY_LIMIT_BYTES', 10 * 2 ** 20, 1024),
    datasetMaxBytes: int(env, 'AIAAS_DATASET_MAX_BYTES', 1024 * 2 ** 20, 1),
    modelMaxBytes: int(env, 'AIAAS_MODEL_MAX_BYTES', 512 * 2 ** 20, 1),
    logLevel: env.AIAAS_LOG_LEVEL || env.LOG_LEVEL || 'info',
    logFormat: logFormat(env),
    logRequests: env.AIAAS_LOG_REQUESTS ? env.AIAAS_LOG_REQUESTS === 'true' || env.AIAAS_LOG_REQUESTS === '1' : logFormat(env) === 'json',
    metricsPublic: env.AIAAS_METRICS_PUBLIC === 'true' || env.AIAAS_METRICS_PUBLIC === '1',
    prices: {
      cpuSecond: num(env, 'AIAAS_PRICE_CPU_SECOND', 0.00001),
      gpuSecond: num(env, 'AIAAS_PRICE_GPU_SECOND', 0.0005),
      thousandPredictions: num(env, 'AIAAS_PRICE_1K_PREDICTIONS', 0.001),
      gbMonth: num(env, 'AIAAS_PRICE_GB_MONTH', 0.02),
    },
    scheduler: {
      heartbeatSeconds: num(env, 'AIAAS_HEARTBEAT_SECONDS', 2),
      leaseSeconds: num(env, 'AIAAS_JOB_LEASE_SECONDS', 30),
      agingSeconds: num(env, 'AIAAS_SCHEDULER_AGING_SECONDS', 300),
      graceSeconds: num(env, 'AIAAS_JOB_GRACE_SECONDS', 10),
      nodeId: env.AIAAS_NODE_ID || undefined,
    },
  };
}
