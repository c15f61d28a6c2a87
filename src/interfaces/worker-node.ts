/**
 * `aiaas worker`: a node without the API. It registers this machine (AIAAS_CPU, AIAAS_MEMORY_MB,
 * AIAAS_GPUS) as a node in the store, heartbeats, and runs the jobs the server's scheduler places
 * on it, each in its own worker process; cancel and preempt flags reach it through the store.
 *
 * It needs the server's store and blobs: the same AIAAS_HOME on the same machine (SQLite in WAL
 * mode serves both processes), or AIAAS_DATABASE_URL (PostgreSQL) with AIAAS_BLOB_URL (an S3 bucket):
 * then nothing is shared through the file system (AIAAS_HOME only holds this node's cache).
 */
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { openStore } from '../infra/store/database.js';
import { openBlobStore } from '../infra/open-blob-store.js';
import { newId } from '../infra/ids.js';
import { BlobRefs } from '../services/blob-refs.js';
import { JobStore } from '../services/jobs/job-store.js';
import { NodeAgent } from '../services/jobs/node-agent.js';

export interface WorkerNode {
  agent: NodeAgent;
  stop(): Promise<void>;
}

export async function startWorkerNode(config: Config = loadConfig()): Promise<WorkerNode> {
  const logger = createLogger(config.logLevel, 'aiaas-worker', config.logFormat);
  const db = await openStore({ home: config.home, databaseUrl: config.databaseUrl });
  const blobs = await openBlobStore(config.home, config.blobs, { sweepScratch: false });
  const store = new JobStore(db, new BlobRefs(db, blobs));
  const agent = new NodeAgent({
    db, store, config, logger, kind: 'worker', nodeId: config.scheduler.nodeId ?? newId('node'),
    workerEntry: fileURLToPath(new URL('./job-process.js', import.meta.url)),
  });
  await agent.start();
  let stopping: Promise<void> | undefined;
  return {
    agent,
    stop: () => (stopping ??= (async () => {
      await agent.stop();
      await db.destroy();
    })()),
  };
}

/** Runs until SIGTERM or SIGINT; running jobs checkpoint and go back to the queue. */
export async function runWorkerNode(): Promise<void> {
  const config = loadConfig();
  const node = await startWorkerNode(config);
  process.stdout.write(`aiaas worker: node ${node.agent.nodeId} offers cpu ${config.cpu}, memoryMb ${config.memoryMb}, gpus ${config.gpus}; store in ${config.databaseUrl ? 'PostgreSQL' : config.home}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      node.stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
}
