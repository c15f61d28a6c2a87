/**
 * `npm run bench:optimize`: the optimize job on the seed's MNIST models, trained through the job
 * API of a real server, side by side in one run with PyTorch's `torch.quantization.quantize_dynamic`
 * on the same MLP trained the same way (Debian python3-torch, bench/peers/torch_quantize.py).
 *   MLP (784 → 128 relu → dropout 0.2 → 10; Adam 1e-3, batch 32, 5 epochs; pixels / 255):
 *     quantize_dynamic (contrib op and standard ops), fp16, quantize_static, prune structured 50%.
 *     Goals (issue #15): size ≤ 35% of fp32; accuracy drop ≤ 0.5 point and ≤ PyTorch's drop + 0.5;
 *     single-row p50 no slower than fp32.
 *   CNN (bench:train's): quantize_static: accuracy within 1 point; batch latency gain reported.
 *   Structured pruning at 50%: size ≤ 60%; accuracy within 1 point after fine-tuning (fineTuneEpochs), beside the figure without.
 *   Distillation: an MLP student (784 → 128 → 10, 20 epochs) on the first 1,000 training rows, trained alone and from the CNN
 *     (trained on all 8,000) as teacher (T = 4, α = 0.5), same seed and epochs: the distilled student beats the one trained alone
 *     on the test split. (On all 8,000 rows a 3-epoch student gains nothing: it is underfit, not short of data; see docs/benchmarks.md.)
 *   Language models: a char-level GPT student (2 layers, 4 heads, dim 64, context 128, 300 steps) on kjv.txt, trained alone and
 *     distilled (T 2, α 0.5) from bench:lm's GPT (4 layers, dim 128, 600 steps), same seed and steps: held-out valLoss side by side.
 * BENCH_ONLY=distill runs the MNIST distillation line alone (it trains the CNN teacher, not the MLP); BENCH_ONLY=distill-lm the language-model one.
 * Latency is the job's own measurement (p50, source and result interleaved in one process, one thread):
 * on a loaded machine only the ratios mean anything. Env: PYTHON (default /usr/bin/python3), BENCH_SEED.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../src/infra/config.js';
import { startServer } from '../src/interfaces/server.js';
import { AiaasClient, type Job, type OptimizationMetrics, type OptimizeRequest, type TrainRequest } from '../src/sdk/index.js';
import type { TrainMetrics } from '../src/api/job-metrics.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const data = path.join(root, 'examples', 'data');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const seed = Number(process.env.BENCH_SEED ?? 0);
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';

interface Peer { torch: string; fp32: Side; int8: Side }
interface Side { sizeBytes: number; accuracy: number; p50Row: number; p50Batch: number }

function pytorch(): Peer | undefined {
  const p = spawnSync(python, [path.join(root, 'bench', 'peers', 'torch_quantize.py'), data, String(seed)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (p.status !== 0) {
    console.error(`PyTorch peer failed (${python}; apt-get install python3-torch): ${p.stderr || p.error}`);
    return undefined;
  }
  return JSON.parse(p.stdout.trim().split('\n').at(-1)!) as Peer;
}

async function done(client: AiaasClient, job: Job): Promise<Job> {
  const final = await client.jobs.wait(job.id);
  if (final.status !== 'succeeded') throw new Error(`job ${job.id} (${job.type}) ${final.status}: ${final.error}`);
  return final;
}

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-optimize-'));
  const server = await startServer(loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_CPU: '1' }));
  const goals: string[] = [];
  try {
    const admin = new AiaasClient({ url: server.url, apiKey: KEY });
    const tenant = await admin.tenants.create('bench');
    const client = new AiaasClient({ url: server.url, apiKey: (await admin.keys.create({ name: 'dev', role: 'developer', tenant: tenant.id })).key });
    await client.datasets.upload(fs.readFileSync(path.join(data, 'mnist_train.csv.gz')), { name: 'mnist-train', filename: 'mnist_train.csv.gz' });
    await client.datasets.upload(fs.readFileSync(path.join(data, 'mnist_test.csv.gz')), { name: 'mnist-test', filename: 'mnist_test.csv.gz' });
    const base = {
      dataset: 'mnist-train', testDataset: { name: 'mnist-test' }, target: 'label', task: 'classification' as const,
      preprocessing: [{ op: 'scale', factor: 1 / 255 }], split: { validation: 0, seed }, importanceRepeats: 0,
    };
    const only = process.env.BENCH_ONLY;
    const check = (ok: boolean, what: string) => goals.push(`${ok ? 'PASS' : 'MISS'} ${what}`);
    if (only === 'distill-lm') return await lmDistillation(client, check);
    await done(client, await client.jobs.train({ ...base, name: 'mnist-cnn', model: { kind: 'cnn' }, training: { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 1e-3 } }));
    await distillation(client, base, check);
    if (only === 'distill') return;
    await done(client, await client.jobs.train({ ...base, name: 'mnist-mlp', model: { kind: 'mlp', hidden: [128], dropout: 0.2 }, training: { epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 1e-3 } }));
    const runs: Array<[string, OptimizeRequest]> = [
      ['MLP quantize_dynamic', { model: 'mnist-mlp', version: 1, method: 'quantize_dynamic' }],
      ['MLP quantize_dynamic (standard ops)', { model: 'mnist-mlp', version: 1, method: 'quantize_dynamic', ops: 'standard' }],
      ['MLP fp16', { model: 'mnist-mlp', version: 1, method: 'fp16' }],
      ['MLP quantize_static', { model: 'mnist-mlp', version: 1, method: 'quantize_static' }],
      ['MLP prune structured 50%', { model: 'mnist-mlp', version: 1, method: 'prune', sparsity: 0.5, structured: true }],
      ['MLP prune structured 50% + 2 fine-tuning epochs', { model: 'mnist-mlp', version: 1, method: 'prune', sparsity: 0.5, structured: true, fineTuneEpochs: 2 }],
      ['CNN quantize_static', { model: 'mnist-cnn', version: 1, method: 'quantize_static' }],
      ['CNN fp16', { model: 'mnist-cnn', version: 1, method: 'fp16' }],
      ['CNN prune structured 50%', { model: 'mnist-cnn', version: 1, method: 'prune', sparsity: 0.5, structured: true }],
      ['CNN prune structured 50% + 1 fine-tuning epoch', { model: 'mnist-cnn', version: 1, method: 'prune', sparsity: 0.5, structured: true, fineTuneEpochs: 1 }],
    ];
    const results = new Map<string, OptimizationMetrics>();
    const lines = ['| model, method | size (of source) | accuracy (source → optimized, points) | p50 1 row ms (source → opt) | p50 64 rows ms (source → opt) |', '| --- | --- | --- | --- | --- |'];
    for (const [label, req] of runs) {
      const m = (await done(client, await client.jobs.optimize({ ...req, resources: { cpu: 1 } }))).metrics as unknown as OptimizationMetrics;
      results.set(label, m);
      const a = Number(m.source.test!.accuracy);
      const b = Number(m.test!.accuracy);
      lines.push(`| ${label} | ${m.sizeBytes} B (${pct(m.sizeBytes, m.source.sizeBytes)}) | ${(100 * a).toFixed(2)} → ${(100 * b).toFixed(2)} (${pts(b - a)}) | ${m.source.latencyMs.p50Row} → ${m.latencyMs.p50Row} | ${m.source.latencyMs.p50Batch} → ${m.latencyMs.p50Batch} |`);
    }
    const peer = pytorch();
    if (peer) {
      lines.push(`| PyTorch ${peer.torch} MLP quantize_dynamic | ${peer.int8.sizeBytes} B (${pct(peer.int8.sizeBytes, peer.fp32.sizeBytes)}) | ${(100 * peer.fp32.accuracy).toFixed(2)} → ${(100 * peer.int8.accuracy).toFixed(2)} (${pts(peer.int8.accuracy - peer.fp32.accuracy)}) | ${peer.fp32.p50Row.toFixed(3)} → ${peer.int8.p50Row.toFixed(3)} | ${peer.fp32.p50Batch.toFixed(3)} → ${peer.int8.p50Batch.toFixed(3)} |`);
    }
    console.log(lines.join('\n'));
    const q = results.get('MLP quantize_dynamic')!;
    const drop = Number(q.source.test!.accuracy) - Number(q.test!.accuracy);
    check(q.sizeBytes <= 0.35 * q.source.sizeBytes, `MLP quantize_dynamic size ${pct(q.sizeBytes, q.source.sizeBytes)} ≤ 35%`);
    check(drop <= 0.005, `MLP quantize_dynamic accuracy drop ${(100 * drop).toFixed(2)} ≤ 0.5 point`);
    if (peer) {
      const torchDrop = peer.fp32.accuracy - peer.int8.accuracy;
      check(drop <= torchDrop + 0.005, `MLP drop ${(100 * drop).toFixed(2)} ≤ PyTorch's ${(100 * torchDrop).toFixed(2)} + 0.5`);
    }
    check(q.latencyMs.p50Row <= q.source.latencyMs.p50Row, `MLP quantize_dynamic single-row p50 ${q.latencyMs.p50Row} ≤ fp32 ${q.source.latencyMs.p50Row} ms (indicative under load)`);
    const c = results.get('CNN quantize_static')!;
    check(Number(c.source.test!.accuracy) - Number(c.test!.accuracy) <= 0.01, `CNN quantize_static accuracy within 1 point (batch p50 ${c.source.latencyMs.p50Batch} → ${c.latencyMs.p50Batch} ms)`);
    const p = results.get('MLP prune structured 50%')!;
    check(p.sizeBytes <= 0.6 * p.source.sizeBytes, `MLP structured prune size ${pct(p.sizeBytes, p.source.sizeBytes)} ≤ 60%`);
    for (const label of ['MLP prune structured 50% + 2 fine-tuning epochs', 'CNN prune structured 50% + 1 fine-tuning epoch']) {
      const f = results.get(label)!;
      const delta = Number(f.test!.accuracy) - Number(f.source.test!.accuracy);
      check(-delta <= 0.01, `${label}: accuracy within 1 point of the source (${pts(delta)}; without fine-tuning ${pts(Number(results.get(label.slice(0, 24))!.test!.accuracy) - Number(f.source.test!.accuracy))})`);
    }
  } finally {
    console.log(`\n${goals.join('\n')}`);
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The same student alone and distilled from the CNN (same seed, epochs, 1,000 rows): test accuracy side by side. */
async function distillation(client: AiaasClient, base: Omit<TrainRequest, 'name'>, check: (ok: boolean, what: string) => void): Promise<void> {
  const lines = gunzipSync(fs.readFileSync(path.join(data, 'mnist_train.csv.gz'))).toString('utf8').split('\n');
  await client.datasets.upload(Buffer.from(lines.slice(0, 1001).join('\n') + '\n'), { name: 'mnist-1k', filename: 'mnist_1k.csv' });
  const student: Omit<TrainRequest, 'name'> = { ...base, dataset: 'mnist-1k', model: { kind: 'mlp', hidden: [128] }, training: { epochs: 20, batchSize: 32, optimizer: 'adam', learningRate: 1e-3 } };
  const teacher = { model: 'mnist-cnn', version: 1, temperature: 4, alpha: 0.5 };
  const alone = (await done(client, await client.jobs.train({ ...student, name: 'student-alone' }))).metrics as unknown as TrainMetrics;
  const taught = (await done(client, await client.jobs.train({ ...student, name: 'student-distilled', teacher }))).metrics as unknown as TrainMetrics;
  const a = Number(alone.test.accuracy);
  const b = Number(taught.test.accuracy);
  const t = Number(taught.distillation!.teacherTest.accuracy);
  console.log([
    `| student (MLP 784 → 128 → 10, 1,000 rows, 20 epochs, seed ${seed}) | test accuracy | test log loss |`, '| --- | --- | --- |',
    `| alone | ${(100 * a).toFixed(2)} | ${Number(alone.test.logLoss).toFixed(4)} |`,
    `| distilled from the CNN (T 4, α 0.5; teacher ${(100 * t).toFixed(2)}) | ${(100 * b).toFixed(2)} (${pts(b - a)}) | ${Number(taught.test.logLoss).toFixed(4)} |`,
  ].join('\n'));
  check(b > a, `distilled student ${(100 * b).toFixed(2)} beats the same student alone ${(100 * a).toFixed(2)} (${pts(b - a)} points)`);
}

