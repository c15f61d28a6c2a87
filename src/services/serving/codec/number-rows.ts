/**
 * The commonest predict body, `{"instances": [[n, n, …], …]}` (or `"inputs"`) for a model with
 * one float input of fixed width, read straight from its UTF-8 bytes into a Float32Array or
 * Float64Array: no JSON.parse, no JS array of numbers per row, no garbage.
 *
 * Only that exact shape is read (whitespace anywhere JSON allows it); anything else (another
 * key, objects for rows, a ragged row, null, a string, a number the tensor cannot hold, e.g.
 * 1e39 for a float32) answers undefined, and the caller takes the general path (JSON.parse,
 * then ./instances.ts), which accepts or refuses it with the usual errors. So this is never stricter or looser than that path, and the
 * values are the same to the bit: a number of at most 15 significant digits and a decimal
 * exponent within ±22 is exactly `digits × 10^e` or `digits / 10^-e`, one correctly rounded
 * IEEE operation on two exact doubles (Clinger's fast path), as JSON.parse would give; other
 * numbers are converted by `Number` from their text.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_FAST_DIGITS = 15;

const enum C {
  Space = 0x20, Tab = 0x09, Lf = 0x0a, Cr = 0x0d, Quote = 0x22, Comma = 0x2c, Minus = 0x2d, Plus = 0x2b,
  Dot = 0x2e, Backslash = 0x5c, Zero = 0x30, Nine = 0x39, Colon = 0x3a, LBracket = 0x5b, RBracket = 0x5d, LBrace = 0x7b, RBrace = 0x7d,
  E = 0x45, e = 0x65,
}

export interface NumberRows {
  data: Float32Array | Float64Array;
  rows: number;
}

/**
 * Reads `bytes[from, to)` as a body of 1 to `maxRows` rows of exactly `width` numbers;
 * undefined when it is anything else (let the general path decide). Written as one loop over
 * the bytes with the position in a local (helpers take and return it): V8 keeps that in a
 * register, where closures over a shared position, or a class with a method per token, ran at
 * JSON.parse's speed or slower.
 */
export function readNumberRows(b: Uint8Array, from: number, to: number, width: number, dtype: 'float32' | 'float64', maxRows: number): NumberRows | undefined {
  const end = to;
  let i = expect(b, skip(b, from, end), end, C.LBrace);
  // "instances" or "inputs" (escaped keys are left to the general path).
  i = expect(b, skip(b, i, end), end, C.Quote);
  if (i < 0) return undefined;
  const keyStart = i;
  while (i < end && b[i] !== C.Quote && b[i] !== C.Backslash) i++;
  if (i >= end || b[i] !== C.Quote || !(isWord(b, keyStart, i, 'instances') || isWord(b, keyStart, i, 'inputs'))) return undefined;
  i = expect(b, skip(b, i + 1, end), end, C.Colon);
  if (i < 0) return undefined;
  i = expect(b, skip(b, i, end), end, C.LBracket);
  if (i < 0) return undefined;

  // A Float32Array rounds each double once as it is stored, as JSON.parse's numbers written into one would.
  let data: Float32Array | Float64Array = dtype === 'float32' ? new Float32Array(width) : new Float64Array(width);
  let rows = 0;
  for (;;) {
    i = expect(b, skip(b, i, end), end, C.LBracket);
    if (i < 0) return undefined;
    if ((rows + 1) * width > data.length) {
      const grown = dtype === 'float32' ? new Float32Array(data.length * 2) : new Float64Array(data.length * 2);
      grown.set(data);
      data = grown;
    }
    const rowAt = rows * width;
    for (let j = 0; j < width; j++) {
      i = skip(b, i, end);
      if (j > 0) {
        if (i >= end || b[i] !== C.Comma) return undefined;
        i = skip(b, i + 1, end);
      }
      // A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
      const start = i;
      let c = i < end ? b[i]! : -1;
      const negative = c === C.Minus;
      if (negative) c = ++i < end ? b[i]! : -1;
      let mantissa = 0;
      let digits = 0;
      let scale = 0;
      if (c === C.Zero) {
        c = ++i < end ? b[i]! : -1;
      } else if (c > C.Zero && c <= C.Nine) {
        do {
          mantissa = mantissa * 10 + (c - C.Zero);
          digits++;
          c = ++i < end ? b[i]! : -1;
        } while (c >= C.Zero && c <= C.Nine);
      } else {
        return undefined;
      }
      if (c === C.Dot) {
        c = ++i < end ? b[i]! : -1;
        if (!(c >= C.Zero && c <= C.Nine)) return undefined;
        do {
          // The zeros of 0.00x are not significant digits.
          if (digits > 0 || c !== C.Zero) digits++;
          mantissa = mantissa * 10 + (c - C.Zero);
          scale--;
          c = ++i < end ? b[i]! : -1;
        } while (c >= C.Zero && c <= C.Nine);
      }
      let exponent = 0;
      if (c === C.e || c === C.E) {
        c = ++i < end ? b[i]! : -1;
        const sign = c;
        if (c === C.Minus || c === C.Plus) c = ++i < end ? b[i]! : -1;
        if (!(c >= C.Zero && c <= C.Nine)) return undefined;
        do {
          exponent = Math.min(exponent * 10 + (c - C.Zero), 1e6);
          c = ++i < end ? b[i]! : -1;
        } while (c >= C.Zero && c <= C.Nine);
        if (sign === C.Minus) exponent = -exponent;
      }
      const power = scale + exponent;
      let v: number;
      if (digits <= MAX_FAST_DIGITS && power >= -22 && power <= 22) {
        v = power >= 0 ? mantissa * POW10[power]! : mantissa / POW10[-power]!;
        if (negative) v = -v;
      } else {
        v = Number(String.fromCharCode(...b.subarray(start, i)));
      }
      data[rowAt + j] = v;
      // Infinite as stored (beyond a float32, or an exponent past a double's): the general path refuses it, naming row and column.
      if (!Number.isFinite(data[rowAt + j]!)) return undefined;
    }
    i = expect(b, skip(b, i, end), end, C.RBracket);
    if (i < 0) return undefined;
    rows++;
    if (rows > maxRows) return undefined;
    i = skip(b, i, end);
    if (i < end && b[i] === C.Comma) {
      i++;
      continue;
    }
    i = expect(b, i, end, C.RBracket);
    if (i < 0) return undefined;
    break;
  }
  i = expect(b, skip(b, i, end), end, C.RBrace);
  if (i < 0 || skip(b, i, end) !== end) return undefined;
  const n = rows * width;
  return { data: data.length === n ? data : data.slice(0, n), rows };
}

/** The position after JSON whitespace from i. */
function skip(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== C.Space && c !== C.Lf && c !== C.Cr && c !== C.Tab) return i;
    i++;
  }
  return i;
}

/** The position after byte `c` at i, or -1 if it is not there (i may already be -1). */
function expect(b: Uint8Array, i: number, end: number, c: number): number {
  return i >= 0 && i < end && b[i] === c ? i + 1 : -1;
}

function isWord(b: Uint8Array, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[from + k] !== word.charCodeAt(k)) return false;
  return true;
}
