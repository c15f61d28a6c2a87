/**
 * `npm run bench:train`: our training, engine alone and through the job API (a real server, the
 * datasets uploaded, a `train` job per run), vs PyTorch (Debian python3-torch) on the seed's two
 * MNIST recipes, side by side in one run. Prints samples/s (training epochs only, best over 1 and
 * 2 threads / `resources.cpu`), the ratios, test accuracy, and for jobs the training stage's rate
 * (`trainSeconds`) and the job's overhead (wall time minus `trainSeconds`).
 *   MLP: Flatten → Dense 128 relu → Dropout 0.2 → Dense 10 softmax; Adam 1e-3, batch 32, 5 epochs.
 *   CNN: conv 5×5×16 relu → max-pool 2 → conv 5×5×32 relu → max-pool 2 → dense 10; Adam 1e-3, batch 32, 2 epochs.
 * Env: BENCH_THREADS (default "1,2"; engine threads, job `resources.cpu` and PyTorch threads), BENCH_REPEATS (default 2; best-of over
 * repeats, runs alternate between engine, job and PyTorch), BENCH_RECIPES (default "mlp,cnn"), BENCH_PATHS (default "engine,job"),
 * BENCH_STEP=1 (also time the MLP one session.run per step), PYTHON (default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNetwork, evaluate, fit, type ModelSpec } from '../src/engine/index.js';
import { loadMnist, repoRoot } from '../src/engine/testing/mnist.js';
import { startJobBench, type JobResult } from './job-train.js';

/** cpuSeconds: the process's CPU time over the epochs (all its threads), which load from other processes barely changes. */
interface Result { samplesPerSecond: number; testAccuracy: number; threads: number; seed: number; mode?: string; seconds?: number; cpuSeconds?: number }

const threads = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const recipes = (process.env.BENCH_RECIPES ?? 'mlp,cnn').split(',') as ('mlp' | 'cnn')[];
const python = process.env.PYTHON ?? '/usr/bin/python3';
const paths = (process.env.BENCH_PATHS ?? 'engine,job').split(',');
const stepMode = process.env.BENCH_STEP === '1';

