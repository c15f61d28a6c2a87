/**
 * Distillation through the API as a user runs it: train a teacher (a forest: any classifier that
 * gives probabilities), train a small student network with `teacher`, read its lineage and its
 * metrics beside the teacher's; and the refusals: a regressor, another label set, another tenant's
 * model, a student that is not a network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { waitJob } from '../testing/jobs-helpers.js';

const iris = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'), 'utf8');
// The same rows with other names for the classes: a teacher of iris species does not know them.
const renamed = iris.replace(/setosa/g, 'a').replace(/versicolor/g, 'b').replace(/virginica/g, 'c');

describe('distillation (train jobs with a teacher)', () => {
  let s: TestServer;
  let dev: string;
  let other: string;
  const submit = (json: Record<string, unknown>, key = dev) => s.call('POST', '/v1/jobs', { key, json });
  async function finish(json: Record<string, unknown>) {
    const r = await submit(json);
    assert.equal(r.status, 202, r.text);
    return waitJob(s, r.body.id, { key: dev });
  }
  const student = { type: 'train', dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [16] }, training: { epochs: 60 } };

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('distill-co')).developer;
    other = (await s.tenant('other-co')).developer;
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key: dev, body: iris })).status, 201);
    assert.equal((await s.call('POST', '/v1/datasets?name=iris-renamed', { key: dev, body: renamed })).status, 201);
    const t = await finish({ type: 'train', name: 'iris-forest', dataset: 'iris', target: 'species', model: { kind: 'random_forest', nEstimators: 20 } });
    assert.equal(t.status, 'succeeded', `${t.error}`);
  });
  after(() => s.stop());

  test('a student distilled from a forest trains and registers with lineage.teacher and the teacher\'s test metrics', async () => {
    const job = await finish({ ...student, name: 'iris-student', teacher: { model: 'iris-forest', version: 1, temperature: 2, alpha: 0.5 } });
    assert.equal(job.status, 'succeeded', `${job.error}`);
    const v = (await s.call('GET', '/v1/models/iris-student/versions/1', { key: dev })).body;
    assert.deepEqual(v.lineage.teacher, { model: 'iris-forest', version: 1, temperature: 2, alpha: 0.5 });
    const d = v.metrics.distillation;
    assert.deepEqual(d.teacher, { model: 'iris-forest', version: 1 });
    const forest = (await s.call('GET', '/v1/models/iris-forest/versions/1', { key: dev })).body;
    assert.equal(d.teacherTest.accuracy, forest.metrics.test.accuracy, 'the teacher scored on the same test rows as its own train job');
    assert.ok(v.metrics.test.accuracy > 0.6, `student accuracy ${v.metrics.test.accuracy}`);
    // Defaults: temperature 2, alpha 0.5; "latest" resolves and is pinned.
    const d2 = await submit({ ...student, name: 'iris-student2', training: { epochs: 1 }, teacher: { model: 'iris-forest' } });
    assert.equal(d2.status, 202, d2.text);
    const j2 = await waitJob(s, d2.body.id, { key: dev });
    assert.equal(j2.status, 'succeeded', `${j2.error}`);
    const v2 = (await s.call('GET', '/v1/models/iris-student2/versions/1', { key: dev })).body;
    assert.deepEqual(v2.lineage.teacher, { model: 'iris-forest', version: 1, temperature: 2, alpha: 0.5 });
  });

  test('refusals: a regressor (422), another label set (the job says which), another tenant\'s model (404), a tree student, bad numbers', async () => {
    const reg = await finish({ type: 'train', name: 'iris-width', dataset: 'iris', target: 'petal_width', model: { kind: 'linear_regression' } });
    assert.equal(reg.status, 'succeeded', `${reg.error}`);
    const r1 = await submit({ ...student, name: 'x1', teacher: { model: 'iris-width' } });
    assert.equal(r1.status, 422, r1.text);
    assert.equal(r1.body.error.code, 'teacher_mismatch');
    assert.match(r1.body.error.message, /regressor.*classifier/);

    const r2 = await finish({ ...student, name: 'x2', dataset: 'iris-renamed', teacher: { model: 'iris-forest' } });
    assert.equal(r2.status, 'failed');
    assert.match(JSON.stringify(r2.error), /setosa.*a, b, c|predicts the classes/);

    const r3 = await submit({ ...student, name: 'x3', teacher: { model: 'iris-forest' } }, other);
    assert.equal(r3.status, 422, 'the other tenant has no dataset iris either; give it one');
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key: other, body: iris })).status, 201);
    const r4 = await submit({ ...student, name: 'x3', teacher: { model: 'iris-forest' } }, other);
    assert.equal(r4.status, 404, r4.text);

    const r5 = await submit({ ...student, name: 'x5', model: { kind: 'random_forest' }, teacher: { model: 'iris-forest' } });
    assert.equal(r5.status, 422, r5.text);
    assert.match(r5.body.error.message, /mlp, cnn, sequential/);
    const r6 = await submit({ ...student, name: 'x6', teacher: { model: 'iris-forest', alpha: 2 } });
    assert.equal(r6.status, 422, r6.text);
    assert.match(r6.body.error.message, /teacher\.alpha/);
    const r7 = await submit({ ...student, name: 'x7', teacher: { model: 'iris-forest', temp: 2 } });
    assert.equal(r7.status, 422, r7.text);
    assert.match(r7.body.error.message, /did you mean 'temperature'/);
  });
});
