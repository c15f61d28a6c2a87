/**
 * Pass 1: schema inference. Sees every cell once and keeps, per column, only counters and running
 * statistics (O(1) memory per numeric column), plus a capped map of distinct strings for columns that
 * hold strings. At the end, `planColumns` decides each column's type and storage.
 *
 * Type rules (over the non-missing cells of a column):
 * - all numbers, all integral (|v| <= 2^53): `integer` (so "57.0", written by pandas for an integer
 *   column with missing values, is an integer);
 * - all numbers: `number`;
 * - all true/false: `boolean`;
 * - otherwise strings: `category` or `text`, decided after pass 2 from the exact distinct count
 *   (see isCategory in profile.ts); a column with no value at all is `text`.
 * A numeric column with some missing cells stays numeric (missing is NaN in storage).
 */
import { BOOLEAN, cell, classifyBytes, classifyValue, MISSING, NUMBER, STRING } from './cell.js';
import { dataErrors } from './errors.js';
import type { TableSink } from './table-sink.js';

/** Distinct values are counted exactly up to this many per column; beyond it the count is a lower bound. */
export const DISTINCT_CAP = 100_000;

/** Largest magnitude below which every integer is exact in a Float32. */
const F32_EXACT = 2 ** 24;

export class ColumnStats {
  missing = 0;
  numbers = 0;
  booleans = 0;
  strings = 0;
  integral = true;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  m2 = 0; // Welford: sum of squared deviations from the mean
  /** Bytes of UTF-8 in string cells (sizes row groups of text columns). */
  textBytes = 0;
  /** Counts of distinct string/boolean texts, capped at DISTINCT_CAP keys; null until one is seen. */
  texts: Map<string, number> | null = null;
  textsCapped = false;

  constructor(readonly name: string) {}

  addNumber(v: number): void {
    const n = ++this.numbers;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const d = v - this.mean;
    this.mean += d / n;
    this.m2 += d * (v - this.mean);
    if (this.integral && !(Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER)) this.integral = false;
  }

  addText(text: string, kind: typeof BOOLEAN | typeof STRING): void {
    if (kind === BOOLEAN) this.booleans++;
    else this.strings++;
    this.textBytes += Buffer.byteLength(text);
    const texts = (this.texts ??= new Map());
    const count = texts.get(text);
    if (count !== undefined) texts.set(text, count + 1);
    else if (texts.size < DISTINCT_CAP) texts.set(text, 1);
    else this.textsCapped = true;
  }
}

/** The pass-1 TableSink: feeds every cell into its column's ColumnStats. */
export class SchemaPass implements TableSink {
  readonly columns: ColumnStats[] = [];
  rows = 0;

  /** `maxCells`: rows × columns allowed (training holds every cell as a number), checked row by row. */
  constructor(private readonly maxCells = Infinity) {}

  addColumn(name: string, rowsBefore: number): void {
    const stats = new ColumnStats(name);
    stats.missing = rowsBefore;
    this.columns.push(stats);
  }

  cellBytes(col: number, buf: Buffer, start: number, end: number): void {
    const stats = this.columns[col];
    const kind = classifyBytes(buf, start, end);
    if (kind === NUMBER) stats.addNumber(cell.num);
    else if (kind === MISSING) stats.missing++;
    else stats.addText(buf.toString('utf8', start, end), kind);
  }

  cellLiteral(col: number, buf: Buffer, start: number, end: number): void {
    const stats = this.columns[col];
    if (end === start) stats.missing++;
    else stats.addText(buf.toString('utf8', start, end), STRING);
  }

  cellValue(col: number, value: unknown): void {
    const stats = this.columns[col];
    const kind = classifyValue(value);
    if (kind === NUMBER) stats.addNumber(cell.num);
    else if (kind === MISSING) stats.missing++;
    else stats.addText(cell.str, kind);
  }

  endRow(line: number): void {
    this.rows++;
    if (this.rows * this.columns.length > this.maxCells) throw dataErrors.tooManyCells(this.maxCells, this.rows, this.columns.length, line);
  }
}

/**
 * How a column is stored in the columnar file:
 * f64 / f32: one float per row, NaN when missing (f32 only for integer columns within ±2^24, exact);
 * bool: Int32 code 0 (false) / 1 (true) / -1 (missing);
 * dict: Int32 code into a dictionary of distinct strings, -1 when missing;
 * utf8: the raw bytes of each value (offsets + bytes), for text with more than DISTINCT_CAP distinct values,
 *       so memory never holds an unbounded dictionary.
 */
export type Storage = 'f64' | 'f32' | 'bool' | 'dict' | 'utf8';
export type InferredKind = 'integer' | 'number' | 'boolean' | 'string';

export interface ColumnPlan {
  name: string;
  kind: InferredKind;
  storage: Storage;
  stats: ColumnStats;
  /** Always of type text, whatever its distinct count (the column of a format=text corpus). */
  text?: boolean;
}

export function planColumns(pass: SchemaPass): ColumnPlan[] {
  return pass.columns.map((stats) => {
    const present = pass.rows - stats.missing;
    if (present > 0 && stats.numbers === present) {
      if (!stats.integral) return { name: stats.name, kind: 'number', storage: 'f64', stats };
      const f32 = stats.min >= -F32_EXACT && stats.max <= F32_EXACT;
      return { name: stats.name, kind: 'integer', storage: f32 ? 'f32' : 'f64', stats };
    }
    if (present > 0 && stats.booleans === present) return { name: stats.name, kind: 'boolean', storage: 'bool', stats };
    return { name: stats.name, kind: 'string', storage: stats.textsCapped ? 'utf8' : 'dict', stats };
  });
}
