/**
 * Slurm executor benchmark (`npm run bench:slurm`): jobs/s of N `noop` jobs (BENCH_JOBS, default
 * 1000) through the real platform on PostgreSQL and an S3 bucket (Ceph RGW), once with the local
 * executor (forked workers, AIAAS_CPU = the Slurm cluster's CPUs) and once with AIAAS_EXECUTOR=slurm
 * on the two-node test cluster (src/infra/testing/slurm-cluster.ts: 2 × 2 CPUs on this one host).
 * Jobs are submitted with the scheduler paused, then timed from its start to the last success.
 * Needs what the distributed test needs (PostgreSQL, Ceph, Slurm; as root).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/infra/config.js';
import { startServer, type RunningServer } from '../src/interfaces/server.js';
import { postgresCluster } from '../src/infra/testing/postgres-cluster.js';
import { s3Server } from '../src/infra/testing/ceph-rgw.js';
import { slurmCluster } from '../src/infra/testing/slurm-cluster.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';

async function run(env: Record<string, string>) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-'));
  const s: RunningServer = await startServer(loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_HEARTBEAT_SECONDS: '1', ...env }));
  try {
    const scheduler = s.platform.jobs.scheduler;
    await scheduler.stop();
    for (let i = 0; i < JOBS; i++) {
      const res = await fetch(`${s.url}/v1/jobs`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'noop', resources: { cpu: 1, memoryMb: 128 } }),
      });
      if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    }
    const t0 = performance.now();
    scheduler.start();
    for (;;) {
      const rows = await s.platform.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      const by = new Map(rows.map((r) => [r.status, Number(r.n)]));
      if ((by.get('failed') ?? 0) + (by.get('cancelled') ?? 0)) throw new Error(`jobs did not succeed: ${JSON.stringify(rows)}`);
      if ((by.get('succeeded') ?? 0) >= JOBS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    return { seconds: Math.round(seconds * 10) / 10, jobsPerSecond: Math.round((JOBS / seconds) * 100) / 100 };
  } finally {
    await s.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main() {
  const [pg, s3, slurm] = await Promise.all([postgresCluster(), s3Server(), slurmCluster()]);
  const shared = async () => ({
    AIAAS_DATABASE_URL: await pg.createDatabase(), AIAAS_BLOB_URL: `s3://${await s3.createBucket()}/aiaas`,
    AIAAS_S3_ENDPOINT: s3.endpoint, AIAAS_S3_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
  const local = await run({ ...(await shared()), AIAAS_CPU: '4' });
  const onSlurm = await run({
    ...(await shared()), AIAAS_EXECUTOR: 'slurm', AIAAS_SLURM_URL: slurm.url, AIAAS_SLURM_USER: slurm.user,
    AIAAS_SLURM_TOKEN: slurm.token, AIAAS_SLURM_PARTITION: slurm.partition,
  });
  console.log(JSON.stringify({ jobs: JOBS, loadAverage: os.loadavg()[0], local, slurm: onSlurm }, null, 2));
  process.exit(0);
}

void main();
