/**
 * The continuous batcher on a real decoder in ONNX Runtime: greedy decoding through the cache
 * gives token for token what recomputing the whole sequence each step gives; sequences that join
 * and leave a running batch (chunked prefill included) get the tokens they get alone; seeded
 * sampling does not depend on the batch; a cancelled sequence stops at once. Both ways of
 * reading a step's new keys and values: out of `present`, and alone from the outputs
 * exposeAppendedKeyValues adds (as replicas run it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as ort from 'onnxruntime-node';
import { i64, f32, openSession } from '../runtime.js';
import { encodeModel } from '../../onnx/model.js';
import { ContinuousBatcher, WIDTH_STEP, type DecoderRunner, type SequenceRequest, type TokenEvent } from './continuous-batch.js';
import { exposeAppendedKeyValues } from './decoder.js';
import { createGpt, gptDecoderModel, pastName, trainLm, type GptConfig } from './index.js';
import { argmax, GREEDY } from './sampling.js';

// Ids of a 13-letter alphabet; a model trained briefly on it continues prompts with varied tokens
// (a random one repeats a token or two), so equal continuations mean something.
const text = Array.from({ length: 60 }, (_, i) => 'abcdefghijklm'.slice(i % 5) + 'mlkjih'.slice(i % 3)).join('');
const ids = Int32Array.from(text, (ch) => ch.charCodeAt(0) - 97);
const config: GptConfig = { vocabSize: 13, context: 40, layers: 2, heads: 2, dim: 16 };
const shape = { layers: config.layers, heads: config.heads, headDim: config.dim / config.heads, vocabSize: config.vocabSize, context: config.context };
const gpt = createGpt(config, 4);

let session: ort.InferenceSession;
/** The graph with its appended-key/value outputs, and the runner over it that fetches them alone. */
let appendedSession: ort.InferenceSession;
let appendedRunner: DecoderRunner;
before(async () => {
  await trainLm(gpt, ids, undefined, { steps: 60, batchSize: 8, seed: 0, stepsPerCall: 30, optimizer: { type: 'adamw', learningRate: 1e-2, weightDecay: 0.1 } });
  session = await openSession(gptDecoderModel(gpt));
  const exposed = exposeAppendedKeyValues(encodeModel(gptDecoderModel(gpt)), config.layers)!;
  appendedSession = await openSession(exposed.model);
  appendedRunner = { run: (f, fetches) => (fetches ? appendedSession.run(f, fetches) : appendedSession.run(f)) as Promise<Record<string, ort.Tensor>>, appended: exposed.appended };
});
after(async () => {
  await session.release();
  await appendedSession.release();
});

const request = (id: number, prompt: number[], maxTokens: number, over: Partial<SequenceRequest> = {}): SequenceRequest => ({
  id, prompt, maxTokens, sampling: GREEDY, seed: id, eos: [], logprobs: -1, ...over,
});

/** Greedy continuation without a cache: the whole sequence through the decoder at every step. */
async function uncachedGreedy(prompt: number[], n: number): Promise<number[]> {
  const ids = [...prompt];
  const dh = config.dim / config.heads;
  for (let k = 0; k < n; k++) {
    const t = ids.length;
    const past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < config.layers; i++) for (const kind of ['key', 'value'] as const) past[pastName(i, kind)] = f32(new Float32Array(0), [1, config.heads, 0, dh]);
    const out = await session.run({
      input_ids: i64(BigInt64Array.from(ids, BigInt), [1, t]), attention_mask: i64(new BigInt64Array(t).fill(1n), [1, t]),
      position_ids: i64(BigInt64Array.from(ids.keys(), BigInt), [1, t]), ...past,
    });
    const logits = out.logits!.data as Float32Array;
    ids.push(argmax(logits.subarray((t - 1) * config.vocabSize, t * config.vocabSize)));
  }
  return ids.slice(prompt.length);
}

