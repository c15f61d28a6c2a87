/**
 * The optimize job through the API as a user runs it: train an MLP, optimize it by each method,
 * read the new version's lineage and side-by-side metrics, deploy it (alone and as a 10% canary),
 * and the refusals: a tree ensemble, an imported model without data, another tenant's model.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { until, waitJob } from '../testing/jobs-helpers.js';
import { readModelMetadata } from '../../onnx/protobuf-reader.js';
import { decodeModel } from '../../onnx/decode.js';
import { encodeModel, type TensorValue } from '../../onnx/model.js';
import { tinyGptFolder, zipStored } from '../../ml/testing/hf-folders.js';

const iris = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'));
const row = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };

describe('optimize jobs', () => {
  let s: TestServer;
  let dev: string;
  let other: string;
  const submit = (json: Record<string, unknown>, key = dev) => s.call('POST', '/v1/jobs', { key, json });
  async function succeed(json: Record<string, unknown>) {
    const r = await submit(json);
    assert.equal(r.status, 202, r.text);
    const job = await waitJob(s, r.body.id, { key: dev });
    assert.equal(job.status, 'succeeded', `${job.error}`);
    return job;
  }

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('opt-co')).developer;
    other = (await s.tenant('rival-co')).developer;
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key: dev, body: iris })).status, 201);
    await succeed({ type: 'train', name: 'iris-mlp', dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [32] }, training: { epochs: 60 } });
  });
  after(() => s.stop());

  test('each method registers a new version with lineage.optimizedFrom and metrics beside the source\'s', async () => {
    const source = (await s.call('GET', '/v1/models/iris-mlp/versions/1', { key: dev })).body;
    const methods: Record<string, unknown>[] = [
      { method: 'quantize_dynamic' }, { method: 'fp16' }, { method: 'quantize_static' },
      { method: 'prune', sparsity: 0.5, structured: true }, { method: 'quantize_weights', bits: 8 },
    ];
    let expected = 2;
    for (const m of methods) {
      const job = await succeed({ type: 'optimize', model: 'iris-mlp', version: 1, ...m });
      assert.deepEqual(job.result, { model: 'iris-mlp', version: expected });
      const v = (await s.call('GET', `/v1/models/iris-mlp/versions/${expected}`, { key: dev })).body;
      assert.deepEqual(v.lineage.optimizedFrom, { model: 'iris-mlp', version: 1, method: m.method });
      assert.deepEqual(v.signature, source.signature, 'same raw columns in, same outputs');
      const x = v.metrics;
      assert.equal(x.source.sizeBytes, source.sizeBytes);
      assert.equal(x.sizeBytes, v.sizeBytes);
      for (const l of [x.latencyMs, x.source.latencyMs]) assert.ok(l.p50Row > 0 && l.p50Batch > 0, JSON.stringify(l));
      assert.equal(x.source.test.accuracy, source.metrics.test.accuracy, 'the source re-measured on its own test split');
      assert.ok(Math.abs(x.test.accuracy - x.source.test.accuracy) <= 0.1, `${m.method}: ${x.test.accuracy} vs ${x.source.test.accuracy}`);
      assert.equal(x.optimization.testRows, source.metrics.training.testRows);
      expected++;
    }
  });

  test('an optimized version serves through the same endpoint, also as a 10% canary', async () => {
    const r = await s.call('POST', '/v1/endpoints', { key: dev, json: { name: 'iris-q', model: 'iris-mlp', version: 2, replicas: { min: 1, max: 1 } } });
    assert.equal(r.status, 201, r.text);
    await until('ready', async () => (await s.call('GET', '/v1/endpoints/iris-q', { key: dev })).body.status === 'ready');
    const p = await s.call('POST', '/v1/endpoints/iris-q/predict', { key: dev, json: { instances: [row] } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.version, 2);
    assert.ok(['setosa', 'versicolor', 'virginica'].includes(p.body.predictions[0].label));
    const t = await s.call('PATCH', '/v1/endpoints/iris-q', { key: dev, json: { traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] } });
    assert.equal(t.status, 200, t.text);
    await until('both versions ready', async () => (await s.call('GET', '/v1/endpoints/iris-q', { key: dev })).body.status === 'ready');
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const q = await s.call('POST', '/v1/endpoints/iris-q/predict', { key: dev, json: { instances: [row] } });
      assert.equal(q.status, 200, q.text);
      seen.add(q.body.version);
    }
    assert.deepEqual([...seen].sort(), [1, 2], 'weighted round-robin sends 3 of 30 to the canary');
  });

  test('a method that does not apply is a 422 that says why and what applies instead', async () => {
    await succeed({ type: 'train', name: 'iris-forest', dataset: 'iris', target: 'species', model: { kind: 'random_forest', nEstimators: 5 } });
    const r = await submit({ type: 'optimize', model: 'iris-forest', version: 1, method: 'quantize_dynamic' });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'method_not_applicable');
    assert.match(r.body.error.message, /tree ensemble/);

    const artifact = await fetch(`${s.url}/v1/models/iris-mlp/versions/1/artifact`, { headers: { authorization: `Bearer ${dev}` } });
    const imp = await s.call('POST', '/v1/models/iris-imported/versions', { key: dev, body: Buffer.from(await artifact.arrayBuffer()), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(imp.status, 201, imp.text);
    const prune = await submit({ type: 'optimize', model: 'iris-imported', version: 1, method: 'prune', fineTuneEpochs: 2 });
    assert.equal(prune.status, 422, prune.text);
    assert.match(prune.body.error.message, /imported/);
    assert.match(prune.body.error.message, /quantize_dynamic/);
    const stat = await submit({ type: 'optimize', model: 'iris-imported', version: 1, method: 'quantize_static' });
    assert.equal(stat.status, 422, stat.text);
    assert.match(stat.body.error.message, /calibration/);
    const bits = await submit({ type: 'optimize', model: 'iris-mlp', version: 1, method: 'quantize_weights' });
    assert.equal(bits.status, 422);
    assert.match(bits.body.error.message, /bits/);
    const wrong = await submit({ type: 'optimize', model: 'iris-mlp', version: 1, method: 'fp16', bits: 4 });
    assert.equal(wrong.status, 422);
    assert.match(wrong.body.error.message, /quantize_weights/);
  });

  test('an imported version is measured on the dataset the job names', async () => {
    const job = await succeed({ type: 'optimize', model: 'iris-imported', version: 1, method: 'quantize_dynamic', evaluation: { dataset: 'iris', target: 'species' } });
    const v = (await s.call('GET', `/v1/models/iris-imported/versions/${job.result.version}`, { key: dev })).body;
    assert.equal(v.source, 'imported');
    assert.equal(v.metrics.optimization.testRows, 150);
    assert.ok(v.metrics.source.test.accuracy > 0.8 && Math.abs(v.metrics.test.accuracy - v.metrics.source.test.accuracy) <= 0.1);
  });

  test('a language model: quantize_weights at 4 bits keeps its tokenizer files; prune is refused for it', async () => {
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 200).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv-slice&format=text', { key: dev, body: lines })).status, 201);
    await succeed({
      type: 'train', name: 'kjv-tiny', dataset: 'kjv-slice', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' },
      model: { kind: 'causal_lm', layers: 1, heads: 2, dim: 32, context: 16, dropout: 0 },
      training: { steps: 10, batchSize: 8, optimizer: 'adamw', learningRate: 0.005, seed: 0 },
    });
    const job = await succeed({ type: 'optimize', model: 'kjv-tiny', method: 'quantize_weights', bits: 4 });
    const [src, v] = await Promise.all([1, 2].map(async (n) => (await s.call('GET', `/v1/models/kjv-tiny/versions/${n}`, { key: dev })).body));
    assert.equal(job.result.version, 2);
    assert.equal(v.kind, 'causal_lm');
    assert.deepEqual(v.lineage.optimizedFrom, { model: 'kjv-tiny', version: 1, method: 'quantize_weights' });
    assert.ok(v.metrics.latencyMs.p50Row > 0 && v.metrics.optimization.rewritten === 5, JSON.stringify(v.metrics.optimization));
    assert.equal(v.metrics.test, undefined);
    const hf = await fetch(`${s.url}/v1/models/kjv-tiny/versions/2/artifact?format=hf`, { headers: { authorization: `Bearer ${dev}` } });
    assert.equal(hf.status, 200, 'the Hugging Face folder, tokenizer included, as for the source');
    assert.ok(src.sizeBytes > 0);
    const prune = await submit({ type: 'optimize', model: 'kjv-tiny', method: 'prune' });
    assert.equal(prune.status, 422);
    assert.match(prune.body.error.message, /quantize_weights/);
  });

  test('an imported Hugging Face folder whose weights are in external data is quantized with them inlined', async () => {
    // The tiny GPT's folder with every float weight moved to onnx/model.onnx_data, as large exports keep them.
    const files = tinyGptFolder();
    const graph = decodeModel(files.get('onnx/model.onnx')!);
    const chunks: Uint8Array[] = [];
    let offset = 0;
    graph.graph.initializers = graph.graph.initializers!.map((t): TensorValue => {
      if (!(t.data instanceof Float32Array) || t.data.length < 16) return t;
      const bytes = new Uint8Array(t.data.slice().buffer);
      chunks.push(bytes);
      const external = { location: 'model.onnx_data', offset, length: bytes.byteLength };
      offset += bytes.byteLength;
      return { ...t, data: new Float32Array(0), external };
    });
    files.set('onnx/model.onnx', encodeModel(graph));
    files.set('onnx/model.onnx_data', Buffer.concat(chunks));
    const imported = await s.call('POST', '/v1/models/ext-gpt/versions', { key: dev, body: zipStored(files), headers: { 'content-type': 'application/zip' } });
    assert.equal(imported.status, 201, imported.text);
    const job = await succeed({ type: 'optimize', model: 'ext-gpt', method: 'quantize_weights', bits: 8 });
    const m = job.metrics;
    assert.equal(m.optimization.rewritten, 5, 'four projections and the tied head, read from the external file');
    assert.equal(m.source.sizeBytes, files.get('onnx/model.onnx')!.length + offset, 'the source\'s size counts its external data');
    assert.ok(m.latencyMs.p50Row > 0 && m.source.latencyMs.p50Row > 0, 'both measured');
    const hf = await fetch(`${s.url}/v1/models/ext-gpt/versions/${job.result.version}/artifact?format=hf`, { headers: { authorization: `Bearer ${dev}` } });
    assert.equal(hf.status, 200);
    const listing = gunzipSync(Buffer.from(await hf.arrayBuffer())).toString('latin1');
    assert.ok(listing.includes('onnx/model.onnx') && !listing.includes('model.onnx_data'), 'the result holds its weights inline, without the source\'s data file');
    assert.equal((await submit({ type: 'optimize', model: 'ext-gpt', method: 'quantize_weights', bits: 8 }, other)).status, 404, 'another tenant does not see it');
  });

  test('structured pruning with fineTuneEpochs trains the pruned network on the source\'s training rows and recovers its accuracy', async () => {
    await succeed({ type: 'train', name: 'iris-wide', dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [64] }, training: { epochs: 60 } });
    const prune = { type: 'optimize', model: 'iris-wide', version: 1, method: 'prune', structured: true, sparsity: 0.8 };
    await succeed(prune);
    const job = await succeed({ ...prune, fineTuneEpochs: 60 });
    const [src, cut, tuned] = await Promise.all([1, 2, 3].map(async (n) => (await s.call('GET', `/v1/models/iris-wide/versions/${n}`, { key: dev })).body));
    assert.deepEqual(job.result, { model: 'iris-wide', version: 3 });
    assert.deepEqual(tuned.lineage.optimizedFrom, { model: 'iris-wide', version: 1, method: 'prune' });
    assert.equal(tuned.metrics.optimization.fineTuneEpochs, 60);
    assert.deepEqual(tuned.signature, src.signature);
    assert.ok(tuned.sizeBytes < src.sizeBytes * 0.6 && Math.abs(tuned.sizeBytes - cut.sizeBytes) < 200, 'the fine-tuned graph keeps the pruned widths');
    assert.ok(cut.metrics.test.accuracy < src.metrics.test.accuracy - 0.1, `pruning to 13 of 64 neurons costs accuracy: ${cut.metrics.test.accuracy} vs ${src.metrics.test.accuracy}`);
    // Seeded end to end (split, shuffling, the pruned start): 0.60 pruned, 0.83 fine-tuned, 0.93 the source.
    assert.ok(tuned.metrics.test.accuracy >= cut.metrics.test.accuracy + 0.1, `fine-tuning recovers accuracy: ${cut.metrics.test.accuracy} → ${tuned.metrics.test.accuracy} (source ${src.metrics.test.accuracy})`);

    const unstructured = await submit({ ...prune, structured: false, fineTuneEpochs: 5 });
    assert.equal(unstructured.status, 422, unstructured.text);
    assert.match(unstructured.body.error.message, /"structured": true/);
  });

  test('an image-like model carries its per-pixel signature as a column range, and its artifact re-imports with every column', async () => {
    const header = ['label', ...Array.from({ length: 64 }, (_, i) => `pixel${i}`)].join(',');
    const lines = Array.from({ length: 60 }, (_, r) => [r % 2, ...Array.from({ length: 64 }, (_, i) => ((r * 7 + i * 13) % 17) + (r % 2) * (i % 3))].join(','));
    assert.equal((await s.call('POST', '/v1/datasets?name=pixels', { key: dev, body: [header, ...lines].join('\n') })).status, 201);
    await succeed({ type: 'train', name: 'pixels-mlp', dataset: 'pixels', target: 'label', model: { kind: 'mlp', hidden: [8] }, training: { epochs: 2 } });
    const source = (await s.call('GET', '/v1/models/pixels-mlp/versions/1', { key: dev })).body;
    assert.equal(source.signature.inputs.length, 64);
    const bytes = new Uint8Array(await (await fetch(`${s.url}/v1/models/pixels-mlp/versions/1/artifact`, { headers: { authorization: `Bearer ${dev}` } })).arrayBuffer());
    const stored = JSON.parse(readModelMetadata(bytes)['aiaas.signature']!);
    assert.deepEqual(stored.inputs.map((i: { columns?: unknown }) => i.columns), [{ prefix: 'pixel', from: 0, count: 64 }]);
    const imp = await s.call('POST', '/v1/models/pixels-imported/versions', { key: dev, body: Buffer.from(bytes), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(imp.status, 201, imp.text);
    assert.deepEqual(imp.body.signature.inputs, source.signature.inputs);
  });

  test('another tenant gets the same 404 as for a model that does not exist', async () => {
    const theirs = await submit({ type: 'optimize', model: 'iris-mlp', version: 1, method: 'quantize_dynamic' }, other);
    const missing = await submit({ type: 'optimize', model: 'no-such-model', version: 1, method: 'quantize_dynamic' }, other);
    assert.equal(theirs.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(theirs.body.error.code, missing.body.error.code);
    assert.equal(theirs.body.error.message.replace('iris-mlp', 'X'), missing.body.error.message.replace('no-such-model', 'X'));
    const cal = await submit({ type: 'optimize', model: 'iris-mlp', version: 1, method: 'quantize_static', calibration: { dataset: 'iris' } }, other);
    assert.equal(cal.status, 404);
  });
});
