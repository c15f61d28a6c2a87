/**
 * A/B of the tree estimators between two builds (not part of `npm run bench`): fits one bench:ml
 * case (same data preparation: 80/20 split with seed 0, median imputation and standardisation
 * fitted on the training rows; `mnist` = the first 8,000 / 2,000 images as in `bench:ml -- --mnist`)
 * with the estimators of `<worktree>/dist`, and prints per-fit wall and CPU milliseconds, the test
 * score and SHA-1 prefixes of the fitted trees and of the test predictions (same hashes = same model).
 *
 *   node bench/tree-ab.mjs <worktree> <iris|loans|diabetes|mnist> <random_forest|gradient_boosting> [threads=1] [fits=1] [params-json]
 *
 * Fits = 0 stops after loading the data, for instruction counts that do not depend on the load:
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node bench/tree-ab.mjs <worktree> loans random_forest 1 1
 * minus the same with fits 0 is one (cold) fit plus the evaluation.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
const [root, name, kind, threadsArg = '1', repeatsArg = '1', extra = '{}'] = process.argv.slice(2);
if (!root || !name || !kind) throw new Error('usage: node bench/tree-ab.mjs <worktree> <dataset> <kind> [threads] [fits] [params-json]');
// The worktree relative to the working directory (an import() path would be relative to bench/).
const dist = pathToFileURL(resolve(root, 'dist/src/ml')).href;
const ex = await import(`${dist}/testing/example-data.js`);
const est = await import(`${dist}/estimators/index.js`);
const { subset } = await import(`${dist}/metrics/cross-validation.js`);
const { trainTestSplit } = await import(`${dist}/metrics/validation.js`);
function loadMnist(train, test) {
  const read = (file, max) => gunzipSync(readFileSync(`${ex.exampleDataDir()}/${file}`)).toString().trim().split('\n').slice(1, max + 1).map((l) => l.split(',').map(Number));
  const rows = [...read('mnist_train.csv.gz', train), ...read('mnist_test.csv.gz', test)];
  const cols = rows[0].length - 1;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r.slice(1), i * cols));
  return { x: { data, rows: rows.length, cols }, target: { task: 'classification', y: Int32Array.from(rows, (r) => r[0]), classCount: 10 } };
}
const mnist = name === 'mnist';
const ds = mnist ? loadMnist(8000, 2000) : ex.loadExample(name);
const t = ds.target;
const split = mnist
  ? { train: Int32Array.from({ length: 8000 }, (_, i) => i), test: Int32Array.from({ length: 2000 }, (_, i) => 8000 + i) }
  : trainTestSplit(ds.x.rows, { testFraction: 0.2, seed: 0, stratify: t.task === 'classification' ? { y: t.y, classCount: t.classCount } : undefined });
if (!mnist) { ex.imputeMedian(ds.x, split.train); ex.standardize(ds.x, split.train); }
const train = subset(ds.x, t, split.train);
const test = subset(ds.x, t, split.test);
const times = [];
const cpus = [];
let state;
for (let r = 0; r < Number(repeatsArg); r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  state = est.fitModel({ kind, ...JSON.parse(extra) }, train.x, train.target, { seed: 0, threads: Number(threadsArg) });
  times.push(performance.now() - t0);
  const c1 = process.cpuUsage(c0);
  cpus.push((c1.user + c1.system) / 1000);
}
if (Number(repeatsArg) === 0) process.exit(0); // startup and data loading only
const cpu = process.cpuUsage();
const m = est.evaluateModel(state, test.x, test.target);
const proba = t.task === 'classification' ? est.predictProba(state, test.x) : Float64Array.from(est.predict(state, test.x).values ?? est.predict(state, test.x));
const h = (s) => createHash('sha1').update(s).digest('hex').slice(0, 12);
const model = h(JSON.stringify(state.trees.map((tr) => [tr.feature, tr.threshold, tr.left, tr.right, tr.missingLeft, tr.value])));
console.log(JSON.stringify({ name, kind, times: times.map((x) => +x.toFixed(2)), cpus: cpus.map((x) => +x.toFixed(1)), score: m.accuracy ?? m.r2, model, pred: h(Buffer.from(proba.buffer)) }));
