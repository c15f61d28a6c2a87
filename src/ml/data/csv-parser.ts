/**
 * A streaming, byte-level CSV parser (RFC 4180) and the table reader on top of it.
 *
 * CsvParser scans each Buffer once with a small state machine and hands out fields as byte ranges
 * of the chunk it was given: no strings, no regexes, no per-row arrays. Only a field that spans two
 * chunks or contains an escaped quote ("") is copied, into one reusable `pending` buffer.
 *
 * Dialect: comma separator; fields may be quoted with "; a quote inside a quoted field is ""; quoted
 * fields may contain commas and newlines; records end with LF, CRLF or a lone CR. Lines that are
 * completely empty are skipped (e.g. trailing newlines). A quote in the middle of an unquoted field
 * is kept as a literal character; text after a closing quote (other than spaces) is an error.
 * Line numbers count physical lines of the decompressed file, including lines inside quoted fields.
 */
import { dataErrors, MAX_COLUMN_NAME_CHARS, MAX_COLUMNS, MAX_FIELD_BYTES } from './errors.js';
import type { ByteConsumer, TableSink } from './table-sink.js';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

const S_FIELD_START = 0; // at the first byte of a field
const S_UNQUOTED = 1; // inside an unquoted field
const S_QUOTED = 2; // inside a quoted field
const S_QUOTE_IN_QUOTED = 3; // just saw a quote inside a quoted field: "" (escape) or the closing quote
const S_AFTER_QUOTE = 4; // after a closing quote: expect spaces, then a comma or the end of the record

export interface CsvRecordSink {
  /** Field `index` of the current record is buf[start, end). `buf` is only valid during the call. */
  field(index: number, buf: Buffer, start: number, end: number): void;
  /** The current record, which started on physical line `line`, had `fieldCount` fields. */
  endRecord(fieldCount: number, line: number): void;
}

export class CsvParser {
  /** 1-based physical line of the next byte. */
  line = 1;
  private state = S_FIELD_START;
  private fieldIndex = 0;
  private recordLine = 1;
  private atRecordStart = true; // no byte of the current record consumed yet (blank-line detection)
  private skipLF = false; // the last chunk ended with a CR that ended a record; swallow a following LF
  private quoteLine = 1; // line where the open quoted field started
  private pending = Buffer.allocUnsafe(4096); // the current field's bytes from earlier chunks / before an escape
  private pendingLen = 0;

  constructor(private readonly sink: CsvRecordSink) {}

  push(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    if (this.skipLF) {
      if (n === 0) return;
      this.skipLF = false;
      if (buf[0] === LF) i = 1;
    }
    let state = this.state;
    let segStart = 0; // start (in buf) of the current field's bytes not yet copied to pending
    let closeAt = 0; // position of the quote that may close the current quoted field
    while (i < n) {
      if (state === S_FIELD_START) {
        const c = buf[i];
        if (c === QUOTE) {
          state = S_QUOTED;
          this.quoteLine = this.line;
          this.atRecordStart = false;
          segStart = ++i;
          continue;
        }
        if (c === COMMA) {
          this.atRecordStart = false;
          this.emit(buf, i, i);
          i++;
          continue;
        }
        if (c === LF || c === CR) {
          if (!this.atRecordStart) {
            this.emit(buf, i, i); // "a,b," : the record ends with an empty field
            this.endRecord();
          }
          i = this.newline(buf, i);
          continue;
        }
        state = S_UNQUOTED;
        this.atRecordStart = false;
        segStart = i;
      }
      if (state === S_UNQUOTED) {
        let j = i;
        let c = 0;
        while (j < n) {
          c = buf[j];
          if (c === COMMA || c === LF || c === CR) break;
          j++;
        }
        if (j === n) {
          this.save(buf, segStart, n);
          i = n;
          break;
        }
        this.emit(buf, segStart, j);
        state = S_FIELD_START;
        if (c === COMMA) {
          i = j + 1;
        } else {
          this.endRecord();
          i = this.newline(buf, j);
        }
        continue;
      }
      if (state === S_QUOTED) {
        let j = i;
        let lines = 0;
        while (j < n) {
          const c = buf[j];
          if (c === QUOTE) break;
          if (c === LF) lines++;
          j++;
        }
        this.line += lines;
        if (j === n) {
          this.save(buf, segStart, n);
          i = n;
          break;
        }
        closeAt = j;
        state = S_QUOTE_IN_QUOTED;
        i = j + 1;
        continue;
      }
      if (state === S_QUOTE_IN_QUOTED) {
        if (buf[i] === QUOTE) {
          // "" inside a quoted field: keep the text so far plus one quote, skip the second
          this.save(buf, segStart, closeAt);
          this.saveQuote();
          segStart = ++i;
          state = S_QUOTED;
          continue;
        }
        this.emit(buf, segStart, closeAt);
        state = S_AFTER_QUOTE;
        continue; // re-examine buf[i] in S_AFTER_QUOTE
      }
      // S_AFTER_QUOTE
      const c = buf[i];
      if (c === COMMA) {
        state = S_FIELD_START;
        i++;
      } else if (c === LF || c === CR) {
        state = S_FIELD_START;
        this.endRecord();
        i = this.newline(buf, i);
      } else if (c === SPACE || c === TAB) {
        i++;
      } else {
        throw dataErrors.invalidQuote(this.line, this.fieldIndex);
      }
    }
    // A quote that may close the field was the last byte: keep the text before it.
    if (state === S_QUOTE_IN_QUOTED && closeAt >= segStart && i === n) this.save(buf, segStart, closeAt);
    this.state = state;
  }

