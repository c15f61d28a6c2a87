/**
 * Training through the API as a user does it: upload, POST /v1/jobs train/tune, metrics,
 * registered versions, the ONNX artifact run by plain onnxruntime-node, bad specs refused before
 * anything queues.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { TERMINAL, until, waitJob } from '../testing/jobs-helpers.js';

const file = (name: string) => fs.readFileSync(path.join(EXAMPLES, name));

/** Waits for the job to end, however long the machine takes (the test runner's timeout is the bound). */
const finished = (s: TestServer, key: string, id: string) => waitJob(s, id, { key });

async function train(s: TestServer, key: string, spec: Record<string, unknown>) {
  const r = await s.call('POST', '/v1/jobs', { key, json: { type: 'train', ...spec } });
  assert.equal(r.status, 202, r.text);
  const job = await finished(s, key, r.body.id);
  assert.equal(job.status, 'succeeded', `${job.error}`);
  return job;
}

/** Raw rows of a CSV as the model's two inputs, following the version's signature. */
function feedsFor(signature: any, csv: string) {
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const cols = header!.split(',');
  const rows = lines.map((l) => l.split(','));
  const numeric = signature.inputs.filter((i: any) => i.tensor === 'features');
  const categorical = signature.inputs.filter((i: any) => i.tensor === 'categories');
  const feeds: Record<string, ort.Tensor> = {};
  if (numeric.length) {
    const data = Float32Array.from(rows.flatMap((r) => numeric.map((i: any) => {
      const v = r[cols.indexOf(i.name)]!;
      return v === '' ? NaN : i.type === 'boolean' ? (v === 'true' ? 1 : 0) : Number(v);
    })));
    feeds.features = new ort.Tensor('float32', data, [rows.length, numeric.length]);
  }
  if (categorical.length) feeds.categories = new ort.Tensor('string', rows.flatMap((r) => categorical.map((i: any) => r[cols.indexOf(i.name)]!)), [rows.length, categorical.length]);
  return { feeds, rows, cols };
}

