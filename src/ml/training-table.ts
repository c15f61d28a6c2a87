/**
 * A dataset version in memory for training: one typed array per column, as the columnar reader
 * gives them, and the two input tensors of every tabular model (see signature.ts): `features`
 * (numeric columns, float32, NaN for missing) and `categories` (category/text columns, strings,
 * '' for missing).
 */
import { InvalidInputError } from '../infra/errors.js';
import type { ColumnarReader } from './data/ingest.js';
import type { ColumnKind } from './signature.js';

export type RawColumn =
  | { name: string; type: 'number' | 'integer' | 'boolean'; values: Float64Array }
  | { name: string; type: 'category' | 'text'; codes: Int32Array; dictionary: string[] };

export interface RawTable {
  rows: number;
  columns: RawColumn[];
}

export async function loadTable(reader: ColumnarReader, skip: readonly string[] = []): Promise<RawTable> {
  const columns: RawColumn[] = [];
  const source = skip.length === 0 ? await reader.whole() : reader;
  for (const c of reader.columns) {
    if (skip.includes(c.name)) continue;
    const data = await source.column(c.name);
    if ('values' in data) columns.push({ name: c.name, type: c.type as 'number' | 'integer', values: data.values });
    else if (c.type === 'boolean') columns.push({ name: c.name, type: 'boolean', values: booleanValues(data.codes, data.dictionary) });
    else columns.push({ name: c.name, type: c.type as 'category' | 'text', codes: data.codes, dictionary: data.dictionary });
  }
  return { rows: reader.rowCount, columns };
}

function booleanValues(codes: Int32Array, dictionary: string[]): Float64Array {
  const out = new Float64Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! < 0 ? NaN : dictionary[codes[i]!] === 'true' ? 1 : 0;
  return out;
}

export const isNumeric = (c: RawColumn): c is Extract<RawColumn, { values: Float64Array }> => 'values' in c;

export function column(table: RawTable, name: string, where = 'spec'): RawColumn {
  const c = table.columns.find((x) => x.name === name);
  if (!c) {
    const known = table.columns.map((x) => x.name).join(', ');
    throw new InvalidInputError('unknown_column', `Column '${name}' (in ${where}) is not in the dataset. Its columns are: ${known}.`, { column: name, where });
  }
  return c;
}

export function kindOf(c: RawColumn): ColumnKind {
  return c.type;
}

/** The string value of a categorical cell ('' when missing). */
export const cellString = (c: Extract<RawColumn, { codes: Int32Array }>, row: number): string =>
  c.codes[row]! < 0 ? '' : c.dictionary[c.codes[row]!]!;

const FEED_BLOCK = 256;

/** The model inputs for the given rows: `features` [n, F] and `categories` [n, K]. */
export function buildFeeds(
  table: RawTable, numeric: readonly string[], categorical: readonly string[], rows: ArrayLike<number>,
): { features: Float32Array; categories: string[] } {
  const n = rows.length;
  const num = numeric.map((name) => column(table, name)) as Extract<RawColumn, { values: Float64Array }>[];
  const cat = categorical.map((name) => column(table, name)) as Extract<RawColumn, { codes: Int32Array }>[];
  const features = new Float32Array(n * num.length);
  const categories: string[] = new Array(n * cat.length);
  // Column-major in, row-major out: blocks of rows keep the written rows in cache across columns
  // (a row at a time touches every column once per row, a cache miss each on wide image data).
  const F = num.length;
  for (let start = 0; start < n; start += FEED_BLOCK) {
    const end = Math.min(n, start + FEED_BLOCK);
    for (let j = 0; j < F; j++) {
      const values = num[j]!.values;
      for (let i = start; i < end; i++) features[i * F + j] = values[rows[i]!]!;
    }
  }
  if (cat.length) {
    for (let i = 0; i < n; i++) for (let j = 0; j < cat.length; j++) categories[i * cat.length + j] = cellString(cat[j]!, rows[i]!);
  }
  return { features, categories };
}

/** Row indices with no duplicate before them (all columns compared), in order. */
export function uniqueRows(table: RawTable): Int32Array {
  const seen = new Set<string>();
  const keep: number[] = [];
  for (let r = 0; r < table.rows; r++) {
    let key = '';
    for (const c of table.columns) key += (isNumeric(c) ? String(c.values[r]) : String(c.codes[r])) + '\u0001';
    if (!seen.has(key)) {
      seen.add(key);
      keep.push(r);
    }
  }
  return Int32Array.from(keep);
}
