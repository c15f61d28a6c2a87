/**
 * The OpenAI-compatible API driven by the real `openai` npm client against a real server: a tiny
 * GPT trained by a train job, deployed behind an endpoint, then completions (text and token-id
 * prompts) and chat completions, whole and streamed (with usage), seeds, stop sequences,
 * logprobs, n, the errors (context window, bad fields, keys, scopes), a streaming client that
 * disconnects, the endpoint's generation metrics, and another tenant seeing nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, waitJob } from '../testing/jobs-helpers.js';
import { readTokenizerJson } from '../../ml/text/index.js';

const execFileAsync = promisify(execFile);
const CONTEXT = 96;
const MODEL = { kind: 'causal_lm', layers: 1, heads: 2, dim: 16, context: CONTEXT, dropout: 0 };
const TRAINING = { steps: 30, batchSize: 8, optimizer: 'adamw', learningRate: 0.01, weightDecay: 0.1, schedule: { kind: 'cosine', warmupSteps: 5 }, clipNorm: 1, seed: 0 };

describe('the OpenAI-compatible API with the openai client', () => {
  let s: TestServer;
  let acme: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };
  let client: OpenAI;
  const clientWith = (apiKey: string) => new OpenAI({ baseURL: `${s.url}/openai/v1`, apiKey, maxRetries: 0 });

  before(async () => {
    // The rate limits' clock stands still: a bucket taken below zero stays there, whatever the machine's speed.
    s = await startTestServer({ AIAAS_CPU: '2', AIAAS_HEARTBEAT_SECONDS: '0.2' }, { clock: () => 1_700_000_000_000 });
    acme = await s.tenant('acme');
    other = await s.tenant('other');
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 300).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv&format=text', { key: acme.developer, body: lines })).status, 201);
    const job = await submit(s, { type: 'train', name: 'kjv-gpt', dataset: 'kjv', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' }, model: MODEL, training: TRAINING }, acme.developer);
    const done = await waitJob(s, job.id, { key: acme.viewer });
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: acme.developer, json: { name: 'bible', model: 'kjv-gpt', version: 1, batching: { maxBatchSize: 4 } } });
    assert.equal(ep.status, 201, ep.text);
    assert.equal(ep.body.status, 'ready', ep.text);
    client = clientWith(acme.developer);
  });
  after(() => s?.stop());

  test('completions: greedy is deterministic, usage counts the tokens, token-id prompts work, the model names the endpoint', async () => {
    const a = await client.completions.create({ model: 'bible', prompt: 'And God said', max_tokens: 12, temperature: 0 });
    assert.equal(a.object, 'text_completion');
    assert.equal(a.model, 'bible');
    assert.match(a.id, /^cmpl-/);
    assert.equal(a.choices.length, 1);
    const text = a.choices[0]!.text;
    assert.equal(typeof text, 'string');
    assert.ok(text.length > 0);
    // A char tokenizer: one token per character of the prompt, and of the answer.
    assert.deepEqual(a.usage, { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 });
    assert.equal([...text].length, 12);
    assert.equal(a.choices[0]!.finish_reason, 'length');
    const b = await client.completions.create({ model: 'bible', prompt: 'And God said', max_tokens: 12, temperature: 0 });
    assert.equal(b.choices[0]!.text, text);

    // The same prompt as token ids.
    const ids = await promptIds(s, acme.viewer, 'And God said');
    const c = await client.completions.create({ model: 'bible', prompt: ids, max_tokens: 12, temperature: 0 });
    assert.equal(c.choices[0]!.text, text);
    assert.equal(c.usage!.prompt_tokens, ids.length);
  });

  test('sampling: a seed repeats the answer, n gives several choices, stop ends at a stop sequence, logprobs', async () => {
    // top_k is an extension (vLLM's too): the client passes extra fields through.
    const ask = (seed: number) => {
      const body: OpenAI.CompletionCreateParamsNonStreaming & { top_k: number } = { model: 'bible', prompt: 'In the', max_tokens: 20, temperature: 1, top_p: 0.95, top_k: 20, seed };
      return client.completions.create(body);
    };
    const [x, y, z] = [await ask(7), await ask(7), await ask(8)];
    assert.equal(y.choices[0]!.text, x.choices[0]!.text);
    assert.notEqual(z.choices[0]!.text, x.choices[0]!.text);

    const many = await client.completions.create({ model: 'bible', prompt: 'In the', max_tokens: 10, temperature: 1, n: 3, seed: 1 });
    assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2]);
    assert.equal(many.usage!.prompt_tokens, 6);
    assert.equal(many.usage!.completion_tokens, 30);

    const greedy = (await client.completions.create({ model: 'bible', prompt: 'And God said', max_tokens: 20, temperature: 0 })).choices[0]!.text;
    const stopAt = greedy.slice(3, 5);
    const stopped = await client.completions.create({ model: 'bible', prompt: 'And God said', max_tokens: 20, temperature: 0, stop: [stopAt] });
    assert.equal(stopped.choices[0]!.text, greedy.slice(0, greedy.indexOf(stopAt)));
    assert.equal(stopped.choices[0]!.finish_reason, 'stop');

    const lp = await client.completions.create({ model: 'bible', prompt: 'And God said', max_tokens: 4, temperature: 0, logprobs: 2 });
    const l = lp.choices[0]!.logprobs!;
    assert.equal(l.tokens!.join(''), lp.choices[0]!.text);
    assert.ok(l.token_logprobs!.every((v) => v! <= 0));
    assert.ok(l.top_logprobs!.every((t) => Object.keys(t!).length === 2));
    assert.deepEqual(l.text_offset, [0, 1, 2, 3]);
  });

  test('chat completions, whole and streamed: the same greedy text; usage in the last chunk; [DONE] ends the stream', async () => {
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Who made light?' }];
    const whole = await client.chat.completions.create({ model: 'bible', messages, max_tokens: 15, temperature: 0 });
    assert.equal(whole.object, 'chat.completion');
    assert.equal(whole.choices[0]!.message.role, 'assistant');
    const content = whole.choices[0]!.message.content!;
    assert.ok(content.length > 0);
    // The default template: "role: content" lines and a final "assistant:".
    const prompt = 'system: Be brief.\nuser: Who made light?\nassistant:';
    assert.equal(whole.usage!.prompt_tokens, [...prompt].length);
    assert.equal(whole.usage!.completion_tokens, 15);

    const stream = await client.chat.completions.create({ model: 'bible', messages, max_tokens: 15, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.choices[0]) {
        streamed += chunk.choices[0].delta.content ?? '';
        finish = chunk.choices[0].finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(streamed, content);
    assert.ok(chunks > 3, `tokens arrive as they are made (${chunks} chunks)`);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, whole.usage);

    // The raw stream: OpenAI's SSE framing, ending in [DONE].
    const raw = await fetch(`${s.url}/openai/v1/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${acme.developer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bible', prompt: 'In the', max_tokens: 5, temperature: 0, stream: true }),
    });
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get('content-type')!, /^text\/event-stream/);
    const events = (await raw.text()).split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    assert.ok(events.slice(0, -1).every((e) => e.startsWith('data: {')));
  });

  test('errors: the context window, bad fields, unknown endpoints, keys and scopes', async () => {
    const status = async (p: Promise<unknown>) => {
      try {
        await p;
        return 200;
      } catch (err) {
        assert.ok(err instanceof OpenAI.APIError, String(err));
        return { status: err.status, error: err.error as { code: string; message: string; type: string; param: string | null } };
      }
    };
    const long = await status(client.completions.create({ model: 'bible', prompt: 'x'.repeat(80), max_tokens: 20 }));
    assert.equal(typeof long === 'object' && long.status, 422);
    assert.ok(typeof long === 'object' && long.error.code === 'context_length_exceeded' && /context window is 96 tokens/.test(long.error.message), JSON.stringify(long));
    const bad = await status(client.completions.create({ model: 'bible', prompt: 'x', temperature: 5 }));
    assert.ok(typeof bad === 'object' && bad.status === 422 && bad.error.param === 'temperature' && bad.error.type === 'invalid_request_error', JSON.stringify(bad));
    const badId = await status(client.completions.create({ model: 'bible', prompt: [1, 99999] }));
    assert.ok(typeof badId === 'object' && badId.status === 422 && /prompt\[1\]/.test(badId.error.message), JSON.stringify(badId));
    const missing = await status(client.completions.create({ model: 'nope', prompt: 'x' }));
    assert.ok(typeof missing === 'object' && missing.status === 404, JSON.stringify(missing));
    assert.equal((await status(clientWith('aiaas_wrong').completions.create({ model: 'bible', prompt: 'x' })) as { status: number }).status, 401);

    // An inference key scoped to this endpoint works; one scoped to another is refused.
    const ep2 = await s.call('POST', '/v1/endpoints?wait=true', { key: acme.developer, json: { name: 'bible2', model: 'kjv-gpt', version: 1 } });
    assert.equal(ep2.status, 201, ep2.text);
    const scoped = await s.call('POST', '/v1/keys', { key: acme.developer, json: { name: 'chat-only', role: 'inference', endpoint: 'bible' } });
    assert.equal(scoped.status, 201, scoped.text);
    const ok = await clientWith(scoped.body.key).completions.create({ model: 'bible', prompt: 'In', max_tokens: 2 });
    assert.equal(ok.usage!.completion_tokens, 2);
    const forbidden = await status(clientWith(scoped.body.key).completions.create({ model: 'bible2', prompt: 'In', max_tokens: 2 }));
    assert.equal((forbidden as { status: number }).status, 403);
    assert.equal((await status(clientWith(acme.viewer).completions.create({ model: 'bible', prompt: 'In' })) as { status: number }).status, 403);
  });

  test('the CLI: aiaas chat ENDPOINT streams the answer; --json gives the text and usage', async () => {
    const bin = path.resolve(EXAMPLES, '../../bin/aiaas.js');
    const env = { PATH: process.env.PATH, HOME: s.home, AIAAS_URL: s.url, AIAAS_API_KEY: acme.developer };
    const run = (...args: string[]) => execFileAsync(process.execPath, [bin, ...args], { env });
    const want = (await client.chat.completions.create({ model: 'bible', messages: [{ role: 'user', content: 'Who made light?' }], max_tokens: 10, temperature: 0 })).choices[0]!.message.content;
    const plain = await run('chat', 'bible', '--message', 'Who made light?', '--max-tokens', '10', '--temperature', '0');
    assert.equal(plain.stdout, `${want}\n`);
    const json = JSON.parse((await run('chat', 'bible', '-m', 'Who made light?', '--max-tokens', '10', '--temperature', '0', '--json')).stdout);
    assert.equal(json.text, want);
    assert.equal(json.usage.completion_tokens, 10);
    await assert.rejects(run('chat', 'nope', '-m', 'hi'), (err: { code: number; stderr: string }) => err.code === 1 && /Endpoint 'nope'/.test(err.stderr));
  });

  test('generated tokens are metered into /v1/usage (streamed or not) and a key\'s token limit stops it with 429', async () => {
    const tokens = async () => {
      const u = await s.call('GET', '/v1/usage', { key: acme.developer });
      assert.equal(u.status, 200, u.text);
      return { prompt: u.body.data[0].promptTokens as number, completion: u.body.data[0].completionTokens as number };
    };
    const before = await tokens();
    const whole = await client.completions.create({ model: 'bible', prompt: 'In the', max_tokens: 3, temperature: 0 });
    let streamedUsage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const c of await client.completions.create({ model: 'bible', prompt: 'And', max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
      if (c.usage) streamedUsage = c.usage;
    }
    const after = await tokens();
    assert.equal(after.prompt - before.prompt, whole.usage!.prompt_tokens + streamedUsage!.prompt_tokens);
    assert.equal(after.completion - before.completion, whole.usage!.completion_tokens + streamedUsage!.completion_tokens);

    const k = await s.call('POST', '/v1/keys', { key: acme.developer, json: { name: 'few-tokens', role: 'inference', endpoint: 'bible' } });
    assert.equal(k.status, 201, k.text);
    assert.equal((await s.call('PUT', `/v1/keys/${k.body.id}/limits`, { key: acme.developer, json: { tokensPerMinute: 5 } })).status, 200);
    const limited = clientWith(k.body.key);
    const answered = await s.call('POST', '/openai/v1/completions', { key: k.body.key, json: { model: 'bible', prompt: 'In the', max_tokens: 40, temperature: 0 } });
    assert.equal(answered.status, 200, answered.text);
    assert.equal(answered.headers.get('x-ratelimit-limit-tokens'), '5', 'the limit is announced');
    // The answer took more tokens than the minute allows (46 against 5), and no time passes: the next request must wait.
    await assert.rejects(limited.completions.create({ model: 'bible', prompt: 'In', max_tokens: 1 }), (err: unknown) => err instanceof OpenAI.APIError && err.status === 429 && (err.error as { code: string }).code === 'rate_limit_exceeded');
  });

  test('another tenant gets the same 404 as for a missing endpoint', async () => {
    const call = (key: string, model: string) => s.call('POST', '/openai/v1/chat/completions', { key, json: { model, messages: [{ role: 'user', content: 'hi' }] } });
    const theirs = await call(other.developer, 'bible');
    const none = await call(other.developer, 'no-such-endpoint');
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.code, none.body.error.code);
    assert.equal(theirs.body.error.message.replace('bible', 'X'), none.body.error.message.replace('no-such-endpoint', 'X'));
  });

  test('a streaming client that disconnects cancels its generation; the endpoint keeps serving; metrics per endpoint', async () => {
    // One sequence at a time: the three choices run one after the other, so most of the work is still ahead at the first token.
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: acme.developer, json: { name: 'one-slot', model: 'kjv-gpt', version: 1, batching: { maxBatchSize: 1 } } });
    assert.equal(ep.status, 201, ep.text);
    const controller = new AbortController();
    const max = CONTEXT - 1;
    const stream = await client.completions.create({ model: 'one-slot', prompt: 'A', max_tokens: max, n: 3, temperature: 0, stream: true }, { signal: controller.signal });
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.text) controller.abort();
      }
    } catch (err) {
      assert.ok(err instanceof Error && /abort/i.test(err.name + err.message), String(err));
    }
    // The server saw the client leave (499), and stopped generating: far fewer tokens than the three choices asked for.
    let metrics = '';
    for (let i = 0; i < 500 && !/aiaas_endpoint_requests_total\{[^}]*status="499"\} 1/.test(metrics); i++) {
      metrics = (await s.call('GET', '/v1/endpoints/one-slot/metrics', { key: acme.viewer })).text;
    }
    assert.match(metrics, /aiaas_endpoint_requests_total\{[^}]*status="499"\} 1/);
    const generated = Number(/aiaas_endpoint_generated_tokens_total\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(generated >= 1 && generated < 3 * max, `generated ${generated} of ${3 * max}`);
    // … and the slot is free: the next request is answered.
    const next = await client.completions.create({ model: 'one-slot', prompt: 'A', max_tokens: 3, temperature: 0 });
    assert.equal(next.usage!.completion_tokens, 3);

    metrics = (await s.call('GET', '/v1/endpoints/bible/metrics', { key: acme.viewer })).text;
    for (const name of ['aiaas_endpoint_time_to_first_token_seconds_count', 'aiaas_endpoint_inter_token_seconds_count', 'aiaas_endpoint_generated_tokens_total']) {
      const m = new RegExp(`${name}\\{[^}]*\\} (\\d+)`).exec(metrics);
      assert.ok(m && Number(m[1]) > 0, `${name} in\n${metrics}`);
    }
    assert.match(metrics, /aiaas_endpoint_batch_occupancy\{[^}]*\} /);
    assert.match(metrics, /aiaas_endpoint_kv_cache_use\{[^}]*\} /);
    assert.match((await s.call('GET', '/metrics')).text, /aiaas_endpoint_time_to_first_token_seconds_bucket/);
  });
});

/** A string's token ids, by the model's own tokenizer.json (from its Hugging Face folder). */
async function promptIds(s: TestServer, key: string, text: string): Promise<number[]> {
  const res = await fetch(`${s.url}/v1/models/kjv-gpt/versions/1/artifact?format=hf`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-'));
  try {
    fs.writeFileSync(path.join(dir, 'model.tar.gz'), Buffer.from(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', 'model.tar.gz', 'tokenizer.json'], { cwd: dir });
    return readTokenizerJson(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'))).encode(text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
