/**
 * Feeds back into raw rows, as a caller would have sent them: what prediction logging keeps and
 * drift reads. A model with raw columns gets one value per column (a missing value as null: NaN
 * numbers and '' categories are how the codec wrote them); an imported model (graph inputs only)
 * gets each input tensor's slice of the row.
 */
import type { Signature, SignatureInput } from '../../../ml/signature.js';
import { plainValues, type FeedTensor, type Feeds } from './instances.js';

export type RawValue = number | string | boolean | null | RawValue[];
export type RawRow = Record<string, RawValue>;

/** The `rows` rows of `feeds`, one object each. */
export function feedRows(sig: Signature, feeds: Feeds, rows: number): RawRow[] {
  return sig.inputs.length > 0 ? columnRows(sig.inputs, feeds, rows) : tensorRows(feeds, rows);
}

function columnRows(inputs: SignatureInput[], feeds: Feeds, rows: number): RawRow[] {
  const out: RawRow[] = Array.from({ length: rows }, () => ({}));
  for (const c of inputs) {
    const t = feeds[c.tensor];
    if (!t) continue;
    const values = shown(t);
    const width = values.length / rows;
    for (let r = 0; r < rows; r++) out[r]![c.name] = columnValue(c, values[r * width + c.index]);
  }
  return out;
}

function columnValue(c: SignatureInput, v: number | string | boolean | undefined): RawValue {
  if (v === undefined) return null;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    return c.type === 'boolean' ? v !== 0 : v;
  }
  if (typeof v === 'string') return v === '' && (c.type === 'category' || c.type === 'text') ? null : v;
  return v;
}

function tensorRows(feeds: Feeds, rows: number): RawRow[] {
  const out: RawRow[] = Array.from({ length: rows }, () => ({}));
  for (const [name, t] of Object.entries(feeds)) {
    const values = shown(t).map((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
    const width = values.length / rows;
    for (let r = 0; r < rows; r++) out[r]![name] = width === 1 ? values[r]! : values.slice(r * width, (r + 1) * width);
  }
  return out;
}

/** A tensor's values, float32 ones as the shortest decimal that is the same float32 (1.4, not 1.399999976158142). */
function shown(t: FeedTensor): Array<number | string | boolean> {
  const values = plainValues(t);
  return t.dtype === 'float32' ? values.map((v) => shortestFloat32(v as number)) : values;
}

export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  for (let digits = 1; digits < 9; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}
