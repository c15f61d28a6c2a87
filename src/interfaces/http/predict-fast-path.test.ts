/**
 * The prediction fast path (predict-fast-path.ts) through real HTTP: it answers exactly as
 * Fastify's route does, takes only what it may (a key authenticated less than a second ago),
 * and leaves the rest to Fastify.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { mlpModel, mlpWeights, type MlpWeights } from '../../ml/testing/onnx-fixtures.js';
import { until } from '../testing/jobs-helpers.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';
import { AUTH_RECHECK_MS } from '../../services/keys.js';

const WIDTH = 6;
const BODY_LIMIT = 4096;

/** The MLP's answer computed here, in float64: what the endpoint must say to float32 precision. */
function forward(w: MlpWeights, x: number[]): number[] {
  let h = x;
  w.layers.forEach(({ W, b }, l) => {
    const out = w.sizes[l + 1]!;
    const z = Array.from({ length: out }, (_, j) => b[j]! + h.reduce((s, v, i) => s + v * W[i * out + j]!, 0));
    h = l + 1 < w.layers.length ? z.map((v) => Math.max(0, v)) : z;
  });
  const m = Math.max(...h);
  const e = h.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe('prediction fast path', () => {
  let s: TestServer;
  let tenant: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };
  const weights = mlpWeights([WIDTH, 8, 3], 5);
  /**
   * The auth cache's clock, moved only by the tests: "authenticated less than a second ago" must
   * not depend on how long the machine takes between two requests.
   */
  let clock: ManualClock;

  /** How many predictions the fast path has answered so far (from /metrics). */
  const taken = async () => Number(/^aiaas_http_predict_fast_path_total (\S+)$/m.exec((await s.call('GET', '/metrics')).text)?.[1]);
  const makeKey = async (role = 'developer', endpoint?: string) =>
    (await s.call('POST', '/v1/keys', { key: tenant.developer, json: { name: `k-${Math.random()}`, role, ...(endpoint ? { endpoint } : {}) } })).body as { id: string; key: string };
  const newKey = async (role = 'developer', endpoint?: string) => (await makeKey(role, endpoint)).key;
  const predict = (key: string, body: unknown, name = 'mlp', headers: Record<string, string> = {}) =>
    s.call('POST', `/v1/endpoints/${name}/predict`, { key, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  before(async () => {
    s = await startTestServer({ AIAAS_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    clock = new ManualClock(performance.now());
    s.server.platform.keys.now = clock.now;
    tenant = await s.tenant('fast-co');
    other = await s.tenant('fast-other');
    const m = await s.call('POST', '/v1/models/mlp/versions', { key: tenant.developer, body: mlpModel(weights), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(m.status, 201, m.text);
    const e = await s.call('POST', '/v1/endpoints', { key: tenant.developer, json: { name: 'mlp', model: 'mlp', version: 1, batching: { maxBatchSize: 8, maxDelayMs: 0 } } });
    assert.equal(e.status, 201, e.text);
    await until('the endpoint to be ready', async () => (await s.call('GET', '/v1/endpoints/mlp', { key: tenant.developer })).body.status === 'ready');
  });
  after(() => s.stop());

  test("a key's next prediction takes the fast path and answers exactly as the first (through Fastify) did", async () => {
    const x = [0.5, -1.25, 3, 0, 1e-3, 2.5e1];
    const cases: Array<[string, unknown, string?]> = [
      ['rows', { instances: [x, x.map((v) => -v)] }],
      ['inputs alias', { inputs: [x] }],
      ['a row too short', { instances: [[1, 2]] }],
      ['a string in a row', { instances: [[1, 2, 3, 4, 5, 'six']] }],
      ['null in a row', { instances: [[1, 2, 3, 4, 5, null]] }],
      ['not JSON', '{"instances": [[1, 2'],
      ['no rows', { instances: [] }],
      ['rows not an array', { instances: 'x' }],
      ['an empty body', ''],
      ['an unknown endpoint', { instances: [x] }, 'nope'],
      ['a value beyond float32', { instances: [x, [1, 2, 3, 4, 5, 1e39]] }],
      ['a negative value beyond float32', { instances: [[-1e39, 2, 3, 4, 5, 6]] }],
      ['a value beyond float64', '{"instances": [[1, 2, 3, 4, 5, 1e999]]}'],
      ['rows nested one level too deep', { instances: [[x]] }],
      ['a number where a row is expected', { instances: [1, 2] }],
      ['rows nested very deep', `{"instances": [${'['.repeat(1000)}1${']'.repeat(1000)}]}`],
      ['impute asked for', { instances: [x], impute: true }],
      ['impute not a boolean', { instances: [x], impute: 'yes' }],
      ['an object keyed by a misspelled input', { instances: [{ X: x }] }],
    ];
    const before = await taken();
    for (const [what, body, name] of cases) {
      const key = await newKey();
      const first = await predict(key, body, name);
      const second = await predict(key, body, name);
      assert.equal(second.status, first.status, what);
      assert.deepEqual(second.body, first.body, what);
      assert.equal(second.headers.get('content-type'), first.headers.get('content-type'), what);
      if (what === 'rows') {
        assert.equal(first.status, 200, first.text);
        const got = first.body.predictions.map((p: { probabilities: number[] }) => p.probabilities);
        [x, x.map((v) => -v)].forEach((row, r) => forward(weights, row).forEach((p, j) => assert.ok(Math.abs(got[r][j] - p) < 1e-5, `row ${r}: ${got[r]}`)));
        assert.equal(first.body.model, 'mlp');
        assert.equal(first.body.version, 1);
      }
    }
    assert.equal(await taken(), before + cases.length, 'every second call took the fast path');
    // Once the key was authenticated AUTH_RECHECK_MS ago, Fastify checks it again (and caches it anew).
    const key = await newKey();
    await predict(key, { instances: [x] });
    clock.advance(AUTH_RECHECK_MS);
    const stale = await taken();
    assert.equal((await predict(key, { instances: [x] })).status, 200);
    assert.equal(await taken(), stale, 'a key checked a second ago goes through Fastify');
    assert.equal((await predict(key, { instances: [x] })).status, 200);
    assert.equal(await taken(), stale + 1, 'and is taken by the fast path again once re-checked');
    const bad = await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 'six']] });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.details.row, 0);
    assert.equal(bad.body.error.details.column, 'x[5]');
    const huge = await predict(tenant.developer, { instances: [x, [1, 2, 3, 4, 5, 1e39]] });
    assert.deepEqual([huge.status, huge.body.error.code, huge.body.error.details.row, huge.body.error.details.column], [422, 'invalid_value', 1, 'x[5]'], huge.text);
    assert.match(huge.body.error.message, /float32/);
    for (const body of [{ instances: [[x]] }, { instances: [1, 2] }]) {
      const r = await predict(tenant.developer, body);
      assert.deepEqual([r.status, r.body.error.code, r.body.error.details.row], [422, 'invalid_shape', 0], r.text);
    }
    const misspelled = await predict(tenant.developer, { instances: [{ X: x }] });
    assert.deepEqual([misspelled.status, misspelled.body.error.code, misspelled.body.error.details.suggestion], [422, 'unknown_column', 'x'], misspelled.text);
  });

  test('request ids: a sane X-Request-Id comes back, otherwise one is made', async () => {
    await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] });
    const mine = await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] }, 'mlp', { 'x-request-id': 'trace-42' });
    assert.equal(mine.headers.get('x-request-id'), 'trace-42');
    const made = await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] }, 'mlp', { 'x-request-id': 'bad id with spaces' });
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('what the fast path may not decide goes to Fastify, and is answered right', async () => {
    await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] }); // cached
    const before = await taken();
    const asXml = await s.call('POST', '/v1/endpoints/mlp/predict', { key: tenant.developer, body: '{"instances": [[1,2,3,4,5,6]]}', headers: { 'content-type': 'application/xml' } });
    assert.equal(asXml.status, 415, asXml.text);
    const viaAdmin = await predict(s.adminKey, { instances: [[1, 2, 3, 4, 5, 6]] }, 'mlp', { 'x-tenant': tenant.id });
    assert.equal(viaAdmin.status, 200, viaAdmin.text);
    const viewer = await predict(tenant.viewer, { instances: [[1, 2, 3, 4, 5, 6]] });
    assert.equal(viewer.status, 403, viewer.text);
    const withQuery = await s.call('POST', '/v1/endpoints/mlp/predict?x=1', { key: tenant.developer, json: { instances: [[1, 2, 3, 4, 5, 6]] } });
    assert.equal(withQuery.status, 200, withQuery.text);
    const unknownKey = await predict('aiaas_unknown', { instances: [[1, 2, 3, 4, 5, 6]] });
    assert.equal(unknownKey.status, 401);
    assert.equal(await taken(), before, 'none of these took the fast path');
  });

  test('a revoked key is refused on its very next prediction', async () => {
    const { key, id } = await makeKey();
    const before = await taken();
    assert.equal((await predict(key, { instances: [[1, 2, 3, 4, 5, 6]] })).status, 200);
    assert.equal((await predict(key, { instances: [[1, 2, 3, 4, 5, 6]] })).status, 200);
    assert.equal(await taken(), before + 1, 'the second call was taken by the fast path');
    assert.equal((await s.call('DELETE', `/v1/keys/${id}`, { key: tenant.developer })).status, 200);
    const after = await predict(key, { instances: [[1, 2, 3, 4, 5, 6]] });
    assert.equal(after.status, 401, after.text);
  });

  test('an inference key scoped to another endpoint, and keys of another tenant, get nothing here', async () => {
    const scoped = await newKey('inference', 'elsewhere');
    for (let i = 0; i < 2; i++) {
      const r = await predict(scoped, { instances: [[1, 2, 3, 4, 5, 6]] });
      assert.equal(r.status, 403, r.text);
    }
    for (let i = 0; i < 2; i++) {
      const r = await predict(other.developer, { instances: [[1, 2, 3, 4, 5, 6]] });
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body.error.code, 'not_found');
    }
  });

  test('a body over the limit answers 413, announced or streamed, and the endpoint keeps serving', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 400 }, () => [1, 2, 3, 4, 5, 6]) });
    assert.ok(big.length > BODY_LIMIT);
    await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] }); // cached
    const announced = await predict(tenant.developer, big);
    assert.equal(announced.status, 413, announced.text);
    const before = await taken();
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
        c.close();
      },
    });
    const streamed = await s.call('POST', '/v1/endpoints/mlp/predict', { key: tenant.developer, body: stream, headers: { 'content-type': 'application/json' } });
    assert.equal(streamed.status, 413, streamed.text);
    assert.equal(streamed.body.error.code, 'payload_too_large');
    assert.equal(await taken(), before + 1);
    assert.equal((await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] })).status, 200);
  });

  test('fast-path predictions are counted in the HTTP and endpoint metrics like the others', async () => {
    await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6]] });
    const count = async () => {
      const text = (await s.call('GET', '/metrics')).text;
      const http = Number(/^aiaas_http_requests_total\{method="POST",route="\/v1\/endpoints\/:name\/predict",status="200"\} (\S+)$/m.exec(text)?.[1]);
      const ep = Number(new RegExp(`^aiaas_endpoint_requests_total\\{tenant="${tenant.id}",endpoint="mlp",status="200"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      const rows = Number(new RegExp(`^aiaas_endpoint_predictions_total\\{tenant="${tenant.id}",endpoint="mlp"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { http, ep, rows };
    };
    const a = await count();
    const fast = await taken();
    for (let i = 0; i < 5; i++) assert.equal((await predict(tenant.developer, { instances: [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]] })).status, 200);
    const b = await count();
    assert.equal(await taken(), fast + 5);
    assert.deepEqual({ http: b.http - a.http, ep: b.ep - a.ep, rows: b.rows - a.rows }, { http: 5, ep: 5, rows: 10 });
  });
});
