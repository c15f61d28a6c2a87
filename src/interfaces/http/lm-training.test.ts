/**
 * Language models through real HTTP: a tiny GPT trained on a slice of kjv by a train job, its
 * metrics, log samples and events, the ONNX decoder run by ONNX Runtime, the Hugging Face folder
 * download, the 422s of bad specs, an endpoint serving it, and tenant isolation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { readEvents, submit, TERMINAL, waitJob } from '../testing/jobs-helpers.js';
import { HF_FILES } from '../../ml/lm/hf-folder.js';

const TINY = { kind: 'causal_lm', layers: 1, heads: 2, dim: 16, context: 16, dropout: 0 };
const TRAINING = { steps: 30, batchSize: 8, optimizer: 'adamw', learningRate: 0.005, weightDecay: 0.1, schedule: { kind: 'cosine', warmupSteps: 5 }, clipNorm: 1, seed: 0 };
const job = (over: Record<string, unknown> = {}) => ({
  type: 'train', name: 'kjv-tiny', dataset: 'kjv-slice', task: 'language_modeling', text: 'text',
  tokenizer: { kind: 'char' }, model: TINY, training: TRAINING, ...over,
});

describe('language models through the job API', () => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };
  let trained: any;
  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2', AIAAS_HEARTBEAT_SECONDS: '0.2' });
    acme = await s.tenant('acme');
    other = await s.tenant('other');
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 300).join('\n');
    for (const [name, body] of [['kjv-slice', lines], ['tiny-text', 'In the beginning\nGod created\nthe heaven\n']]) {
      const r = await s.call('POST', `/v1/datasets?name=${name}&format=text`, { key: acme.developer, body });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => s.stop());

  test('a tiny GPT trains on a slice of kjv: metrics, samples in the log and events, a causal_lm version', async () => {
    const queued = await submit(s, job(), acme.developer);
    trained = await waitJob(s, queued.id, { key: acme.viewer });
    assert.equal(trained.status, 'succeeded', JSON.stringify(trained.error));
    const { test: m, training: t, history } = trained.metrics;
    for (const k of ['valLoss', 'perplexity']) assert.equal(typeof m[k], 'number', `metric test.${k}`);
    for (const k of ['loss', 'tokensPerSecond', 'trainSeconds', 'tokens', 'peakRssBytes']) assert.equal(typeof t[k], 'number', `metric training.${k}`);
    assert.ok(Number.isFinite(m.valLoss));
    // At step 0 a model knows nothing: its loss is log(vocab). 30 steps must have learnt something.
    assert.ok(m.valLoss < Math.log(t.vocabSize) - 0.3, `valLoss ${m.valLoss} vs log(vocab) ${Math.log(t.vocabSize)}`);
    assert.ok(Math.abs(m.perplexity - Math.exp(m.valLoss)) < 1e-2 * m.perplexity);
    assert.ok(t.tokensPerSecond > 0);
    assert.equal(t.steps, 30);
    assert.equal(t.tokens, 30 * 8 * 16);
    assert.ok(t.peakRssBytes > 1e7, `peak RSS ${t.peakRssBytes}`);
    // One history entry per evaluation (every 3 steps), each with its sample; the last is the final test.
    assert.deepEqual(history.map((h: { step: number }) => h.step), [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    assert.ok(history.every((h: { sample?: string; valLoss: number }) => typeof h.sample === 'string' && h.sample.length > 0 && Number.isFinite(h.valLoss)));
    assert.equal(history.at(-1).valLoss, m.valLoss);
    const version = (await s.call('GET', '/v1/models/kjv-tiny/versions/1', { key: acme.viewer })).body;
    assert.deepEqual(version.metrics.test, m, 'the version keeps the job\'s metrics');
    assert.deepEqual(trained.result, { model: 'kjv-tiny', version: 1 });

    const logs = await s.call('GET', `/v1/jobs/${trained.id}/logs?format=text`, { key: acme.viewer });
    assert.match(logs.text, /step 30\/30: loss [\d.]+, valLoss [\d.]+/);
    assert.match(logs.text, /sample at step 30: ".+"/s);
    const { events } = await readEvents(`${s.url}/v1/jobs/${trained.id}/events`, acme.viewer);
    const evals = events.filter((e) => e.event === 'metrics' && JSON.stringify(e.data).includes('"sample"'));
    assert.ok(evals.length >= 2, 'a metrics event with a sample per evaluation');
    assert.ok(events.some((e) => e.event === 'progress' && /step \d+\/30/.test(JSON.stringify(e.data))));

    const v = await s.call('GET', '/v1/models/kjv-tiny/versions/1', { key: acme.viewer });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.body.kind, 'causal_lm');
    assert.equal(v.body.task, 'language_modeling');
    assert.ok(v.body.signature.tensors.some((t: { name: string }) => t.name === 'past_key_values.0.key'));
  });

  test('the artifact is the key/value-cache decoder, and runs in ONNX Runtime', async () => {
    assert.ok(trained, 'needs the trained model');
    const res = await fetch(`${s.url}/v1/models/kjv-tiny/versions/1/artifact`, { headers: { authorization: `Bearer ${acme.viewer}` } });
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const session = await ort.InferenceSession.create(bytes);
    try {
      assert.ok(session.inputNames.includes('past_key_values.0.value'));
      assert.ok(session.outputNames.includes('present.0.key'));
      const past = new ort.Tensor('float32', new Float32Array(0), [1, TINY.heads, 0, TINY.dim / TINY.heads]);
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.of(1n, 2n, 3n), [1, 3]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.of(1n, 1n, 1n), [1, 3]),
        position_ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n), [1, 3]),
        'past_key_values.0.key': past, 'past_key_values.0.value': past,
      });
      assert.deepEqual(out.logits!.dims, [1, 3, trained.metrics.training.vocabSize]);
      assert.deepEqual(out['present.0.key']!.dims, [1, TINY.heads, 3, TINY.dim / TINY.heads]);
      assert.ok((out.logits!.data as Float32Array).every(Number.isFinite));
    } finally {
      await session.release();
    }
  });

  test('?format=hf downloads the Hugging Face folder as a .tar.gz', async () => {
    assert.ok(trained, 'needs the trained model');
    const res = await fetch(`${s.url}/v1/models/kjv-tiny/versions/1/artifact?format=hf`, { headers: { authorization: `Bearer ${acme.viewer}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/gzip');
    assert.match(res.headers.get('content-disposition')!, /kjv-tiny-v1\.tar\.gz/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-'));
    const file = path.join(dir, 'model.tar.gz');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n').sort();
    assert.deepEqual(listed, [...HF_FILES].sort());
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'gpt2');
    assert.equal(config.n_embd, 16);
    assert.equal(config.vocab_size, trained.metrics.training.vocabSize);
    const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(tok.model.type, 'BPE');
    const onnx = await fetch(`${s.url}/v1/models/kjv-tiny/versions/1/artifact`, { headers: { authorization: `Bearer ${acme.viewer}` } });
    assert.deepEqual(fs.readFileSync(path.join(dir, 'onnx/model.onnx')), Buffer.from(await onnx.arrayBuffer()));
    fs.rmSync(dir, { recursive: true, force: true });

    const bad = await s.call('GET', '/v1/models/kjv-tiny/versions/1/artifact?format=zip', { key: acme.viewer });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.details.field, 'format');
  });

  test('an endpoint serves the language model; predict and infer on it point to the OpenAI routes', async () => {
    assert.ok(trained, 'needs the trained model');
    const r = await s.call('POST', '/v1/endpoints?wait=true', { key: acme.developer, json: { name: 'gpt', model: 'kjv-tiny', version: 1 } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, 'ready', r.text);
    const p = await s.call('POST', '/v1/endpoints/gpt/predict', { key: acme.developer, json: { instances: [{ text: 'x' }] } });
    assert.equal(p.status, 422, p.text);
    assert.equal(p.body.error.code, 'not_a_language_model_route');
    assert.match(p.body.error.message, /\/openai\/v1\/completions/);
    const infer = await s.call('POST', '/v2/models/gpt/infer', { key: acme.developer, json: { inputs: [{ name: 'input_ids', shape: [1, 1], datatype: 'INT64', data: [1] }] } });
    assert.equal(infer.status, 422, infer.text);
    assert.equal(infer.body.error.code, 'not_a_language_model_route');
    assert.equal((await s.call('DELETE', '/v1/endpoints/gpt', { key: acme.developer })).status, 200);
  });

  test('another tenant can neither train on the corpus nor download the model', async () => {
    assert.ok(trained, 'needs the trained model');
    const r = await s.call('POST', '/v1/jobs', { key: other.developer, json: job({ name: 'steal' }) });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'unknown_dataset');
    for (const q of ['', '?format=hf']) {
      const a = await s.call('GET', `/v1/models/kjv-tiny/versions/1/artifact${q}`, { key: other.viewer });
      assert.equal(a.status, 404, q);
    }
  });

  test('a preempted language-model job resumes from its checkpoint and ends as an uninterrupted run does', async () => {
    const long = (name: string) => job({ name, training: { ...TRAINING, steps: 300 }, priority: 0 });
    const queued = await submit(s, long('kjv-preempted'), acme.developer);
    const running = await waitJob(s, queued.id, { key: acme.viewer, pred: (j) => (j.metrics?.history?.at(-1)?.step ?? 0) >= 30 || TERMINAL.includes(j.status) });
    assert.equal(running.status, 'running', JSON.stringify(running.error));
    // A more important job needs the whole node: the language model must make way.
    const urgent = await submit(s, { type: 'sleep', seconds: 0.2, steps: 1, priority: 10, resources: { cpu: 2, memoryMb: 256 } }, acme.developer);
    const done = await waitJob(s, queued.id, { key: acme.viewer });
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.attempts[0].outcome, 'preempted', JSON.stringify(done.attempts));
    const logs = await s.call('GET', `/v1/jobs/${queued.id}/logs?format=text`, { key: acme.viewer });
    const resumedAt = Number(/resuming from the checkpoint at step (\d+)/.exec(logs.text)?.[1]);
    assert.ok(resumedAt >= 30 && resumedAt < 300, logs.text);
    assert.equal((await waitJob(s, urgent.id, { key: acme.viewer })).status, 'succeeded');

    const straight = await waitJob(s, (await submit(s, long('kjv-straight'), acme.developer)).id, { key: acme.viewer });
    assert.equal(straight.status, 'succeeded', JSON.stringify(straight.error));
    // Resuming draws the same windows with the same weights and optimizer state.
    assert.ok(Math.abs(done.metrics.test.valLoss - straight.metrics.test.valLoss) < 1e-3, `${done.metrics.test.valLoss} vs ${straight.metrics.test.valLoss}`);
  });

  test('a BPE vocabulary the text cannot fill fails the job, naming tokenizer.vocabSize', async () => {
    // The profile's bound lets it through (about 27,000 characters); training the merges shows it cannot be filled.
    const queued = await submit(s, job({ name: 'kjv-bpe', tokenizer: { kind: 'bpe', vocabSize: 20000 } }), acme.developer);
    const done = await waitJob(s, queued.id, { key: acme.viewer });
    assert.equal(done.status, 'failed');
    assert.match(JSON.stringify(done.error), /fewer than tokenizer.vocabSize 20000/);
    assert.equal((await s.call('GET', '/v1/models/kjv-bpe', { key: acme.viewer })).status, 404);
  });

  test('bad language-model specs: a 422 naming the field, nothing queued', async () => {
    const before = (await s.call('GET', '/v1/jobs?limit=500', { key: acme.developer })).body.data.length;
    const cases: [Record<string, unknown>, string, string, RegExp][] = [
      [{ model: { ...TINY, heads: 3 } }, 'invalid_train_spec', 'model.heads', /must divide model.dim/],
      [{ model: { ...TINY, context: 5000 } }, 'invalid_train_spec', 'model.context', /over the 2048 positions/],
      [{ text: 'verse' }, 'unknown_column', 'text', /column 'verse' is not in dataset/],
      [{ dataset: 'tiny-text', model: { ...TINY, context: 64 } }, 'corpus_too_short', 'model.context', /fewer than one window of model.context \+ 1 = 65/],
      [{ dataset: 'tiny-text' }, 'corpus_too_short', 'split.validation', /held-out text .* fewer than one window of 17/],
      [{ dataset: 'tiny-text', model: { ...TINY, context: 4 }, tokenizer: { kind: 'bpe', vocabSize: 5000 } }, 'vocabulary_too_large', 'tokenizer.vocabSize', /larger than the training rows can fill/],
      [{ model: { ...TINY, dropout: 1 } }, 'invalid_train_spec', 'model.dropout', /from 0 to 0.9/],
      [{ model: { ...TINY, layer: 2 } }, 'invalid_train_spec', 'model.layer', /did you mean 'layers'/],
      [{ training: { ...TRAINING, step: 5 } }, 'invalid_train_spec', 'training.step', /did you mean 'steps'/],
      [{ training: { ...TRAINING, epochs: 1 } }, 'invalid_train_spec', 'training', /steps or training.epochs, not both/],
      [{ tokenizer: { kind: 'chars' } }, 'invalid_train_spec', 'tokenizer.kind', /Did you mean 'char'/i],
      [{ tokenizer: { kind: 'char', vocabSize: 100 } }, 'invalid_train_spec', 'tokenizer.vocabSize', /bpe tokenizer only/],
      [{ model: { ...TINY, kind: 'text_classifier' } }, 'invalid_train_spec', 'model.kind', /trains a causal_lm/],
      [{ model: { ...TINY, dim: 4096, layers: 8 } }, 'invalid_train_spec', 'model', /parameters is over the limit/],
      [{ training: { ...TRAINING, optimizer: 'sgd' } }, 'invalid_train_spec', 'training.optimizer', /adamw/],
      [{ split: { validation: 0.9 } }, 'invalid_train_spec', 'split.validation', /from 0.01 to 0.5/],
    ];
    for (const [over, code, field, message] of cases) {
      const r = await s.call('POST', '/v1/jobs', { key: acme.developer, json: job(over) });
      assert.equal(r.status, 422, `${JSON.stringify(over)}: ${r.text}`);
      assert.equal(r.body.error.code, code, `${JSON.stringify(over)}: ${r.text}`);
      assert.equal(r.body.error.details.field, field, `${JSON.stringify(over)}: ${r.text}`);
      assert.match(r.body.error.message, message, `${JSON.stringify(over)}: ${r.text}`);
    }
    assert.equal((await s.call('GET', '/v1/jobs?limit=500', { key: acme.developer })).body.data.length, before);
  });

  test('a smaller GPT distilled from a trained one: its teacher\'s tokenizer, lineage.teacher, the teacher scored on the same held-out text; refusals', async () => {
    assert.ok(trained, 'needs the trained model (the teacher)');
    const student = (over: Record<string, unknown> = {}) => job({ name: 'kjv-student', tokenizer: undefined, model: { ...TINY, dim: 8 }, teacher: { model: 'kjv-tiny', version: 1, temperature: 2, alpha: 0.7 }, ...over });
    const done = await waitJob(s, (await submit(s, student(), acme.developer)).id, { key: acme.viewer });
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const v = (await s.call('GET', '/v1/models/kjv-student/versions/1', { key: acme.viewer })).body;
    const t = (await s.call('GET', '/v1/models/kjv-tiny/versions/1', { key: acme.viewer })).body;
    assert.deepEqual(v.lineage.teacher, { model: 'kjv-tiny', version: 1, temperature: 2, alpha: 0.7 });
    assert.deepEqual(v.lineage.params.tokenizer, t.lineage.params.tokenizer, 'the student tokenizes as its teacher');
    const d = done.metrics.distillation;
    assert.deepEqual([d.teacher, d.temperature, d.alpha], [{ model: 'kjv-tiny', version: 1 }, 2, 0.7]);
    // Same dataset, split, tokenizer and window: the teacher's figures on the student's held-out text are its own test figures.
    assert.ok(Math.abs(d.teacherTest.valLoss - t.metrics.test.valLoss) < 1e-3, `${d.teacherTest.valLoss} vs ${t.metrics.test.valLoss}`);
    assert.ok(Number.isFinite(done.metrics.test.valLoss));
    assert.ok(done.metrics.training.parameters < trained.metrics.training.parameters);

    const cases: [Record<string, unknown>, number, string, string, RegExp][] = [
      [{ tokenizer: { kind: 'char' } }, 422, 'invalid_train_spec', 'tokenizer', /uses its teacher's tokenizer/],
      [{ model: { ...TINY, dim: 8, context: 32 } }, 422, 'invalid_train_spec', 'model.context', /over the teacher's 16 positions/],
      [{ teacher: { model: 'kjv-tiny', temp: 2 } }, 422, 'invalid_train_spec', 'teacher.temp', /did you mean 'temperature'/],
      [{ teacher: { model: 'kjv-tiny', alpha: 3 } }, 422, 'invalid_train_spec', 'teacher.alpha', /teacher\.alpha/],
    ];
    for (const [over, status, code, field, message] of cases) {
      const r = await s.call('POST', '/v1/jobs', { key: acme.developer, json: student(over) });
      assert.equal(r.status, status, `${JSON.stringify(over)}: ${r.text}`);
      assert.equal(r.body.error.code, code, `${JSON.stringify(over)}: ${r.text}`);
      assert.equal(r.body.error.details.field, field, `${JSON.stringify(over)}: ${r.text}`);
      assert.match(r.body.error.message, message, `${JSON.stringify(over)}: ${r.text}`);
    }
    assert.equal((await s.call('POST', '/v1/jobs', { key: acme.developer, json: student({ teacher: { model: 'no-such-gpt' } }) })).status, 404);
    // A classifier has no next-token probabilities to teach.
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key: acme.developer, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')) })).status, 201);
    const lr = await waitJob(s, (await submit(s, { type: 'train', name: 'iris-lr', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } }, acme.developer)).id, { key: acme.viewer });
    assert.equal(lr.status, 'succeeded', JSON.stringify(lr.error));
    const notLm = await s.call('POST', '/v1/jobs', { key: acme.developer, json: student({ teacher: { model: 'iris-lr' } }) });
    assert.equal(notLm.status, 422, notLm.text);
    assert.equal(notLm.body.error.code, 'teacher_mismatch');
    assert.match(notLm.body.error.message, /is a logistic_regression; a language model learns from a causal_lm teacher/);
    // Another tenant's model is not there for it, as a missing one (it gets a corpus of its own first).
    const body = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 300).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv-slice&format=text', { key: other.developer, body })).status, 201);
    assert.equal((await s.call('POST', '/v1/jobs', { key: other.developer, json: student() })).status, 404);
  });
});
