/**
 * `npm run bench:quality`: every model kind's defaults, trained through the job API of a real
 * server as a new user would (upload, POST /v1/jobs with only the kind, read `metrics.test`),
 * against its scikit-learn counterpart with scikit-learn's defaults (bench/peers/sklearn_quality.py)
 * on the same train and test rows. Datasets: the classification and regression sets of
 * examples/data, plus generated ones of other shapes (8×8 digits in 0..16, a noisy 3-class table,
 * Friedman's nonlinear regression). Scores are test accuracy or R², in points (×100).
 * Goal (issue #17): each kind within 2 points of its counterpart, the best kind within 1 point of
 * scikit-learn's best.
 * Env: BENCH_DATASETS (comma list, default all), BENCH_KINDS (comma list, default all),
 * BENCH_CPU (the server's CPUs, default 2), PYTHON (default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadConfig } from '../src/infra/config.js';
import { startServer } from '../src/interfaces/server.js';
import { AiaasClient, type JobMetrics, type TrainRequest } from '../src/sdk/index.js';
import { trainTestSplit } from '../src/ml/metrics/validation.js';

type Task = 'classification' | 'regression';
interface Dataset { name: string; task: Task; target: string; file?: string; train?: string; test?: string }
/** `seconds`: our job's wall time, or scikit-learn's pipeline fit; `trainSeconds`: our job's training stage (preprocessing and the fit). */
interface Score { score: number; seconds: number; trainSeconds?: number }

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const examples = path.join(root, 'examples', 'data');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const peer = path.join(root, 'bench', 'peers', 'sklearn_quality.py');
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';
const only = (name: string) => (process.env[name] ? new Set(process.env[name]!.split(',')) : undefined);
const wantedDatasets = only('BENCH_DATASETS');
const wantedKinds = only('BENCH_KINDS');

/** Each kind with only what a user must say; networks get the issue's `hidden: [128]`. */
const KINDS: Record<Task, Array<{ kind: string; model: TrainRequest['model'] }>> = {
  classification: [
    { kind: 'logistic_regression', model: { kind: 'logistic_regression' } },
    { kind: 'random_forest', model: { kind: 'random_forest' } },
    { kind: 'gradient_boosting', model: { kind: 'gradient_boosting' } },
    { kind: 'mlp', model: { kind: 'mlp', hidden: [128] } },
  ],
  regression: [
    { kind: 'linear_regression', model: { kind: 'linear_regression' } },
    { kind: 'random_forest', model: { kind: 'random_forest' } },
    { kind: 'gradient_boosting', model: { kind: 'gradient_boosting' } },
    { kind: 'mlp', model: { kind: 'mlp', hidden: [128] } },
  ],
};

const EXAMPLE_SETS: Dataset[] = [
  { name: 'iris', task: 'classification', target: 'species', file: path.join(examples, 'iris.csv') },
  { name: 'loans', task: 'classification', target: 'default', file: path.join(examples, 'loans.csv') },
  { name: 'diabetes', task: 'regression', target: 'progression', file: path.join(examples, 'diabetes.csv') },
  { name: 'mnist', task: 'classification', target: 'label', train: path.join(examples, 'mnist_train.csv.gz'), test: path.join(examples, 'mnist_test.csv.gz') },
];

/** The generated sets, written by the peer (scikit-learn's generators and its bundled 8×8 digits). */
function generated(dir: string): Dataset[] {
  const p = spawnSync(python, [peer, 'generate', dir], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`the scikit-learn peer failed (${python}; apt-get install python3-sklearn):\n${p.stderr || p.error}`);
  return JSON.parse(p.stdout) as Dataset[];
}

