/**
 * Every transport of a prediction over real HTTP (the fast path before Fastify, the Fastify
 * predict route, the Open Inference Protocol's infer, versioned infer, metadata and readiness)
 * goes through the one data plane: the same caller gets the same refusal, body for body, from
 * each of them, and no transport lets a key reach what the others would refuse.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type Reply, type TestServer } from '../testing/test-server.js';
import { mlpModel, mlpWeights } from '../../ml/testing/onnx-fixtures.js';
import { until } from '../testing/jobs-helpers.js';
import { ManualClock } from '../../infra/testing/manual-clock.js';

const ROW = [1, 2, 3, 4];

describe('prediction transports', () => {
  let s: TestServer;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };

  /** How many predictions the fast path has answered so far (from /metrics). */
  const taken = async () => Number(/^aiaas_http_predict_fast_path_total (\S+)$/m.exec((await s.call('GET', '/metrics')).text)?.[1]);
  const predict = (key: string, name: string, query = '') => s.call('POST', `/v1/endpoints/${name}/predict${query}`, { key, json: { instances: [ROW] } });
  const tensor = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: ROW }] };

  /**
   * One call through each transport. The fast path only takes a key authenticated a moment ago,
   * so its call comes after one through Fastify (`?via=fastify`: a query string, which the fast
   * path leaves to Fastify); `fast` says whether it was taken.
   */
  async function everyTransport(key: string, name: string): Promise<{ replies: Record<string, Reply>; fast: boolean }> {
    const replies: Record<string, Reply> = {};
    replies['fastify predict'] = await predict(key, name, '?via=fastify');
    const before = await taken();
    replies['fast-path predict'] = await predict(key, name);
    const fast = (await taken()) === before + 1;
    replies['v2 infer'] = await s.call('POST', `/v2/models/${name}/infer`, { key, json: tensor });
    replies['v2 version infer'] = await s.call('POST', `/v2/models/${name}/versions/1/infer`, { key, json: tensor });
    replies['v2 metadata'] = await s.call('GET', `/v2/models/${name}`, { key });
    replies['v2 ready'] = await s.call('GET', `/v2/models/${name}/ready`, { key });
    return { replies, fast };
  }

  /** Every transport answered `status` with one and the same error body. */
  function sameRefusal(replies: Record<string, Reply>, status: number): Record<string, unknown> {
    const [first, ...rest] = Object.entries(replies);
    for (const [via, r] of [first!, ...rest]) assert.equal(r.status, status, `${via}: ${r.text}`);
    for (const [via, r] of rest) assert.deepEqual(r.body, first![1].body, `${via} answers as ${first![0]}`);
    return first![1].body.error;
  }

  before(async () => {
    s = await startTestServer();
    // The auth cache's clock stands still: "authenticated a moment ago" must not depend on the machine's speed.
    s.server.platform.keys.now = new ManualClock(performance.now()).now;
    owner = await s.tenant('transports-owner');
    stranger = await s.tenant('transports-stranger');
    const model = mlpModel(mlpWeights([4, 6, 3], 7));
    for (const name of ['alpha', 'beta']) {
      if (name === 'alpha') {
        const m = await s.call('POST', '/v1/models/mlp/versions', { key: owner.developer, body: model, headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(m.status, 201, m.text);
      }
      const e = await s.call('POST', '/v1/endpoints', { key: owner.developer, json: { name, model: 'mlp', version: 1, replicas: { min: 1, max: 1 } } });
      assert.equal(e.status, 201, e.text);
    }
    for (const name of ['alpha', 'beta']) {
      await until(`${name} to be ready`, async () => (await s.call('GET', `/v1/endpoints/${name}`, { key: owner.developer })).body.status === 'ready');
    }
  });
  after(() => s.stop());

  test('the owner and a key scoped to the endpoint are answered by every transport', async () => {
    const scoped = (await s.call('POST', '/v1/keys', { key: owner.developer, json: { name: 'alpha-only', role: 'inference', endpoint: 'alpha' } })).body.key as string;
    for (const key of [owner.developer, scoped]) {
      const { replies, fast } = await everyTransport(key, 'alpha');
      for (const [via, r] of Object.entries(replies)) assert.equal(r.status, 200, `${via}: ${r.text}`);
      assert.ok(fast, 'the fast path took the second predict call');
      assert.deepEqual(replies['fast-path predict']!.body, replies['fastify predict']!.body);
      assert.equal(replies['v2 infer']!.body.model_name, 'alpha');
    }
  });

  test('an inference key scoped to another endpoint is refused alike by every transport', async () => {
    const scoped = (await s.call('POST', '/v1/keys', { key: owner.developer, json: { name: 'beta-only', role: 'inference', endpoint: 'beta' } })).body.key as string;
    const { replies, fast } = await everyTransport(scoped, 'alpha');
    const error = sameRefusal(replies, 403);
    assert.equal(error.message, "This inference key may call endpoint 'beta' only; use a key for 'alpha'.");
    assert.ok(fast, 'the refusal came from the fast path too');
    // Nor does it learn which endpoints exist: a name that is none is refused the same way.
    assert.equal(sameRefusal((await everyTransport(scoped, 'gamma')).replies, 403).message, "This inference key may call endpoint 'beta' only; use a key for 'gamma'.");
  });

  test("a tenant never sees another tenant's endpoint, through any transport", async () => {
    const theirs = await everyTransport(stranger.developer, 'alpha');
    const error = sameRefusal(theirs.replies, 404);
    assert.equal(error.code, 'not_found');
    assert.ok(theirs.fast, 'the fast path refused it too');
    // Exactly what a name that exists nowhere gets.
    const nowhere = await everyTransport(stranger.developer, 'alpha-nowhere');
    assert.deepEqual(JSON.parse(JSON.stringify(error).replaceAll('alpha', 'alpha-nowhere')), sameRefusal(nowhere.replies, 404));
    // A key scoped to an endpoint id of another tenant does not reach it either.
    const alphaId = (await s.call('GET', '/v1/endpoints/alpha', { key: owner.developer })).body.id as string;
    const k = await s.call('POST', '/v1/keys', { key: stranger.developer, json: { name: 'by-id', role: 'inference', endpoint: alphaId } });
    assert.equal(k.status, 201, k.text);
    assert.match(sameRefusal((await everyTransport(k.body.key, 'alpha')).replies, 403).message as string, /may call endpoint 'ep_/);
  });

  test('a role that may not predict is refused alike (the fast path leaves it to Fastify)', async () => {
    const { replies, fast } = await everyTransport(owner.viewer, 'alpha');
    const error = sameRefusal(replies, 403);
    assert.match(error.message as string, /yours has role viewer/);
    assert.ok(!fast, 'the fast path takes no key that may not predict');
  });
});
