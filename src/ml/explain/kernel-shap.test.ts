import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/random.js';
import { kernelShap, type KernelShapGame } from './kernel-shap.js';

/** The interventional game of a model on one row and a background: v(S) = mean_b f(x_S, b_rest). */
function game(f: (z: Float64Array) => number[], x: number[], bg: number[][], outputs: number): KernelShapGame {
  const M = x.length;
  return {
    players: M, outputs,
    value: async (masks, count) => {
      const out = new Float64Array(count * outputs);
      for (let s = 0; s < count; s++) {
        for (const b of bg) {
          const z = Float64Array.from(b, (bv, i) => (masks[s * M + i] ? x[i]! : bv));
          f(z).forEach((v, k) => { out[s * outputs + k]! += v / bg.length; });
        }
      }
      return out;
    },
  };
}

function sample(n: number, M: number, rng: Rng): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: M }, () => rng.normal()));
}

test('KernelSHAP on a linear model is exact: w_i·(x_i − mean of the background), enumerated and sampled', async () => {
  const rng = new Rng(5);
  for (const M of [4, 12]) {
    const w = Array.from({ length: M }, () => rng.normal());
    const f = (z: Float64Array) => [z.reduce((s, v, i) => s + w[i]! * v, 0.3), -2 * z[0]!];
    const bg = sample(10, M, rng);
    const x = sample(1, M, rng)[0]!;
    // 12 players: 4094 coalitions exceed the 200 samples, so coalitions are drawn — a linear game is still fit exactly.
    const r = await kernelShap(game(f, x, bg, 2), 200, 1);
    assert.equal(r.exact, M === 4);
    for (let i = 0; i < M; i++) {
      const mean = bg.reduce((s, b) => s + b[i]!, 0) / bg.length;
      assert.ok(Math.abs(r.values[i * 2]! - w[i]! * (x[i]! - mean)) < 1e-8, `M=${M} player ${i}`);
      assert.ok(Math.abs(r.values[i * 2 + 1]! - (i === 0 ? -2 * (x[0]! - mean) : 0)) < 1e-8);
    }
  }
});

test('KernelSHAP with every coalition equals brute-force Shapley values on an interacting model; sampled values keep local accuracy', async () => {
  const rng = new Rng(9);
  const M = 5;
  const f = (z: Float64Array) => [Math.tanh(z[0]! * z[1]!) + Math.max(0, z[2]! - z[3]!) * z[4]!];
  const bg = sample(8, M, rng);
  const x = sample(1, M, rng)[0]!;
  const g = game(f, x, bg, 1);
  const r = await kernelShap(g, 1000, 0);
  assert.ok(r.exact);
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const v = await g.value(Uint8Array.from({ length: 32 * M }, (_, j) => (Math.floor(j / M) >> (j % M)) & 1), 32);
  for (let i = 0; i < M; i++) {
    let phi = 0;
    for (let S = 0; S < 32; S++) {
      if ((S >> i) & 1) continue;
      const size = [...S.toString(2)].filter((c) => c === '1').length;
      phi += (fact(size) * fact(M - size - 1)) / fact(M) * (v[S | (1 << i)]! - v[S]!);
    }
    assert.ok(Math.abs(r.values[i]! - phi) < 1e-9, `player ${i}: ${r.values[i]} vs ${phi}`);
  }
  const sampled = await kernelShap(g, 10, 3);
  assert.equal(sampled.exact, false);
  const sum = Array.from(sampled.values).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - (v[31]! - v[0]!)) < 1e-9);
});
