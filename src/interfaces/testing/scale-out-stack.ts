/**
 * The scale-out mode on one machine: a throwaway PostgreSQL cluster, a Ceph RGW (S3) with one
 * bucket, and N API nodes (`aiaas server` processes with their own AIAAS_HOME, sharing nothing but
 * the database and the bucket). Used by `scripts/scale-out.sh` (README "Scale out") and by the
 * two-node serving benchmark. The engines are this process's children (../../infra/testing), so
 * they stop, and their folders go, when it exits.
 *
 * Slurm: with `slurm: true` a two-node Slurm cluster (../../infra/testing/slurm-cluster.ts) comes
 * up beside the other engines and the nodes run every job as a Slurm batch job (AIAAS_EXECUTOR=slurm);
 * where Slurm is missing (or this is not root) that fails at once with how to get it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { postgresCluster } from '../../infra/testing/postgres-cluster.js';
import { s3Server } from '../../infra/testing/ceph-rgw.js';
import { slurmCluster, slurmExecutorEnv, slurmMissing } from '../../infra/testing/slurm-cluster.js';
import { spawnServer, type ServerProcess } from './server-process.js';

export interface ScaleOutOptions {
  /** Where the nodes' homes and logs go. */
  dir: string;
  nodes?: number;
  slurm?: boolean;
  /** More settings for every node. */
  env?: Record<string, string>;
}

export interface ScaleOut {
  nodes: Array<{ name: string; url: string; process: ServerProcess }>;
  adminKey: string;
  /** The settings the nodes share (database, bucket, executor). */
  env: Record<string, string>;
  /** Stops the API nodes (the engines stop when this process exits). */
  stop(): Promise<void>;
}

export async function startScaleOut(opts: ScaleOutOptions): Promise<ScaleOut> {
  const missing = opts.slurm ? slurmMissing() : undefined;
  if (missing) throw new Error(`Slurm was asked for but cannot run here: ${missing}`);
  const [pg, s3, slurm] = await Promise.all([postgresCluster(), s3Server(), opts.slurm ? slurmCluster() : undefined]);
  const env: Record<string, string> = {
    AIAAS_DATABASE_URL: await pg.createDatabase(),
    AIAAS_BLOB_URL: `s3://${await s3.createBucket()}/aiaas`, AIAAS_S3_ENDPOINT: s3.endpoint, AIAAS_S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...(slurm ? slurmExecutorEnv(slurm) : { AIAAS_EXECUTOR: 'local' }),
  };
  const adminKey = `aiaas_admin_${randomBytes(18).toString('base64url')}`;
  const nodes: ScaleOut['nodes'] = [];
  const stop = async () => {
    for (const n of nodes) n.process.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.process.exited));
  };
  // One after another: the first creates the tables and the admin key, the others find them.
  for (let i = 0; i < (opts.nodes ?? 2); i++) {
    const name = `node-${String.fromCharCode(97 + i)}`;
    const home = path.join(opts.dir, name);
    fs.mkdirSync(home, { recursive: true });
    const process = spawnServer(home, { ...env, ...opts.env, AIAAS_ADMIN_KEY: adminKey, AIAAS_NODE_NAME: name, AIAAS_LOG_LEVEL: 'info' });
    const log = fs.createWriteStream(path.join(opts.dir, `${name}.log`));
    process.child.stdout!.pipe(log);
    process.child.stderr!.pipe(log);
    nodes.push({ name, url: '', process });
    try {
      nodes[i]!.url = await process.ready;
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return { nodes, adminKey, env, stop };
}