const RECIPES: Record<'mlp' | 'cnn', { spec: ModelSpec; epochs: number; goal: number }> = {
  mlp: {
    spec: { kind: 'sequential', layers: [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dropout', rate: 0.2 },
      { type: 'dense', units: 10, activation: 'softmax' }] },
    epochs: 5, goal: 1.5,
  },
  cnn: {
    spec: { kind: 'sequential', layers: [{ type: 'reshape', targetShape: [28, 28, 1] },
      { type: 'conv2d', filters: 16, kernelSize: 5, activation: 'relu' }, { type: 'max_pool2d', poolSize: 2 },
      { type: 'conv2d', filters: 32, kernelSize: 5, activation: 'relu' }, { type: 'max_pool2d', poolSize: 2 },
      { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] },
    epochs: 2, goal: 1.0,
  },
};

const train = loadMnist('train');
const test = loadMnist('test');

async function ours(recipe: 'mlp' | 'cnn', t: number, mode: 'loop' | 'step', seed: number): Promise<Result> {
  const r = RECIPES[recipe];
  const net = createNetwork(r.spec, { inputShape: [784], outputs: 10, task: 'classification', seed });
  const cpu = process.cpuUsage();
  const h = await fit(net, { x: train.x, y: train.labels }, { epochs: r.epochs, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, intraOpThreads: t, mode });
  const used = process.cpuUsage(cpu);
  const e = await evaluate(net, { x: test.x, y: test.labels });
  return { samplesPerSecond: h.samplesPerSecond, testAccuracy: e.accuracy!, threads: t, mode, seed, seconds: h.trainSeconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** The PyTorch peer; its run k uses seed firstSeed + k, as ours do. */
function torch(recipe: string, firstSeed: number): Result[] {
  const p = spawnSync(python, [join(repoRoot(), 'bench', 'peers', 'torch_train.py'), join(repoRoot(), 'examples', 'data'), recipe, threads.join(','), String(firstSeed)], {
    encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (p.status !== 0) throw new Error(`PyTorch peer failed (${python}; apt-get install python3-torch):\n${p.stderr || p.error}`);
  return p.stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
}

const best = <T extends { samplesPerSecond: number }>(rs: T[]): T | undefined => (rs.length ? rs.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a)) : undefined);
const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
/** Samples per CPU-second of the training epochs (engine: session creation included, a few ms). */
const perCpu = (r: Result) => (r.cpuSeconds ? ` (${fmt(r.samplesPerSecond * (r.seconds ?? 0) / r.cpuSeconds)} per CPU-second)` : '');

const jobs = paths.includes('job') ? await startJobBench(join(repoRoot(), 'examples', 'data')) : undefined;
const rows: string[][] = [];
const jobRows: string[][] = [];
const details: string[] = [];
try {
  for (const recipe of recipes) {
    const mine: Result[] = [];
    const viaJobs: JobResult[] = [];
    const theirs: Result[] = [];
    // Runs alternate between the paths and the frameworks so load from other processes hits all alike.
    for (let k = 0; k < repeats; k++) {
      const seed0 = k * threads.length;
      for (const [i, t] of threads.entries()) {
        if (paths.includes('engine')) {
          mine.push(await ours(recipe, t, 'loop', seed0 + i));
          // One call per step, for the record (same seed: identical weights to the Loop run).
          if (stepMode && recipe === 'mlp') mine.push(await ours(recipe, t, 'step', seed0 + i));
        }
        if (jobs) viaJobs.push(await jobs.run(RECIPES[recipe].spec, RECIPES[recipe].epochs, t, seed0 + i));
      }
      theirs.push(...torch(recipe, seed0));
    }
    for (const r of mine) details.push(`engine ${recipe} ${r.mode} threads=${r.threads} seed=${r.seed}: ${fmt(r.samplesPerSecond)} samples/s${perCpu(r)}, test acc ${pct(r.testAccuracy)}`);
    for (const r of viaJobs) {
      details.push(`job    ${recipe} cpu=${r.cpu} seed=${r.seed}: epochs ${fmt(r.samplesPerSecond)} samples/s, stage ${fmt(r.stageSamplesPerSecond)} samples/s ` +
        `(trainSeconds ${r.trainSeconds.toFixed(2)}), wall ${r.wallSeconds.toFixed(2)} s, overhead ${(r.wallSeconds - r.trainSeconds).toFixed(2)} s, test acc ${pct(r.testAccuracy)}`);
    }
    for (const r of theirs) details.push(`torch  ${recipe} threads=${r.threads} seed=${r.seed}: ${fmt(r.samplesPerSecond)} samples/s${perCpu(r)}, test acc ${pct(r.testAccuracy)}`);
    const b = best(theirs)!;
    const goal = RECIPES[recipe].goal;
    const judge = (ratio: number) => `${ratio.toFixed(2)} ${ratio >= goal ? 'met' : 'MISSED'}`;
    const accB = mean(theirs.map((r) => r.testAccuracy));
    const a = best(mine);
    if (a) {
      // Accuracy: mean over the runs' seeds (Loop runs only; step runs repeat their weights).
      const accA = mean(mine.filter((r) => r.mode === 'loop').map((r) => r.testAccuracy));
      const gap = (accB - accA) * 100;
      rows.push([recipe, `${fmt(a.samplesPerSecond)} (${a.mode}, ${a.threads}t)`, `${fmt(b.samplesPerSecond)} (${b.threads}t)`, judge(a.samplesPerSecond / b.samplesPerSecond),
        goal.toFixed(1), pct(accA), pct(accB), gap <= 1 ? 'ok' : `${gap.toFixed(2)} pts below`]);
    }
    for (const cpu of jobs ? threads : []) {
      const runs = viaJobs.filter((r) => r.cpu === cpu);
      const j = best(runs)!;
      const stage = runs.reduce((p, q) => (q.stageSamplesPerSecond > p.stageSamplesPerSecond ? q : p));
      const overhead = Math.min(...runs.map((r) => r.wallSeconds - r.trainSeconds));
      jobRows.push([recipe, String(cpu), fmt(j.samplesPerSecond), fmt(b.samplesPerSecond), judge(j.samplesPerSecond / b.samplesPerSecond),
        fmt(stage.stageSamplesPerSecond), (stage.stageSamplesPerSecond / b.samplesPerSecond).toFixed(2), `${overhead.toFixed(2)} s`, pct(mean(runs.map((r) => r.testAccuracy)))]);
    }
  }
} finally {
  await jobs?.stop();
}

console.log(details.join('\n'));
if (rows.length) {
  console.log('\nEngine alone (fit() in this process):');
  table(['recipe', 'engine samples/s', 'torch samples/s', 'ratio', 'goal', 'engine test acc (mean)', 'torch test acc (mean)', 'acc within 1 pt'], rows);
}
if (jobRows.length) {
  console.log('\nThrough the job API (POST /v1/jobs; epochs from its metrics events, stage = trainSeconds, overhead = wall - trainSeconds, best of runs):');
  table(['recipe', 'resources.cpu', 'job epochs samples/s', 'torch samples/s (best)', 'ratio', 'stage samples/s', 'stage ratio', 'overhead', 'job test acc (mean)'], jobRows);
}

function table(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of body) console.log(line(r));
}
