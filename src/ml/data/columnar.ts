/**
 * The columnar dataset file: written once at upload (pass 2 of ingest.ts), read by the rows preview
 * and by training.
 *
 * Format "aiaas-columnar" version 1. All numbers little-endian.
 *
 *   offset 0        8 bytes   magic "AIAASCL1"
 *   offset 8        row groups, one after the other. A row group holds one chunk per column, in
 *                   column order; every chunk starts at a multiple of 8 bytes (zero padding).
 *   offset F        footer: UTF-8 JSON, see `Footer` below (columns, types, storage, dictionaries,
 *                   row count, and for every row group its row count and each chunk's [offset, length])
 *   end - 16        u32 footer length in bytes, u32 0 (reserved), 8 bytes magic "AIAASCL1"
 *
 * Chunk encodings, by column storage:
 *   f64   rows x Float64; NaN = missing                             (number, and integer beyond ±2^24)
 *   f32   rows x Float32; NaN = missing                             (integer columns within ±2^24: exact)
 *   bool  rows x Int32; 0 = false, 1 = true, -1 = missing           (boolean)
 *   dict  rows x Int32; index into the column's `dictionary`, -1 = missing   (category, text)
 *   utf8  (rows + 1) x Int32 offsets, then the UTF-8 bytes; value i is bytes[off[i], off[i+1]),
 *         an empty value is missing                                 (text with > 100k distinct values)
 *
 * Why a footer rather than a header: dictionaries are complete only after the last row. With the
 * footer the writer streams row groups sequentially and holds one row group (about 4 MB) in memory.
 * Why row groups: that bounded writer memory, and a page of rows reads only the row groups, and
 * within them only the byte ranges, it needs (a few KB per column for a 200-row page).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { InvalidInputError, MalformedInputError } from '../../infra/errors.js';
import { BOOLEAN, cell, classifyBytes, classifyValue, MISSING, NUMBER } from './cell.js';
import { dataErrors } from './errors.js';
import type { ColumnProfile, ColumnType, NumericProfiler, Pass2Column } from './profile.js';
import type { Storage } from './schema-inference.js';
import { TextProfiler } from './text-profile.js';
import type { TableSink } from './table-sink.js';

const MAGIC = Buffer.from('AIAASCL1', 'latin1');
const TAIL_BYTES = 16;
/** Target size of one row group's fixed-width data. */
const GROUP_BYTES = 4 * 1024 * 1024;
/** Seal a row group early once its text columns hold this much. */
const GROUP_TEXT_BYTES = 64 * 1024 * 1024;
const MIN_GROUP_ROWS = 64;
const MAX_GROUP_ROWS = 65_536;
/** writev takes at most IOV_MAX (1024 on Linux) buffers per call. */
const WRITEV_BATCH = 512;

if (endianness() !== 'LE') throw new Error('The columnar dataset format assumes a little-endian machine.');

export interface FooterColumn {
  name: string;
  type: ColumnType;
  storage: Storage;
  dictionary?: string[];
}

export interface Footer {
  format: 'aiaas-columnar';
  version: 1;
  rowCount: number;
  columns: FooterColumn[];
  rowGroups: { rows: number; chunks: [offset: number, length: number][] }[];
  /** The profiles computed at ingest, so the file describes itself. */
  profiles?: ColumnProfile[];
}

// ---------------------------------------------------------------------------------------------
// Writer

/** Encodes one column's cells of the current row group. */
interface Encoder {
  setBytes(row: number, buf: Buffer, start: number, end: number): void;
  setValue(row: number, value: unknown): void;
  /** A literal text cell (TableSink.cellLiteral): only text columns accept it. */
  setLiteral(row: number, buf: Buffer, start: number, end: number): void;
  /** The chunk of the first `rows` rows, as parts to write; then starts a new group of `capacity` rows. */
  seal(rows: number, capacity: number): Uint8Array[];
  /** What the profile needs from pass 2. */
  pass2(): Pass2Column;
}

const mismatch = (): never => {
  throw new Error('Internal error: the second read of the upload disagrees with the first.');
};

const bytesOf = (a: Float64Array | Float32Array | Int32Array, n: number) =>
  new Uint8Array(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);

class NumberEncoder implements Encoder {
  private values: Float64Array | Float32Array;

  constructor(
    private readonly f32: boolean,
    capacity: number,
    private readonly profiler: NumericProfiler,
  ) {
    this.values = this.allocate(capacity);
  }

