/**
 * The shadow's parts: the counter that picks copied requests (exact shares), agreement of two
 * answers, the bound on copies in flight (drop and count), and a failing candidate. The
 * candidate here is a stand-in for a pool whose answers the test releases; the endpoint-level
 * behaviour (real replicas, every transport) is tested through HTTP in
 * src/interfaces/http/shadow.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, checkShadowSetting, refuseShadowOf, Shadow, ShareSampler, type ShadowHooks, type ShadowTarget } from './shadow.js';
import type { Feeds } from './codec/instances.js';
import type { PredictSpec } from './codec/predict-body.js';
import { outputRoles } from './codec/instances.js';
import type { Signature } from '../../ml/signature.js';

const SIG: Signature = {
  inputs: [{ name: 'x', type: 'number', tensor: 'x', index: 0, nullable: false }],
  tensors: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }],
  outputs: [{ name: 'value', dtype: 'float32', shape: [-1, 1] }],
  task: 'regression',
};
const SPEC: PredictSpec = { signature: SIG, roles: outputRoles(SIG), model: 'm', version: 1 };
const feeds = (values: number[]): Feeds => ({ x: { dtype: 'float32', dims: [values.length, 1], data: Float32Array.from(values) } });
const outputs = (values: number[]): Feeds => ({ value: { dtype: 'float32', dims: [values.length, 1], data: Float32Array.from(values) } });

const count = (s: ShareSampler, n: number) => Array.from({ length: n }, () => s.take()).filter(Boolean).length;

/** A candidate whose answers wait until the test releases them: `answer(i)` (the input times `factor`) or `fail(i)`. */
function heldCandidate(factor = 1) {
  const held: Array<{ rows: number[]; resolve: (f: Feeds) => void; reject: (e: Error) => void }> = [];
  let arrived: () => void = () => undefined;
  const target: ShadowTarget = {
    spec: SPEC,
    submit: (f) => new Promise<Feeds>((resolve, reject) => {
      held.push({ rows: Array.from(f.x!.data as Float32Array), resolve, reject });
      arrived();
    }),
  };
  return {
    target, held,
    /** Resolves once `n` copies have reached the candidate. */
    waitFor: (n: number) => new Promise<void>((resolve) => {
      const check = () => (held.length >= n ? resolve() : (arrived = check));
      check();
    }),
    answer: (i: number) => held[i]!.resolve(outputs(held[i]!.rows.map((v) => v * factor))),
    fail: (i: number, message: string) => held[i]!.reject(new Error(message)),
  };
}

function recordingHooks() {
  const seen = { compared: 0, failed: 0, dropped: 0, agreed: 0, disagreed: 0 };
  const hooks: ShadowHooks = {
    copied: (outcome) => void seen[outcome]++,
    compared: (a, d) => {
      seen.agreed += a;
      seen.disagreed += d;
    },
  };
  return { seen, hooks };
}

