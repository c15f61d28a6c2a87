/**
 * Text classification through real HTTP, as README shows it: upload fortunes.csv, train an `svm`
 * over a `tfidf` step and a logistic regression with "auto" (which vectorizes the text column),
 * deploy, POST raw strings, get topics; bad tfidf specs name the field; tenants stay apart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { until, waitJob } from '../testing/jobs-helpers.js';

const TOPICS = ['computers', 'food', 'law', 'love', 'medicine', 'politics', 'science', 'sports'];
const TFIDF = [{ op: 'tfidf', columns: ['text'], ngrams: [1, 2], sublinearTf: true }];
// Tricky strings too: empty, punctuation only, Chinese, accents, one word repeated.
const QUERIES = [
  'The court ruled that the lawyer had broken the law.',
  'My computer crashed and the program lost all my files.',
  'Recipe: bake the bread, then eat it with butter and cheese.',
  '', '?!...', '你好世界', 'Café crème à la carte', 'love love love love',
];

/** Test metrics wherever the job keeps them (METRICS.md moves them under `test`). */
const accuracyOf = (m: any): number => m.test?.accuracy ?? m.accuracy;

describe('text classification', () => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { developer: string };
  const train = async (spec: Record<string, unknown>) => {
    const r = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'train', dataset: 'fortunes', target: 'topic', ...spec } });
    assert.equal(r.status, 202, r.text);
    const job = await waitJob(s, r.body.id, { key: acme.developer });
    // A failure shows the job's log (the worker's stack), not only its one-line error.
    if (job.status !== 'succeeded') assert.fail(`${job.error}\n${(await s.call('GET', `/v1/jobs/${r.body.id}/logs`, { key: acme.developer })).text}`);
    return job;
  };
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    acme = await s.tenant('text-co');
    other = await s.tenant('text-other');
    const r = await s.call('POST', '/v1/datasets?name=fortunes', { key: acme.developer, body: fs.readFileSync(path.join(EXAMPLES, 'fortunes.csv')) });
    assert.equal(r.status, 201, r.text);
  });
  after(() => s.stop());

  test('svm over tfidf and logistic regression over "auto": topic classifiers whose endpoints take raw strings', async () => {
    const svm = await train({ name: 'topics-svm', preprocessing: TFIDF, model: { kind: 'svm', C: 1 } });
    const logistic = await train({ name: 'topics-logistic', preprocessing: 'auto', model: { kind: 'logistic_regression' } });
    // 8 noisy topics: the majority class is 32%; scikit-learn's LinearSVC gets about 66% (bench:text).
    assert.ok(accuracyOf(svm.metrics) > 0.55, `svm accuracy ${accuracyOf(svm.metrics)}`);
    assert.ok(accuracyOf(logistic.metrics) > 0.45, `logistic accuracy ${accuracyOf(logistic.metrics)}`);

    const v = (await s.call('GET', '/v1/models/topics-svm/versions/1', { key: acme.viewer })).body;
    assert.equal(v.kind, 'svm');
    assert.deepEqual(v.signature.inputs.map((i: any) => [i.name, i.type, i.tensor]), [['text', 'text', 'categories']]);
    assert.deepEqual(v.signature.labels, TOPICS);
    const auto = (await s.call('GET', '/v1/models/topics-logistic/versions/1', { key: acme.viewer })).body;
    assert.deepEqual(auto.lineage.params.droppedColumns, []);
    assert.ok(auto.lineage.params.features > 1000, `auto made ${auto.lineage.params.features} features`);

    const d = await s.call('POST', '/v1/endpoints', { key: acme.developer, json: { name: 'topics', model: 'topics-svm', version: 1 } });
    assert.equal(d.status, 201, d.text);
    await until('topics ready', async () => (await s.call('GET', '/v1/endpoints/topics', { key: acme.viewer })).body.status === 'ready');
    const p = await s.call('POST', '/v1/endpoints/topics/predict', { key: acme.developer, json: { instances: QUERIES.map((text) => ({ text })) } });
    assert.equal(p.status, 200, p.text);
    const labels = p.body.predictions.map((x: { label: string }) => x.label);
    assert.deepEqual(labels.slice(0, 2), ['law', 'computers']);
    for (const x of p.body.predictions) {
      assert.ok(TOPICS.includes(x.label));
      assert.ok(Math.abs(x.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    }
    // The endpoint serves exactly the downloaded artifact, which plain onnxruntime-node runs on raw strings.
    const bytes = await fetch(`${s.url}/v1/models/topics-svm/versions/1/artifact`, { headers: { authorization: `Bearer ${acme.developer}` } });
    const session = await ort.InferenceSession.create(new Uint8Array(await bytes.arrayBuffer()));
    const out = await session.run({ categories: new ort.Tensor('string', QUERIES, [QUERIES.length, 1]) });
    assert.deepEqual(Array.from(out.label!.data as BigInt64Array, (k) => TOPICS[Number(k)]), labels);
    await session.release();

    // Another tenant sees none of it.
    assert.equal((await s.call('GET', '/v1/models/topics-svm/versions/1', { key: other.developer })).status, 404);
    assert.equal((await s.call('GET', '/v1/datasets/fortunes', { key: other.developer })).status, 404);
    const stranger = await s.call('POST', '/v1/endpoints/topics/predict', { key: other.developer, json: { instances: [{ text: 'law' }] } });
    assert.equal(stranger.status, 404, stranger.text);
  });

  test('bad tfidf specs are refused before anything queues, naming the field', async () => {
    const refused = async (preprocessing: unknown, field: RegExp) => {
      const r = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'train', name: 'bad', dataset: 'fortunes', target: 'topic', preprocessing, model: { kind: 'svm' } } });
      assert.equal(r.status, 422, r.text);
      assert.match(r.body.error.message, field);
    };
    await refused([{ op: 'tfidf', columns: ['txt'] }], /preprocessing\[0\]: column 'txt' is not a feature column.*Did you mean 'text'/);
    await refused([{ op: 'tfidf', ngrams: [3, 1] }], /preprocessing\[0\]\.ngrams/);
    await refused([{ op: 'tfidf', maxFeatures: 0 }], /preprocessing\[0\]\.maxFeatures/);
    await refused([{ op: 'tfidf', maxFeature: 10 }], /preprocessing\[0\]\.maxFeature: unknown field.*maxFeatures/);
    const r = await s.call('POST', '/v1/jobs', { key: acme.developer, json: { type: 'train', name: 'bad', dataset: 'fortunes', target: 'topic', preprocessing: TFIDF, model: { kind: 'svm', loss: 'log' } } });
    assert.equal(r.status, 422, r.text);
    assert.match(r.body.error.message, /model\.loss/);
  });
});
