/**
 * Training-time image augmentation (the `augment` step): random horizontal flips, small
 * rotations and shifts, a fresh draw per image and epoch. Images are channels-last [H, W, C];
 * pixels that come from outside the image are 0. Never part of the inference graph.
 */
import { Rng } from '../core/random.js';

export interface Augmentation {
  flip: boolean;
  /** Largest rotation, degrees. */
  rotate: number;
  /** Largest shift, as a fraction of the image's height and width. */
  shift: number;
}

export function augmentImages(x: Float32Array, shape: number[], a: Augmentation, seed: number): Float32Array {
  if (shape.length !== 3) return x; // not an image: nothing to do
  const [H, W, C] = shape as [number, number, number];
  const size = H * W * C;
  const out = new Float32Array(x.length);
  const rng = new Rng(seed);
  const cy = (H - 1) / 2;
  const cx = (W - 1) / 2;
  for (let n = 0; n < x.length / size; n++) {
    const flip = a.flip && rng.float() < 0.5;
    const angle = ((rng.float() * 2 - 1) * a.rotate * Math.PI) / 180;
    const dy = (rng.float() * 2 - 1) * a.shift * H;
    const dx = (rng.float() * 2 - 1) * a.shift * W;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const base = n * size;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        // Inverse map: where in the source does output pixel (i, j) come from?
        const yy = i - cy - dy;
        const xx0 = j - cx - dx;
        const xx = flip ? -xx0 : xx0;
        const si = Math.round(cos * yy + sin * xx + cy);
        const sj = Math.round(-sin * yy + cos * xx + cx);
        if (si < 0 || si >= H || sj < 0 || sj >= W) continue;
        for (let c = 0; c < C; c++) out[base + (i * W + j) * C + c] = x[base + (si * W + sj) * C + c]!;
      }
    }
  }
  return out;
}
