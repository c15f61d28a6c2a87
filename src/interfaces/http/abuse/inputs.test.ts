/**
 * Bad input at the HTTP edge, through real HTTP: every error, Fastify's own included, answers in
 * API.md's shape `{"error": {code, message, details?}}` with a 4xx; inputs that used to crash a
 * route (no body, a cut form, deep nesting, a zero-filled gzip) answer 4xx; dataset uploads check
 * their Content-Type and charset; every answer says nosniff, the console forbids framing and
 * foreign scripts, a created key is never cached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startTestServer, type Reply, type TestServer } from '../../testing/test-server.js';
import { irisClassifier } from '../../../ml/testing/onnx-fixtures.js';
import { RawConnection } from '../../testing/raw-http.js';

/** The default AIAAS_BODY_LIMIT_BYTES. */
const BODY_LIMIT = 10 * 2 ** 20;
const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2, color: 'red' };
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/json', r.text);
  const e = r.body?.error;
  assert.ok(e && typeof e === 'object', `not API.md's error shape: ${r.text}`);
  assert.equal(e.code, code, r.text);
  assert.equal(typeof e.message, 'string');
  assert.ok(Object.keys(r.body).length === 1 && Object.keys(e).every((k) => ['code', 'message', 'details'].includes(k)), r.text);
}

describe('bad input at the HTTP edge', () => {
  let s: TestServer;
  let dev: string;
  before(async () => {
    s = await startTestServer();
    dev = (await s.tenant('edge')).developer;
    const model = await s.call('POST', '/v1/models/iris/versions', { key: dev, body: irisClassifier({ embedSignature: true }).bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(model.status, 201, model.text);
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris', model: 'iris', replicas: { min: 1, max: 1 } } });
    assert.equal(ep.body.status, 'ready', ep.text);
  });
  after(() => s.stop());

  test("Fastify's own errors answer in API.md's shape", async () => {
    assertError(await s.call('GET', '/%'), 400, 'bad_url');
    assertError(await s.call('GET', '/v1/no-such-route'), 404, 'route_not_found');
    assertError(await s.call('POST', '/v1/tenants', { body: '{"name": ', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    assertError(await s.call('POST', '/v1/tenants', { body: '', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    assertError(await s.call('POST', '/v1/tenants', { body: '<tenant/>', headers: { 'content-type': 'application/xml' } }), 415, 'unsupported_media_type');
    assertError(await s.call('POST', '/v1/tenants', { body: '{"name": "x"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    assertError(await s.call('POST', '/v1/tenants', { json: { name: 'x'.repeat(BODY_LIMIT) } }), 413, 'payload_too_large');
    // Prototype poisoning is still refused by the depth-limited parser.
    assertError(await s.call('POST', '/v1/tenants', { body: '{"__proto__": {"x": 1}}', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
  });

  test('a request that is not HTTP is answered 400 in the same shape, then closed', async () => {
    const c = await RawConnection.open(Number(new URL(s.url).port));
    c.write('NOT HTTP AT ALL\r\n\r\n');
    const a = await c.answer();
    assert.ok(!('closed' in a), 'closed without an answer');
    assert.equal(a.status, 400);
    assert.equal(JSON.parse(a.body).error.code, 'bad_request');
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    await c.ended();
  });

  test('very deep JSON nesting is refused at parse, never a stack overflow', async () => {
    const v2 = `{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":${deep(100_000)}}]}`;
    assertError(await s.call('POST', '/v2/models/iris/infer', { key: dev, body: v2, headers: { 'content-type': 'application/json' } }), 400, 'json_too_deep');
    assertError(await s.call('POST', '/v1/tenants', { body: `{"name": ${deep(100_000)}}`, headers: { 'content-type': 'application/json' } }), 400, 'json_too_deep');
    assertError(await s.call('POST', '/v1/jobs', { key: dev, body: `{"type": "train", "params": ${deep(100_000)}}`, headers: { 'content-type': 'application/json' } }), 400, 'json_too_deep');
    // Brackets inside strings are text, not nesting.
    const fine = await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [{ ...row, color: '['.repeat(100) }] } });
    assert.equal(fine.status, 200, fine.text);
  });

  test('a dataset POST with no body and no Content-Type is a 400', async () => {
    assertError(await s.call('POST', '/v1/datasets?name=nothing', { key: dev }), 400, 'body_missing');
  });

  test('a multipart body cut before its closing boundary is a 400', async () => {
    const boundary = 'cutform';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n`;
    assertError(await s.call('POST', '/v1/datasets?name=cut', { key: dev, body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }), 400, 'invalid_multipart');
    assert.equal((await s.call('GET', '/v1/datasets/cut', { key: dev })).status, 404);
  });

  test('a zero-filled gzip is a 4xx from ingest, not a 500', async () => {
    const r = await s.call('POST', '/v1/datasets?name=zeros', { key: dev, body: zlib.gzipSync(Buffer.alloc(40 * 2 ** 20)), headers: { 'content-type': 'application/gzip' } });
    assert.ok(r.status >= 400 && r.status < 500, r.text);
    assert.equal(typeof r.body.error.code, 'string');
  });

  test('dataset uploads check the Content-Type and the charset', async () => {
    const csv = 'a,b\n1,2\n';
    for (const type of ['application/json', 'image/png']) {
      const r = await s.call('POST', '/v1/datasets?name=typed', { key: dev, body: csv, headers: { 'content-type': type } });
      assertError(r, 415, 'unsupported_media_type');
      assert.match(r.body.error.message, /text\/csv.*application\/gzip.*multipart\/form-data/);
      assert.ok(r.body.error.details.accepted.includes('text/csv'));
    }
    const utf16 = await s.call('POST', '/v1/datasets?name=typed', { key: dev, body: csv, headers: { 'content-type': 'text/csv; charset=utf-16' } });
    assertError(utf16, 415, 'unsupported_charset');
    assert.match(utf16.body.error.message, /only UTF-8/);
    const ok = await s.call('POST', '/v1/datasets?name=typed', { key: dev, body: csv, headers: { 'content-type': 'text/csv; charset=UTF-8' } });
    assert.equal(ok.status, 201, ok.text);
    const bare = await s.call('POST', '/v1/datasets?name=typed', { key: dev, body: new TextEncoder().encode(csv) });
    assert.equal(bare.status, 201, bare.text);
  });

  test('a prediction sent as text/plain is a 415, not a 422', async () => {
    const body = JSON.stringify({ instances: [row] });
    assertError(await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, body, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });

  test('every answer says nosniff: API, errors, predictions (fast path too), the console', async () => {
    const answers = [
      await s.call('GET', '/healthz', { key: null }),
      await s.call('GET', '/v1/tenants', { key: null }),
      await s.call('GET', '/nope'),
      await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [row] } }),
      await s.call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [row] } }),
      await s.call('GET', '/', { key: null }),
    ];
    for (const r of answers) assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${r.status} ${r.text.slice(0, 80)}`);
  });

  test('the console forbids framing and loads only its own scripts and styles', async () => {
    const r = await s.call('GET', '/', { key: null });
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    if (r.status === 200) {
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
    }
  });

  test('a created key is answered with Cache-Control: no-store', async () => {
    const r = await s.call('POST', '/v1/keys', { json: { name: 'cached?', role: 'viewer' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });
});
