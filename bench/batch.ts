/**
 * `npm run bench:batch`: a `batch_predict` job through the job API of a real server, on the loans
 * model (logistic regression, and gradient boosting), over the loans rows repeated to
 * BENCH_BATCH_ROWS (default 204,000), beside a plain ONNX Runtime loop in this process: the same
 * artifact, the same rows already in tensors, blocks of 4,096, one thread, session.run alone.
 * Printed: the job's rows/s (its own metrics: read, predict, write the CSV, ingest the output), its
 * graph-only rows/s, the loop's rows/s and the ratios. Goal (issue #16): ≥ 20,000 rows/s for the
 * loans model through the job. Env: BENCH_BATCH_ROWS, BENCH_BATCH_KINDS (comma list).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../src/infra/config.js';
import { startServer } from '../src/interfaces/server.js';
import { AiaasClient, type Job } from '../src/sdk/index.js';
import { instancesToFeeds } from '../src/services/serving/codec/instances.js';
import type { Signature } from '../src/ml/signature.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';
const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 204_000);
const KINDS = (process.env.BENCH_BATCH_KINDS ?? 'logistic_regression,gradient_boosting').split(',');
const BLOCK = 4096;

async function done(client: AiaasClient, job: Job): Promise<Job> {
  const final = await client.jobs.wait(job.id);
  if (final.status !== 'succeeded') throw new Error(`job ${job.id} (${job.type}) ${final.status}: ${final.error}`);
  return final;
}

/** The loans file's rows, repeated to `n`, as CSV text and as row objects without the target. */
function loans(n: number): { csv: string; rows: Record<string, unknown>[] } {
  const [header, ...lines] = fs.readFileSync(path.join(root, 'examples', 'data', 'loans.csv'), 'utf8').trim().split(/\r?\n/);
  const names = header!.split(',');
  const out = [header];
  for (let i = 0; i < n; i++) out.push(lines[i % lines.length]);
  const rows = out.slice(1).map((l) => {
    const cells = l!.split(',');
    return Object.fromEntries(names.flatMap((c, k) => (c === 'default' ? [] : [[c, cells[k] === '' ? null : Number.isNaN(Number(cells[k])) ? cells[k] : Number(cells[k])]])));
  });
  return { csv: out.join('\n') + '\n', rows };
}

/** session.run over prepared blocks of the rows: what ONNX Runtime alone does per row. */
async function plainLoop(artifact: Uint8Array, sig: Signature, rows: Record<string, unknown>[]): Promise<number> {
  const session = await ort.InferenceSession.create(artifact, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const blocks: Record<string, ort.Tensor>[] = [];
  for (let i = 0; i < rows.length; i += BLOCK) {
    const { feeds } = instancesToFeeds(sig, rows.slice(i, i + BLOCK), { impute: true });
    blocks.push(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, t.dims)])));
  }
  await session.run(blocks[0]!);
  const t0 = performance.now();
  for (const b of blocks) await session.run(b);
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  return rows.length / seconds;
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-batch-'));
  const server = await startServer(loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_CPU: '2' }));
  try {
    const admin = new AiaasClient({ url: server.url, apiKey: KEY });
    const tenant = await admin.tenants.create('bench');
    const client = new AiaasClient({ url: server.url, apiKey: (await admin.keys.create({ name: 'dev', role: 'developer', tenant: tenant.id })).key });
    const data = loans(ROWS);
    await client.datasets.upload(fs.readFileSync(path.join(root, 'examples', 'data', 'loans.csv')), { name: 'loans', filename: 'loans.csv' });
    await client.datasets.upload(Buffer.from(data.csv), { name: 'loans-many', filename: 'loans-many.csv' });
    console.log(`batch_predict over ${ROWS.toLocaleString('en')} loans rows (the file repeated), one job thread; plain loop: session.run on prepared blocks of ${BLOCK}, one thread\n`);
    console.log('| model | job rows/s | job graph-only rows/s | plain ORT loop rows/s | job / loop | job seconds |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const kind of KINDS) {
      const name = `loans-${kind.replace(/_/g, '-')}`;
      await done(client, await client.jobs.submit({ type: 'train', name, dataset: 'loans', target: 'default', preprocessing: 'auto', model: { kind } } as never));
      const job = await done(client, await client.jobs.submit({ type: 'batch_predict', model: name, version: 1, dataset: 'loans-many', output: `${name}-scored` } as never));
      const m = job.metrics as unknown as { rowsPerSecond: number; predictRowsPerSecond: number; seconds: number };
      const version = await client.models.version(name, 1);
      const artifact = new Uint8Array(await (await client.models.artifact(name, 1)).arrayBuffer());
      const loop = await plainLoop(artifact, version.signature as Signature, data.rows);
      const f = (v: number) => Math.round(v).toLocaleString('en');
      console.log(`| ${kind} | ${f(m.rowsPerSecond)} | ${f(m.predictRowsPerSecond)} | ${f(loop)} | ${(m.rowsPerSecond / loop).toFixed(2)} | ${m.seconds.toFixed(2)} |`);
    }
  } finally {
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
