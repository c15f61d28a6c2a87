/**
 * Importing Hugging Face folders (.tar.gz, .zip) through real HTTP: decoders and encoders,
 * the 422s that name what is missing, archives that are not, streaming in bounded memory,
 * and tenant isolation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { tarGz, tarStream } from '../../infra/tar.js';
import { readTar } from '../../infra/tar-read.js';
import { decoderWithoutCacheFolder, externalDataDecoderGraph, lookupEncoderFolder, tinyGptFolder, zipStored } from '../../ml/testing/hf-folders.js';
import { startTestServer, type TestServer } from '../testing/test-server.js';

const gz = { 'content-type': 'application/gzip' };

let s: TestServer;
let dev: string;
let other: string;
before(async () => {
  s = await startTestServer({ AIAAS_MODEL_MAX_BYTES: String(256 * 2 ** 20) });
  dev = (await s.tenant('lm-import')).developer;
  other = (await s.tenant('lm-import-other')).developer;
});
after(() => s.stop());

test('a GPT folder (.tar.gz inside one top folder) imports as a causal_lm, and downloads as the same folder', async () => {
  const files = tinyGptFolder();
  const r = await s.call('POST', '/v1/models/tiny-gpt/versions', { key: dev, body: tarGz(files, { root: 'tiny-gpt' }), headers: gz });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'causal_lm');
  assert.equal(r.body.task, 'language_modeling');
  assert.equal(r.body.source, 'imported');
  assert.equal(r.body.sizeBytes, files.get('onnx/model.onnx')!.length);
  assert.deepEqual(r.body.lineage.params, { format: 'huggingface', modelType: 'gpt2', architectures: ['GPT2LMHeadModel'] });
  const names = r.body.signature.tensors.map((t: { name: string }) => t.name);
  assert.ok(names.includes('past_key_values.0.key') && names.includes('input_ids'), names.join(','));
  const ids = r.body.signature.tensors.find((t: { name: string }) => t.name === 'input_ids');
  assert.deepEqual(ids, { name: 'input_ids', dtype: 'int64', shape: [-1, -1] });

  const hf = await fetch(`${s.url}/v1/models/tiny-gpt/versions/1/artifact?format=hf`, { headers: { authorization: `Bearer ${dev}` } });
  assert.equal(hf.status, 200);
  const back = new Map<string, Buffer>();
  for await (const e of readTar(Readable.from([gunzipSync(Buffer.from(await hf.arrayBuffer()))]))) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c);
    back.set(e.path, Buffer.concat(parts));
  }
  assert.deepEqual([...back.keys()].sort(), [...files.keys()].sort());
  for (const [name, bytes] of files) assert.ok(back.get(name)!.equals(Buffer.from(bytes)), name);
});

test('an encoder folder (.zip, files at the root) imports as a text_encoder', async () => {
  const r = await s.call('POST', '/v1/models/lookup/versions', { key: dev, body: zipStored(lookupEncoderFolder().files), headers: { 'content-type': 'application/zip' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'text_encoder');
  assert.deepEqual(r.body.signature.outputs, [{ name: 'last_hidden_state', dtype: 'float32', shape: [-1, -1, 4] }]);
});

test('a decoder without its key/value cache is refused with a 422 that names the missing tensors', async () => {
  const r = await s.call('POST', '/v1/models/nocache/versions', { key: dev, body: tarGz(decoderWithoutCacheFolder()), headers: gz });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.error.code, 'missing_graph_tensors');
  assert.deepEqual(r.body.error.details.missingInputs, ['input_ids', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value']);
  assert.deepEqual(r.body.error.details.missingOutputs, ['present.0.key', 'present.0.value']);
  assert.match(r.body.error.message, /past_key_values\.0\.key/);
  // Layer 1's cache missing, with config.json saying 2 layers.
  const files = tinyGptFolder();
  files.set('config.json', Buffer.from(JSON.stringify({ model_type: 'gpt2', n_layer: 2 })));
  files.set('onnx/model.onnx', externalDataDecoderGraph(64, { withCache: false }));
  files.set('onnx/model.onnx_data', new Uint8Array(64));
  const half = await s.call('POST', '/v1/models/nocache/versions', { key: dev, body: tarGz(files), headers: gz });
  assert.equal(half.status, 422, half.text);
  assert.deepEqual(half.body.error.details.missingInputs, ['past_key_values.1.key', 'past_key_values.1.value']);
  assert.equal((await s.call('GET', '/v1/models/nocache', { key: dev })).status, 404, 'nothing is registered');
});

test('archives that are not, or that lack files, are refused with what to send', async () => {
  const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(200)]);
  const bad = await s.call('POST', '/v1/models/bad/versions', { key: dev, body: garbage, headers: gz });
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.body.error.code, 'invalid_archive');

  const notTar = await s.call('POST', '/v1/models/bad/versions', { key: dev, body: gzipSync(randomBytes(2048)), headers: gz });
  assert.equal(notTar.status, 422, notTar.text);
  assert.equal(notTar.body.error.code, 'invalid_archive');

  const files = tinyGptFolder();
  files.delete('tokenizer.json');
  const noTok = await s.call('POST', '/v1/models/bad/versions', { key: dev, body: tarGz(files), headers: gz });
  assert.equal(noTok.status, 422, noTok.text);
  assert.equal(noTok.body.error.code, 'invalid_model_folder');
  assert.deepEqual(noTok.body.error.details.missing, ['tokenizer.json']);

  const noData = tinyGptFolder();
  noData.set('onnx/model.onnx', externalDataDecoderGraph(64));
  const missingData = await s.call('POST', '/v1/models/bad/versions', { key: dev, body: tarGz(noData), headers: gz });
  assert.equal(missingData.status, 422, missingData.text);
  assert.equal(missingData.body.error.code, 'missing_external_data');
  assert.equal(missingData.body.error.details.file, 'onnx/model.onnx_data');

  const truncated = tarGz(tinyGptFolder());
  const cut = await s.call('POST', '/v1/models/bad/versions', { key: dev, body: truncated.subarray(0, truncated.length >> 1), headers: gz });
  assert.equal(cut.status, 422, cut.text);
  assert.equal(cut.body.error.code, 'invalid_archive');
  assert.equal((await s.call('GET', '/v1/models/bad', { key: dev })).status, 404);
});

test('another tenant sees imported language models as missing', async () => {
  for (const route of ['/v1/models/tiny-gpt', '/v1/models/tiny-gpt/versions/1', '/v1/models/tiny-gpt/versions/1/artifact?format=hf']) {
    const r = await s.call('GET', route, { key: other });
    assert.equal(r.status, 404, `${route}: ${r.text}`);
    assert.equal(r.body.error.code, 'not_found');
  }
});

test('a folder whose external data is far larger than the memory it may use streams through', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const dataBytes = 96 * 2 ** 20;
  const chunk = 2 ** 20;
  const live = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
  const base = live();
  let peak = 0;
  async function* data(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < dataBytes / chunk; i++) {
      if (i % 8 === 0) peak = Math.max(peak, live() - base);
      yield randomBytes(chunk);
    }
  }
  const files = tinyGptFolder();
  files.set('onnx/model.onnx', externalDataDecoderGraph(dataBytes));
  files.set('config.json', Buffer.from(JSON.stringify({ model_type: 'gpt2', n_layer: 2 })));
  const entries = [...files].map(([path, bytes]) => ({ path, size: bytes.length, body: bytes }));
  entries.push({ path: 'onnx/model.onnx_data', size: dataBytes, body: data() as never });
  const r = await streamedPost(`${s.url}/v1/models/big/versions`, dev, Readable.from(tarStream(entries)).pipe(createGzip({ level: 1 })));
  assert.equal(r.status, 201, r.text);
  assert.equal(JSON.parse(r.text).kind, 'causal_lm');
  assert.ok(peak > 0);
  assert.ok(peak < 40 * 2 ** 20, `the import held ${Math.round(peak / 2 ** 20)} MiB while ${dataBytes / 2 ** 20} MiB streamed through`);
});

/** A POST whose body is written as the server reads it (fetch buffers a streamed body ahead of the socket). */
async function streamedPost(url: string, key: string, body: AsyncIterable<Uint8Array>): Promise<{ status: number; text: string }> {
  const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/gzip' } });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  for await (const chunk of body) if (!req.write(chunk)) await once(req, 'drain');
  req.end();
  return answer;
}
