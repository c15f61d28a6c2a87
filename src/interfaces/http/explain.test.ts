/**
 * POST /v1/endpoints/{name}/explain over real HTTP, on models trained through the job API from
 * the loans data: exact TreeSHAP for a forest and a booster, KernelSHAP through the replicas for
 * an MLP and an imported model; the values sum to the explained output, which is the endpoint's
 * own prediction; the same refusals as predict (scoped keys, other tenants).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { until, waitJob } from '../testing/jobs-helpers.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';
import { AiaasClient } from '../../sdk/client.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const LOANS_COLUMNS = ['age', 'income', 'employment', 'home_ownership', 'loan_amount', 'credit_score', 'late_payments', 'purpose'];
const applicants = [
  { age: 57, income: 77908.4, employment: 'unemployed', home_ownership: 'own', loan_amount: 36704.34, credit_score: 570, late_payments: 1, purpose: 'other' },
  { age: 31, income: 52000, employment: 'salaried', home_ownership: 'rent', loan_amount: 8000, credit_score: 720, late_payments: 0, purpose: 'car' },
];

async function trainAndDeploy(s: TestServer, key: string, name: string, model: Record<string, unknown>, training?: Record<string, unknown>) {
  const r = await s.call('POST', '/v1/jobs', { key, json: { type: 'train', name, dataset: 'loans', target: 'default', preprocessing: 'auto', model, ...(training ? { training } : {}) } });
  assert.equal(r.status, 202, r.text);
  const job = await waitJob(s, r.body.id, { key });
  assert.equal(job.status, 'succeeded', `${job.error}`);
  await deploy(s, key, name);
}

async function deploy(s: TestServer, key: string, name: string) {
  const e = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name, model: name, version: 1, replicas: { min: 1, max: 1 } } });
  assert.equal(e.status, 201, e.text);
  await until(`${name} ready`, async () => (await s.call('GET', `/v1/endpoints/${name}`, { key })).body.status === 'ready');
}

/** Local accuracy, every raw column present (one-hot columns folded back), and the prediction the answer states. */
function checkExplanations(body: any, columns: string[]) {
  assert.equal(body.explanations.length, applicants.length);
  for (const e of body.explanations) {
    assert.deepEqual(Object.keys(e.values).sort(), [...columns].sort());
    const sum = Object.values(e.values as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(e.baseValue + sum - e.prediction) < 1e-6, `base ${e.baseValue} + ${sum} ≠ ${e.prediction}`);
    assert.ok(Object.values(e.values as Record<string, number>).some((v) => v !== 0), 'some column moves the prediction');
  }
}