  setBytes(row: number, buf: Buffer, start: number, end: number): void {
    const kind = classifyBytes(buf, start, end);
    if (kind === NUMBER) this.values[row] = cell.num;
    else if (kind === MISSING) this.values[row] = NaN;
    else mismatch();
  }

  setValue(row: number, value: unknown): void {
    const kind = classifyValue(value);
    if (kind === NUMBER) this.values[row] = cell.num;
    else if (kind === MISSING) this.values[row] = NaN;
    else mismatch();
  }

  setLiteral(): void {
    mismatch();
  }

  seal(rows: number, capacity: number): Uint8Array[] {
    const values = this.values;
    this.profiler.observe(values, rows);
    this.values = this.allocate(capacity);
    return [bytesOf(values, rows)];
  }

  pass2(): Pass2Column {
    return { storage: this.f32 ? 'f32' : 'f64', profiler: this.profiler };
  }

  private allocate(capacity: number): Float64Array | Float32Array {
    return (this.f32 ? new Float32Array(capacity) : new Float64Array(capacity)).fill(NaN);
  }
}

class BoolEncoder implements Encoder {
  private codes: Int32Array;
  private trueCount = 0;
  private falseCount = 0;

  constructor(capacity: number) {
    this.codes = new Int32Array(capacity).fill(-1);
  }

  setBytes(row: number, buf: Buffer, start: number, end: number): void {
    this.set(row, classifyBytes(buf, start, end));
  }

  setValue(row: number, value: unknown): void {
    this.set(row, classifyValue(value));
  }

  setLiteral(): void {
    mismatch();
  }

  private set(row: number, kind: number): void {
    if (kind === BOOLEAN) {
      this.codes[row] = cell.bool ? 1 : 0;
      if (cell.bool) this.trueCount++;
      else this.falseCount++;
    } else if (kind === MISSING) this.codes[row] = -1;
    else mismatch();
  }

  seal(rows: number, capacity: number): Uint8Array[] {
    const codes = this.codes;
    this.codes = new Int32Array(capacity).fill(-1);
    return [bytesOf(codes, rows)];
  }

  pass2(): Pass2Column {
    return { storage: 'bool', trueCount: this.trueCount, falseCount: this.falseCount };
  }
}

/** Dictionary encoding. Strings are kept verbatim (not trimmed): they are the user's labels. */
class DictEncoder implements Encoder {
  private codes: Int32Array;
  readonly values: string[] = [];
  private readonly counts: number[] = [];
  private readonly index = new Map<string, number>();

  constructor(capacity: number) {
    this.codes = new Int32Array(capacity).fill(-1);
  }

  setBytes(row: number, buf: Buffer, start: number, end: number): void {
    this.codes[row] = classifyBytes(buf, start, end) === MISSING ? -1 : this.code(buf.toString('utf8', start, end));
  }

  setValue(row: number, value: unknown): void {
    this.codes[row] = classifyValue(value) === MISSING ? -1 : this.code(cell.str);
  }

  setLiteral(row: number, buf: Buffer, start: number, end: number): void {
    this.codes[row] = end === start ? -1 : this.code(buf.toString('utf8', start, end));
  }

  private code(text: string): number {
    let code = this.index.get(text);
    if (code === undefined) {
      code = this.values.length;
      this.index.set(text, code);
      this.values.push(text);
      this.counts.push(0);
    }
    this.counts[code]++;
    return code;
  }

  seal(rows: number, capacity: number): Uint8Array[] {
    const codes = this.codes;
    this.codes = new Int32Array(capacity).fill(-1);
    return [bytesOf(codes, rows)];
  }

  pass2(): Pass2Column {
    return { storage: 'dict', dictionary: { values: this.values, counts: this.counts } };
  }
}

/** Raw UTF-8 values with offsets: no dictionary, so memory stays bounded for unique text. */
class Utf8Encoder implements Encoder {
  private offsets: Int32Array;
  private bytes = Buffer.allocUnsafe(64 * 1024);
  used = 0;

