/**
 * Choosing the next token from a row of logits, as Hugging Face's and OpenAI's samplers do:
 * penalties on the logits (repetition as in HF's CTRL rule; frequency and presence as in
 * OpenAI's), then greedy (temperature 0) or a draw from the softmax at `temperature` over the
 * `topK` most likely tokens and, of those, the smallest set whose probability reaches `topP`.
 * A draw uses one uniform number of the sequence's own generator, so a seeded sequence gives the
 * same tokens whatever else is in its batch.
 */
import type { Rng } from '../init.js';

export interface SamplingParams {
  /** 0: greedy (the most likely token). */
  temperature: number;
  /** 0: no limit. */
  topK: number;
  /** 1: no limit. */
  topP: number;
  /** 1: none. Logits of tokens already in the sequence (prompt included) are divided (>0) or multiplied (<0) by it. */
  repetitionPenalty: number;
  /** Subtracted from a token's logit once per time it was generated. */
  frequencyPenalty: number;
  /** Subtracted from a token's logit once if it was generated at all. */
  presencePenalty: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 };

/** Tokens seen so far in one sequence: in the prompt, and generated (with their counts). */
export interface TokenHistory {
  seen: Set<number>;
  generated: Map<number, number>;
}

export function tokenHistory(prompt: ArrayLike<number>): TokenHistory {
  return { seen: new Set(Array.from(prompt)), generated: new Map() };
}

export function noteGenerated(h: TokenHistory, token: number): void {
  h.seen.add(token);
  h.generated.set(token, (h.generated.get(token) ?? 0) + 1);
}

/** The logits after the penalties (a copy when any applies). */
export function penalize(logits: Float32Array, h: TokenHistory, p: SamplingParams): Float32Array {
  if (p.repetitionPenalty === 1 && p.frequencyPenalty === 0 && p.presencePenalty === 0) return logits;
  const out = logits.slice();
  if (p.repetitionPenalty !== 1) {
    for (const t of h.seen) out[t] = out[t]! > 0 ? out[t]! / p.repetitionPenalty : out[t]! * p.repetitionPenalty;
  }
  for (const [t, n] of h.generated) out[t] = out[t]! - n * p.frequencyPenalty - p.presencePenalty;
  return out;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** The next token: greedy at temperature 0, else drawn with `rng` (see the file's comment). */
export function chooseToken(logits: Float32Array, p: SamplingParams, rng: Rng): number {
  const best = argmax(logits);
  if (p.temperature <= 0) return best;
  const max = logits[best]!;
  const weights = Float64Array.from(logits, (v) => Math.exp((v - max) / p.temperature));
  if (p.topK > 0 && p.topK < logits.length) keepTopK(weights, p.topK);
  if (p.topP < 1) keepTopP(weights, p.topP);
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return best;
}

/** Zeroes all but the k largest weights (ties at the k-th all kept). */
function keepTopK(w: Float64Array, k: number): void {
  const kth = Float64Array.from(w).sort().reverse()[k - 1]!;
  for (let i = 0; i < w.length; i++) if (w[i]! < kth) w[i] = 0;
}

/** Zeroes the weights outside the smallest most-likely set whose share reaches `p` (the top one always stays). */
function keepTopP(w: Float64Array, p: number): void {
  const order = Array.from(w.keys()).sort((a, b) => w[b]! - w[a]!);
  const total = w.reduce((a, b) => a + b, 0);
  let cum = 0;
  let i = 0;
  for (; i < order.length; i++) {
    cum += w[order[i]!]!;
    if (cum >= p * total) break;
  }
  for (let j = i + 1; j < order.length; j++) w[order[j]!] = 0;
}

/** log softmax of a row at `token`, and the `top` most likely tokens with theirs (the model's own distribution). */
export function logprobsOf(row: Float32Array, token: number, top: number): { logprob: number; top: Array<{ token: number; logprob: number }> } {
  const max = row[argmax(row)]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  const out: Array<{ token: number; logprob: number }> = [];
  if (top > 0) {
    const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!).slice(0, top);
    for (const t of order) out.push({ token: t, logprob: row[t]! - lse });
  }
  return { logprob: row[token]! - lse, top: out };
}
