/**
 * JSON values into typed tensor elements, shared by the readers of ./instances.ts: which value
 * fits which dtype (a float32 holds at most ±3.4028235e38), how to say why one does not, and how
 * nested arrays flatten (to a bounded depth, so no body can exhaust the stack).
 */
import { InvalidInputError } from '../infra/errors.js';
import type { TensorDtype } from './signature.js';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | string[];

/** A tensor as plain data: what goes to a replica and comes back from it. */
export interface FeedTensor {
  dtype: TensorDtype;
  dims: number[];
  data: TensorData;
}

export type Feeds = Record<string, FeedTensor>;

export function bad(code: string, message: string, details: Record<string, unknown>): never {
  throw new InvalidInputError(code, message, details);
}

export function allocate(dtype: TensorDtype, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': case 'uint8': return new Uint8Array(n);
    case 'int8': return new Int8Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

/**
 * Writes one JSON value into a tensor of `dtype`; returns false when it does not fit: a value
 * of another type, a non-finite number, an integer out of range, or a number beyond what a
 * float32 holds (it would become ±Infinity, and the model would answer NaN with confidence).
 */
export function put(data: TensorData, dtype: TensorDtype, i: number, v: unknown): boolean {
  switch (dtype) {
    case 'float32': case 'float64':
      if (typeof v === 'number') {
        const x = dtype === 'float32' ? Math.fround(v) : v;
        if (!Number.isFinite(x)) return false;
        (data as Float32Array)[i] = x;
      } else if (typeof v === 'boolean') (data as Float32Array)[i] = v ? 1 : 0;
      else return false;
      return true;
    case 'int64':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
      (data as BigInt64Array)[i] = BigInt(v);
      return true;
    case 'int32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) return false;
      (data as Int32Array)[i] = v;
      return true;
    case 'uint8':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) return false;
      (data as Uint8Array)[i] = v;
      return true;
    case 'int8':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -128 || v > 127) return false;
      (data as Int8Array)[i] = v;
      return true;
    case 'bool':
      if (typeof v === 'boolean') (data as Uint8Array)[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) (data as Uint8Array)[i] = v;
      else return false;
      return true;
    case 'string':
      if (typeof v !== 'string') return false;
      (data as string[])[i] = v;
      return true;
  }
}

const DTYPE_WORDS: Record<TensorDtype, string> = {
  float32: 'a number', float64: 'a number', int64: 'an integer', int32: 'an integer', uint8: 'an integer 0-255',
  int8: 'an integer -128..127', bool: 'true or false', string: 'a string',
};

/** A JSON value in a few words (never the whole of a large or deeply nested value). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Why `v` cannot be an element of a `dtype` tensor, for a 422 message. */
export function mismatch(dtype: TensorDtype, v: unknown, want: string = DTYPE_WORDS[dtype]): string {
  if (dtype === 'float32' && typeof v === 'number' && Number.isFinite(v)) {
    return `${v} is beyond the float32 range (±3.4028235e38) this model computes in; send a smaller value (rescale the column)`;
  }
  return `expected ${want}, got ${describe(v)}`;
}

/** Columns listed in a message, at most this many. */
const LISTED = 8;
/** Names for a message: the first few, then an ellipsis. */
export const list = (names: string[]) => names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ', …' : '');

/** Deepest nesting of arrays read anywhere (a tensor of higher rank is refused before that). */
export const MAX_NESTING = 32;

/** The shape of a nested JSON array, and the depth its values (leaves) were found at. */
export interface Nesting {
  shape: number[];
  leaf: number;
}

/**
 * Flattens a nested JSON array into `out` and records its shape: 'ragged' when sub-arrays
 * differ in length or depth, 'deep' when arrays nest more than `maxDepth` levels. The recursion
 * is bounded by `maxDepth`, so no body, however deep, can exhaust the stack.
 */
export function flatten(v: unknown, out: unknown[], n: Nesting, depth: number, maxDepth: number): 'ragged' | 'deep' | undefined {
  if (!Array.isArray(v)) {
    if (n.leaf < 0) n.leaf = depth;
    else if (n.leaf !== depth) return 'ragged';
    out.push(v);
    return undefined;
  }
  if (depth >= maxDepth) return 'deep';
  if (n.leaf >= 0 && depth >= n.leaf) return 'ragged';
  if (depth === n.shape.length) n.shape.push(v.length);
  else if (n.shape[depth] !== v.length) return 'ragged';
  for (const x of v) {
    const problem = flatten(x, out, n, depth + 1, maxDepth);
    if (problem) return problem;
  }
  return undefined;
}

export const shapeText = (shape: number[]) => `[${shape.map((d) => (d > 0 ? d : '?')).join(', ')}]`;
export const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