  /** Observes every value: a column this large has no dictionary to profile at the end. */
  private readonly text = new TextProfiler();

  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
  }

  setBytes(_row: number, buf: Buffer, start: number, end: number): void {
    if (classifyBytes(buf, start, end) !== MISSING) this.setLiteral(_row, buf, start, end);
  }

  setValue(_row: number, value: unknown): void {
    if (classifyValue(value) === MISSING) return;
    const b = Buffer.from(cell.str, 'utf8');
    this.setLiteral(_row, b, 0, b.length);
  }

  setLiteral(_row: number, buf: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.text.observe(buf.toString('utf8', start, end));
    this.append(buf, start, end);
  }

  endRow(row: number): void {
    this.offsets[row + 1] = this.used;
  }

  private append(buf: Buffer, start: number, end: number): void {
    const need = this.used + (end - start);
    if (need > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    buf.copy(this.bytes, this.used, start, end);
    this.used = need;
  }

  seal(rows: number, capacity: number): Uint8Array[] {
    const parts = [bytesOf(this.offsets, rows + 1), this.bytes.subarray(0, this.used)];
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = Buffer.allocUnsafe(this.bytes.length);
    this.used = 0;
    return parts;
  }

  pass2(): Pass2Column {
    return { storage: 'utf8', text: this.text };
  }
}

export interface WriterColumn {
  name: string;
  storage: Storage;
  /** Required for f64 / f32 columns: receives each row group's values (histogram, distinct). */
  profiler?: NumericProfiler;
  /** Average UTF-8 bytes per row (utf8 columns), to size row groups. */
  avgBytes?: number;
}

/**
 * Writes a columnar file as a TableSink (pass 2). Cells go into the current row group's typed arrays;
 * a full row group is sealed into a write queue that `drain()` writes. The caller awaits drain()
 * after each pushed input chunk, so at most a few row groups are in memory.
 */
export class ColumnarWriter implements TableSink {
  rowCount = 0;
  private readonly encoders: Encoder[];
  private readonly utf8: Utf8Encoder[];
  private readonly capacity: number;
  private row = 0; // rows in the current group
  private announced = 0; // columns announced by addColumn
  private pos = MAGIC.length; // file offset of the next chunk
  private readonly queue: { parts: Uint8Array[]; position: number }[] = [];
  private readonly groups: Footer['rowGroups'] = [];

  private constructor(
    private readonly fh: FileHandle,
    private readonly columns: readonly WriterColumn[],
  ) {
    const rowBytes = columns.reduce((sum, c) => sum + (c.storage === 'f64' ? 8 : c.storage === 'utf8' ? 4 + (c.avgBytes ?? 0) : 4), 0);
    this.capacity = Math.min(MAX_GROUP_ROWS, Math.max(MIN_GROUP_ROWS, Math.floor(GROUP_BYTES / Math.max(1, rowBytes))));
    this.encoders = columns.map((c) => makeEncoder(c, this.capacity));
    this.utf8 = this.encoders.filter((e): e is Utf8Encoder => e instanceof Utf8Encoder);
  }