/** Runs a batcher until the sequences `expect` names have finished; `onEvent` may add or cancel sequences. */
async function drive(initial: SequenceRequest[], expect: number[], onEvent: (b: ContinuousBatcher, e: TokenEvent, tokens: Map<number, number[]>) => void = () => undefined, chunk = 4, runner?: DecoderRunner) {
  const tokens = new Map<number, number[]>();
  const finished = new Map<number, string>();
  const batchSizes: number[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const b: ContinuousBatcher = new ContinuousBatcher(runner ?? { run: (f) => session.run(f) as Promise<Record<string, ort.Tensor>> }, shape, (events, stats) => {
    batchSizes.push(stats.running);
    for (const e of events) {
      if (e.token !== undefined) tokens.set(e.id, [...(tokens.get(e.id) ?? []), e.token]);
      if (e.finish) finished.set(e.id, e.finish);
      onEvent(b, e, tokens);
    }
    if (expect.every((id) => finished.has(id))) resolve();
  }, chunk);
  for (const r of initial) b.add(r);
  await done;
  await b.close();
  return { tokens, finished, batchSizes };
}

describe('continuous batching over the key/value-cache decoder', () => {
  test('greedy through the cache equals greedy recomputing the whole sequence, token for token', async () => {
    for (const prompt of [[3], [1, 4, 1, 5, 9, 2, 6], [7, 7, 2, 10, 0, 5, 11, 12, 3, 3]]) {
      const want = await uncachedGreedy(prompt, 12);
      const { tokens, finished } = await drive([request(1, prompt, 12)], [1]);
      assert.deepEqual(tokens.get(1), want, `prompt ${prompt}`);
      assert.ok(new Set(want).size > 2, `a varied continuation (${want})`);
      assert.equal(finished.get(1), 'length');
    }
  });

  for (const how of ['present', 'appended outputs'] as const) {
    test(`sequences joining and leaving a running batch get the tokens they get alone (chunked prefill included; new keys read from ${how})`, async () => {
      const runner = how === 'present' ? undefined : appendedRunner;
      const a = request(1, [1, 4, 1, 5], 20);
      const b = request(2, [9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3], 8); // 11 prompt tokens: three prefill chunks of 4
      const c = request(3, [2], 3); // leaves early
      const d = request(4, [12, 0], 6, { sampling: { ...GREEDY, temperature: 0.9, topK: 5 }, seed: 77 });
      const e = request(5, [3, 3, 1], config.context); // runs to the context's end, across every cache width
      const alone = new Map<number, number[]>();
      for (const r of [a, b, c, d, e]) alone.set(r.id, (await drive([r], [r.id], undefined, 4, runner)).tokens.get(r.id)!);
      assert.deepEqual(alone.get(1), await uncachedGreedy(a.prompt, 20));
      assert.ok(alone.get(5)!.length >= config.context - e.prompt.length, 'e runs to the context\'s end');
      assert.deepEqual(alone.get(5), await uncachedGreedy(e.prompt, alone.get(5)!.length));
      assert.ok(config.context > 2 * WIDTH_STEP, 'the cache changes width more than once');

      // a, c and e start together; b joins after a's 3rd token, d after a's 6th; c leaves after 3.
      const { tokens, batchSizes } = await drive([a, c, e], [1, 2, 3, 4, 5], (batcher, ev, seen) => {
        if (ev.id !== 1 || ev.token === undefined) return;
        const n = seen.get(1)!.length;
        if (n === 3) batcher.add(b);
        if (n === 6) batcher.add(d);
      }, 4, runner);
      for (const id of [1, 2, 3, 4, 5]) assert.deepEqual(tokens.get(id), alone.get(id), `sequence ${id}`);
      assert.ok(Math.max(...batchSizes) >= 4, `the batch held several sequences at once (sizes ${batchSizes})`);
    });
  }

  test('seeded sampling gives the same tokens again, and a cancelled sequence stops at once', async () => {
    const sampled = request(5, [3, 1], 15, { sampling: { temperature: 1.2, topK: 0, topP: 0.9, repetitionPenalty: 1.3, frequencyPenalty: 0.5, presencePenalty: 0.2 }, seed: 12345 });
    const first = (await drive([sampled], [5])).tokens.get(5);
    const again = (await drive([sampled], [5])).tokens.get(5);
    assert.deepEqual(again, first);
    const other = (await drive([{ ...sampled, seed: 54321 }], [5])).tokens.get(5);
    assert.notDeepEqual(other, first, 'another seed, other tokens');

    let cancelledAt = -1;
    const { tokens } = await drive([request(6, [1, 2], 30), request(7, [5], 10)], [7], (batcher, e, seen) => {
      if (e.id === 6 && seen.get(6)!.length === 2) {
        batcher.cancel(6);
        cancelledAt = 2;
      }
    });
    assert.equal(cancelledAt, 2);
    assert.equal(tokens.get(6)!.length, 2, 'no token after the cancel');
    assert.deepEqual(tokens.get(7), await uncachedGreedy([5], 10));
  });

  test('end-of-sequence ends a sequence without emitting it; logprobs come with their alternatives', async () => {
    const greedy = await uncachedGreedy([4, 4], 6);
    const eos = greedy[3]!;
    const cut = greedy.indexOf(eos);
    const { tokens, finished } = await drive([request(8, [4, 4], 6, { eos: [eos] })], [8]);
    assert.deepEqual(tokens.get(8) ?? [], greedy.slice(0, cut));
    assert.equal(finished.get(8), 'stop');

    const events: TokenEvent[] = [];
    await drive([request(9, [4, 4], 3, { logprobs: 2 })], [9], (_b, e) => events.push(e));
    for (const e of events) {
      assert.ok(e.logprob! <= 0 && e.top!.length === 2 && e.top![0]!.token === e.token, 'greedy: the chosen token is the most likely');
      assert.ok(e.top![0]!.logprob >= e.top![1]!.logprob);
    }
  });
});
