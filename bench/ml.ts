/**
 * `npm run bench:ml`: our classical estimators side by side with scikit-learn (Debian
 * python3-sklearn, run through /usr/bin/python3 bench/peers/sklearn_models.py) on iris, loans and
 * diabetes. Both sides get literally the same data: this script computes the 80/20 split
 * (stratified for classification, seed 0) and the numeric features (median imputation and
 * standardisation fitted on the training rows, one-hot categories), writes them to a temporary
 * JSON file and hands it to the Python peer. Fit time is the median of `--repeats` fits
 * (default 5); quality is test accuracy, or R² for diabetes.
 *
 * Random forests depend on the seed more than on anything else at these sizes (diabetes' test
 * R² moves by ±2 points between seeds), so for them both sides also fit seeds 0 … S-1 and the
 * table adds the mean test score over those seeds.
 *
 * Options: --repeats N (default 5), --seeds S (default 5), --only kind[,kind], --json (also
 * print the raw results), --peer-threads T (OMP_NUM_THREADS for scikit-learn; by default
 * HistGradientBoosting uses every core), --threads T (FitOptions.threads for ours, default 1: the
 * tree ensembles grow trees on T − 1 helper threads besides the caller), --mnist (adds the first
 * 8,000 MNIST training images, tested on 2,000 test images, random forest and gradient boosting
 * only, one fit each: the size of issue 17's goals).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { exampleDataDir, imputeMedian, loadExample, standardize } from '../src/ml/testing/example-data.js';
import type { ExampleDataset } from '../src/ml/testing/example-data.js';
import { evaluateModel, fitModel } from '../src/ml/estimators/index.js';
import type { ModelSpec, ModelState } from '../src/ml/estimators/index.js';
import { subset } from '../src/ml/metrics/cross-validation.js';
import { trainTestSplit } from '../src/ml/metrics/validation.js';

interface Row {
  dataset: string;
  model: string;
  metric: string;
  ours: number;
  sklearn: number;
  oursFit: number;
  sklearnFit: number;
  oursSeedMean?: number;
  sklearnSeedMean?: number;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const repeats = Number(opt('--repeats') ?? 5);
const only = opt('--only')?.split(',');
const seeds = Number(opt('--seeds') ?? 5);
const peerThreads = opt('--peer-threads');
const threads = Number(opt('--threads') ?? 1);
const withMnist = args.includes('--mnist');
const SEEDED = ['random_forest'];
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function main(): void {
  const job = { repeats, only, seeds, seededKinds: SEEDED, datasets: [] as unknown[] };
  const ours: Omit<Row, 'sklearn' | 'sklearnFit'>[] = [];
  const names: string[] = ['iris', 'loans', 'diabetes', ...(withMnist ? ['mnist'] : [])];
  for (const name of names) {
    const mnist = name === 'mnist';
    const ds = mnist ? loadMnist(8000, 2000) : loadExample(name as 'iris' | 'loans' | 'diabetes');
    const t = ds.target;
    const split = mnist
      ? { train: Int32Array.from({ length: 8000 }, (_, i) => i), test: Int32Array.from({ length: 2000 }, (_, i) => 8000 + i) }
      : trainTestSplit(ds.x.rows, {
        testFraction: 0.2, seed: 0,
        stratify: t.task === 'classification' ? { y: t.y, classCount: t.classCount } : undefined,
      });
    // Pixels need no imputation, and trees no scaling (it would only lengthen the peer's JSON).
    if (!mnist) {
      imputeMedian(ds.x, split.train);
      standardize(ds.x, split.train);
    }
    job.datasets.push({
      name, task: t.task, rows: ds.x.rows, cols: ds.x.cols, x: Array.from(ds.x.data), y: Array.from(t.y),
      train: Array.from(split.train), test: Array.from(split.test), repeats: mnist ? 1 : repeats,
      only: mnist ? ['random_forest', 'gradient_boosting'] : undefined,
    });
    const train = subset(ds.x, t, split.train);
    const test = subset(ds.x, t, split.test);
    const kinds: ModelSpec['kind'][] = t.task === 'classification'
      ? ['logistic_regression', 'random_forest', 'gradient_boosting']
      : ['linear_regression', 'random_forest', 'gradient_boosting'];
    for (const kind of kinds) {
      if (only && !only.includes(kind)) continue;
      if (mnist && kind === 'logistic_regression') continue;
      const times: number[] = [];
      let state: ModelState | null = null;
      for (let r = 0; r < (mnist ? 1 : repeats); r++) {
        const t0 = performance.now();
        state = fitModel({ kind } as ModelSpec, train.x, train.target, { seed: 0, threads });
        times.push((performance.now() - t0) / 1000);
      }
      const metric = t.task === 'classification' ? 'accuracy' : 'r2';
      const scoreOf = (s: ModelState): number => {
        const m = evaluateModel(s, test.x, test.target) as { accuracy?: number; r2?: number };
        return (metric === 'accuracy' ? m.accuracy : m.r2)!;
      };
      const seedScores = [scoreOf(state!)];
      if (SEEDED.includes(kind) && !mnist) {
        for (let s = 1; s < seeds; s++) seedScores.push(scoreOf(fitModel({ kind } as ModelSpec, train.x, train.target, { seed: s, threads })));
      }
      ours.push({
        dataset: name, model: kind, metric, ours: seedScores[0]!, oursFit: median(times),
        oursSeedMean: SEEDED.includes(kind) && !mnist ? mean(seedScores) : undefined,
      });
      process.stderr.write(`ours      ${name.padEnd(9)} ${kind.padEnd(20)} ${median(times).toFixed(4)} s\n`);
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'bench-ml-'));
  const jobFile = join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const script = fileURLToPath(new URL('../../bench/peers/sklearn_models.py', import.meta.url));
  const env = peerThreads ? { ...process.env, OMP_NUM_THREADS: peerThreads, OPENBLAS_NUM_THREADS: peerThreads } : process.env;
  process.stderr.write('running the scikit-learn peer…\n');
  const res = spawnSync('/usr/bin/python3', [script, jobFile], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  rmSync(dir, { recursive: true, force: true });
  if (res.status !== 0) {
    process.stderr.write(res.stderr);
    throw new Error(`the scikit-learn peer failed (exit ${res.status}); it needs Debian's python3-sklearn at /usr/bin/python3`);
  }
  const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const versions = lines.shift()!;
  const rows: Row[] = ours.map((o) => {
    const peer = lines.find((l) => l.dataset === o.dataset && l.model === o.model);
    if (!peer) throw new Error(`no scikit-learn result for ${o.dataset}/${o.model}`);
    const peerSeeds = peer.seedScores as number[];
    return {
      ...o, sklearn: peer.score as number, sklearnFit: median(peer.fitSeconds as number[]),
      sklearnSeedMean: o.oursSeedMean !== undefined ? mean(peerSeeds) : undefined,
    };
  });

  const peerName: Record<string, string> = {
    logistic_regression: 'LogisticRegression', linear_regression: 'Ridge',
    random_forest: 'RandomForest (n_jobs=None)', gradient_boosting: 'HistGradientBoosting',
  };
  const out: string[] = [];
  out.push(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); scikit-learn ${String(versions.sklearn)}, NumPy ${String(versions.numpy)}; `
    + `fit time = median of ${repeats} fits (mnist: one); ours threads=${threads}; scikit-learn OMP_NUM_THREADS=${peerThreads ?? 'default (all cores)'}; `
    + `forest scores also averaged over seeds 0-${seeds - 1}.`);
  out.push('');
  out.push('| data set | model (scikit-learn peer) | metric | ours | scikit-learn | Δ points | seed mean ours / sklearn | our fit | sklearn fit | sklearn / ours |');
  out.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const d = (r.ours - r.sklearn) * 100;
    const seedMean = r.oursSeedMean !== undefined ? `${r.oursSeedMean.toFixed(4)} / ${r.sklearnSeedMean!.toFixed(4)}` : '—';
    out.push(`| ${r.dataset} | ${r.model} (${peerName[r.model]}) | ${r.metric} | ${r.ours.toFixed(4)} | ${r.sklearn.toFixed(4)} | ${d >= 0 ? '+' : ''}${d.toFixed(2)} | ${seedMean} | ${fmt(r.oursFit)} | ${fmt(r.sklearnFit)} | ${(r.sklearnFit / r.oursFit).toFixed(2)}× |`);
  }
  console.log(out.join('\n'));
  if (args.includes('--json')) console.log(JSON.stringify(rows, null, 2));
}

/** The first `train` MNIST training images and `test` test images (rows train … train + test − 1), pixels 0 … 255. */
function loadMnist(train: number, test: number): ExampleDataset {
  const read = (file: string, max: number): number[][] => gunzipSync(readFileSync(`${exampleDataDir()}/${file}`)).toString()
    .trim().split('\n').slice(1, max + 1).map((l) => l.split(',').map(Number));
  const rows = [...read('mnist_train.csv.gz', train), ...read('mnist_test.csv.gz', test)];
  const cols = rows[0]!.length - 1;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r.slice(1), i * cols));
  const y = Int32Array.from(rows, (r) => r[0]!);
  return {
    name: 'mnist', x: { data, rows: rows.length, cols }, target: { task: 'classification', y, classCount: 10 },
    featureNames: Array.from({ length: cols }, (_, j) => `pixel${j}`),
  };
}

function fmt(s: number): string {
  return s < 0.1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(3)} s`;
}

main();
