/**
 * The OpenAI-compatible API's embeddings and model list, its error shape, rate limits (with an
 * injected clock: minutes pass without waiting) and token metering into /v1/usage, over real
 * HTTP with a real text_encoder endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupEncoderFolder, zipStored } from '../../ml/testing/hf-folders.js';
import { startTestServer, type TestServer } from '../testing/test-server.js';

let s: TestServer;
let dev: string;
let tenantId: string;
let other: string;
let now = Date.parse('2026-01-01T00:00:00Z');
const encoder = lookupEncoderFolder();

async function ready(key: string, name: string): Promise<void> {
  for (;;) {
    const r = await s.call('GET', `/v1/endpoints/${name}`, { key });
    if (r.body?.status === 'ready') return;
    if (r.body?.status === 'failed') throw new Error(r.text);
    await new Promise((res) => setImmediate(res));
  }
}

before(async () => {
  s = await startTestServer({}, { clock: () => now });
  const t = await s.tenant('oai');
  dev = t.developer;
  tenantId = t.id;
  other = (await s.tenant('oai-other')).developer;
  const imp = await s.call('POST', '/v1/models/enc/versions', { key: dev, body: zipStored(encoder.files), headers: { 'content-type': 'application/zip' } });
  assert.equal(imp.status, 201, imp.text);
  const ep = await s.call('POST', '/v1/endpoints', { key: dev, json: { name: 'embed', model: 'enc', version: 1 } });
  assert.equal(ep.status, 201, ep.text);
  await ready(dev, 'embed');
});
after(() => s.stop());

function expected(text: string): number[] {
  const ids = encoder.encode(text);
  const rows = ids.map(encoder.table);
  return rows[0]!.map((_, d) => rows.reduce((a, r) => a + r[d]!, 0) / rows.length);
}

function close(a: number[], b: number[]): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `${a} vs ${b}`);
}

test('embeddings are the mean of last_hidden_state over each text\'s tokens, as floats or base64', async () => {
  const r = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: ['the cat', 'a dog sat on the log.'] } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object, 'list');
  assert.equal(r.body.model, 'embed');
  close(r.body.data[0].embedding, expected('the cat'));
  close(r.body.data[1].embedding, expected('a dog sat on the log.'));
  const tokens = encoder.encode('the cat').length + encoder.encode('a dog sat on the log.').length;
  assert.deepEqual(r.body.usage, { prompt_tokens: tokens, total_tokens: tokens });

  const b = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: 'the mat', encoding_format: 'base64' } });
  assert.equal(b.status, 200, b.text);
  const raw = Buffer.from(b.body.data[0].embedding, 'base64');
  close(Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4)), expected('the mat'));
});

test('an encoder whose weights are in an external data file serves the same embeddings', async () => {
  const ext = lookupEncoderFolder(4, { externalData: true });
  const imp = await s.call('POST', '/v1/models/enc-ext/versions', { key: dev, body: zipStored(ext.files), headers: { 'content-type': 'application/zip' } });
  assert.equal(imp.status, 201, imp.text);
  const ep = await s.call('POST', '/v1/endpoints', { key: dev, json: { name: 'embed-ext', model: 'enc-ext', version: 1 } });
  assert.equal(ep.status, 201, ep.text);
  await ready(dev, 'embed-ext');
  const r = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed-ext', input: 'the log' } });
  assert.equal(r.status, 200, r.text);
  close(r.body.data[0].embedding, expected('the log'));
  assert.equal((await s.call('DELETE', '/v1/endpoints/embed-ext', { key: dev })).status, 200);
});

test('GET /openai/v1/models lists the tenant\'s language-model endpoints; other tenants see none of them', async () => {
  const r = await s.call('GET', '/openai/v1/models', { key: dev });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data.map((m: { id: string; object: string }) => `${m.id}:${m.object}`), ['embed:model']);
  const o = await s.call('GET', '/openai/v1/models', { key: other });
  assert.deepEqual(o.body.data, []);
  const e = await s.call('POST', '/openai/v1/embeddings', { key: other, json: { model: 'embed', input: 'the cat' } });
  assert.equal(e.status, 404, e.text);
  assert.equal(e.body.error.type, 'not_found_error');
});

test('errors under /openai/v1 have OpenAI\'s shape', async () => {
  const noKey = await s.call('POST', '/openai/v1/embeddings', { key: null, json: { model: 'embed', input: 'x' } });
  assert.equal(noKey.status, 401);
  assert.deepEqual(Object.keys(noKey.body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(noKey.body.error.type, 'authentication_error');
  const missing = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'nope', input: 'x' } });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');
  const empty = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: [] } });
  assert.equal(empty.status, 422, empty.text);
  assert.equal(empty.body.error.param, 'input');
  assert.equal(empty.body.error.type, 'invalid_request_error');
  const route = await s.call('GET', '/openai/v1/nothing', { key: dev });
  assert.equal(route.status, 404);
  assert.equal(route.body.error.code, 'route_not_found');
});

test('per-key request limits: 429 with Retry-After and x-ratelimit headers, refilled as the minute passes', async () => {
  const k = await s.call('POST', '/v1/keys', { key: dev, json: { name: 'limited', role: 'inference' } });
  const key = k.body.key;
  const set = await s.call('PUT', `/v1/keys/${k.body.id}/limits`, { key: dev, json: { requestsPerMinute: 2 } });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.body, { requestsPerMinute: 2, tokensPerMinute: null });
  const call = () => s.call('POST', '/openai/v1/embeddings', { key, json: { model: 'embed', input: 'the cat' } });
  const first = await call();
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal(first.headers.get('x-ratelimit-remaining-requests'), '1');
  assert.equal((await call()).status, 200);
  const refused = await call();
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.body.error.code, 'rate_limit_exceeded');
  assert.equal(refused.body.error.type, 'rate_limit_error');
  assert.equal(refused.headers.get('retry-after'), '30');
  assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
  now += 30_000; // half a minute gives one request back
  assert.equal((await call()).status, 200);
  assert.equal((await call()).status, 429);
  // Another key of the tenant is not limited by this one's limit.
  assert.equal((await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: 'the cat' } })).status, 200);
  // Another tenant cannot see or set this key's limits.
  assert.equal((await s.call('PUT', `/v1/keys/${k.body.id}/limits`, { key: other, json: { requestsPerMinute: 1000 } })).status, 404);
});

test('per-tenant token limits count the tokens answered; tokens are metered into /v1/usage', async () => {
  const before = await s.call('GET', '/v1/usage', { key: dev });
  const q = await s.call('PUT', `/v1/tenants/${tenantId}/quota`, { json: { tokensPerMinute: 10 } });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.body.tokensPerMinute, 10);
  now += 120_000;
  const text = 'the cat sat on the mat.'; // more than 10 tokens: the bucket goes below zero
  const n = encoder.encode(text).length;
  const first = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: text } });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('x-ratelimit-remaining-tokens'), '0');
  const refused = await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: 'the' } });
  assert.equal(refused.status, 429, refused.text);
  // n tokens spent from 10: back above zero after (n - 10 + 1) / 10 of a minute.
  assert.equal(refused.headers.get('retry-after'), String(Math.ceil(((n - 10 + 1) * 60) / 10)));
  now += (Number(refused.headers.get('retry-after')) - 1) * 1000;
  assert.equal((await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: 'the' } })).status, 429, 'not yet');
  now += 1000;
  assert.equal((await s.call('POST', '/openai/v1/embeddings', { key: dev, json: { model: 'embed', input: 'the' } })).status, 200);
  await s.call('PUT', `/v1/tenants/${tenantId}/quota`, { json: { tokensPerMinute: null } });

  const after = await s.call('GET', '/v1/usage', { key: dev });
  assert.equal(after.status, 200, after.text);
  const grew = after.body.data[0].promptTokens - before.body.data[0].promptTokens;
  assert.equal(grew, n + encoder.encode('the').length);
  assert.equal(after.body.data[0].completionTokens, 0);
  assert.ok(after.body.prices.promptToken > 0);
});
