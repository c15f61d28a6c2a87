/**
 * The transformer text classifier through real HTTP: train on a small subset of fortunes.csv (with a
 * separate test dataset, so the job's test metrics cover known rows), deploy, POST raw strings;
 * the endpoint's answers on the test rows reproduce the job's confusion matrix (served prediction
 * = training-time evaluation), and equal the downloaded artifact run by plain onnxruntime-node.
 * Bad specs name the field; tenants stay apart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { until, waitJob } from '../testing/jobs-helpers.js';

const TOPICS = ['computers', 'food', 'sports'];
const MODEL = { kind: 'text_classifier', layers: 1, heads: 2, dim: 32, context: 64 };

/** fortunes.csv holds one record a line, the topic after the last comma: the first `from..to` records of each topic. */
function subset(from: number, to: number): { csv: string; rows: { text: string; topic: string }[] } {
  const lines = fs.readFileSync(path.join(EXAMPLES, 'fortunes.csv'), 'utf8').trimEnd().split(/\r?\n/);
  const picked = TOPICS.flatMap((t) => lines.slice(1).filter((l) => l.endsWith(`,${t}`)).slice(from, to));
  const rows = picked.map((l) => {
    const raw = l.slice(0, l.lastIndexOf(','));
    return { text: raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw, topic: l.slice(l.lastIndexOf(',') + 1) };
  });
  return { csv: [lines[0], ...picked].join('\n') + '\n', rows };
}

