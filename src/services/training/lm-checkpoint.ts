/**
 * A language-model job's checkpoint as bytes: a JSON header (step, trainSeconds, vector lengths),
 * then the weights and the optimizer's state vectors as little-endian float32, one after another.
 */
import type { LmCheckpoint } from '../../engine/lm/index.js';

export function encodeLmCheckpoint(weights: Float32Array, c: LmCheckpoint): Uint8Array {
  const vectors = [weights, ...c.slots];
  const header = Buffer.from(JSON.stringify({ step: c.step, trainSeconds: c.trainSeconds, lengths: vectors.map((v) => v.length) }), 'utf8');
  const out = Buffer.alloc(4 + header.length + vectors.reduce((n, v) => n + v.length * 4, 0));
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let at = 4 + header.length;
  for (const v of vectors) {
    for (let i = 0; i < v.length; i++) out.writeFloatLE(v[i]!, at + i * 4);
    at += v.length * 4;
  }
  return out;
}

export function decodeLmCheckpoint(bytes: Uint8Array): { weights: Float32Array; checkpoint: LmCheckpoint } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.readUInt32LE(0);
  const h = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as { step: number; trainSeconds: number; lengths: number[] };
  let at = 4 + n;
  const vectors = h.lengths.map((len) => {
    const v = new Float32Array(len);
    for (let i = 0; i < len; i++) v[i] = buf.readFloatLE(at + i * 4);
    at += len * 4;
    return v;
  });
  return { weights: vectors[0]!, checkpoint: { step: h.step, trainSeconds: h.trainSeconds, slots: vectors.slice(1) } };
}