/** A small GPT alone and distilled from a larger one (same seed and steps) on kjv.txt: held-out loss side by side. */
async function lmDistillation(client: AiaasClient, check: (ok: boolean, what: string) => void): Promise<void> {
  await client.datasets.upload(fs.readFileSync(path.join(data, 'kjv.txt.gz')), { name: 'kjv', filename: 'kjv.txt.gz', format: 'text' });
  const lm = (name: string, model: Record<string, unknown>, steps: number, extra: Record<string, unknown> = {}) => ({
    name, dataset: 'kjv', task: 'language_modeling', text: 'text', model: { kind: 'causal_lm', context: 128, ...model },
    training: { steps, batchSize: 32, learningRate: 1e-3, weightDecay: 0.1, schedule: { kind: 'cosine', warmupSteps: 50 }, clipNorm: 1, seed }, ...extra,
  }) as unknown as TrainRequest;
  const big = (await done(client, await client.jobs.train(lm('kjv-teacher', { layers: 4, heads: 4, dim: 128 }, 600, { tokenizer: { kind: 'char' } })))).metrics as unknown as TrainMetrics;
  const small = { layers: 2, heads: 4, dim: 64 };
  const alone = (await done(client, await client.jobs.train(lm('kjv-small-alone', small, 300, { tokenizer: { kind: 'char' } })))).metrics as unknown as TrainMetrics;
  const taught = (await done(client, await client.jobs.train(lm('kjv-small-distilled', small, 300, { teacher: { model: 'kjv-teacher', version: 1, temperature: 2, alpha: 0.5 } })))).metrics as unknown as TrainMetrics;
  const [a, b, t] = [Number(alone.test.valLoss), Number(taught.test.valLoss), Number(big.test.valLoss)];
  const tps = (m: TrainMetrics) => Math.round(Number((m.training as unknown as Record<string, unknown>).tokensPerSecond));
  console.log([
    `| student (causal_lm 2 layers, dim 64, context 128, 300 steps, seed ${seed}) | held-out valLoss | perplexity | tokens/s |`, '| --- | --- | --- | --- |',
    `| alone | ${a.toFixed(4)} | ${Number(alone.test.perplexity).toFixed(3)} | ${tps(alone)} |`,
    `| distilled from the 4-layer dim-128 GPT (T 2, α 0.5; teacher valLoss ${t.toFixed(4)}) | ${b.toFixed(4)} (${b - a >= 0 ? '+' : ''}${(b - a).toFixed(4)}) | ${Number(taught.test.perplexity).toFixed(3)} | ${tps(taught)} |`,
  ].join('\n'));
  check(b < a, `distilled GPT student's valLoss ${b.toFixed(4)} below the same student alone ${a.toFixed(4)}`);
}

await main();
