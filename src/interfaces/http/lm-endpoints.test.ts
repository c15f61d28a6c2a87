/**
 * Language-model endpoints as endpoints: their generation metrics in the endpoint's metrics API
 * agree with the answers' usage, and a traffic split between two causal_lm versions, changed
 * while streamed completions run, loses no request (every stream ends in [DONE], both versions
 * answer). Two tiny GPTs trained by train jobs, through real HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';

const MODEL = { kind: 'causal_lm', layers: 1, heads: 2, dim: 16, context: 48, dropout: 0 };
const TRAINING = { steps: 10, batchSize: 8, learningRate: 0.01, seed: 0 };

/** The value of one series in Prometheus text (the first line of `name{…}`), or undefined. */
function value(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('language-model endpoints: metrics and traffic split', () => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2', AIAAS_HEARTBEAT_SECONDS: '0.2' });
    acme = await s.tenant('acme');
    other = await s.tenant('other');
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 200).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv&format=text', { key: acme.developer, body: lines })).status, 201);
    // Two versions of one model (different seeds): a canary needs a second version.
    for (const seed of [0, 1]) {
      const job = await submit(s, { type: 'train', name: 'gpt', dataset: 'kjv', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' }, model: MODEL, training: { ...TRAINING, seed } }, acme.developer);
      const done = await waitJob(s, job.id, { key: acme.viewer });
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    }
  });
  after(() => s?.stop());

  const complete = (key: string, body: Record<string, unknown>) => s.call('POST', '/openai/v1/completions', { key, json: { model: 'lm', ...body } });

  test("the endpoint's metrics count the answers' tokens; occupancy and cache use are shares; another tenant sees none", async () => {
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: acme.developer, json: { name: 'lm', model: 'gpt', version: 1, batching: { maxBatchSize: 4 } } });
    assert.equal(ep.status, 201, ep.text);
    let completion = 0;
    const answers = await Promise.all([5, 7, 9].map((max_tokens) => complete(acme.developer, { prompt: 'And God', max_tokens, temperature: 0 })));
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      completion += a.body.usage.completion_tokens;
    }
    const streamed = await fetch(`${s.url}/openai/v1/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${acme.developer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'lm', prompt: 'In the', max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await streamed.text();
    const usage = JSON.parse(text.split('\n').filter((l) => l.startsWith('data: {')).at(-1)!.slice(6)).usage;
    completion += usage.completion_tokens;

    // Streams record themselves once their response ended: wait for the fourth request.
    const metrics = await until('four requests in the metrics', async () => {
      const m = (await s.call('GET', '/v1/endpoints/lm/metrics', { key: acme.viewer })).text;
      return value(m, 'aiaas_endpoint_time_to_first_token_seconds_count') === 4 ? m : undefined;
    });
    assert.equal(value(metrics, 'aiaas_endpoint_generated_tokens_total'), completion, 'tokens generated = the completion tokens of the answers');
    // One gap between each two tokens of an answer.
    assert.equal(value(metrics, 'aiaas_endpoint_inter_token_seconds_count'), completion - 4);
    assert.ok(value(metrics, 'aiaas_endpoint_time_to_first_token_seconds_sum')! > 0);
    for (const share of ['aiaas_endpoint_batch_occupancy', 'aiaas_endpoint_kv_cache_use']) {
      const v = value(metrics, share);
      assert.ok(v !== undefined && v >= 0 && v <= 1, `${share} = ${v}`);
    }
    assert.equal(value(metrics, 'aiaas_endpoint_queue_depth'), 0);
    assert.match((await s.call('GET', '/metrics')).text, /aiaas_endpoint_generated_tokens_total\{[^}]*endpoint="lm"[^}]*\} \d+/);

    // The other tenant: neither the endpoint's metrics nor its completions.
    assert.equal((await s.call('GET', '/v1/endpoints/lm/metrics', { key: other.viewer })).status, 404);
    assert.equal((await complete(other.developer, { prompt: 'A', max_tokens: 2 })).status, 404);
  });

  test('traffic moved between two causal_lm versions while streams run: every stream ends in [DONE], both versions answer', async () => {
    const streamOnce = async (): Promise<{ ok: boolean; version?: string; why?: string }> => {
      const res = await fetch(`${s.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${acme.developer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'lm', messages: [{ role: 'user', content: 'Who?' }], max_tokens: 12, temperature: 0, stream: true }),
      });
      const text = await res.text();
      const data = text.split('\n').filter((l) => l.startsWith('data: '));
      const version = /"system_fingerprint":"(v\d+)"/.exec(text)?.[1];
      if (res.status !== 200 || data.at(-1) !== 'data: [DONE]' || text.includes('"error"')) return { ok: false, why: `${res.status} ${text.slice(-300)}` };
      return { ok: true, version };
    };
    const results: Array<{ ok: boolean; version?: string; why?: string }> = [];
    let running = true;
    // Four clients streaming back to back for as long as the traffic changes.
    const clients = Array.from({ length: 4 }, async () => {
      while (running) results.push(await streamOnce());
    });
    const patch = async (json: Record<string, unknown>) => {
      const r = await s.call('PATCH', '/v1/endpoints/lm', { key: acme.developer, json });
      assert.equal(r.status, 200, r.text);
      // Some streams start and end under each traffic.
      const seen = results.length;
      await until('streams under the new traffic', async () => results.length >= seen + 4);
    };
    try {
      await until('streams under version 1', async () => results.length >= 4);
      await patch({ traffic: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }] });
      await patch({ version: 2 });
      await patch({ traffic: [{ version: 1, weight: 100 }] });
    } finally {
      running = false;
      await Promise.all(clients);
    }
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} streams failed`);
    const versions = new Set(results.map((r) => r.version));
    assert.ok(versions.has('v1') && versions.has('v2'), `versions that answered: ${[...versions].join(', ')}`);
    const ep = await s.call('GET', '/v1/endpoints/lm', { key: acme.viewer });
    assert.deepEqual(ep.body.traffic, [{ version: 1, weight: 100 }]);
  });

  test('autoscaling.targetTokensPerSecond: set by PATCH, shown on the endpoint; a negative target is a 422 naming the field', async () => {
    const set = await s.call('PATCH', '/v1/endpoints/lm', { key: acme.developer, json: { autoscaling: { targetTokensPerSecond: 2000 } } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.autoscaling.targetTokensPerSecond, 2000);
    assert.equal((await s.call('GET', '/v1/endpoints/lm', { key: acme.viewer })).body.autoscaling.targetTokensPerSecond, 2000);
    const bad = await s.call('PATCH', '/v1/endpoints/lm', { key: acme.developer, json: { autoscaling: { targetTokensPerSecond: -1 } } });
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.text, /targetTokensPerSecond/);
    // Still served, and another tenant cannot change it.
    assert.equal((await complete(acme.developer, { prompt: 'A', max_tokens: 2 })).status, 200);
    assert.equal((await s.call('PATCH', '/v1/endpoints/lm', { key: other.developer, json: { autoscaling: { targetTokensPerSecond: 1 } } })).status, 404);
  });
});
