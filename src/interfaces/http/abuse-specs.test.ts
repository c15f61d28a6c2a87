/**
 * One developer request must never take the server down: oversized or misspelt train and tune
 * specs, decompression bombs and unusable names, all refused through real HTTP before anything is
 * queued or expanded, with messages that name the field and the limit. Nothing is left behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';

const MAX_BYTES = 4 * 2 ** 20;
const MAX_CELLS = 500_000;

/** A gzip of `bytes` zero bytes, streamed through zlib a MiB at a time (1 GB of zeros is about 1 MB). */
async function zeroGzip(bytes: number): Promise<Buffer> {
  const gz = zlib.createGzip();
  const parts: Buffer[] = [];
  gz.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve) => gz.on('end', resolve));
  const zero = Buffer.alloc(2 ** 20);
  for (let n = 0; n < bytes; n += zero.length) {
    if (!gz.write(zero)) await new Promise((resolve) => gz.once('drain', resolve));
  }
  gz.end();
  await ended;
  return Buffer.concat(parts);
}

/** Every file under the platform's home except the database: blobs, scratch and spool files. */
function filesUnder(home: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(e.name) && !e.name.endsWith('.key')) out.push(path.relative(home, p));
    }
  };
  walk(home);
  return out.sort();
}

describe('abusive specs and data', () => {
  let s: TestServer;
  let dev: string;
  const jobCount = async () => (await s.call('GET', '/v1/jobs?limit=1000', { key: dev })).body.data.length;
  const submit = (json: Record<string, unknown>) => s.call('POST', '/v1/jobs', { key: dev, json });
  const train = (spec: Record<string, unknown>) => submit({ type: 'train', name: 'abuse', dataset: 'iris', target: 'species', ...spec });

  before(async () => {
    s = await startTestServer({ AIAAS_DATASET_MAX_BYTES: String(MAX_BYTES), AIAAS_DATASET_MAX_CELLS: String(MAX_CELLS) });
    dev = (await s.tenant('abuse-co')).developer;
    const iris = await s.call('POST', '/v1/datasets?name=iris', { key: dev, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')) });
    assert.equal(iris.status, 201, iris.text);
    // 8×8 "images": 64 pixel columns in 0..255 and a label, for conv/pool shape checks.
    const header = [...Array.from({ length: 64 }, (_, i) => `p${i}`), 'label'].join(',');
    const rows = Array.from({ length: 40 }, (_, r) => [...Array.from({ length: 64 }, (_, i) => (r * 7 + i * 13) % 256), r % 2].join(','));
    const img = await s.call('POST', '/v1/datasets?name=tiny-images', { key: dev, body: [header, ...rows].join('\n') + '\n' });
    assert.equal(img.status, 201, img.text);
    const many = ['x,y', ...Array.from({ length: 6000 }, (_, i) => `${i},${'abc'[i % 3]}`)].join('\n') + '\n';
    assert.equal((await s.call('POST', '/v1/datasets?name=rows-6000', { key: dev, body: many })).status, 201);
    const diabetes = await s.call('POST', '/v1/datasets?name=diabetes', { key: dev, body: fs.readFileSync(path.join(EXAMPLES, 'diabetes.csv')) });
    assert.equal(diabetes.status, 201, diabetes.text);
  });
  after(() => s.stop());

  test('a tune grid of 10^20 points is refused from its size, before it is built, naming space and the trial limit', async () => {
    const before = await jobCount();
    const choices = Array.from({ length: 10 }, (_, i) => i + 1);
    const space: Record<string, unknown> = {};
    for (const k of ['maxDepth', 'nEstimators', 'minSamplesLeaf', 'minSamplesSplit', 'maxBins']) space[`model.${k}`] = choices;
    for (const k of ['epochs', 'batchSize', 'learningRate', 'momentum', 'weightDecay', 'clipNorm']) space[`training.${k}`] = choices;
    for (const k of ['test', 'validation', 'seed']) space[`split.${k}`] = choices;
    for (const k of ['patience', 'minDelta']) space[`training.earlyStopping.${k}`] = choices;
    Object.assign(space, { 'model.maxFeatures': choices, 'model.bootstrap': choices, 'model.maxSamples': choices, 'training.schedule.stepSize': choices });
    assert.equal(Object.keys(space).length, 20);
    const r = await submit({ type: 'tune', name: 'bomb', strategy: 'grid', base: { dataset: 'iris', target: 'species', model: { kind: 'random_forest' } }, space });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'search_space_too_large');
    assert.equal(r.body.error.details.field, 'space');
    assert.equal(r.body.error.details.maxTrials, 200);
    assert.match(r.body.error.message, /the grid has 100,000,000,000,000,000,000 points .*the limit of 200 trials/);
    assert.equal(await jobCount(), before);
  });

  test('grid sizes count steps and integer ranges exactly, against the trials asked for', async () => {
    const base = { dataset: 'iris', target: 'species', model: { kind: 'random_forest' } };
    // maxDepth 2, 4, 6 (step 2) × two kinds = 6 points, more than trials = 5
    const six = await submit({ type: 'tune', name: 'g', strategy: 'grid', trials: 5, base, space: { 'model.maxDepth': { min: 2, max: 6, step: 2, integer: true }, 'model.kind': ['random_forest', 'gradient_boosting'] } });
    assert.equal(six.status, 422, six.text);
    assert.match(six.body.error.message, /the grid has 6 points \(model.maxDepth: 3 × model.kind: 2\), more than trials = 5; narrow the space or raise trials/);
    // an integer range 1..2 has two values, whatever gridPoints says
    const two = await submit({ type: 'tune', name: 'g', strategy: 'grid', trials: 1, base, space: { 'model.maxDepth': { min: 1, max: 2, integer: true, gridPoints: 10 } } });
    assert.match(two.body.error.message, /the grid has 2 points/);
    const steps = await submit({ type: 'tune', name: 'g', strategy: 'grid', base, space: { 'model.nEstimators': { min: 1, max: 300, step: 1, integer: true } } });
    assert.equal(steps.status, 422, steps.text);
    assert.match(steps.body.error.message, /300 points .*the limit of 200 trials/);
  });

  test('tune space keys must be train-spec paths (with a suggestion) and ranges must make sense', async () => {
    const before = await jobCount();
    const base = { dataset: 'iris', target: 'species', model: { kind: 'random_forest' } };
    const cases: [Record<string, unknown>, RegExp, string][] = [
      [{ 'model.maxDepht': [1, 2] }, /space\['model.maxDepht'\]: not a path of the train spec; did you mean 'model.maxDepth'\?/, 'space.model.maxDepht'],
      [{ 'training.learningrate': [0.1] }, /did you mean 'training.learningRate'\?/, 'space.training.learningrate'],
      [{ 'colour': [1] }, /not a path of the train spec\. Tunable paths here: model.kind/, 'space.colour'],
      [{ 'model.maxDepth': { min: 5, max: 5 } }, /min \(5\) must be less than max \(5\)/, 'space.model.maxDepth'],
      [{ 'model.maxDepth': { min: 0, max: 5, log: true } }, /log-scale range needs min > 0/, 'space.model.maxDepth'],
      [{ 'model.maxDepth': { min: 1.5, max: 5, integer: true } }, /integer range needs integer bounds/, 'space.model.maxDepth'],
      [{ 'model.maxDepth': { min: 1, max: 5, stp: 1 } }, /unknown range field 'stp'; did you mean 'step'\?/, 'space.model.maxDepth'],
      [{ 'model.maxDepth': { min: 1, max: 5, step: 0 } }, /step must be a number > 0/, 'space.model.maxDepth'],
      [{ 'model.maxDepth': Array.from({ length: 1001 }, (_, i) => i) }, /1001 choices; the limit is 1000/, 'space.model.maxDepth'],
    ];
    for (const [space, message, field] of cases) {
      const r = await submit({ type: 'tune', name: 't', base, space });
      assert.equal(r.status, 422, `${JSON.stringify(space).slice(0, 80)}: ${r.text}`);
      assert.equal(r.body.error.code, 'invalid_search_space');
      assert.match(r.body.error.message, message);
      assert.equal(r.body.error.details.field, field);
    }
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`model.p${i}`, [1]]));
    const r = await submit({ type: 'tune', name: 't', base, space: many });
    assert.match(r.body.error.message, /21 keys; the limit is 20/);
    const noKind = await submit({ type: 'tune', name: 't', base: { dataset: 'iris', target: 'species' }, space: { 'model.maxDepth': [1, 2] } });
    assert.equal(noKind.status, 422, noKind.text);
    assert.equal(noKind.body.error.details.field, 'base.model');
    const trials = await submit({ type: 'tune', name: 't', strategy: 'random', trials: 100_000, base, space: { 'model.maxDepth': [1, 2] } });
    assert.match(trials.body.error.message, /trials: an integer from 1 to 200 \(the limit per tune job\)/);
    assert.equal(await jobCount(), before);
  });

  test('oversized networks and trees are refused before queueing, naming the field and the limit', async () => {
    const before = await jobCount();
    const wide4096 = Array.from({ length: 1000 }, () => ({ type: 'dense', units: 4096, activation: 'relu' }));
    const deep = Array.from({ length: 10 }, () => ({ type: 'dense', units: 4096 }));
    const cases: [Record<string, unknown>, RegExp, string][] = [
      [{ model: { kind: 'mlp', hidden: [10_000_000] } }, /model.hidden\[0\]: must be an integer from 1 to 65536 \(the limit per layer\)/, 'model.hidden[0]'],
      [{ model: { kind: 'mlp', hidden: Array(300).fill(8) } }, /model.hidden: has 300 entries; the limit is 256 layers/, 'model.hidden'],
      [{ model: { kind: 'sequential', layers: wide4096 } }, /model.layers: has 1000 layers; the limit is 256/, 'model.layers'],
      [{ model: { kind: 'sequential', layers: [...deep, { type: 'dense', units: 3 }] } }, /model.layers\[3\]: the network reaches 50,364,416 trainable parameters at layer 3 \(dense\); the limit is 50,000,000/, 'model.layers[3]'],
      [{ model: { kind: 'mlp', hidden: [65_536, 65_536] } }, /model.hidden: the network reaches 4,295,360,512 trainable parameters at layer 1 of the expanded mlp \(dense\); the limit is 50,000,000/, 'model.hidden'],
      [{ model: { kind: 'mlp', hidden: [8192] }, training: { batchSize: 65_536 } }, /training.batchSize: a batch of 65536 examples produces 537,067,520 activation values \(8,195 per example\); the limit is 268,435,456/, 'training.batchSize'],
      [{ model: { kind: 'random_forest', maxDepth: 1_000_000 } }, /model.maxDepth: Parameter 'maxDepth' must be null or an integer in \[1, 64\]/, 'model.maxDepth'],
      [{ model: { kind: 'random_forest', nEstimators: 100_000 } }, /model.nEstimators: .*\[1, 5000\]/, 'model.nEstimators'],
      [{ model: { kind: 'gradient_boosting', maxIter: 1_000_000 } }, /model.maxIter: .*\[1, 10000\]/, 'model.maxIter'],
    ];
    for (const [spec, message, field] of cases) {
      const r = await train(spec);
      assert.equal(r.status, 422, `${JSON.stringify(spec).slice(0, 100)}: ${r.text}`);
      assert.match(r.body.error.message, message);
      assert.equal(r.body.error.details.field, field, r.text);
    }
    assert.equal(await jobCount(), before);
  });

  test('a tree ensemble whose worst-case size exceeds the node limit is refused from the dataset rows', async () => {
    const before = await jobCount();
    const forest = await train({ dataset: 'rows-6000', target: 'y', model: { kind: 'random_forest', nEstimators: 5000 } });
    assert.equal(forest.status, 422, forest.text);
    assert.equal(forest.body.error.details.field, 'model.nEstimators');
    assert.match(forest.body.error.message, /random_forest on 6,000 rows may grow up to 59,995,000 tree nodes; the limit is 50,000,000\. Lower nEstimators, or set maxDepth or minSamplesLeaf/);
    const boosting = await train({ dataset: 'rows-6000', target: 'y', model: { kind: 'gradient_boosting', maxIter: 10_000, maxLeafNodes: 65_536, minSamplesLeaf: 1 } });
    assert.equal(boosting.status, 422, boosting.text);
    assert.equal(boosting.body.error.details.field, 'model.maxIter');
    assert.match(boosting.body.error.message, /gradient_boosting on 6,000 rows may grow up to 359,970,000 tree nodes/);
    assert.equal(await jobCount(), before);
    // the same forest with shallow trees is a small model: accepted (and cancelled: only the check matters here)
    const shallow = await train({ dataset: 'rows-6000', target: 'y', model: { kind: 'random_forest', nEstimators: 2, maxDepth: 3 } });
    assert.equal(shallow.status, 202, shallow.text);
    await s.call('POST', `/v1/jobs/${shallow.body.id}/cancel`, { key: dev });
  });

  test('one-hot encoding that would make the feature matrix too large is refused, naming the widest columns', async () => {
    // 100,000 rows × 3 category columns of 1,000 values: 300 million encoded values
    const lines = ['a,b,c,y', ...Array.from({ length: 100_000 }, (_, i) => `a${i % 1000},b${(i * 7) % 1000},c${(i * 13) % 1000},${i % 2}`)];
    const up = await s.call('POST', '/v1/datasets?name=wide-categories', { key: dev, body: lines.join('\n') + '\n' });
    assert.equal(up.status, 201, up.text);
    assert.deepEqual(up.body.columns.map((c: { type: string }) => c.type), ['category', 'category', 'category', 'integer']);
    const r = await train({ dataset: 'wide-categories', target: 'y', model: { kind: 'logistic_regression' } });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.details.field, 'preprocessing');
    assert.match(r.body.error.message, /100,000 rows × 3,000 encoded features = 300,000,000 values, more than the limit of 200,000,000\. The widest one-hot columns: a \(1000 values\)/);
    const dropped = await train({ dataset: 'wide-categories', target: 'y', preprocessing: [{ op: 'drop', columns: ['b', 'c'] }, { op: 'one_hot' }], model: { kind: 'logistic_regression' } });
    assert.equal(dropped.status, 202, dropped.text);
    await s.call('POST', `/v1/jobs/${dropped.body.id}/cancel`, { key: dev });
  });

  test('network outputs must match the task, and windows must fit the input', async () => {
    const cases: [Record<string, unknown>, RegExp, string][] = [
      [{ model: { kind: 'sequential', layers: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 5 }] } }, /model.layers\[1\]: layer 1 \(dense\): the network ends with shape \[5\] but the task needs \[3\] \(3 classes\)/, 'model.layers[1]'],
      [{ dataset: 'diabetes', target: 'progression', model: { kind: 'sequential', layers: [{ type: 'dense', units: 3 }] } }, /ends with shape \[3\] but the task needs \[1\] \(1 regression targets\)/, 'model.layers[0]'],
      [{ dataset: 'tiny-images', target: 'label', preprocessing: [{ op: 'reshape', shape: [8, 8, 1] }], model: { kind: 'sequential', layers: [{ type: 'conv2d', filters: 4, kernelSize: 9 }, { type: 'flatten' }, { type: 'dense', units: 2 }] } },
        /model.layers\[0\]: layer 0 \(conv2d\): window \[9, 9\] does not fit input \[8, 8, 1\]/, 'model.layers[0]'],
      [{ dataset: 'tiny-images', target: 'label', model: { kind: 'cnn', filters: [4, 4, 4], kernelSize: 3 } }, /model \(layer \d+ of the expanded cnn\): .*does not fit.*Use fewer filters/, 'model'],
      [{ model: { kind: 'sequential', layers: [{ type: 'max_pool2d', poolSize: 2 }, { type: 'dense', units: 3 }] } }, /model.layers\[0\]: .*needs an image input/, 'model.layers[0]'],
      [{ dataset: 'diabetes', target: 'progression', model: { kind: 'cnn' } }, /model: cnn: input of 10 features is not a square image/, 'model'],
      [{ model: { kind: 'sequential', layers: [{ type: 'conv2d', filters: 4, kernelSize: 1000 }] } }, /model.layers\[0\].kernelSize: must be an integer from 1 to 64/, 'model.layers[0].kernelSize'],
    ];
    for (const [spec, message, field] of cases) {
      const r = await train(spec);
      assert.equal(r.status, 422, `${JSON.stringify(spec).slice(0, 100)}: ${r.text}`);
      assert.match(r.body.error.message, message);
      assert.equal(r.body.error.details.field, field, r.text);
    }
  });

  test('unknown fields at every level of a train spec are refused with the path and the nearest known field', async () => {
    const before = await jobCount();
    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [{ model: { kind: 'mlp', hiden: [4] } }, 'model.hiden', 'hidden'],
      [{ model: { kind: 'cnn', filter: [4] } }, 'model.filter', 'filters'],
      [{ model: { kind: 'sequential', layers: [{ type: 'dense', unit: 3 }] } }, 'model.layers[0].unit', 'units'],
      [{ model: { kind: 'sequential', layers: [{ type: 'dens', units: 3 }] } }, 'model.layers[0].type', undefined],
      [{ model: { kind: 'sequential', layers: [{ type: 'dropout', rate: 0.1, units: 3 }, { type: 'dense', units: 3 }] } }, 'model.layers[0].units', undefined],
      [{ training: { epochs: 1, earlyStopping: { patiense: 2 } } }, 'training.earlyStopping.patiense', 'patience'],
      [{ training: { schedule: { type: 'step', stepSize: 2, gama: 0.5 } } }, 'training.schedule.gama', 'gamma'],
      [{ training: { schedule: { type: 'constant', rate: 1 } } }, 'training.schedule.rate', undefined],
      [{ training: { batchsize: 8 } }, 'training.batchsize', 'batchSize'],
      [{ split: { tset: 0.2 } }, 'split.tset', 'test'],
      [{ preprocessing: [{ op: 'impute', strategy: 'mean', colums: ['sepal_length'] }] }, 'preprocessing[0].colums', undefined],
      [{ model: { kind: 'random_forest', maxDepht: 3 } }, 'model.maxDepht', 'maxDepth'],
      [{ targte: 'species' }, 'targte', 'target'],
    ];
    for (const [spec, field, suggestion] of cases) {
      const r = await train(spec);
      assert.equal(r.status, 422, `${field}: ${r.text}`);
      assert.equal(r.body.error.details.field, field, r.text);
      assert.match(r.body.error.message, new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `), r.text);
      if (suggestion) assert.match(r.body.error.message, new RegExp(`did you mean '${suggestion}'\\?`, 'i'), r.text);
    }
    const step = await train({ preprocessing: [{ op: 'impute', strategy: 'mean', colums: ['sepal_length'] }] });
    assert.match(step.body.error.message, /did you mean 'columns'\?/i);
    const layerType = await train({ model: { kind: 'sequential', layers: [{ type: 'dens', units: 3 }] } });
    assert.match(layerType.body.error.message, /Did you mean 'dense'\?/);
    // names of Object's own properties are not fields, ops or kinds (no 500 from a prototype lookup)
    assert.equal((await train({ preprocessing: [{ op: 'constructor' }] })).status, 422);
    assert.equal((await train({ model: { kind: 'sequential', layers: [{ type: 'toString' }] } })).status, 422);
    const proto = await submit({ type: 'tune', name: 't', base: { dataset: 'iris', target: 'species' }, space: { 'model.kind': ['constructor', 'random_forest'] } });
    assert.equal(proto.status, 422, proto.text);
    const kind = await train({ model: { kind: 'random_forrest' } });
    assert.match(kind.body.error.message, /Did you mean 'random_forest'\?/);
    assert.equal(await jobCount(), before);
  });

  test('a gzip of 1 GB of zeros is a 413 naming the limit and its setting, and leaves nothing behind', async () => {
    const bomb = await zeroGzip(1e9);
    assert.ok(bomb.length < MAX_BYTES, `the bomb itself (${bomb.length} bytes) is under the upload limit`);
    const files = filesUnder(s.home);
    const datasets = (await s.call('GET', '/v1/datasets', { key: dev })).body.data.length;
    const r = await s.call('POST', '/v1/datasets?name=bomb', { key: dev, body: bomb, headers: { 'content-type': 'application/gzip' } });
    assert.equal(r.status, 413, r.text);
    assert.equal(r.body.error.code, 'payload_too_large');
    assert.equal(r.body.error.details.limit, MAX_BYTES);
    assert.equal(r.body.error.details.decompressed, true);
    assert.match(r.body.error.message, new RegExp(`decompresses to more than ${MAX_BYTES} bytes.*AIAAS_DATASET_MAX_BYTES`));
    assert.deepEqual(filesUnder(s.home), files, 'no blob, spool or columnar file is left');
    assert.equal((await s.call('GET', '/v1/datasets', { key: dev })).body.data.length, datasets);
    assert.equal((await s.call('GET', '/v1/datasets/bomb', { key: dev })).status, 404);
    // the server is still fine
    assert.equal((await s.call('GET', '/v1/datasets/iris', { key: dev })).status, 200);
  });

  test('a table over the cell limit is a 413 naming rows, columns, the limit and its setting', async () => {
    const cols = 501;
    const header = Array.from({ length: cols }, (_, i) => `c${i}`).join(',');
    const row = Array(cols).fill('1').join(',');
    const csv = [header, ...Array(1000).fill(row)].join('\n') + '\n'; // 501,000 cells, 1 MB
    const files = filesUnder(s.home);
    const r = await s.call('POST', '/v1/datasets?name=wide', { key: dev, body: csv });
    assert.equal(r.status, 413, r.text);
    assert.equal(r.body.error.details.limit, MAX_CELLS);
    assert.equal(r.body.error.details.columns, cols);
    assert.match(r.body.error.message, /999 rows × 501 columns, more than the limit of 500000 cells.*AIAAS_DATASET_MAX_CELLS/);
    assert.deepEqual(filesUnder(s.home), files);
    const ok = await s.call('POST', '/v1/datasets?name=wide', { key: dev, body: [header, ...Array(998).fill(row)].join('\n') + '\n' });
    assert.equal(ok.status, 201, ok.text);
  });

  test('datasets cannot be named like ids, and column names have a length limit', async () => {
    for (const name of ['ds_01abc', 'job_x', 'MV_3', 'ep_iris']) {
      const r = await s.call('POST', `/v1/datasets?name=${name}`, { key: dev, body: 'a,b\n1,2\n' });
      assert.equal(r.status, 422, `${name}: ${r.text}`);
      assert.equal(r.body.error.code, 'invalid_name');
      assert.match(r.body.error.message, /must not look like an id/);
    }
    assert.equal((await s.call('POST', '/v1/datasets?name=ds-fine', { key: dev, body: 'a,b\n1,2\n' })).status, 201);
    const long = 'x'.repeat(257);
    const csv = await s.call('POST', '/v1/datasets?name=long-cols', { key: dev, body: `a,${long}\n1,2\n` });
    assert.equal(csv.status, 422, csv.text);
    assert.equal(csv.body.error.code, 'column_name_too_long');
    assert.equal(csv.body.error.details.position, 2);
    assert.match(csv.body.error.message, /Column 2 has a name of 257 characters .*the limit is 256/);
    const jsonl = await s.call('POST', '/v1/datasets?name=long-cols&format=jsonl', { key: dev, body: `{"a": 1, "${long}": 2}\n` });
    assert.equal(jsonl.status, 422, jsonl.text);
    assert.equal(jsonl.body.error.details.position, 2);
    assert.equal((await s.call('POST', '/v1/datasets?name=ok-cols', { key: dev, body: `a,${'y'.repeat(256)}\n1,2\n` })).status, 201);
  });
});
