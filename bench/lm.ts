/**
 * `npm run bench:lm`: a character-level GPT trained on kjv.txt by our platform (through the job
 * API of a real server: HTTP, the scheduler, a worker process) and by PyTorch (Debian
 * python3-torch, bench/peers/torch_lm.py), with identical settings, side by side in one run:
 * 4 layers, 4 heads, dim 128, context 128, batch 32, 600 steps, AdamW 1e-3 (weight decay 0.1),
 * 50 warm-up steps then cosine, clipping at 1.0; validation on the last 10% of lines. Best
 * tokens/s over 1 and 2 threads for each; valLoss of each framework's best-speed run (same
 * steps, same seed 0). Then the 4× larger model (dim 256, 6 layers), ratio only.
 *
 * Memory: the worker's peak RSS (training.peakRssBytes) and its heap after every evaluation
 * (history[].heapUsedBytes); the growth from the second evaluation to the last is reported
 * (the first includes one-time allocations).
 *
 * Flags: --steps N (default 600), --large-steps N (default: --steps), --only small|large.
 * Env: BENCH_THREADS (default "1,2"), PYTHON (default /usr/bin/python3).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../src/interfaces/testing/test-server.js';
import { submit, TERMINAL } from '../src/interfaces/testing/jobs-helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = path.join(ROOT, 'examples', 'data', 'kjv.txt.gz');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const threads = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const steps = Number(flag('steps') ?? 600);
const largeSteps = Number(flag('large-steps') ?? steps);
const only = flag('only');

interface Model { name: string; layers: number; heads: number; dim: number; context: number; batch: number; steps: number }
const MODELS: Model[] = [
  { name: 'small', layers: 4, heads: 4, dim: 128, context: 128, batch: 32, steps },
  { name: 'large', layers: 6, heads: 4, dim: 256, context: 128, batch: 32, steps: largeSteps },
].filter((m) => !only || m.name === only);

interface Run { threads: number; tokensPerSecond: number; valLoss: number; trainSeconds: number; peakRssBytes?: number; heapGrowthBytes?: number }

async function ours(s: TestServer, key: string, m: Model, t: number): Promise<Run> {
  const job = await submit(s, {
    type: 'train', name: `kjv-${m.name}-${t}t`, dataset: 'kjv', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' },
    model: { kind: 'causal_lm', layers: m.layers, heads: m.heads, dim: m.dim, context: m.context, dropout: 0 },
    training: { steps: m.steps, batchSize: m.batch, optimizer: 'adamw', learningRate: 1e-3, weightDecay: 0.1, schedule: { kind: 'cosine', warmupSteps: Math.min(50, m.steps) }, clipNorm: 1, seed: 0 },
    resources: { cpu: t, memoryMb: 2048 },
  }, key);
  const done = await finished(s, key, job.id);
  if (done.status !== 'succeeded') throw new Error(`our ${m.name} job ${done.status}: ${JSON.stringify(done.error)}`);
  const { test, training, history } = done.metrics;
  const heaps = (history as { heapUsedBytes: number }[]).map((h) => h.heapUsedBytes);
  return {
    threads: t, tokensPerSecond: training.tokensPerSecond, valLoss: test.valLoss, trainSeconds: training.trainSeconds,
    peakRssBytes: training.peakRssBytes, heapGrowthBytes: heaps.length > 2 ? heaps.at(-1)! - heaps[1]! : undefined,
  };
}

/** Waits for the job however long it takes (a loaded machine can need hours; tests' waits give up after 20 minutes). */
async function finished(s: TestServer, key: string, id: string): Promise<any> {
  for (;;) {
    const r = await s.call('GET', `/v1/jobs/${id}`, { key });
    if (r.status !== 200) throw new Error(`GET job ${id}: ${r.status} ${r.text}`);
    if (TERMINAL.includes(r.body.status)) return r.body;
    await new Promise((ok) => setTimeout(ok, 2000));
  }
}

/** The PyTorch peer, run asynchronously: the in-process server must keep answering meanwhile. */
async function torch(m: Model): Promise<Run[]> {
  const args = [path.join(ROOT, 'bench', 'peers', 'torch_lm.py'), CORPUS, threads.join(','), ...[m.steps, m.layers, m.heads, m.dim, m.context, m.batch].map(String)];
  const p = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((ok) => p.on('close', ok));
  if (code !== 0) throw new Error(`PyTorch peer failed (${python}; apt-get install python3-torch):\n${err}`);
  return out.trim().split('\n').map((l) => JSON.parse(l) as Run);
}

const best = (rs: Run[]) => rs.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n?: number) => (n === undefined ? '?' : `${(n / 2 ** 20).toFixed(1)} MB`);

const s = await startTestServer({ AIAAS_CPU: String(Math.max(...threads)) });
try {
  const tenant = await s.tenant('bench');
  const up = await s.call('POST', '/v1/datasets?name=kjv&format=text&filename=kjv.txt.gz', { key: tenant.developer, body: fs.readFileSync(CORPUS), headers: { 'content-type': 'application/gzip' } });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${up.text}`);
  const rows: string[][] = [];
  for (const m of MODELS) {
    const mine: Run[] = [];
    for (const t of threads) {
      const r = await ours(s, tenant.developer, m, t);
      mine.push(r);
      console.log(`ours  ${m.name} threads=${t}: ${fmt(r.tokensPerSecond)} tokens/s, valLoss ${r.valLoss.toFixed(4)}, ${r.trainSeconds.toFixed(1)} s training, peak RSS ${mb(r.peakRssBytes)}, heap growth over the evaluations ${mb(r.heapGrowthBytes)}`);
    }
    const theirs = await torch(m);
    for (const r of theirs) console.log(`torch ${m.name} threads=${r.threads}: ${fmt(r.tokensPerSecond)} tokens/s, valLoss ${r.valLoss.toFixed(4)}, ${r.trainSeconds.toFixed(1)} s training`);
    const a = best(mine);
    const b = best(theirs);
    const speed = a.tokensPerSecond / b.tokensPerSecond;
    const quality = a.valLoss / b.valLoss;
    rows.push([`${m.name} (${m.layers}L, dim ${m.dim}, ${m.steps} steps)`, `${fmt(a.tokensPerSecond)} (${a.threads}t)`, `${fmt(b.tokensPerSecond)} (${b.threads}t)`,
      `${speed.toFixed(2)}${m.name === 'small' ? (speed >= 1.5 ? ' (goal 1.5 met)' : ' (goal 1.5 MISSED)') : ''}`,
      a.valLoss.toFixed(4), b.valLoss.toFixed(4), `${quality.toFixed(3)}${m.name === 'small' ? (quality <= 1.03 ? ' (goal 1.03 met)' : ' (goal 1.03 MISSED)') : ''}`]);
  }
  console.log();
  const header = ['model', 'ours tokens/s', 'torch tokens/s', 'speed ratio', 'ours valLoss', 'torch valLoss', 'valLoss ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
} finally {
  await s.stop();
}
