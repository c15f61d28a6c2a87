/**
 * `npm run bench:train`: our training engine vs PyTorch (Debian python3-torch) on the seed's two
 * MNIST recipes, side by side in one run. Prints samples/s (training epochs only, best over 1 and
 * 2 threads), the ratio, and test accuracy.
 *   MLP: Flatten → Dense 128 relu → Dropout 0.2 → Dense 10 softmax; Adam 1e-3, batch 32, 5 epochs.
 *   CNN: conv 5×5×16 relu → max-pool 2 → conv 5×5×32 relu → max-pool 2 → dense 10; Adam 1e-3, batch 32, 2 epochs.
 * Env: BENCH_THREADS (default "1,2"), BENCH_REPEATS (default 2; best-of over repeats, runs alternate between frameworks), BENCH_RECIPES (default "mlp,cnn"), PYTHON (default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNetwork, evaluate, fit, type ModelSpec } from '../src/engine/index.js';
import { loadMnist, repoRoot } from '../src/engine/testing/mnist.js';

interface Result { samplesPerSecond: number; testAccuracy: number; threads: number; seed: number; mode?: string }

const threads = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const recipes = (process.env.BENCH_RECIPES ?? 'mlp,cnn').split(',') as ('mlp' | 'cnn')[];
const python = process.env.PYTHON ?? '/usr/bin/python3';

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
  const h = await fit(net, { x: train.x, y: train.labels }, { epochs: r.epochs, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, intraOpThreads: t, mode });
  const e = await evaluate(net, { x: test.x, y: test.labels });
  return { samplesPerSecond: h.samplesPerSecond, testAccuracy: e.accuracy!, threads: t, mode, seed };
}

/** The PyTorch peer; its run k uses seed firstSeed + k, as ours do. */
function torch(recipe: string, firstSeed: number): Result[] {
  const p = spawnSync(python, [join(repoRoot(), 'bench', 'peers', 'torch_train.py'), join(repoRoot(), 'examples', 'data'), recipe, threads.join(','), String(firstSeed)], {
    encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (p.status !== 0) throw new Error(`PyTorch peer failed (${python}; apt-get install python3-torch):\n${p.stderr || p.error}`);
  return p.stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
}

const best = (rs: Result[]) => rs.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const rows: string[][] = [];
const details: string[] = [];
for (const recipe of recipes) {
  const mine: Result[] = [];
  const theirs: Result[] = [];
  // Runs alternate between the two frameworks so load from other processes hits both alike.
  for (let k = 0; k < repeats; k++) {
    const seed0 = k * threads.length;
    for (const [i, t] of threads.entries()) {
      mine.push(await ours(recipe, t, 'loop', seed0 + i));
      // One call per step, for the record (same seed: identical weights to the Loop run).
      if (recipe === 'mlp') mine.push(await ours(recipe, t, 'step', seed0 + i));
    }
    theirs.push(...torch(recipe, seed0));
  }
  for (const r of mine) details.push(`ours  ${recipe} ${r.mode} threads=${r.threads} seed=${r.seed}: ${fmt(r.samplesPerSecond)} samples/s, test acc ${(r.testAccuracy * 100).toFixed(2)}%`);
  for (const r of theirs) details.push(`torch ${recipe} threads=${r.threads} seed=${r.seed}: ${fmt(r.samplesPerSecond)} samples/s, test acc ${(r.testAccuracy * 100).toFixed(2)}%`);
  const a = best(mine);
  const b = best(theirs);
  const ratio = a.samplesPerSecond / b.samplesPerSecond;
  // Accuracy: mean over the runs' seeds (Loop runs only for ours; step runs repeat their weights).
  const accA = mean(mine.filter((r) => r.mode === 'loop').map((r) => r.testAccuracy));
  const accB = mean(theirs.map((r) => r.testAccuracy));
  const gap = (accB - accA) * 100;
  rows.push([recipe, `${fmt(a.samplesPerSecond)} (${a.mode}, ${a.threads}t)`, `${fmt(b.samplesPerSecond)} (${b.threads}t)`, ratio.toFixed(2),
    `${RECIPES[recipe].goal.toFixed(1)} ${ratio >= RECIPES[recipe].goal ? 'met' : 'MISSED'}`,
    `${(accA * 100).toFixed(2)}%`, `${(accB * 100).toFixed(2)}%`, gap <= 1 ? 'ok' : `${gap.toFixed(2)} pts below`]);
}

console.log(details.join('\n'));
console.log();
const header = ['recipe', 'ours samples/s', 'torch samples/s', 'ratio', 'goal', 'ours test acc (mean)', 'torch test acc (mean)', 'acc within 1 pt'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
