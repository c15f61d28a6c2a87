/**
 * Two API nodes against one (`npm run bench:serve-nodes`): the scale-out stack on this machine
 * (PostgreSQL, Ceph RGW, two `aiaas server` processes: src/interfaces/testing/scale-out-stack.ts),
 * one endpoint made through node A serving the 784-128-10 MLP of bench:serve with one replica per
 * node, and single-row predictions from wrk: 32 connections to node A alone, then 16 to each node
 * at once (the requests/s added up), taking turns in BENCH_ROUNDS (default 5) slices of
 * BENCH_SECONDS (default 10) so that the machine's other load weighs on both alike.
 * On one machine the nodes share its cores: the figure shows what a second node adds here, not
 * on machines of their own. BENCH_PIN=1 pins node A to core 0 and node B to core 1 (`taskset -a`,
 * before any replica thread starts, so the replicas inherit it): each node has one core of its
 * own, as on machines of their own, and wrk runs on whatever is free. Needs Debian's wrk, postgresql, radosgw, ceph-mon, ceph-osd, ceph-common.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { mlpModel, mlpWeights } from '../src/ml/testing/onnx-fixtures.js';
import { caller } from '../src/interfaces/testing/test-server.js';
import { startScaleOut } from '../src/interfaces/testing/scale-out-stack.js';
import { pool, wrk, type WrkResult } from './wrk.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const PIN = process.env.BENCH_PIN === '1';
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Rounds of runs made at once: requests add up over each round's time; latency quantiles pooled over all. */
function together(rounds: WrkResult[][]): WrkResult {
  const p = pool(rounds.flat());
  const seconds = rounds.reduce((n, runs) => n + Math.max(...runs.map((r) => r.seconds)), 0);
  return { ...p, seconds, rps: p.requests / seconds };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-nodes-'));
  const stack = await startScaleOut({ dir, env: { AIAAS_LOG_LEVEL: 'warn' } });
  try {
    if (PIN) stack.nodes.forEach((n, i) => execFileSync('taskset', ['-a', '-p', '-c', String(i % os.availableParallelism()), String(n.process.child.pid)], { stdio: 'ignore' }));
    const [a, b] = stack.nodes.map((n) => ({ url: n.url, call: caller(n.url, stack.adminKey) }));
    const must = async (r: Promise<{ status: number; text: string; body: any }>) => {
      const x = await r;
      if (x.status >= 300) throw new Error(x.text);
      return x.body;
    };
    await must(a!.call('POST', '/v1/tenants', { json: { name: 'bench' } }));
    const dev = (await must(a!.call('POST', '/v1/keys', { json: { name: 'bench-dev', role: 'developer', tenant: 'bench' } }))).key as string;
    await must(a!.call('POST', '/v1/models/mnist/versions?task=classification', { key: dev, body: mlpModel(mlpWeights([784, 128, 10], 42)), headers: { 'content-type': 'application/octet-stream' } }));
    await must(a!.call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'mnist', model: 'mnist', version: 1, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 32, maxDelayMs: 0 } } }));
    for (;;) { // node B hears of it and loads its own replica
      const g = await b!.call('GET', '/v1/endpoints/mnist', { key: dev });
      if (g.body?.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const csv = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, 'examples/data/mnist_test.csv.gz'))).toString('utf8');
    const pixels = csv.split('\n')[1]!.split(',').slice(1).map((p) => Math.round((Number(p) / 255) * 1000) / 1000);
    const body = path.join(dir, 'body.json');
    fs.writeFileSync(body, JSON.stringify({ instances: [pixels] }));
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${dev}` };
    const predict = (n: { url: string }) => `${n.url}/v1/endpoints/mnist/predict`;
    process.stdout.write(`two API nodes against one: 784-128-10 MLP, single-row requests, 32 connections in all, ${SECONDS} s per run (wrk, loopback), ${os.availableParallelism()} cores${PIN ? ', node A pinned to core 0, node B to core 1' : ''}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
    await wrk(predict(a!), body, headers, 2, dir);
    await wrk(predict(b!), body, headers, 2, dir);
    const slice = Math.max(1, Math.round(SECONDS / ROUNDS));
    const one: WrkResult[] = [];
    const two: WrkResult[][] = [];
    for (let i = 0; i < ROUNDS; i++) {
      one.push(await wrk(predict(a!), body, headers, slice, dir, 32));
      two.push(await Promise.all([wrk(predict(a!), body, headers, slice, dir, 16), wrk(predict(b!), body, headers, slice, dir, 16)]));
    }
    const r1 = pool(one);
    const r2 = together(two);
    const md = [
      '| API nodes | requests/s | p50 ms | p99 ms | errors |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| one (node A, 32 connections) | ${fmt(r1.rps)} | ${fmt(r1.p50, 2)} | ${fmt(r1.p99, 2)} | ${r1.errors} |`,
      `| two (A and B, 16 connections each) | ${fmt(r2.rps)} | ${fmt(r2.p50, 2)} | ${fmt(r2.p99, 2)} | ${r2.errors} |`,
      '',
      `- two nodes / one: **${fmt(r2.rps / r1.rps, 2)}×** (per round: ${one.map((r, i) => fmt(together([two[i]!]).rps / r.rps, 2) + '×').join(' ')})`,
    ].join('\n');
    process.stdout.write('\n' + md + '\n');
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/serve-nodes.json'), JSON.stringify({
      at: new Date().toISOString(), cores: os.availableParallelism(), pinned: PIN, loadAverage: os.loadavg(), seconds: SECONDS, rounds: ROUNDS,
      one: { ...r1, quantiles: undefined }, two: { ...r2, quantiles: undefined }, ratio: r2.rps / r1.rps,
    }, null, 2) + '\n');
  } finally {
    await stack.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`bench:serve-nodes failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
