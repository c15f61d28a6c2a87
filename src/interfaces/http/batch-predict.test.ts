/**
 * batch_predict jobs over real HTTP: the loans file scored by a trained version into a new
 * dataset (input columns, then the prediction columns), answers equal to the endpoint's for the
 * same rows, rows and rows/s in the job's metrics; bad specs refused before queueing; another
 * tenant's model or dataset answers 404 as a missing one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';

const LOANS = fs.readFileSync(path.join(EXAMPLES, 'loans.csv'), 'utf8');

describe('batch_predict jobs', () => {
  let s: TestServer;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    owner = await s.tenant('batch-owner');
    stranger = await s.tenant('batch-stranger');
    for (const t of [owner, stranger]) {
      const up = await s.call('POST', '/v1/datasets?name=loans', { key: t.developer, body: LOANS });
      assert.equal(up.status, 201, up.text);
    }
    const job = await submit(s, { type: 'train', name: 'loans', dataset: 'loans', target: 'default', preprocessing: 'auto', model: { kind: 'logistic_regression' } }, owner.developer);
    assert.equal((await waitJob(s, job.id, { key: owner.developer })).status, 'succeeded');
  });
  after(() => s.stop());

  test('a dataset scored into a new dataset with the prediction columns appended', async () => {
    const job = await submit(s, { type: 'batch_predict', model: 'loans', version: 1, dataset: 'loans', output: 'loans-scored' }, owner.developer);
    const done = await waitJob(s, job.id, { key: owner.developer });
    assert.equal(done.status, 'succeeded', done.error);
    assert.equal(done.metrics.rows, 5100);
    assert.ok(done.metrics.rowsPerSecond > 0);
    assert.deepEqual(done.metrics.output, { dataset: 'loans-scored', version: 1, columns: 12 });

    const ds = await s.call('GET', '/v1/datasets/loans-scored', { key: owner.viewer });
    assert.equal(ds.status, 200, ds.text);
    assert.equal(ds.body.rows, 5100);
    const header = LOANS.split(/\r?\n/)[0]!.split(',');
    assert.deepEqual(ds.body.columns.map((c: any) => c.name), [...header, 'prediction', 'probability_no', 'probability_yes']);
    const scored = (await s.call('GET', '/v1/datasets/loans-scored/rows?offset=4090&limit=10', { key: owner.viewer })).body;
    const rows = scored.rows ?? scored.data;
    const original = (await s.call('GET', '/v1/datasets/loans/rows?offset=4090&limit=10', { key: owner.viewer })).body;
    const inputs = (original.rows ?? original.data).map((r: any) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'default')));
    for (const [i, r] of rows.entries()) for (const c of header) assert.deepEqual(r[c], (original.rows ?? original.data)[i][c], `row ${i} column ${c}`);

    // The same rows through an endpoint answer the same.
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: owner.developer, json: { name: 'loans', model: 'loans', version: 1 } });
    assert.equal(ep.status, 201, ep.text);
    await until('ready', async () => (await s.call('GET', '/v1/endpoints/loans', { key: owner.viewer })).body.status === 'ready');
    const live = await s.call('POST', '/v1/endpoints/loans/predict', { key: owner.developer, json: { instances: inputs } });
    assert.equal(live.status, 200, live.text);
    live.body.predictions.forEach((p: any, i: number) => {
      assert.equal(rows[i].prediction, p.label);
      assert.ok(Math.abs(rows[i].probability_yes - p.probabilities[1]) < 1e-6);
      assert.ok(Math.abs(rows[i].probability_no - p.probabilities[0]) < 1e-6);
    });
  });

  test('bad specs are refused before queueing', async () => {
    const refused = async (spec: Record<string, unknown>, field: string) => {
      const r = await s.call('POST', '/v1/jobs', { key: owner.developer, json: { type: 'batch_predict', model: 'loans', version: 1, dataset: 'loans', output: 'out', ...spec } });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.details.field, field, r.text);
    };
    await refused({ output: undefined }, 'output');
    await refused({ stage: 'production' }, 'stage');
    await refused({ outptu: 'x' }, 'outptu');
    // The scored dataset already has a `prediction` column.
    await refused({ dataset: 'loans-scored' }, 'output');
  });

  test("another tenant's model or dataset answers 404 as a missing one", async () => {
    const call = (spec: Record<string, unknown>) => s.call('POST', '/v1/jobs', { key: stranger.developer, json: { type: 'batch_predict', version: 1, output: 'stolen', ...spec } });
    const model = await call({ model: 'loans', dataset: 'loans' });
    const nowhere = await call({ model: 'nowhere', dataset: 'loans' });
    assert.equal(model.status, 404, model.text);
    assert.equal(model.body.error.message.replace("'loans'", 'X'), nowhere.body.error.message.replace("'nowhere'", 'X'));
    const job = await submit(s, { type: 'train', name: 'mine', dataset: 'loans', target: 'default', model: { kind: 'logistic_regression' } }, stranger.developer);
    assert.equal((await waitJob(s, job.id, { key: stranger.developer })).status, 'succeeded');
    const dataset = await call({ model: 'mine', dataset: 'loans-scored' });
    assert.equal(dataset.status, 404, dataset.text);
  });
});