  end(): void {
    switch (this.state) {
      case S_QUOTED:
        throw dataErrors.unterminatedQuote(this.quoteLine);
      case S_QUOTE_IN_QUOTED:
      case S_UNQUOTED:
        this.emitPending();
        this.endRecord();
        break;
      case S_AFTER_QUOTE:
        this.endRecord();
        break;
      default:
        if (!this.atRecordStart) {
          this.emitPending(); // "a,b," at the end of the file: a last empty field
          this.endRecord();
        }
    }
    this.state = S_FIELD_START;
  }

  /** Consumes the LF, CRLF or CR at buf[j]; returns the index after it. */
  private newline(buf: Buffer, j: number): number {
    this.line++;
    this.recordLine = this.line;
    this.atRecordStart = true;
    if (buf[j] === LF) return j + 1;
    if (j + 1 < buf.length) return buf[j + 1] === LF ? j + 2 : j + 1;
    this.skipLF = true; // CR was the last byte of the chunk: an LF may start the next one
    return j + 1;
  }

  /** Emits the field whose bytes are pending + buf[start, end). */
  private emit(buf: Buffer, start: number, end: number): void {
    if (this.pendingLen === 0) {
      this.field(buf, start, end);
      return;
    }
    this.save(buf, start, end);
    this.emitPending();
  }

  private emitPending(): void {
    const len = this.pendingLen;
    this.pendingLen = 0;
    this.field(this.pending, 0, len);
  }

  private field(buf: Buffer, start: number, end: number): void {
    this.sink.field(this.fieldIndex++, buf, start, end);
  }

  private endRecord(): void {
    const count = this.fieldIndex;
    this.fieldIndex = 0;
    this.sink.endRecord(count, this.recordLine);
  }

  private save(buf: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    this.reserve(len);
    buf.copy(this.pending, this.pendingLen, start, end);
    this.pendingLen += len;
  }

  private saveQuote(): void {
    this.reserve(1);
    this.pending[this.pendingLen++] = QUOTE;
  }

  private reserve(extra: number): void {
    const need = this.pendingLen + extra;
    if (need > MAX_FIELD_BYTES) throw dataErrors.fieldTooLong(this.recordLine);
    if (need <= this.pending.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.pending.length * 2));
    this.pending.copy(grown, 0, 0, this.pendingLen);
    this.pending = grown;
  }
}

/**
 * Every record of a CSV stream as strings, in order, as the chunks arrive: for callers that want
 * whole records (the CLI sending rows to an endpoint, test fixtures) rather than the ingest path's
 * byte ranges, so there is one CSV dialect everywhere.
 */
export async function* csvRecords(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const ready: string[][] = [];
  let record: string[] = [];
  const parser = new CsvParser({
    field: (index, buf, start, end) => { record[index] = buf.toString('utf8', start, end); },
    endRecord: () => { ready.push(record); record = []; },
  });
  for await (const chunk of chunks) {
    parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    yield* ready.splice(0);
  }
  parser.end();
  yield* ready.splice(0);
}

/**
 * Reads a CSV table: the first record is the header (names trimmed; must be non-empty, unique and at
 * most MAX_COLUMN_NAME_CHARS long; at most MAX_COLUMNS), every later record must have exactly as many fields.
 */
export class CsvTableReader implements ByteConsumer, CsvRecordSink {
  rows = 0;
  private readonly parser = new CsvParser(this);
  private names: string[] | null = null;
  private readonly headerNames: string[] = [];
  private width = 0;
  private headerLine = 1;

  constructor(private readonly sink: TableSink) {}

  get line(): number {
    return this.parser.line;
  }

  push(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  end(): void {
    this.parser.end();
    if (this.names === null) throw dataErrors.emptyFile('csv');
    if (this.rows === 0) throw dataErrors.noRows(this.headerLine);
  }

  field(index: number, buf: Buffer, start: number, end: number): void {
    if (this.names !== null) {
      if (index < this.width) this.sink.cellBytes(index, buf, start, end);
      return; // extra fields: counted by the parser, reported as a ragged row at the record's end
    }
    if (index >= MAX_COLUMNS) throw dataErrors.tooManyColumns(this.parser.line);
    this.headerNames.push(buf.toString('utf8', start, end).trim());
  }

  endRecord(fieldCount: number, line: number): void {
    if (this.names === null) {
      this.acceptHeader(line);
      return;
    }
    if (fieldCount !== this.width) throw dataErrors.raggedRow(line, fieldCount, this.width);
    this.sink.endRow(line);
    this.rows++;
  }

  private acceptHeader(line: number): void {
    const names = this.headerNames;
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === '') throw dataErrors.emptyColumnName(i + 1, line);
      if (name.length > MAX_COLUMN_NAME_CHARS) throw dataErrors.columnNameTooLong(i + 1, name.length, line);
      const first = seen.get(name);
      if (first !== undefined) throw dataErrors.duplicateColumn(name, first + 1, i + 1, line);
      seen.set(name, i);
    });
    this.names = names;
    this.width = names.length;
    this.headerLine = line;
    names.forEach((name) => this.sink.addColumn(name, 0));
  }
}
