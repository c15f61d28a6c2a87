/**
 * Transformer ops: GELU (tanh), LayerNormalization, multi-head self-attention (causal and
 * bidirectional, with key padding), learned positional embeddings and the pre-LN residual block.
 * Forward values against plain JavaScript references; gradients against finite differences.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../init.js';
import { gelu, layerNormalization } from '../ops/index.js';
import { forward } from '../testing/forward.js';
import { gradCheck } from '../testing/gradcheck.js';
import { embed, selfAttention, transformerBlock } from './index.js';

const rng = new Rng(11);
const rand = (n: number, scale = 1) => Array.from({ length: n }, () => rng.uniform(-scale, scale));
const close = (a: number[], b: number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `${what}[${i}]: ${v} vs ${b[i]}`));
};

describe('GELU (tanh approximation)', () => {
  test("forward equals GPT-2's formula", async () => {
    const xs = [-6, -3, -1, -0.5, 0, 0.3, 1, 2.5, 8];
    const ref = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    close(await forward([{ shape: [xs.length], values: xs }], (x) => gelu(x!)), ref, 1e-12, 'gelu');
  });
  test('gradient (float64)', async () => {
    await gradCheck('gelu', [{ shape: [4, 6], values: rand(24, 3) }], (x) => gelu(x!));
  });
});

/** LayerNorm over the last axis, in JavaScript. */
function layerNormRef(x: number[], rows: number, d: number, gamma: number[], beta: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * d, (r + 1) * d);
    const mean = row.reduce((a, b) => a + b, 0) / d;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    row.forEach((v, i) => out.push(((v - mean) / Math.sqrt(variance + eps)) * gamma[i]! + beta[i]!));
  }
  return out;
}

describe('LayerNormalization', () => {
  const x = rand(2 * 3 * 5, 2);
  const gamma = rand(5);
  const beta = rand(5);
  test('forward equals the textbook formula (biased variance, ε inside the root)', async () => {
    const y = await forward([{ shape: [2, 3, 5], values: x }, { shape: [5], values: gamma }, { shape: [5], values: beta }],
      (a, g, b) => layerNormalization(a!, g!, b!, 1e-5));
    close(y, layerNormRef(x, 6, 5, gamma, beta, 1e-5), 1e-9, 'layernorm');
  });
  test('gradients of x, γ and β (float64, 2-D and 3-D)', async () => {
    await gradCheck('ln2d', [{ shape: [4, 6] }, { shape: [6] }, { shape: [6] }], (a, g, b) => layerNormalization(a!, g!, b!));
    await gradCheck('ln3d', [{ shape: [2, 3, 5], values: x }, { shape: [5], values: gamma }, { shape: [5], values: beta }],
      (a, g, b) => layerNormalization(a!, g!, b!, 1e-5));
  });
});

/** Multi-head self-attention in JavaScript: x [B, T, D], weights as in AttentionParams. */
function attentionRef(x: number[], b: number, t: number, d: number, heads: number, w: { wqkv: number[]; bqkv: number[]; wo: number[]; bo: number[] },
  causal: boolean, keyMask?: number[]): number[] {
  const dh = d / heads;
  const out: number[] = [];
  for (let n = 0; n < b; n++) {
    const proj = (pos: number, col: number) => {
      let s = w.bqkv[col]!;
      for (let i = 0; i < d; i++) s += x[(n * t + pos) * d + i]! * w.wqkv[i * 3 * d + col]!;
      return s;
    };
    const q = (pos: number, c: number) => proj(pos, c);
    const k = (pos: number, c: number) => proj(pos, d + c);
    const v = (pos: number, c: number) => proj(pos, 2 * d + c);
    const merged: number[][] = Array.from({ length: t }, () => new Array<number>(d).fill(0));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < t; i++) {
        const scores: number[] = [];
        for (let j = 0; j < t; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q(i, h * dh + c) * k(j, h * dh + c);
          s /= Math.sqrt(dh);
          const masked = (causal && j > i) || (keyMask !== undefined && keyMask[n * t + j] === 0);
          scores.push(masked ? -Infinity : s);
        }
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, c) => a + c, 0);
        for (let c = 0; c < dh; c++) {
          let s = 0;
          for (let j = 0; j < t; j++) s += (e[j]! / z) * v(j, h * dh + c);
          merged[i]![h * dh + c] = s;
        }
      }
    }
    for (let i = 0; i < t; i++) {
      for (let c = 0; c < d; c++) {
        let s = w.bo[c]!;
        for (let m = 0; m < d; m++) s += merged[i]![m]! * w.wo[m * d + c]!;
        out.push(s);
      }
    }
  }
  return out;
}

