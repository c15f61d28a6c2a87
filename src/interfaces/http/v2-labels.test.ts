/** OIP v2 answers carry the class names (BYTES `label_names`) beside the INT64 label indices, as v1 answers them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, waitJob } from '../testing/jobs-helpers.js';

describe('OIP v2 label names', () => {
  let s: TestServer;
  let dev: string;
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('v2labels')).developer;
    const up = await s.call('POST', '/v1/datasets?name=iris', { key: dev, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')), headers: { 'content-type': 'text/csv' } });
    assert.equal(up.status, 201, up.text);
    const job = await submit(s, { type: 'train', name: 'iris', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } }, dev);
    assert.equal((await waitJob(s, job.id, { key: dev })).status, 'succeeded');
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris', model: 'iris', version: 1 } });
    assert.equal(ep.status, 201, ep.text);
  });
  after(async () => { await s?.stop(); });

  test('metadata lists label_names and says how label is encoded; infer answers the names v1 gives', async () => {
    const meta = await s.call('GET', '/v2/models/iris', { key: dev });
    assert.equal(meta.status, 200, meta.text);
    assert.deepEqual(meta.body.outputs.find((o: { name: string }) => o.name === 'label_names'), { name: 'label_names', datatype: 'BYTES', shape: [-1] });
    assert.match(meta.body.parameters.label_encoding, /class indices \(INT64\) into parameters\.labels/);

    const rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
    const cols = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const inputs = cols.map((name, c) => ({ name, shape: [2], datatype: 'FP32', data: rows.map((r) => r[c]) }));
    const v2 = await s.call('POST', '/v2/models/iris/infer', { key: dev, json: { inputs } });
    assert.equal(v2.status, 200, v2.text);
    const names = v2.body.outputs.find((o: { name: string }) => o.name === 'label_names');
    const indices = v2.body.outputs.find((o: { name: string }) => o.name === 'label');
    const v1 = await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]]))) } });
    assert.deepEqual(names.data, v1.body.predictions.map((p: { label: string }) => p.label));
    assert.deepEqual(names.data, indices.data.map((i: number) => meta.body.parameters.labels[i]));
    assert.deepEqual(names.shape, [2]);

    // Asked for alone, or not asked for.
    const only = await s.call('POST', '/v2/models/iris/infer', { key: dev, json: { inputs, outputs: [{ name: 'label_names' }] } });
    assert.deepEqual(only.body.outputs.map((o: { name: string }) => o.name), ['label_names']);
    const without = await s.call('POST', '/v2/models/iris/infer', { key: dev, json: { inputs, outputs: [{ name: 'label' }] } });
    assert.deepEqual(without.body.outputs.map((o: { name: string }) => o.name), ['label']);
  });
});