describe('text_classifier', () => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { developer: string };
  const test_ = subset(100, 130);
  const job = (spec: Record<string, unknown>) => s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'train', name: 'topics-tx', dataset: 'fortunes-small', target: 'topic', ...spec } });
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    acme = await s.tenant('tx-co');
    other = await s.tenant('tx-other');
    for (const [name, body] of [['fortunes-small', subset(0, 100).csv], ['fortunes-test', test_.csv]]) {
      const r = await s.call('POST', `/v1/datasets?name=${name}`, { key: acme.developer, body: Buffer.from(body) });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => s.stop());

  test('trains, serves raw strings as its evaluation scored them, and stays in its tenant', async () => {
    const r = await job({ testDataset: 'fortunes-test', model: MODEL, training: { epochs: 4, batchSize: 16, learningRate: 0.002 } });
    assert.equal(r.status, 202, r.text);
    const done = await waitJob(s, r.body.id, { key: acme.developer });
    if (done.status !== 'succeeded') assert.fail(`${done.error}\n${(await s.call('GET', `/v1/jobs/${r.body.id}/logs`, { key: acme.developer })).text}`);
    const m = done.metrics;
    assert.equal(m.history.length, 4);
    for (const e of m.history) for (const k of ['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'learningRate']) assert.equal(typeof e[k], 'number', k);
    assert.equal(m.training.testRows, 90);
    assert.equal(m.training.epochs, 4);
    assert.ok(m.training.trainSeconds > 0);

    const v = (await s.call('GET', '/v1/models/topics-tx/versions/1', { key: acme.viewer })).body;
    assert.equal(v.kind, 'text_classifier');
    assert.deepEqual(v.signature.inputs.map((i: any) => [i.name, i.type, i.tensor]), [['text', 'text', 'categories']]);
    assert.deepEqual(v.signature.labels, TOPICS);

    const d = await s.call('POST', '/v1/endpoints', { key: acme.developer, json: { name: 'topics-tx', model: 'topics-tx', version: 1 } });
    assert.equal(d.status, 201, d.text);
    await until('endpoint ready', async () => (await s.call('GET', '/v1/endpoints/topics-tx', { key: acme.viewer })).body.status === 'ready');
    const p = await s.call('POST', '/v1/endpoints/topics-tx/predict', { key: acme.developer, json: { instances: test_.rows.map((x) => ({ text: x.text })) } });
    assert.equal(p.status, 200, p.text);
    const served: string[] = p.body.predictions.map((x: { label: string }) => x.label);
    // The job's confusion matrix (rows: truth, columns: prediction) is exactly what the endpoint answers on the test rows.
    const matrix = TOPICS.map(() => TOPICS.map(() => 0));
    test_.rows.forEach((x, i) => matrix[TOPICS.indexOf(x.topic)]![TOPICS.indexOf(served[i]!)]!++);
    assert.deepEqual(matrix, m.test.confusionMatrix);
    assert.equal(served.filter((l, i) => l === test_.rows[i]!.topic).length / served.length, m.test.accuracy);

    // Raw strings of any script, empty included; the downloaded artifact answers the same with plain onnxruntime-node.
    const odd = ['', '你好世界，电脑坏了', 'Café crème 😀', 'x'.repeat(500)];
    const q = await s.call('POST', '/v1/endpoints/topics-tx/predict', { key: acme.developer, json: { instances: odd.map((text) => ({ text })) } });
    assert.equal(q.status, 200, q.text);
    const bytes = await fetch(`${s.url}/v1/models/topics-tx/versions/1/artifact`, { headers: { authorization: `Bearer ${acme.developer}` } });
    const session = await ort.InferenceSession.create(new Uint8Array(await bytes.arrayBuffer()));
    const out = await session.run({ categories: new ort.Tensor('string', odd, [odd.length, 1]) });
    await session.release();
    assert.deepEqual(Array.from(out.label!.data as BigInt64Array, (k) => TOPICS[Number(k)]), q.body.predictions.map((x: { label: string }) => x.label));
    q.body.predictions.forEach((x: { probabilities: number[] }, i: number) => {
      x.probabilities.forEach((pr, k) => assert.ok(Math.abs(pr - (out.probabilities!.data as Float32Array)[i * 3 + k]!) < 1e-6));
    });

    assert.equal((await s.call('GET', '/v1/models/topics-tx/versions/1', { key: other.developer })).status, 404);
    assert.equal((await s.call('GET', '/v1/models/topics-tx/versions/1/artifact', { key: other.developer })).status, 404);
    const stranger = await s.call('POST', '/v1/endpoints/topics-tx/predict', { key: other.developer, json: { instances: [{ text: 'law' }] } });
    assert.equal(stranger.status, 404, stranger.text);
    const theirs = await s.call('POST', '/v1/jobs', { key: other.developer, json: { type: 'train', name: 'x', dataset: 'fortunes-small', target: 'topic', model: MODEL } });
    assert.equal(theirs.status, 422, theirs.text);
    assert.equal(theirs.body.error.details.field, 'dataset');
  });

  test('bad specs are refused before anything queues, naming the field', async () => {
    const refused = async (spec: Record<string, unknown>, field: string, code = 'invalid_train_spec') => {
      const r = await job(spec);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.details.field, field, r.text);
      assert.equal(r.body.error.code, code, r.text);
    };
    await refused({ model: { ...MODEL, heads: 3 } }, 'model.heads');
    await refused({ model: { ...MODEL, context: 4096 } }, 'model.context');
    await refused({ model: MODEL, text: 'txt' }, 'text', 'unknown_column');
    await refused({ model: MODEL, text: 'topic' }, 'text');
    await refused({ model: MODEL, tokenizer: { kind: 'bpe' } }, 'tokenizer.kind', 'not_available');
    await refused({ model: MODEL, tokenizer: { kind: 'chars' } }, 'tokenizer.kind');
    await refused({ model: { ...MODEL, hidden: [4] } }, 'model.hidden');
    await refused({ model: { kind: 'svm' }, tokenizer: { kind: 'char' } }, 'tokenizer');
  });

  test('a text_classifier distilled from a tf-idf logistic regression: lineage.teacher, the teacher scored on the same test rows', async () => {
    const teach = await job({ name: 'topics-lr', testDataset: 'fortunes-test', preprocessing: [{ op: 'tfidf', columns: ['text'], ngrams: [1, 2], sublinearTf: true }], model: { kind: 'logistic_regression' } });
    assert.equal(teach.status, 202, teach.text);
    const lr = await waitJob(s, teach.body.id, { key: acme.developer });
    assert.equal(lr.status, 'succeeded', `${lr.error}`);
    const r = await job({ name: 'topics-student', testDataset: 'fortunes-test', model: MODEL, training: { epochs: 2, batchSize: 16 }, teacher: { model: 'topics-lr', temperature: 2, alpha: 0.5 } });
    assert.equal(r.status, 202, r.text);
    const done = await waitJob(s, r.body.id, { key: acme.developer });
    assert.equal(done.status, 'succeeded', `${done.error}`);
    const v = (await s.call('GET', '/v1/models/topics-student/versions/1', { key: acme.viewer })).body;
    assert.equal(v.kind, 'text_classifier');
    assert.deepEqual(v.lineage.teacher, { model: 'topics-lr', version: 1, temperature: 2, alpha: 0.5 });
    assert.equal(done.metrics.distillation.teacherTest.accuracy, lr.metrics.test.accuracy, 'the teacher scored on the same test rows as in its own job');
    const other_ = await s.call('POST', '/v1/jobs', { key: other.developer, json: { type: 'train', name: 'x', dataset: 'fortunes-small', target: 'topic', model: MODEL, teacher: { model: 'topics-lr' } } });
    assert.equal(other_.status, 422, 'the other tenant has no such dataset either');
  });
});