/** Splits a CSV file's lines 80/20 (stratified by the target for classification), as two files both sides read. */
function splitFile(d: Dataset, dir: string): Required<Pick<Dataset, 'train' | 'test'>> {
  if (d.train && d.test) return { train: d.train, test: d.test };
  const raw = fs.readFileSync(d.file!);
  const lines = (d.file!.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8').trim().split(/\r?\n/);
  const [header, ...rows] = lines;
  const t = header!.split(',').indexOf(d.target);
  let stratify;
  if (d.task === 'classification') {
    const labels = rows.map((r) => r.split(',')[t]!);
    const index = new Map([...new Set(labels)].map((l, i) => [l, i]));
    stratify = { y: Int32Array.from(labels, (l) => index.get(l)!), classCount: index.size };
  }
  const split = trainTestSplit(rows.length, { testFraction: 0.2, seed: 0, stratify });
  const write = (name: string, idx: ArrayLike<number>) => {
    const file = path.join(dir, `${d.name}-${name}.csv`);
    fs.writeFileSync(file, [header, ...Array.from(idx, (i) => rows[i]!)].join('\n') + '\n');
    return file;
  };
  return { train: write('train', split.train), test: write('test', split.test) };
}

async function ours(client: AiaasClient, d: Dataset & { train: string; test: string }): Promise<Map<string, Score>> {
  await client.datasets.upload(fs.readFileSync(d.train), { name: `${d.name}-train`, filename: path.basename(d.train) });
  await client.datasets.upload(fs.readFileSync(d.test), { name: `${d.name}-test`, filename: path.basename(d.test) });
  const out = new Map<string, Score>();
  for (const { kind, model } of KINDS[d.task]) {
    if (wantedKinds && !wantedKinds.has(kind)) continue;
    const started = performance.now();
    const job = await client.jobs.train({
      name: `${d.name}-${kind.replace(/_/g, '-')}`, dataset: `${d.name}-train`, testDataset: `${d.name}-test`,
      target: d.target, task: d.task, model, importanceRepeats: 0,
    });
    const done = await client.jobs.wait(job.id);
    if (done.status !== 'succeeded') throw new Error(`${d.name} ${kind}: ${done.status}: ${done.error}`);
    const m = done.metrics as JobMetrics;
    const score = d.task === 'classification' ? m.test!.accuracy! : m.test!.r2!;
    out.set(kind, { score, seconds: (performance.now() - started) / 1000, trainSeconds: m.training?.trainSeconds });
    console.error(`ours    ${d.name} ${kind}: ${(100 * score).toFixed(2)} (${((performance.now() - started) / 1000).toFixed(1)} s; ${m.training?.epochs ?? '-'} epochs)`);
  }
  return out;
}

function theirs(sets: Array<Dataset & { train: string; test: string }>, dir: string): Map<string, Map<string, Score>> {
  const jobFile = path.join(dir, 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify({ datasets: sets, kinds: wantedKinds ? [...wantedKinds] : [], seed: 0 }));
  const p = spawnSync(python, [peer, 'fit', jobFile], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (p.status !== 0) throw new Error(`the scikit-learn peer failed (${python}; apt-get install python3-sklearn)`);
  const out = new Map<string, Map<string, Score>>();
  for (const line of p.stdout.trim().split('\n')) {
    const r = JSON.parse(line) as { dataset: string; kind: string; score: number; seconds: number };
    if (!out.has(r.dataset)) out.set(r.dataset, new Map());
    out.get(r.dataset)!.set(r.kind, { score: r.score, seconds: r.seconds });
  }
  return out;
}

const pts = (x: number) => (100 * x).toFixed(1);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-quality-'));
  const home = path.join(dir, 'home');
  const sets = [...EXAMPLE_SETS, ...generated(path.join(dir, 'generated'))]
    .filter((d) => !wantedDatasets || wantedDatasets.has(d.name))
    .map((d) => ({ ...d, ...splitFile(d, dir) }));
  // The peer first, while no server runs: a synchronous child would stall the server's event loop.
  console.error('scikit-learn first, then ours through the job API…');
  const peers = theirs(sets, dir);
  const server = await startServer(loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_CPU: process.env.BENCH_CPU ?? '2' }));
  const rows: string[][] = [];
  let misses = 0;
  try {
    const admin = new AiaasClient({ url: server.url, apiKey: KEY });
    const tenant = await admin.tenants.create('bench');
    const dev = await admin.keys.create({ name: 'bench-dev', role: 'developer', tenant: tenant.id });
    const client = new AiaasClient({ url: server.url, apiKey: dev.key });
    for (const d of sets) {
      const mine = await ours(client, d);
      const peer = peers.get(d.name) ?? new Map<string, Score>();
      for (const [kind, a] of mine) {
        const b = peer.get(kind);
        const gap = b ? 100 * (a.score - b.score) : NaN;
        if (gap < -2) misses++;
        rows.push([d.name, kind, pts(a.score), b ? pts(b.score) : '-', Number.isNaN(gap) ? '-' : `${gap >= 0 ? '+' : ''}${gap.toFixed(1)}${gap < -2 ? ' ✗' : ''}`,
          a.trainSeconds !== undefined ? a.trainSeconds.toFixed(2) : '-', a.seconds.toFixed(1), b ? b.seconds.toFixed(2) : '-']);
      }
      const bestOurs = Math.max(...[...mine.values()].map((s) => s.score));
      const bestTheirs = Math.max(...[...peer.values()].map((s) => s.score));
      const gap = 100 * (bestOurs - bestTheirs);
      if (gap < -1) misses++;
      rows.push([d.name, '**best**', pts(bestOurs), pts(bestTheirs), `${gap >= 0 ? '+' : ''}${gap.toFixed(1)}${gap < -1 ? ' ✗' : ''}`, '', '', '']);
    }
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const head = ['dataset', 'kind', 'ours', 'scikit-learn', 'gap (points)', 'ours s (trainSeconds)', 'ours s (job)', 'sklearn s (pipeline fit)'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nScores: test accuracy (classification) or R² (regression), ×100. Goal: each kind ≥ −2 points, the best ≥ −1 point. ${misses ? `${misses} miss(es) (✗).` : 'All met.'}`);
}

await main();