describe('training service', () => {
  let s: TestServer;
  let dev: string;
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('ml-co')).developer;
    for (const [name, f] of [['iris', 'iris.csv'], ['loans', 'loans.csv'], ['diabetes', 'diabetes.csv'], ['mnist', 'mnist_train.csv.gz'], ['mnist-test', 'mnist_test.csv.gz']]) {
      const r = await s.call('POST', `/v1/datasets?name=${name}`, { key: dev, body: file(f!) });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => s.stop());

  test('an iris classifier: metrics, a registered version, and an artifact plain onnxruntime-node runs identically', async () => {
    const job = await train(s, dev, { name: 'iris-classifier', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } });
    assert.deepEqual(job.result, { model: 'iris-classifier', version: 1 });
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'logLoss']) assert.equal(typeof job.metrics.test[k], 'number', k);
    for (const k of ['trainSeconds', 'trainSamplesPerSecond']) assert.equal(typeof job.metrics.training[k], 'number', k);
    assert.ok(job.metrics.test.accuracy > 0.9, `accuracy ${job.metrics.test.accuracy}`);
    assert.deepEqual(job.metrics.test.labels, ['setosa', 'versicolor', 'virginica']);
    assert.equal(job.metrics.test.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0), job.metrics.training.testRows);
    assert.equal(job.metrics.training.testRows, 30);
    assert.ok(job.metrics.featureImportance.length === 4 && job.metrics.featureImportance[0].feature.startsWith('petal'));

    const v = (await s.call('GET', '/v1/models/iris-classifier/versions/1', { key: dev })).body;
    assert.equal(v.kind, 'logistic_regression');
    assert.equal(v.task, 'classification');
    assert.equal(v.lineage.job, job.id);
    assert.equal(v.lineage.datasetVersion, 1);
    assert.deepEqual(v.signature.inputs.map((i: any) => i.name), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    assert.deepEqual(v.signature.labels, ['setosa', 'versicolor', 'virginica']);

    const artifact = await fetch(`${s.url}/v1/models/iris-classifier/versions/1/artifact`, { headers: { authorization: `Bearer ${dev}` } });
    const session = await ort.InferenceSession.create(new Uint8Array(await artifact.arrayBuffer()));
    const { feeds, rows, cols } = feedsFor(v.signature, file('iris.csv').toString());
    const out = await session.run(feeds);
    await session.release();
    const labels = Array.from(out.label!.data as BigInt64Array, (i) => v.signature.labels[Number(i)]);
    const truth = rows.map((r) => r[cols.indexOf('species')]);
    const accuracy = labels.filter((l, i) => l === truth[i]).length / rows.length;
    assert.ok(accuracy > 0.93, `artifact accuracy on all rows ${accuracy}`);

    // The platform's own predictions (an endpoint on the same version) match the plain runtime's.
    const ep = await s.call('POST', '/v1/endpoints', { key: dev, json: { name: 'iris', model: 'iris-classifier', version: 1 } });
    assert.equal(ep.status, 201, ep.text);
    await until('the endpoint to be ready', async () => (await s.call('GET', '/v1/endpoints/iris', { key: dev })).body.status === 'ready');
    const instances = rows.map((r) => Object.fromEntries(cols.slice(0, 4).map((c, j) => [c, Number(r[j])])));
    const pred = await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances } });
    assert.equal(pred.status, 200, pred.text);
    assert.deepEqual(pred.body.predictions.map((p: any) => p.label), labels);
    const probs = out.probabilities!.data as Float32Array;
    pred.body.predictions.forEach((p: any, i: number) => p.probabilities.forEach((q: number, k: number) => assert.ok(Math.abs(q - probs[i * 3 + k]!) < 1e-6)));
  });

  test('a loans default model with "auto" preprocessing: messy values, categories, duplicates', async () => {
    const job = await train(s, dev, { name: 'loans-default', dataset: 'loans', target: 'default', preprocessing: 'auto', model: { kind: 'gradient_boosting' } });
    assert.ok(job.metrics.test.accuracy > 0.75, `accuracy ${job.metrics.test.accuracy}`);
    assert.equal(typeof job.metrics.test.rocAuc, 'number');
    const v = (await s.call('GET', '/v1/models/loans-default/versions/1', { key: dev })).body;
    const purpose = v.signature.inputs.find((i: any) => i.name === 'purpose');
    assert.equal(purpose.tensor, 'categories');
    assert.ok(purpose.categories.includes('car') || purpose.categories.length > 2);
    assert.ok(v.signature.inputs.every((i: any) => i.nullable), 'auto imputes every column');
    // duplicates were dropped before splitting: fewer rows than the file's 5,100
    assert.ok(job.metrics.training.trainRows + job.metrics.training.testRows < 5100);
  });

  test('a diabetes regressor, linear and neural', async () => {
    const lin = await train(s, dev, { name: 'diabetes', dataset: 'diabetes', target: 'progression', model: { kind: 'linear_regression' } });
    for (const k of ['mse', 'rmse', 'mae', 'r2']) assert.equal(typeof lin.metrics.test[k], 'number');
    assert.ok(lin.metrics.test.r2 > 0.3, `r2 ${lin.metrics.test.r2}`);
    const mlp = await train(s, dev, { name: 'diabetes-mlp', dataset: 'diabetes', target: 'progression', model: { kind: 'mlp', hidden: [32] }, training: { epochs: 150, learningRate: 0.003 } });
    assert.ok(mlp.metrics.test.r2 > 0.3, `mlp r2 ${mlp.metrics.test.r2}`);
  });

  test('the MNIST MLP with a separate test dataset, with per-epoch metrics (importance skipped: 784 columns)', async () => {
    const job = await train(s, dev, {
      name: 'mnist-mlp', dataset: 'mnist', target: 'label', testDataset: 'mnist-test',
      model: { kind: 'mlp', hidden: [64], dropout: 0.2 }, training: { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.001 },
    });
    assert.equal(job.metrics.training.testRows, 2000);
    assert.ok(job.metrics.test.accuracy > 0.88, `accuracy ${job.metrics.test.accuracy}`);
    assert.equal(job.metrics.training.epochs, 2);
    const events = await fetch(`${s.url}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${dev}` } });
    const text = await events.text();
    assert.equal((text.match(/event: metrics/g) ?? []).length, 2, 'one metrics event per epoch');
    // The shape API.md promises: test, training and per-epoch history apart, nothing duplicated at the top.
    assert.deepEqual(Object.keys(job.metrics).sort(), ['history', 'test', 'training']);
    assert.deepEqual(job.metrics.history.map((h: any) => h.epoch), [1, 2]);
    for (const h of job.metrics.history) for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'learningRate', 'seconds']) assert.equal(typeof h[k], 'number', k);
    assert.equal(job.metrics.training.loss, job.metrics.history[1].loss, 'the training figures carry the last epoch');
    assert.notEqual(job.metrics.test.accuracy, job.metrics.history[1].accuracy);
    const v = (await s.call('GET', `/v1/models/${job.result.model}/versions/${job.result.version}`, { key: dev })).body;
    assert.deepEqual(v.metrics, job.metrics, 'the version keeps the job\'s metrics');
    // Wide data: permutation importance is not computed unless importanceRepeats asks for it.
    assert.equal(job.metrics.featureImportance, undefined);
    const logs = await s.call('GET', `/v1/jobs/${job.id}/logs`, { key: dev });
    assert.ok(logs.body.data.some((l: { line: string }) => /permutation importance skipped: 784 input columns/.test(l.line)), JSON.stringify(logs.body));
  });

  test('k-fold cross-validation is reported beside the test metrics', async () => {
    const job = await train(s, dev, { name: 'iris-cv', dataset: 'iris', target: 'species', cv: 4, importanceRepeats: 0, model: { kind: 'random_forest', nEstimators: 20 } });
    const cv = job.metrics.crossValidation;
    assert.equal(typeof job.metrics.test.accuracy, 'number');
    assert.deepEqual(job.metrics.history, [], 'a forest has no epochs');
    assert.equal(cv.folds, 4);
    assert.equal(cv.accuracy.folds.length, 4);
    assert.ok(cv.accuracy.mean > 0.85 && cv.accuracy.std >= 0, JSON.stringify(cv.accuracy));
  });

  test('a CNN on images: reshape and augmentation steps, channels-last', async () => {
    const job = await train(s, dev, {
      name: 'digits-cnn', dataset: 'mnist-test', target: 'label', importanceRepeats: 0,
      preprocessing: [{ op: 'scale', factor: 1 / 255 }, { op: 'reshape', shape: [28, 28, 1] }, { op: 'augment', rotate: 8, shift: 0.08 }],
      model: { kind: 'sequential', layers: [
        { type: 'conv2d', filters: 8, kernelSize: 5, activation: 'relu' }, { type: 'max_pool2d', poolSize: 2 },
        { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' },
      ] },
      training: { epochs: 2, batchSize: 32 },
    });
    assert.ok(job.metrics.test.accuracy > 0.7, `accuracy ${job.metrics.test.accuracy}`);
    const v = (await s.call('GET', '/v1/models/digits-cnn/versions/1', { key: dev })).body;
    assert.equal(v.signature.inputs.length, 784, 'the endpoint takes raw pixel columns; reshaping is inside the graph');
  });

  test('a preempted training job checkpoints and resumes where it stopped', async () => {
    const r = await s.call('POST', '/v1/jobs', {
      key: dev, json: {
        type: 'train', name: 'mnist-preempted', dataset: 'mnist', target: 'label', importanceRepeats: 0, priority: 0,
        model: { kind: 'mlp', hidden: [64] }, training: { epochs: 40, batchSize: 32 },
      },
    });
    assert.equal(r.status, 202, r.text);
    const training = await waitJob(s, r.body.id, { key: dev, pred: (j) => j.progress.epoch >= 2 || TERMINAL.includes(j.status) });
    assert.equal(training.status, 'running', training.error);
    // A more important job needs the whole node: the training job must make way.
    const urgent = await s.call('POST', '/v1/jobs', { key: dev, json: { type: 'sleep', seconds: 0.5, steps: 1, priority: 10, resources: { cpu: 2, memoryMb: 256 } } });
    assert.equal(urgent.status, 202, urgent.text);
    const job = await finished(s, dev, r.body.id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(job.metrics.training.epochs, 40);
    assert.deepEqual(job.metrics.history.map((h: any) => h.epoch), Array.from({ length: 40 }, (_, i) => i + 1), 'one history entry per epoch across the runs');
    assert.ok(job.attempts.length >= 2, JSON.stringify(job.attempts));
    assert.equal(job.attempts[0].outcome, 'preempted');
    assert.ok(job.attempts.at(-1).resumedFromCheckpoint);
    const logs = await s.call('GET', `/v1/jobs/${r.body.id}/logs`, { key: dev });
    const resumedAt = Number(/resuming from checkpoint at epoch (\d+)/.exec(logs.text)?.[1]);
    assert.ok(resumedAt >= 2 && resumedAt < 40, logs.text);
    assert.equal((await finished(s, dev, urgent.body.id)).status, 'succeeded');
  });

  test('tuning: trials are child jobs, the best is registered with the trial table', async () => {
    const r = await s.call('POST', '/v1/jobs', {
      key: dev, json: {
        type: 'tune', name: 'iris-tuned', strategy: 'grid', cv: 3, metric: 'f1',
        base: { dataset: 'iris', target: 'species', model: { kind: 'random_forest', nEstimators: 20 } },
        space: { 'model.maxDepth': [1, 4], 'model.kind': ['random_forest', 'gradient_boosting'] },
      },
    });
    assert.equal(r.status, 202, r.text);
    const job = await finished(s, dev, r.body.id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(job.metrics.tuning.trials.length, 4);
    assert.equal(typeof job.metrics.test.f1, 'number', 'the best candidate\'s test metrics');
    assert.equal(job.metrics.f1, undefined);
    assert.ok(job.metrics.tuning.trials.every((t: any) => typeof t.score === 'number'));
    assert.deepEqual(job.result, { model: 'iris-tuned', version: 1 });
    const children = (await s.call('GET', '/v1/jobs?limit=100', { key: dev })).body.data.filter((j: any) => j.parent === job.id);
    assert.equal(children.length, 5); // 4 trials + the final training
    // depth-1 forests cannot separate three classes as well as deeper models
    const depth1 = job.metrics.tuning.trials.find((t: any) => t.params['model.maxDepth'] === 1 && t.params['model.kind'] === 'random_forest');
    assert.ok(job.metrics.tuning.best.score >= depth1.score);
  });

  test('bad specs are refused with a 422 that says how to fix them, and nothing is queued', async () => {
    const before = (await s.call('GET', '/v1/jobs?limit=500', { key: dev })).body.data.length;
    await s.call('POST', '/v1/datasets?name=one-class', { key: dev, body: 'x,y\n1,a\n2,a\n3,a\n' });
    await s.call('POST', '/v1/datasets?name=few-rows', { key: dev, body: 'x,y\n1,a\n2,b\n3,c\n' });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dataset: 'iris', target: 'colour' }, /column 'colour' is not in dataset 'iris'/],
      [{ dataset: 'nope', target: 'species' }, /dataset 'nope' does not exist/],
      [{ dataset: 'one-class', target: 'y' }, /single class/],
      [{ dataset: 'iris', target: 'species', task: 'regression' }, /regression target must be numeric/],
      [{ dataset: 'few-rows', target: 'y' }, /3 classes for 3 rows/],
      [{ dataset: 'iris', target: 'species', colour: 'red' }, /colour: unknown field/],
      [{ dataset: 'iris', target: 'species', training: { epochs: 5, momentun: 0.9 } }, /training.momentun: unknown field/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'naive_bayes' } }, /'naive_bayes' is not a model kind/],
      [{ dataset: 'iris', target: 'sepal_length', model: { kind: 'svm' } }, /model.kind: svm is a classifier/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'sequential', layers: [{ type: 'dense', units: 8 }, { type: 'wormhole' }] } }, /model.layers\[1\].type: unknown layer type "wormhole"/],
      [{ dataset: 'iris', task: 'language_modeling', text: 'sepal_length', model: { kind: 'causal_lm' } }, /text: column 'sepal_length' holds number values/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'text_classifier' } }, /text: dataset 'iris' has no text column/],
      [{ dataset: 'iris', target: 'species', tokenizer: { kind: 'char' } }, /tokenizer: applies to text_classifier models/],
      [{ dataset: 'iris', target: 'species', preprocessing: [{ op: 'normalise' }] }, /unknown op 'normalise'/],
      [{ dataset: 'iris', target: 'species', split: { test: 1.5 } }, /split.test/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'random_forest', nEstimators: 0 } }, /nEstimators/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'gradient_boosting', depth: 3 } }, /depth/],
      // Every level of the spec is strict and suggests the nearest field (issue #17).
      [{ dataset: 'iris', target: 'species', model: { kind: 'mlp', hiden: [4] } }, /model.hiden: unknown field; did you mean 'hidden'\?/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'sequential', layers: [{ type: 'dense', unit: 3, activation: 'softmax' }] } }, /model.layers\[0\].unit: unknown field; did you mean 'units'\?/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'mlp' }, training: { earlyStopping: { patiense: 3 } } }, /training.earlyStopping.patiense: unknown field; did you mean 'patience'\?/],
      [{ dataset: 'iris', target: 'species', model: { kind: 'mlp' }, training: { schedule: { type: 'step', stepSize: 2, gama: 0.5 } } }, /training.schedule.gama: unknown field; did you mean 'gamma'\?/],
      [{ dataset: 'iris', target: 'species', split: { tset: 0.3 } }, /split.tset: unknown field; did you mean 'test'\?/],
      [{ dataset: 'iris', target: 'species', testDataset: { name: 'iris', verison: 1 } }, /testDataset.verison: unknown field; did you mean 'version'\?/],
      [{ dataset: 'iris', target: 'species', preprocessing: [{ op: 'scale', facter: 2 }] }, /preprocessing\[0\].facter: unknown field .*did you mean 'factor'/i],
    ];
    for (const [spec, message] of cases) {
      const r = await s.call('POST', '/v1/jobs', { key: dev, json: { type: 'train', name: 'bad', ...spec } });
      assert.equal(r.status, 422, `${JSON.stringify(spec)}: ${r.text}`);
      assert.match(r.body.error.message, message);
    }
    const tune = await s.call('POST', '/v1/jobs', { key: dev, json: { type: 'tune', name: 'bad', stratgy: 'grid', base: { dataset: 'iris', target: 'species' }, space: { 'model.maxDepth': [1, 2] } } });
    assert.equal(tune.status, 422, tune.text);
    assert.match(tune.body.error.message, /stratgy: unknown field; did you mean 'strategy'\?/);
    assert.equal((await s.call('GET', '/v1/jobs?limit=500', { key: dev })).body.data.length, before);
  });

  test("a tenant cannot train on another tenant's dataset", async () => {
    const other = await s.tenant('ml-other');
    const r = await s.call('POST', '/v1/jobs', { key: other.developer, json: { type: 'train', name: 'steal', dataset: 'iris', target: 'species' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'unknown_dataset');
  });
});
