/**
 * A language model's pool with real replica threads: sequences stream their tokens back, the
 * same as the batcher alone gives; beyond maxBatchSize sequences per replica they wait in a
 * bounded queue, beyond which generate refuses with 429 at once; a cancel frees its slot at once
 * (the next waiting sequence starts in the same tick); a drain finishes what runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as ort from 'onnxruntime-node';
import { DomainError } from '../../infra/errors.js';
import { encodeModel } from '../../onnx/model.js';
import { openSession } from '../../engine/runtime.js';
import { ContinuousBatcher, createGpt, gptDecoderModel, GREEDY, trainLm, type TokenEvent } from '../../engine/lm/index.js';
import { VersionPool, type GenerationSink } from './pool.js';
import { DEFAULT_SETTINGS } from './settings.js';

const config = { vocabSize: 13, context: 48, layers: 1, heads: 2, dim: 16 };
const shape = { layers: 1, heads: 2, headDim: 8, vocabSize: 13, context: 48 };
const gpt = createGpt(config, 3);
const settings = { ...DEFAULT_SETTINGS, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 1, maxDelayMs: 0 } };
const hooks = { onScale: () => undefined, onBatch: () => undefined, onReplicaFailure: () => undefined };
let pool: VersionPool;

const sink = () => {
  const tokens: number[] = [];
  let finish: string | undefined;
  let error: DomainError | undefined;
  let resolve!: () => void;
  const ended = new Promise<void>((r) => (resolve = r));
  const s: GenerationSink & { tokens: number[]; ended: Promise<void>; finish(): string | undefined; error(): DomainError | undefined } = {
    tokens, ended,
    onToken: (e: TokenEvent) => {
      if (e.token !== undefined) tokens.push(e.token);
      if (e.finish) {
        finish = e.finish;
        resolve();
      }
    },
    onError: (err) => {
      error = err;
      resolve();
    },
    finish: () => finish,
    error: () => error,
  };
  return s;
};
const seq = (prompt: number[], maxTokens: number) => ({ prompt, maxTokens, sampling: GREEDY, seed: 0, eos: [], logprobs: -1 });

describe('a language model pool (replica threads generating)', () => {
  before(async () => {
    const text = Int32Array.from({ length: 400 }, (_, i) => (i * 7) % 13);
    await trainLm(gpt, text, undefined, { steps: 20, batchSize: 4, seed: 0, stepsPerCall: 20, optimizer: { type: 'adamw', learningRate: 1e-2, weightDecay: 0.1 } });
    pool = new VersionPool(1, encodeModel(gptDecoderModel(gpt)), ['logits'], settings, hooks, false, false, undefined, undefined, undefined, { shape, prefillChunk: 8 });
    await pool.start();
  });
  after(() => pool.close());

  test('tokens come back from the replica thread as the batcher alone gives them', async () => {
    const session = await openSession(gptDecoderModel(gpt));
    const want: number[] = [];
    await new Promise<void>((resolve) => {
      const b = new ContinuousBatcher({ run: (f) => session.run(f) as Promise<Record<string, ort.Tensor>> }, shape, (events) => {
        for (const e of events) if (e.token !== undefined) want.push(e.token);
        if (events.some((e) => e.finish)) resolve();
      });
      b.add({ id: 1, ...seq([1, 2, 3], 10) });
    });
    await session.release();
    const s = sink();
    pool.generate(seq([1, 2, 3], 10), s);
    await s.ended;
    assert.deepEqual(s.tokens, want);
    assert.equal(s.finish(), 'length');
  });

  test('beyond the slots a bounded queue, then 429 at once; a cancel frees its slot in the same tick', async () => {
    const running = sink();
    const a = pool.generate(seq([1], 40), running);
    const queued = [sink(), sink()];
    const handles = queued.map((s) => pool.generate(seq([2], 3), s));
    assert.equal(pool.stats().queueDepth, 2);
    assert.throws(() => pool.generate(seq([3], 3), sink()), (err: DomainError) => err.kind === 'quota_exceeded' && err.details?.retryAfterSeconds === 1);
    a.cancel();
    assert.equal(pool.stats().queueDepth, 1, 'the first waiting sequence took the freed slot at once');
    handles[1]!.cancel();
    assert.equal(pool.stats().queueDepth, 0);
    await queued[0]!.ended;
    assert.equal(queued[0]!.tokens.length, 3);
    assert.equal(queued[1]!.tokens.length, 0, 'cancelled while waiting: never started');
    assert.ok(running.tokens.length < 40, 'the cancelled sequence did not run to its end');
  });
});