describe('multi-head self-attention', () => {
  const [B, T, D, H] = [2, 4, 6, 2];
  const w = { wqkv: rand(D * 3 * D, 0.5), bqkv: rand(3 * D, 0.1), wo: rand(D * D, 0.5), bo: rand(D, 0.1) };
  const x = rand(B * T * D);
  const mask = [1, 1, 1, 0, 1, 1, 0, 0];
  const inputs = (withMask: boolean) => [
    { shape: [B, T, D], values: x }, { shape: [D, 3 * D], values: w.wqkv }, { shape: [3 * D], values: w.bqkv },
    { shape: [D, D], values: w.wo }, { shape: [D], values: w.bo },
    ...(withMask ? [{ shape: [B, T], values: mask, nograd: true }] : []),
  ];
  const attend = (causal: boolean) => (xx: unknown, wqkv: unknown, bqkv: unknown, wo: unknown, bo: unknown, keyMask?: unknown) =>
    selfAttention(xx as never, { wqkv: wqkv as never, bqkv: bqkv as never, wo: wo as never, bo: bo as never }, { heads: H, causal, keyMask: keyMask as never });

  test('forward equals a plain implementation: causal, bidirectional, with key padding', async () => {
    for (const [causal, withMask] of [[true, false], [false, false], [false, true], [true, true]] as const) {
      const y = await forward(inputs(withMask), attend(causal) as never);
      close(y, attentionRef(x, B, T, D, H, w, causal, withMask ? mask : undefined), 1e-9, `attention causal=${causal} mask=${withMask}`);
    }
  });

  test('causal: a position never sees later tokens', async () => {
    const changed = [...x];
    for (let c = 0; c < D; c++) changed[(0 * T + 3) * D + c] = 5; // the last token of the first sequence
    const [a, b] = await Promise.all([x, changed].map((values) => forward([{ shape: [B, T, D], values }, ...inputs(false).slice(1)], attend(true) as never)));
    close(a!.slice(0, 3 * D), b!.slice(0, 3 * D), 1e-12, 'earlier positions');
    assert.ok(a!.slice(3 * D, 4 * D).some((v, i) => Math.abs(v - b![3 * D + i]!) > 1e-6), 'the changed position itself differs');
  });

  test('gradients of x and every weight (float64): causal, bidirectional, masked', async () => {
    await gradCheck('attn_causal', inputs(false), attend(true) as never, { samples: 16 });
    await gradCheck('attn_bidir', inputs(false), attend(false) as never, { samples: 16 });
    await gradCheck('attn_masked', inputs(true), attend(false) as never, { samples: 16 });
  });

  test('heads must divide dim: a 422 naming model.heads', async () => {
    await assert.rejects(() => forward(inputs(false), (a, b, c, d, e) => selfAttention(a!, { wqkv: b!, bqkv: c!, wo: d!, bo: e! }, { heads: 4, causal: true })),
      (err: unknown) => (err as { kind?: string; details?: { field?: string } }).kind === 'invalid_input' && (err as { details: { field: string } }).details.field === 'model.heads');
  });
});

describe('embeddings and the transformer block', () => {
  test('token + learned positions: forward, and gradients of both tables with repeated ids', async () => {
    const ids = [3, 0, 3, 1, 1, 2];
    const tok = rand(4 * 3);
    const pos = rand(5 * 3);
    const y = await forward([{ shape: [2, 3], values: ids, int: true }, { shape: [4, 3], values: tok }, { shape: [5, 3], values: pos }],
      (i, tt, pp) => embed(i!, { tokens: tt!, positions: pp! }));
    const ref = ids.flatMap((id, n) => [0, 1, 2].map((c) => tok[id * 3 + c]! + pos[(n % 3) * 3 + c]!));
    close(y, ref, 1e-12, 'embed');
    await gradCheck('embed_slice', [{ shape: [2, 3], values: ids, int: true }, { shape: [4, 3] }, { shape: [5, 3] }], (i, tt, pp) => embed(i!, { tokens: tt!, positions: pp! }));
    await gradCheck('embed_full', [{ shape: [2, 5], values: [0, 1, 2, 3, 3, 3, 2, 1, 0, 0], int: true }, { shape: [4, 3] }, { shape: [5, 3] }],
      (i, tt, pp) => embed(i!, { tokens: tt!, positions: pp! }));
    await gradCheck('embed_pos_ids', [{ shape: [2, 2], values: [1, 2, 0, 3], int: true }, { shape: [4, 3] }, { shape: [5, 3] }, { shape: [2], values: [3, 4], int: true }],
      (i, tt, pp, p) => embed(i!, { tokens: tt!, positions: pp! }, p!));
  });

  test('float32 with every ORT fusion on (as training runs) computes the block as float64 does', async () => {
    const [B, T, D] = [2, 5, 8];
    const shapes = [[B, T, D], [D], [D], [D, 3 * D], [3 * D], [D, D], [D], [D], [D], [D, 4 * D], [4 * D], [4 * D, D], [D]];
    const inputs = shapes.map((shape) => ({ shape, values: rand(shape.reduce((p, q) => p * q, 1), 0.6) }));
    const block = (x: never, g1: never, b1: never, wqkv: never, bqkv: never, wo: never, bo: never, g2: never, b2: never, w1: never, c1: never, w2: never, c2: never) =>
      transformerBlock(x, {
        ln1: { gamma: g1, beta: b1 }, attention: { wqkv, bqkv, wo, bo }, ln2: { gamma: g2, beta: b2 }, mlp: { w1, b1: c1, w2, b2: c2 },
      }, { heads: 2, causal: true });
    const exact = await forward(inputs, block as never, 'float64');
    const fused = await forward(inputs, block as never, 'float32', 'all');
    close(fused, exact, 1e-4, 'block float32 fused');
  });

  test('pre-LN block with residuals: gradients of the input and all twelve parameters (float64)', async () => {
    const [B, T, D] = [2, 3, 4];
    const shapes = [[B, T, D], [D], [D], [D, 3 * D], [3 * D], [D, D], [D], [D], [D], [D, 4 * D], [4 * D], [4 * D, D], [D]];
    for (const causal of [true, false]) {
      await gradCheck(`block_${causal}`, shapes.map((shape) => ({ shape, values: rand(shape.reduce((p, q) => p * q, 1), 0.6) })),
        (x, g1, b1, wqkv, bqkv, wo, bo, g2, b2, w1, c1, w2, c2) => transformerBlock(x!, {
          ln1: { gamma: g1!, beta: b1! }, attention: { wqkv: wqkv!, bqkv: bqkv!, wo: wo!, bo: bo! },
          ln2: { gamma: g2!, beta: b2! }, mlp: { w1: w1!, b1: c1!, w2: w2!, b2: c2! },
        }, { heads: 2, causal }), { samples: 8 });
    }
  });
});
