/**
 * Seeded randomness and weight initialisers. Everything random in training (initial weights,
 * shuffling, dropout noise) comes from here, keyed by (seed, purpose, epoch), so a run is
 * reproducible and a resumed run draws exactly what the uninterrupted run would have drawn.
 */

/** xoshiro128** — small, fast, good statistical quality, 32-bit state words. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number, ...streams: number[]) {
    // Hash (seed, streams…) word by word through murmur3's finaliser, so distinct tuples give
    // unrelated states, then expand with splitmix32 into the 128-bit state.
    let x = 0x9e3779b9;
    for (const w of [seed, ...streams]) x = (fmix(x ^ fmix((w >>> 0) + 0x7f4a7c15)) + 0x9e3779b9) | 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      this.s[i] = fmix(x);
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fill with uniforms in [0, 1) (dropout noise): one multiply per element. */
  fillUniform(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextU32() * 2.3283064365386963e-10;
    return out;
  }

  /** In-place Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/** murmur3's 32-bit finaliser: a bijection with full avalanche. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export type Initializer = 'glorot_uniform' | 'glorot_normal' | 'he_uniform' | 'he_normal' | 'zeros' | 'ones';

/** Keras' initialisers: Glorot/He scaled by fan-in/fan-out; normal variants truncated at 2σ. */
export function initialize(kind: Initializer, shape: number[], fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  switch (kind) {
    case 'zeros': return out;
    case 'ones': return out.fill(1);
    case 'glorot_uniform': return fillUniform(out, Math.sqrt(6 / (fanIn + fanOut)), rng);
    case 'he_uniform': return fillUniform(out, Math.sqrt(6 / fanIn), rng);
    case 'glorot_normal': return fillTruncated(out, Math.sqrt(2 / (fanIn + fanOut)) / 0.8796256610342398, rng);
    case 'he_normal': return fillTruncated(out, Math.sqrt(2 / fanIn) / 0.8796256610342398, rng);
  }
}

function fillUniform(out: Float32Array, limit: number, rng: Rng): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

function fillTruncated(out: Float32Array, std: number, rng: Rng): Float32Array {
  for (let i = 0; i < out.length; i++) {
    let z: number;
    do z = rng.normal(); while (Math.abs(z) > 2);
    out[i] = z * std;
  }
  return out;
}
