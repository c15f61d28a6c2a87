/**
 * Drift over real HTTP, as a user meets it: train the loans model (its training profile is stored
 * with the version), deploy it logging every request, send rows like the training data (nothing
 * drifts) and shifted rows (the shifted features, and the predictions, drift); a window without
 * rows, a version without a profile, another tenant.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';

const LOANS = fs.readFileSync(path.join(EXAMPLES, 'loans.csv'), 'utf8');
const NUMBERS = new Set(['age', 'income', 'loan_amount', 'credit_score', 'late_payments']);

/** The file's rows as predict instances (the target left out, empty cells as null). */
function loanRows(): Record<string, unknown>[] {
  const [header, ...lines] = LOANS.trim().split(/\r?\n/);
  const cols = header!.split(',');
  return lines.map((l) => {
    const cells = l.split(',');
    const row: Record<string, unknown> = {};
    cols.forEach((c, i) => {
      if (c === 'default') return;
      const v = cells[i]!;
      row[c] = v === '' ? null : NUMBERS.has(c) ? Number(v) : v;
    });
    return row;
  });
}

async function deploy(s: TestServer, key: string, name: string, model: string) {
  const r = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name, model, version: 1, replicas: { min: 1, max: 1 }, logging: { sampleRate: 1 } } });
  assert.equal(r.status, 201, r.text);
  await until(`${name} ready`, async () => (await s.call('GET', `/v1/endpoints/${name}`, { key })).body.status === 'ready');
}

async function predictAll(s: TestServer, key: string, name: string, rows: Record<string, unknown>[]) {
  for (let i = 0; i < rows.length; i += 1000) {
    const r = await s.call('POST', `/v1/endpoints/${name}/predict`, { key, json: { instances: rows.slice(i, i + 1000) } });
    assert.equal(r.status, 200, r.text);
  }
}

const byName = (report: any) => Object.fromEntries(report.features.map((f: any) => [f.name, f]));

describe('drift', () => {
  let s: TestServer;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    owner = await s.tenant('drift-owner');
    stranger = await s.tenant('drift-stranger');
    const up = await s.call('POST', '/v1/datasets?name=loans', { key: owner.developer, body: LOANS });
    assert.equal(up.status, 201, up.text);
    const job = await submit(s, { type: 'train', name: 'loans', dataset: 'loans', target: 'default', preprocessing: 'auto', model: { kind: 'logistic_regression' } }, owner.developer);
    const done = await waitJob(s, job.id, { key: owner.developer });
    assert.equal(done.status, 'succeeded', done.error);
    await deploy(s, owner.developer, 'loans-live', 'loans');
    await deploy(s, owner.developer, 'loans-shifted', 'loans');
  });
  after(() => s.stop());

  test('a window without logged rows answers rows 0 and says why', async () => {
    const r = await s.call('GET', '/v1/endpoints/loans-live/drift?window=60', { key: owner.viewer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.rows, 0);
    assert.deepEqual(r.body.features, []);
    assert.equal(r.body.prediction, null);
    assert.match(r.body.message, /No predictions of version 1 were logged/);
  });

  test('rows like the training data do not drift', async () => {
    const rows = loanRows();
    await predictAll(s, owner.developer, 'loans-live', rows);
    const r = await s.call('GET', '/v1/endpoints/loans-live/drift?window=3600', { key: owner.viewer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.rows, rows.length);
    assert.deepEqual(r.body.thresholds, { psi: 0.2, ksPValue: 0.01, ksStatistic: 0.1 });
    const f = byName(r.body);
    assert.deepEqual(Object.keys(f).sort(), ['age', 'credit_score', 'employment', 'home_ownership', 'income', 'late_payments', 'loan_amount', 'purpose']);
    for (const x of r.body.features) {
      assert.equal(x.drifted, false, `${x.name}: ${JSON.stringify(x)}`);
      assert.ok(x.psi < 0.05, `${x.name} psi ${x.psi}`);
    }
    assert.equal(f.income.type, 'numeric');
    assert.ok(f.income.ks.statistic < 0.05 && f.income.ks.pValue > 0.01, JSON.stringify(f.income.ks));
    // The file has 211 empty credit scores of 5,100 rows.
    assert.ok(Math.abs(f.credit_score.missingShare - 211 / 5100) < 1e-9, `${f.credit_score.missingShare}`);
    assert.equal(f.income.missingShare, 0);
    assert.equal(f.purpose.unseenShare, 0);
    assert.equal(r.body.prediction.drifted, false);
  });

  test('shifted rows: the shifted features and the predictions drift, the others do not', async () => {
    const rows = loanRows().slice(0, 1500).map((row) => ({
      ...row,
      income: typeof row.income === 'number' ? row.income / 4 : row.income,
      credit_score: null,
      purpose: 'crypto',
    }));
    await predictAll(s, owner.developer, 'loans-shifted', rows);
    const r = await s.call('GET', '/v1/endpoints/loans-shifted/drift', { key: owner.developer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.rows, 1500);
    const f = byName(r.body);
    assert.equal(f.income.drifted, true);
    assert.ok(f.income.psi > 0.2 && f.income.ks.statistic > 0.3 && f.income.ks.pValue < 1e-6, JSON.stringify(f.income));
    assert.equal(f.credit_score.drifted, true);
    assert.equal(f.credit_score.missingShare, 1);
    assert.equal(f.purpose.drifted, true);
    assert.equal(f.purpose.unseenShare, 1);
    for (const name of ['age', 'employment', 'home_ownership', 'loan_amount', 'late_payments']) assert.equal(f[name].drifted, false, `${name}: ${JSON.stringify(f[name])}`);
    assert.equal(r.body.prediction.drifted, true, JSON.stringify(r.body.prediction));
  });

  test('a version without a training profile is refused with how to get one; a version not served is refused', async () => {
    const v = irisClassifier();
    await s.server.platform.registry.registerVersion(owner.id, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature, source: 'imported' });
    await deploy(s, owner.developer, 'iris-live', 'iris');
    const r = await s.call('GET', '/v1/endpoints/iris-live/drift', { key: owner.developer });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.error.code, 'no_drift_profile');
    assert.match(r.body.error.message, /train the model on the platform/);
    const other = await s.call('GET', '/v1/endpoints/loans-live/drift?version=7', { key: owner.developer });
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.error.code, 'version_not_served');
    assert.equal((await s.call('GET', '/v1/endpoints/loans-live/drift?window=0', { key: owner.developer })).status, 400);
    // The profile is a version file of the platform's own: a tabular version still has no Hugging Face folder.
    const hf = await s.call('GET', '/v1/models/loans/versions/1/artifact?format=hf', { key: owner.developer });
    assert.equal(hf.status, 422, hf.text);
    assert.equal(hf.body.error.code, 'not_available');
  });

  test('another tenant gets the same 404 as for an endpoint that does not exist', async () => {
    const theirs = await s.call('GET', '/v1/endpoints/loans-live/drift', { key: stranger.developer });
    const nowhere = await s.call('GET', '/v1/endpoints/nowhere/drift', { key: stranger.developer });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.code, nowhere.body.error.code);
    assert.equal(theirs.body.error.message.replace('loans-live', 'X'), nowhere.body.error.message.replace('nowhere', 'X'));
  });
});
