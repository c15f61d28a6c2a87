/**
 * What one raw cell is: missing, a number, a boolean or a string.
 *
 * The CSV path classifies the field's bytes in place (no substring, no string allocation for
 * numbers, booleans or missing tokens); the JSONL path classifies parsed JSON values with the same
 * rules, so a dataset means the same thing whichever format it was uploaded in.
 *
 * Rules (shared by schema inference and the columnar writer, which must agree cell by cell):
 * - Surrounding spaces and tabs are ignored for classification (" 5" is the number 5).
 * - Missing: an empty field and the tokens NA, N/A, null, NULL, NaN, nan (exact case); in JSONL
 *   also `null` and an absent key.
 * - Number: optional sign, digits with an optional fraction, optional exponent (`12`, `-0.5`, `.5`,
 *   `5.`, `1e-3`); the value must be finite. No hex, no `Infinity`, no thousands separators.
 * - Boolean: `true` / `false` in any letter case. `yes` / `no` stay strings (they are class labels).
 * - Anything else is a string.
 */

export const MISSING = 0;
export const NUMBER = 1;
export const BOOLEAN = 2;
export const STRING = 3;
export type CellKind = typeof MISSING | typeof NUMBER | typeof BOOLEAN | typeof STRING;

/**
 * Out-parameters of the last classify call. One shared object, so classifying the millions of
 * cells of a numeric file allocates nothing. Read it right after the call; the next call overwrites it.
 * `str` is only set by classifyValue (the JSONL path): the text form of a non-missing value.
 */
export const cell = { num: 0, bool: false, str: '' };

// Exact powers of ten: any of them times an integer below 2^53 is one correctly rounded operation.
const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
  1e18, 1e19, 1e20, 1e21, 1e22,
];

const latin1 = (buf: Uint8Array, start: number, end: number): string =>
  Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');

/**
 * Parses buf[start, end) as a decimal number into cell.num; false when it is not one.
 * Fast path (Clinger): at most 15 significant digits and a decimal exponent within ±22 give an exact
 * integer mantissa and an exact power of ten, so one multiply or divide is correctly rounded, the
 * same result as Number(). Longer inputs are validated here and then handed to Number().
 */
export function parseNumberBytes(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  let neg = false;
  const first = buf[i];
  if (first === 45 /* - */) {
    neg = true;
    i++;
  } else if (first === 43 /* + */) {
    i++;
  }
  let mant = 0;
  let sig = 0; // significant digits in mant (leading zeros do not count)
  let digits = 0;
  let exp = 0;
  let slow = false;
  for (; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) break;
    digits++;
    if (sig < 15) {
      mant = mant * 10 + d;
      if (mant !== 0) sig++;
    } else slow = true;
  }
  if (i < end && buf[i] === 46 /* . */) {
    i++;
    for (; i < end; i++) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      digits++;
      if (sig < 15) {
        mant = mant * 10 + d;
        exp--;
        if (mant !== 0) sig++;
      } else slow = true;
    }
  }
  if (digits === 0) return false;
  if (i < end && (buf[i] === 101 || buf[i] === 69) /* e E */) {
    i++;
    let eneg = false;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) {
      eneg = buf[i] === 45;
      i++;
    }
    let ev = 0;
    let edigits = 0;
    for (; i < end; i++) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      edigits++;
      if (ev < 100000) ev = ev * 10 + d;
    }
    if (edigits === 0) return false;
    exp += eneg ? -ev : ev;
  }
  if (i !== end) return false;
  let v: number;
  if (slow || exp > 22 || exp < -22) {
    v = Number(latin1(buf, start, end)); // grammar already checked: Number() accepts all of it
    if (!Number.isFinite(v)) return false;
    cell.num = v;
    return true;
  }
  v = exp === 0 ? mant : exp > 0 ? mant * POW10[exp] : mant / POW10[-exp];
  if (!Number.isFinite(v)) return false;
  cell.num = neg ? -v : v;
  return true;
}

/** Classifies buf[start, end) (a CSV field, quotes already removed). Sets cell.num / cell.bool. */
export function classifyBytes(buf: Uint8Array, start: number, end: number): CellKind {
  while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
  while (end > start && (buf[end - 1] === 32 || buf[end - 1] === 9)) end--;
  const len = end - start;
  if (len === 0) return MISSING;
  const c = buf[start];
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    if (parseNumberBytes(buf, start, end)) return NUMBER;
    return STRING;
  }
  switch (len) {
    case 2: // NA
      return c === 78 && buf[start + 1] === 65 ? MISSING : STRING;
    case 3: // N/A NaN nan
      if (c === 78 && buf[start + 1] === 47 && buf[start + 2] === 65) return MISSING;
      if (c === 78 && buf[start + 1] === 97 && buf[start + 2] === 78) return MISSING;
      if (c === 110 && buf[start + 1] === 97 && buf[start + 2] === 110) return MISSING;
      return STRING;
    case 4: {
      // null NULL, true in any case
      const b1 = buf[start + 1];
      const b2 = buf[start + 2];
      const b3 = buf[start + 3];
      if (c === 110 && b1 === 117 && b2 === 108 && b3 === 108) return MISSING;
      if (c === 78 && b1 === 85 && b2 === 76 && b3 === 76) return MISSING;
      if ((c | 32) === 116 && (b1 | 32) === 114 && (b2 | 32) === 117 && (b3 | 32) === 101) {
        cell.bool = true;
        return BOOLEAN;
      }
      return STRING;
    }
    case 5: // false in any case
      if (
        (c | 32) === 102 &&
        (buf[start + 1] | 32) === 97 &&
        (buf[start + 2] | 32) === 108 &&
        (buf[start + 3] | 32) === 115 &&
        (buf[start + 4] | 32) === 101
      ) {
        cell.bool = false;
        return BOOLEAN;
      }
      return STRING;
    default:
      return STRING;
  }
}

/**
 * Classifies a parsed JSON value (JSONL). JSON strings follow the CSV rules ("5" is a number,
 * "NA" is missing), so exports that quote every value still get typed columns. Nested objects and
 * arrays are kept as their JSON text. Sets cell.num / cell.bool and cell.str (the value as text).
 */
export function classifyValue(v: unknown): CellKind {
  switch (typeof v) {
    case 'undefined':
      return MISSING;
    case 'number':
      if (!Number.isFinite(v)) {
        cell.str = String(v); // 1e400 parses to Infinity: not a usable number
        return STRING;
      }
      cell.num = v;
      cell.str = String(v);
      return NUMBER;
    case 'boolean':
      cell.bool = v;
      cell.str = v ? 'true' : 'false';
      return BOOLEAN;
    case 'string': {
      const b = Buffer.from(v, 'utf8');
      const kind = classifyBytes(b, 0, b.length);
      cell.str = v;
      return kind;
    }
    default:
      if (v === null) return MISSING;
      cell.str = JSON.stringify(v);
      return STRING;
  }
}