  /** Creates (truncates) the file at `path`. */
  static async create(path: string, columns: readonly WriterColumn[]): Promise<ColumnarWriter> {
    const fh = await open(path, 'w');
    try {
      await fh.write(MAGIC, 0, MAGIC.length, 0);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new ColumnarWriter(fh, columns);
  }

  addColumn(name: string): void {
    // All columns are known from pass 1; the second read must announce the same ones in the same order.
    if (this.columns[this.announced++]?.name !== name) mismatch();
  }

  cellBytes(col: number, buf: Buffer, start: number, end: number): void {
    this.encoders[col].setBytes(this.row, buf, start, end);
  }

  cellValue(col: number, value: unknown): void {
    this.encoders[col].setValue(this.row, value);
  }

  cellLiteral(col: number, buf: Buffer, start: number, end: number): void {
    this.encoders[col].setLiteral(this.row, buf, start, end);
  }

  endRow(): void {
    let textBytes = 0;
    for (const u of this.utf8) {
      u.endRow(this.row);
      textBytes += u.used;
    }
    this.row++;
    this.rowCount++;
    if (this.row === this.capacity || textBytes > GROUP_TEXT_BYTES) this.seal();
  }

  /** Writes the sealed row groups. */
  async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const { parts, position } = this.queue.shift()!;
      let at = position;
      for (let i = 0; i < parts.length; i += WRITEV_BATCH) {
        const batch = parts.slice(i, i + WRITEV_BATCH);
        const { bytesWritten } = await this.fh.writev(batch, at);
        const expected = batch.reduce((s, p) => s + p.byteLength, 0);
        if (bytesWritten !== expected) await this.writeRest(batch, at, bytesWritten);
        at += expected;
      }
    }
  }

  /** Seals and writes the last, partial row group: call after the last row, before pass2() and finish(). */
  async endRows(): Promise<void> {
    if (this.row > 0) this.seal();
    await this.drain();
  }

  /** What pass 2 learned about column `col` (for its profile); complete after endRows(). */
  pass2(col: number): Pass2Column {
    return this.encoders[col].pass2();
  }

  /** Writes the last row group and the footer, closes the file; returns the file size in bytes. */
  async finish(types: readonly ColumnType[], profiles?: ColumnProfile[]): Promise<number> {
    await this.endRows();
    const footer: Footer = {
      format: 'aiaas-columnar',
      version: 1,
      rowCount: this.rowCount,
      columns: this.columns.map((c, i) => {
        const column: FooterColumn = { name: c.name, type: types[i], storage: c.storage };
        const enc = this.encoders[i];
        if (enc instanceof DictEncoder) column.dictionary = enc.values;
        return column;
      }),
      rowGroups: this.groups,
      profiles,
    };
    const json = Buffer.from(JSON.stringify(footer), 'utf8');
    const tail = Buffer.alloc(TAIL_BYTES);
    tail.writeUInt32LE(json.length, 0);
    MAGIC.copy(tail, 8);
    const end = this.pos;
    await this.fh.writev([json, tail], end);
    await this.fh.close();
    return end + json.length + TAIL_BYTES;
  }

  /** Closes the file after a failure (the caller deletes it). */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private seal(): void {
    const rows = this.row;
    const parts: Uint8Array[] = [];
    const chunks: [number, number][] = [];
    const start = this.pos;
    for (const enc of this.encoders) {
      const chunkParts = enc.seal(rows, this.capacity);
      const length = chunkParts.reduce((s, p) => s + p.byteLength, 0);
      chunks.push([this.pos, length]);
      parts.push(...chunkParts);
      const pad = (8 - (length % 8)) % 8;
      if (pad > 0) parts.push(ZEROS.subarray(0, pad));
      this.pos += length + pad;
    }
    this.groups.push({ rows, chunks });
    this.queue.push({ parts, position: start });
    this.row = 0;
  }

  private async writeRest(parts: Uint8Array[], position: number, written: number): Promise<void> {
    const all = Buffer.concat(parts);
    let done = written;
    while (done < all.length) {
      const { bytesWritten } = await this.fh.write(all, done, all.length - done, position + done);
      done += bytesWritten;
    }
  }
}

const ZEROS = new Uint8Array(8);

