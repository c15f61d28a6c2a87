/**
 * `npm run bench:job-overhead`: what a train job costs beyond its training, with and without spare
 * worker processes (AIAAS_SPARE_WORKERS 0 and the default 2). Two real servers in this process
 * (temporary homes, ephemeral ports), the same jobs in alternation (iris logistic regression, iris
 * MLP, an MNIST MLP epoch), BENCH_IDLE_MS of idle before each (a server between a user's jobs);
 * overhead = the job's wall time (createdAt → finishedAt) minus its `trainSeconds`.
 * Env: BENCH_ROUNDS (default 3), BENCH_IDLE_MS (default 3000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/infra/config.js';
import { startServer } from '../src/interfaces/server.js';
import { AiaasClient, type TrainRequest } from '../src/sdk/index.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const data = path.join(root, 'examples', 'data');
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const idleMs = Number(process.env.BENCH_IDLE_MS ?? 3000);

const JOBS: Record<string, Omit<TrainRequest, 'name'>> = {
  'iris logistic_regression': { dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } },
  'iris mlp [8], 2 epochs': { dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [8] }, training: { epochs: 2 } },
  'MNIST mlp [128], 1 epoch': { dataset: 'mnist', target: 'label', preprocessing: [{ op: 'scale', factor: 1 / 255 }], model: { kind: 'mlp', hidden: [128] }, training: { epochs: 1 } },
} as unknown as Record<string, Omit<TrainRequest, 'name'>>;

async function main(): Promise<void> {
  const sides = [];
  for (const spares of ['0', '2']) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-overhead-'));
    const server = await startServer(loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_CPU: '2', AIAAS_SPARE_WORKERS: spares }));
    const admin = new AiaasClient({ url: server.url, apiKey: KEY });
    const tenant = await admin.tenants.create('bench');
    const client = new AiaasClient({ url: server.url, apiKey: (await admin.keys.create({ name: 'dev', role: 'developer', tenant: tenant.id })).key });
    await client.datasets.upload(fs.readFileSync(path.join(data, 'iris.csv')), { name: 'iris', filename: 'iris.csv' });
    await client.datasets.upload(fs.readFileSync(path.join(data, 'mnist_train.csv.gz')), { name: 'mnist', filename: 'mnist_train.csv.gz' });
    sides.push({ spares, server, client, home, overhead: new Map<string, number[]>() });
  }
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of sides) {
        for (const [label, spec] of Object.entries(JOBS)) {
          await new Promise((resolve) => setTimeout(resolve, idleMs));
          const job = await side.client.jobs.wait((await side.client.jobs.train({ ...spec, name: `m${r}-${label.split(' ')[0]}-${Object.keys(JOBS).indexOf(label)}` } as TrainRequest)).id);
          if (job.status !== 'succeeded') throw new Error(`${label}: ${job.status} ${job.error}`);
          const wall = (Date.parse(job.finishedAt!) - Date.parse(job.createdAt)) / 1000;
          const train = Number((job.metrics as { training: { trainSeconds: number } }).training.trainSeconds);
          side.overhead.set(label, [...(side.overhead.get(label) ?? []), wall - train]);
        }
      }
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    console.log('| job | overhead, AIAAS_SPARE_WORKERS=0 (s) | overhead, default 2 (s) |\n| --- | ---: | ---: |');
    for (const label of Object.keys(JOBS)) console.log(`| ${label} | ${fmt(sides[0]!.overhead.get(label)!)} | ${fmt(sides[1]!.overhead.get(label)!)} |`);
  } finally {
    for (const side of sides) {
      await side.server.stop();
      fs.rmSync(side.home, { recursive: true, force: true });
    }
  }
}

await main();
