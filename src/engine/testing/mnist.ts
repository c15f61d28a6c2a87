/** Tiny loader for the MNIST CSV samples (label,pixel0..pixel783; gzip) used by tests and the bench. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export interface Mnist {
  /** n × 784 pixels scaled to [0, 1]. */
  x: Float32Array;
  labels: Int32Array;
  n: number;
}

/** Repository root, found from this file's location in src/ or dist/src/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('mnist: repository root not found');
}

const cache = new Map<string, Mnist>();

export function loadMnist(which: 'train' | 'test', limit = Infinity): Mnist {
  const key = `${which}:${limit}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const text = gunzipSync(readFileSync(join(repoRoot(), 'examples', 'data', `mnist_${which}.csv.gz`))).toString('latin1');
  const lines = text.split('\n');
  const rows: string[] = [];
  for (let i = 1; i < lines.length && rows.length < limit; i++) if (lines[i]!.length > 0) rows.push(lines[i]!);
  const n = rows.length;
  const x = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  rows.forEach((line, r) => {
    let pos = 0;
    let field = 0;
    let v = 0;
    for (; pos <= line.length; pos++) {
      const ch = pos < line.length ? line.charCodeAt(pos) : 44;
      if (ch === 44) {
        if (field === 0) labels[r] = v;
        else x[r * 784 + field - 1] = v / 255;
        field++;
        v = 0;
      } else if (ch >= 48 && ch <= 57) {
        v = v * 10 + ch - 48;
      }
    }
    if (field !== 785) throw new Error(`mnist: row ${r + 1} has ${field} fields`);
  });
  const m = { x, labels, n };
  cache.set(key, m);
  return m;
}