function makeEncoder(c: WriterColumn, capacity: number): Encoder {
  switch (c.storage) {
    case 'f64':
    case 'f32':
      if (!c.profiler) throw new Error(`Internal error: numeric column '${c.name}' needs a profiler.`);
      return new NumberEncoder(c.storage === 'f32', capacity, c.profiler);
    case 'bool':
      return new BoolEncoder(capacity);
    case 'dict':
      return new DictEncoder(capacity);
    case 'utf8':
      return new Utf8Encoder(capacity);
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

/** A column for training: numbers as Float64 (NaN = missing); strings and booleans as codes (-1 = missing). */
export type ColumnData =
  | { type: 'number' | 'integer'; values: Float64Array }
  | { type: 'category' | 'text' | 'boolean'; codes: Int32Array; dictionary: string[] };

export type CellValue = number | string | boolean | null;
export type DatasetRow = Record<string, CellValue>;

/** Random-access bytes: a file (read by range, never whole) or an in-memory Buffer. */
interface ByteSource {
  readonly size: number;
  read(into: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

class FileSource implements ByteSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    try {
      return new FileSource(fh, (await fh.stat()).size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < into.byteLength) {
      const { bytesRead } = await this.fh.read(into, done, into.byteLength - done, position + done);
      if (bytesRead === 0) throw dataErrors.corruptColumnar('the file is shorter than its footer says');
      done += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class BufferSource implements ByteSource {
  constructor(private readonly buf: Uint8Array) {}

  get size(): number {
    return this.buf.byteLength;
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    if (position + into.byteLength > this.buf.byteLength) throw dataErrors.corruptColumnar('the data is shorter than its footer says');
    into.set(this.buf.subarray(position, position + into.byteLength));
  }

  async close(): Promise<void> {}
}

/** The largest file `whole()` reads at once (a table's decoded numbers take up to twice its bytes anyway). */
const WHOLE_FILE_MAX = 256 * 1024 * 1024;

/**
 * Reads a columnar file. `open` reads only the footer; `column` reads one column's chunks;
 * `rows` reads only the byte ranges of the requested rows. Call `close` when done (files).
 */
export class ColumnarReader {
  readonly rowCount: number;
  readonly columns: readonly { name: string; type: ColumnType }[];
  readonly profiles: readonly ColumnProfile[] | undefined;
  private readonly index = new Map<string, number>();
  private readonly groupStarts: number[] = [];

  private constructor(
    private readonly src: ByteSource,
    private readonly footer: Footer,
  ) {
    this.rowCount = footer.rowCount;
    this.columns = footer.columns.map((c) => ({ name: c.name, type: c.type }));
    this.profiles = footer.profiles;
    footer.columns.forEach((c, i) => this.index.set(c.name, i));
    let start = 0;
    for (const g of footer.rowGroups) {
      this.groupStarts.push(start);
      start += g.rows;
    }
    if (start !== footer.rowCount) throw dataErrors.corruptColumnar('row groups do not add up to the row count');
  }

  /** Opens a columnar file by path, or a whole file already in memory. */
  static async open(source: string | Uint8Array): Promise<ColumnarReader> {
    const src = typeof source === 'string' ? await FileSource.open(source) : new BufferSource(source);
    try {
      return new ColumnarReader(src, await readFooter(src));
    } catch (err) {
      await src.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.src.close();
  }

  /**
   * This reader over the whole file read at once, for reading every column: one read instead of
   * one per column chunk (a wide table's columns, each an await on the file system, were most of
   * its load). Above WHOLE_FILE_MAX bytes it is this reader: the file's copy would add to the
   * decoded table's memory. The reader returned holds no file: closing this one is enough.
   */
  async whole(): Promise<ColumnarReader> {
    if (this.src instanceof BufferSource || this.src.size > WHOLE_FILE_MAX) return this;
    const buf = Buffer.allocUnsafe(this.src.size);
    await this.src.read(buf, 0);
    return new ColumnarReader(new BufferSource(buf), this.footer);
  }

  /** One whole column. Throws 422 unknown_column for a name that is not in the dataset. */
  async column(name: string): Promise<ColumnData> {
    const c = this.index.get(name);
    if (c === undefined) throw unknownColumn(name, this.columns);
    const col = this.footer.columns[c];
    const groups = this.footer.rowGroups;
    switch (col.storage) {
      case 'f64':
      case 'f32': {
        const values = new Float64Array(this.rowCount);
        for (let g = 0; g < groups.length; g++) {
          const [offset] = groups[g].chunks[c];
          values.set(await this.readNumbers(col.storage, offset, 0, groups[g].rows), this.groupStarts[g]);
        }
        return { type: col.type as 'number' | 'integer', values };
      }
      case 'bool':
      case 'dict': {
        const codes = new Int32Array(this.rowCount);
        for (let g = 0; g < groups.length; g++) {
          const [offset] = groups[g].chunks[c];
          await this.src.read(bytesOf(codes.subarray(this.groupStarts[g]), groups[g].rows), offset);
        }
        const dictionary = col.storage === 'bool' ? ['false', 'true'] : (col.dictionary ?? []);
        return { type: col.type as 'category' | 'text' | 'boolean', codes, dictionary };
      }
      case 'utf8': {
        const codes = new Int32Array(this.rowCount);
        const dictionary: string[] = [];
        for (let g = 0; g < groups.length; g++) {
          const texts = await this.readTexts(groups[g].chunks[c][0], groups[g].rows, 0, groups[g].rows);
          texts.forEach((t, i) => {
            codes[this.groupStarts[g] + i] = t === null ? -1 : dictionary.push(t) - 1;
          });
        }
        return { type: col.type as 'text', codes, dictionary };
      }
    }
  }

  /**
   * Rows [offset, offset + limit) as plain objects keyed by column name: numbers as numbers,
   * booleans as booleans, strings as strings, missing as null. Past the end: fewer rows or none.
   */
  async rows(offset: number, limit: number): Promise<DatasetRow[]> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limit) || limit < 0) {
      throw new MalformedInputError('invalid_range', 'offset and limit must be non-negative integers.', { offset, limit });
    }
    const end = Math.min(this.rowCount, offset + limit);
    if (offset >= end) return [];
    const columns = this.footer.columns;
    const table: CellValue[][] = Array.from({ length: end - offset }, () => new Array<CellValue>(columns.length));
    const groups = this.footer.rowGroups;
    for (let g = 0; g < groups.length; g++) {
      const gStart = this.groupStarts[g];
      const gEnd = gStart + groups[g].rows;
      if (gEnd <= offset || gStart >= end) continue;
      const lo = Math.max(offset, gStart) - gStart;
      const hi = Math.min(end, gEnd) - gStart;
      const into = gStart + lo - offset; // first table row filled from this group
      for (let c = 0; c < columns.length; c++) {
        const values = await this.readSlice(c, g, lo, hi);
        for (let i = 0; i < values.length; i++) table[into + i][c] = values[i];
      }
    }
    const names = columns.map((c) => c.name);
    // fromEntries defines own properties, so even a column named "__proto__" is an ordinary key
    return table.map((values) => Object.fromEntries(names.map((name, c) => [name, values[c]])));
  }

  /** Values of rows [lo, hi) of row group g, column c. */
  private async readSlice(c: number, g: number, lo: number, hi: number): Promise<CellValue[]> {
    const col = this.footer.columns[c];
    const group = this.footer.rowGroups[g];
    const [offset] = group.chunks[c];
    switch (col.storage) {
      case 'f64':
      case 'f32':
        return Array.from(await this.readNumbers(col.storage, offset, lo, hi), (v) => (Number.isNaN(v) ? null : v));
      case 'bool':
      case 'dict': {
        const codes = new Int32Array(hi - lo);
        await this.src.read(bytesOf(codes, codes.length), offset + lo * 4);
        const dict = col.dictionary ?? [];
        return Array.from(codes, (code) => (code < 0 ? null : col.storage === 'bool' ? code === 1 : dict[code]));
      }
      case 'utf8':
        return this.readTexts(offset, group.rows, lo, hi);
    }
  }

  private async readNumbers(storage: 'f64' | 'f32', offset: number, lo: number, hi: number): Promise<Float64Array | Float32Array> {
    const values = storage === 'f64' ? new Float64Array(hi - lo) : new Float32Array(hi - lo);
    await this.src.read(bytesOf(values, values.length), offset + lo * values.BYTES_PER_ELEMENT);
    return values;
  }

  /** Texts of rows [lo, hi) of a utf8 chunk of `rows` rows at `offset`; null when missing. */
  private async readTexts(offset: number, rows: number, lo: number, hi: number): Promise<(string | null)[]> {
    const offs = new Int32Array(hi - lo + 1);
    await this.src.read(bytesOf(offs, offs.length), offset + lo * 4);
    const bytes = Buffer.allocUnsafe(offs[offs.length - 1] - offs[0]);
    await this.src.read(bytes, offset + (rows + 1) * 4 + offs[0]);
    const out: (string | null)[] = [];
    for (let i = 0; i < hi - lo; i++) {
      out.push(offs[i + 1] === offs[i] ? null : bytes.toString('utf8', offs[i] - offs[0], offs[i + 1] - offs[0]));
    }
    return out;
  }
}

/** Opens a columnar dataset: a file path (read by range) or the whole file as a Buffer. */
export const openColumnar = (source: string | Uint8Array) => ColumnarReader.open(source);

async function readFooter(src: ByteSource): Promise<Footer> {
  if (src.size < MAGIC.length + TAIL_BYTES) throw dataErrors.corruptColumnar('too short');
  const head = Buffer.alloc(MAGIC.length);
  await src.read(head, 0);
  const tail = Buffer.alloc(TAIL_BYTES);
  await src.read(tail, src.size - TAIL_BYTES);
  if (!head.equals(MAGIC) || !tail.subarray(8).equals(MAGIC)) throw dataErrors.corruptColumnar('not an aiaas columnar file');
  const length = tail.readUInt32LE(0);
  if (length > src.size - MAGIC.length - TAIL_BYTES) throw dataErrors.corruptColumnar('bad footer length');
  const json = Buffer.alloc(length);
  await src.read(json, src.size - TAIL_BYTES - length);
  let footer: Footer;
  try {
    footer = JSON.parse(json.toString('utf8')) as Footer;
  } catch {
    throw dataErrors.corruptColumnar('unreadable footer');
  }
  if (footer.format !== 'aiaas-columnar' || footer.version !== 1) throw dataErrors.corruptColumnar('unknown format version');
  return footer;
}

function unknownColumn(name: string, columns: readonly { name: string }[]) {
  const known = columns.slice(0, 20).map((c) => c.name);
  const more = columns.length > known.length ? `, … (${columns.length} in all)` : '';
  return new InvalidInputError('unknown_column', `Column '${name}' is not in this dataset. Columns: ${known.join(', ')}${more}.`, {
    column: name,
  });
}