describe('shadow', () => {
  test('the counter takes exactly ⌊n·percent/100⌋ of n requests: 0% none, 100% all, 50% every other', () => {
    assert.equal(count(new ShareSampler(0), 1000), 0);
    assert.equal(count(new ShareSampler(100), 1000), 1000);
    const half = new ShareSampler(50);
    assert.deepEqual(Array.from({ length: 6 }, () => half.take()), [false, true, false, true, false, true]);
    for (const p of [1, 10, 25, 33, 75, 99]) assert.equal(count(new ShareSampler(p), 1000), Math.floor(1000 * p / 100), `${p}%`);
    assert.equal(count(new ShareSampler(12.5), 8), 1);
  });

  test('answers agree: same label for classifiers, values within 0.1% (or 1e-6 near 0) for regressors', () => {
    assert.ok(agrees({ label: 'a', probabilities: [0.9, 0.1] }, { label: 'a', probabilities: [0.6, 0.4] }));
    assert.ok(!agrees({ label: 'a' }, { label: 'b' }));
    assert.ok(agrees({ value: 100 }, { value: 100.09 }));
    assert.ok(!agrees({ value: 100 }, { value: 100.2 }));
    assert.ok(agrees({ value: 0 }, { value: 1e-7 }));
    assert.ok(agrees({ value: [1, 2] }, { value: [1, 2.001] }));
    assert.ok(!agrees({ value: [1, 2] }, { value: [1] }));
  });

  test('copies go after the request, are compared, and at most maxInflight are in flight: more are dropped and counted', async () => {
    const c = heldCandidate(1);
    const { seen, hooks } = recordingHooks();
    const shadow = new Shadow({ version: 2, percent: 100 }, undefined, c.target, hooks, 2);
    shadow.mirror(SPEC, { feeds: feeds([1, 2]), outputs: outputs([1, 2]) }, 2);
    assert.equal(c.held.length, 0, 'nothing reaches the candidate during the request');
    shadow.mirror(SPEC, { feeds: feeds([3]), outputs: outputs([3]) }, 1);
    shadow.mirror(SPEC, { feeds: feeds([4]), outputs: outputs([4]) }, 1);
    assert.deepEqual({ requests: shadow.info().requests, dropped: shadow.info().dropped }, { requests: 2, dropped: 1 });
    await c.waitFor(2);
    c.answer(0);
    c.answer(1);
    await shadow.settled();
    const info = shadow.info();
    assert.equal(info.rows, 3);
    assert.equal(info.agreement, 1);
    assert.equal(typeof info.p50LatencyMs, 'number');
    assert.deepEqual(seen, { compared: 2, failed: 0, dropped: 1, agreed: 3, disagreed: 0 });
    // Room again: the next copy is sent.
    shadow.mirror(SPEC, { feeds: feeds([5]), outputs: outputs([5]) }, 1);
    await c.waitFor(3);
    c.answer(2);
    await shadow.settled();
    assert.equal(shadow.info().requests, 3);
  });

  test('a candidate that answers differently lowers agreement; one that fails is counted, with its error', async () => {
    const c = heldCandidate(2);
    const { seen, hooks } = recordingHooks();
    const shadow = new Shadow({ version: 2, percent: 100 }, undefined, c.target, hooks);
    shadow.mirror(SPEC, { feeds: feeds([0, 1, 2, 3]), outputs: outputs([0, 1, 2, 3]) }, 4);
    shadow.mirror(SPEC, { feeds: feeds([7]), outputs: outputs([7]) }, 1);
    await c.waitFor(2);
    c.answer(0);
    c.fail(1, 'the replica exited');
    await shadow.settled();
    const info = shadow.info();
    assert.equal(info.rows, 4);
    assert.equal(info.agreement, 0.25, 'only 0 · 2 = 0 agrees');
    assert.equal(info.errors, 1);
    assert.equal(info.lastError, 'the replica exited');
    assert.deepEqual(seen, { compared: 1, failed: 1, dropped: 0, agreed: 1, disagreed: 3 });
  });

  test('settings: percent from 0 to 100, a version number; language models are refused, saying why', () => {
    assert.deepEqual(checkShadowSetting({ version: 2, percent: 50 }), { version: 2, percent: 50 });
    assert.equal(checkShadowSetting(null), null);
    assert.throws(() => checkShadowSetting({ version: 2, percent: 101 }), /shadow\.percent: must be from 0/);
    assert.throws(() => checkShadowSetting({ version: 0, percent: 1 }), /shadow\.version/);
    assert.throws(() => refuseShadowOf('chat', { version: 1, kind: 'causal_lm' }, 'serves'), (err: Error & { code?: string }) =>
      err.code === 'shadow_not_supported' && /Endpoint 'chat' serves version 1, a language model \(causal_lm\): shadow traffic is not supported for generation/.test(err.message));
    assert.doesNotThrow(() => refuseShadowOf('iris', { version: 1, kind: 'mlp' }, 'candidate'));
  });
});