describe('explanations', () => {
  let s: TestServer;
  let dev: string;
  let tenantId: string;
  let strangerKey: string;
  let predict: (name: string) => Promise<any[]>;
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    ({ developer: dev, id: tenantId } = await s.tenant('explain-co'));
    strangerKey = (await s.tenant('explain-other')).developer;
    const up = await s.call('POST', '/v1/datasets?name=loans', { key: dev, body: fs.readFileSync(path.join(EXAMPLES, 'loans.csv')) });
    assert.equal(up.status, 201, up.text);
    await trainAndDeploy(s, dev, 'loans-forest', { kind: 'random_forest', nEstimators: 20, maxDepth: 6 });
    await trainAndDeploy(s, dev, 'loans-boost', { kind: 'gradient_boosting', maxIter: 30, maxDepth: 4 });
    await trainAndDeploy(s, dev, 'loans-mlp', { kind: 'mlp', hidden: [8] }, { epochs: 3 });
    predict = async (name) => {
      const r = await s.call('POST', `/v1/endpoints/${name}/predict`, { key: dev, json: { instances: applicants } });
      assert.equal(r.status, 200, r.text);
      return r.body.predictions;
    };
  });
  after(() => s.stop());

  test('a random forest: exact TreeSHAP in probability space, summing to the probability the endpoint predicts', async () => {
    const r = await s.call('POST', '/v1/endpoints/loans-forest/explain', { key: dev, json: { instances: applicants } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.method, 'tree_shap_interventional');
    assert.equal(r.body.backgroundRows, 100);
    checkExplanations(r.body, LOANS_COLUMNS);
    const predictions = await predict('loans-forest');
    r.body.explanations.forEach((e: any, i: number) => {
      assert.equal(e.output, 'probability');
      assert.equal(e.class, predictions[i].label);
      const labels = ['no', 'yes'];
      assert.ok(Math.abs(e.prediction - predictions[i].probabilities[labels.indexOf(e.class)]) < 1e-5, `${e.prediction} vs ${predictions[i].probabilities}`);
    });
  });

  test('gradient boosting: exact TreeSHAP in margin (log-odds) space of the second class', async () => {
    const r = await s.call('POST', '/v1/endpoints/loans-boost/explain', { key: dev, json: { instances: applicants } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.method, 'tree_shap_interventional');
    checkExplanations(r.body, LOANS_COLUMNS);
    const predictions = await predict('loans-boost');
    r.body.explanations.forEach((e: any, i: number) => {
      assert.equal(e.output, 'margin');
      assert.equal(e.class, 'yes');
      const p = predictions[i].probabilities[1];
      assert.ok(Math.abs(e.prediction - Math.log(p / (1 - p))) < 1e-4, `${e.prediction} vs logit(${p})`);
    });
  });

  test('an MLP: KernelSHAP through the replicas, exact with every coalition of its 8 columns, the predicted probability explained', async () => {
    const r = await s.call('POST', '/v1/endpoints/loans-mlp/explain', { key: dev, json: { instances: applicants, samples: 254 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.method, 'kernel_shap_exact');
    assert.equal(r.body.samples, 254);
    assert.equal(r.body.backgroundRows, 20);
    checkExplanations(r.body, LOANS_COLUMNS);
    const predictions = await predict('loans-mlp');
    r.body.explanations.forEach((e: any, i: number) => {
      assert.equal(e.output, 'probability');
      assert.ok(Math.abs(e.prediction - Math.max(...predictions[i].probabilities)) < 1e-5);
    });
    const sampled = await s.call('POST', '/v1/endpoints/loans-mlp/explain', { key: dev, json: { instances: applicants, samples: 40, seed: 3 } });
    assert.equal(sampled.body.method, 'kernel_shap_sampled');
    checkExplanations(sampled.body, LOANS_COLUMNS);
  });

  test('an imported model has no background: a clear 422 until the request sends one', async () => {
    const v = irisClassifier();
    await s.server.platform.registry.registerVersion(tenantId, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature, source: 'imported' });
    await deploy(s, dev, 'iris');
    const row = (petal_length: number) => ({ sepal_length: 5.1, sepal_width: 3.5, petal_length, petal_width: 0.2, color: 'red' });
    const none = await s.call('POST', '/v1/endpoints/iris/explain', { key: dev, json: { instances: [row(5)] } });
    assert.equal(none.status, 422, none.text);
    assert.equal(none.body.error.code, 'no_background');
    assert.match(none.body.error.message, /imported.*send `background`/);
    const r = await s.call('POST', '/v1/endpoints/iris/explain', { key: dev, json: { instances: [row(5)], background: [row(1.4), row(4.5), row(6)] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.method, 'kernel_shap_exact');
    assert.equal(r.body.backgroundRows, 3);
    const [e] = r.body.explanations;
    const sum = Object.values(e.values as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(e.baseValue + sum - e.prediction) < 1e-6);
    // Only petal_length differs between the row and its background: every other column's value is 0.
    for (const [c, v] of Object.entries(e.values as Record<string, number>)) if (c !== 'petal_length') assert.ok(Math.abs(v) < 1e-9, `${c}: ${v}`);
  });

  test('the same refusals as predict: bounds, another tenant gets the same 404 as a missing endpoint, scoped keys', async () => {
    const tooMany = await s.call('POST', '/v1/endpoints/loans-forest/explain', { key: dev, json: { instances: Array(11).fill(applicants[0]) } });
    assert.equal(tooMany.status, 422, tooMany.text);
    assert.equal(tooMany.body.error.code, 'too_many_rows');
    const foreign = await s.call('POST', '/v1/endpoints/loans-forest/explain', { key: strangerKey, json: { instances: applicants } });
    const missing = await s.call('POST', '/v1/endpoints/nope/explain', { key: strangerKey, json: { instances: applicants } });
    assert.equal(foreign.status, 404);
    assert.deepEqual(foreign.body.error.code, missing.body.error.code);
    assert.equal(foreign.body.error.message.replace('loans-forest', 'X'), missing.body.error.message.replace('nope', 'X'));
    const k = await s.call('POST', '/v1/keys', { key: dev, json: { name: 'boost-only', role: 'inference', endpoint: 'loans-boost' } });
    assert.equal(k.status, 201, k.text);
    assert.equal((await s.call('POST', '/v1/endpoints/loans-boost/explain', { key: k.body.key, json: { instances: applicants } })).status, 200);
    assert.equal((await s.call('POST', '/v1/endpoints/loans-forest/explain', { key: k.body.key, json: { instances: applicants } })).status, 403);
  });

  test('the SDK and `aiaas explain` answer the same explanation; the CLI prints it as a waterfall', async () => {
    const client = new AiaasClient({ url: s.url, apiKey: dev });
    const viaSdk = await client.endpoints.explain('loans-forest', [applicants[0]]);
    const direct = await s.call('POST', '/v1/endpoints/loans-forest/explain', { key: dev, json: { instances: [applicants[0]] } });
    assert.deepEqual(viaSdk.explanations, direct.body.explanations);
    const bin = path.resolve(EXAMPLES, '../../bin/aiaas.js');
    const env = { PATH: process.env.PATH, HOME: fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'aiaas-explain-')), AIAAS_URL: s.url, AIAAS_API_KEY: dev };
    const json = await promisify(execFile)(process.execPath, [bin, 'explain', 'loans-forest', '--data', JSON.stringify(applicants[0]), '--json'], { env });
    const line = JSON.parse(json.stdout.trim());
    assert.equal(line.method, 'tree_shap_interventional');
    assert.deepEqual(line.values, viaSdk.explanations[0]!.values);
    const human = (await promisify(execFile)(process.execPath, [bin, 'explain', 'loans-forest', '--data', JSON.stringify(applicants[0])], { env })).stdout;
    assert.match(human, /row 0: probability of '(yes|no)' \(tree_shap_interventional\)\n  base value/);
    assert.match(human, /\n  prediction +\S+\n$/);
    for (const c of LOANS_COLUMNS) assert.ok(human.includes(`  ${c} `), c);
    fs.rmSync(env.HOME, { recursive: true, force: true });
  });
});
