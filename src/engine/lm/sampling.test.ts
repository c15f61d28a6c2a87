/** Token choice: greedy, temperature, top-k, top-p, the penalties, log-probabilities, and seeds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../init.js';
import { chooseToken, GREEDY, logprobsOf, noteGenerated, penalize, tokenHistory, type SamplingParams } from './sampling.js';

const logits = Float32Array.from([2, 0.5, 3, -1, 2.9, 0]);
const draws = (p: SamplingParams, n: number, seed = 1) => {
  const rng = new Rng(seed);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = chooseToken(logits, p, rng);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
};

test('temperature 0 is greedy; sampling follows the softmax at the temperature', () => {
  assert.equal(chooseToken(logits, GREEDY, new Rng(0)), 2);
  const n = 20000;
  const counts = draws({ ...GREEDY, temperature: 1 }, n);
  const z = [...logits].reduce((a, v) => a + Math.exp(v), 0);
  for (let t = 0; t < logits.length; t++) {
    const want = Math.exp(logits[t]!) / z;
    assert.ok(Math.abs((counts.get(t) ?? 0) / n - want) < 0.015, `token ${t}: ${(counts.get(t) ?? 0) / n} vs ${want}`);
  }
  // A low temperature concentrates on the top tokens.
  const cold = draws({ ...GREEDY, temperature: 0.02 }, 2000);
  assert.ok((cold.get(2) ?? 0) > 1950);
});

test('top-k keeps the k most likely tokens; top-p the smallest set reaching p', () => {
  assert.deepEqual([...draws({ ...GREEDY, temperature: 1, topK: 2 }, 3000).keys()].sort(), [2, 4]);
  // Probabilities at temperature 1: 3 → .40, 2.9 → .36, 2 → .15 …: top-p 0.7 keeps tokens 2 and 4, 0.3 only 2.
  assert.deepEqual([...draws({ ...GREEDY, temperature: 1, topP: 0.7 }, 3000).keys()].sort(), [2, 4]);
  assert.deepEqual([...draws({ ...GREEDY, temperature: 1, topP: 0.3 }, 500).keys()], [2]);
});

test('penalties: repetition divides positive logits and multiplies negative ones; frequency and presence subtract', () => {
  const h = tokenHistory([3]);
  noteGenerated(h, 2);
  noteGenerated(h, 2);
  const rep = penalize(logits, h, { ...GREEDY, repetitionPenalty: 2 });
  assert.equal(rep[2], 1.5);
  assert.equal(rep[3], -2);
  assert.equal(rep[4], logits[4]);
  const fp = penalize(logits, h, { ...GREEDY, frequencyPenalty: 0.5, presencePenalty: 0.25 });
  assert.equal(fp[2], 3 - 2 * 0.5 - 0.25);
  assert.equal(fp[3], -1, 'the prompt is not counted by frequency/presence');
  assert.equal(penalize(logits, h, GREEDY), logits, 'no penalty: the row itself');
  assert.equal(chooseToken(fp, GREEDY, new Rng(0)), 4, 'the penalised token loses the argmax');
});

test('log-probabilities are the log softmax; a seed repeats the same draws', () => {
  const { logprob, top } = logprobsOf(logits, 4, 3);
  const z = Math.log([...logits].reduce((a, v) => a + Math.exp(v), 0));
  assert.ok(Math.abs(logprob - (2.9 - z)) < 1e-6);
  assert.deepEqual(top.map((t) => t.token), [2, 4, 0]);
  const p = { ...GREEDY, temperature: 1, topP: 0.95 };
  assert.deepEqual(draws(p, 200, 42), draws(p, 200, 42));
  assert.notDeepEqual(draws(p, 200, 42), draws(p, 200, 43));
});
