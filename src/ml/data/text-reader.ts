/**
 * Streaming reader for `format=text`: a corpus, one row per line (LF or CRLF), in one column `text`.
 * Every line is a row, blank ones included (stored as missing, read back as null), so that joining
 * the rows with "\n" gives the file back. Cells are literal text: "12" or "NA" on a line of a corpus
 * is that text, never a number or a missing value (see TableSink.cellLiteral).
 */
import { dataErrors, MAX_FIELD_BYTES } from './errors.js';
import type { ByteConsumer, TableSink } from './table.js';

const LF = 10;
const CR = 13;
export const TEXT_COLUMN = 'text';

export class TextLinesReader implements ByteConsumer {
  /** 1-based physical line of the next byte. */
  line = 1;
  rows = 0;
  private pending = Buffer.allocUnsafe(0); // the start of a line that continues in the next chunk
  private pendingLen = 0;
  private sawBytes = false;

  constructor(private readonly sink: TableSink) {
    sink.addColumn(TEXT_COLUMN, 0);
  }

  push(buf: Buffer): void {
    if (buf.length > 0) this.sawBytes = true;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) break;
      if (this.pendingLen > 0) {
        this.save(buf, start, nl);
        this.takeLine(this.pending, 0, this.pendingLen);
        this.pendingLen = 0;
      } else {
        this.takeLine(buf, start, nl);
      }
      this.line++;
      start = nl + 1;
    }
    this.save(buf, start, buf.length);
  }

  end(): void {
    // A last line without a final newline is still a line; a final newline does not start a new one.
    if (this.pendingLen > 0) this.takeLine(this.pending, 0, this.pendingLen);
    this.pendingLen = 0;
    if (!this.sawBytes) throw dataErrors.emptyFile('text');
  }

  private takeLine(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CR) end--;
    this.sink.cellLiteral(0, buf, start, end);
    this.sink.endRow(this.line);
    this.rows++;
  }

  private save(buf: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    const need = this.pendingLen + len;
    if (need > MAX_FIELD_BYTES) throw dataErrors.fieldTooLong(this.line);
    if (need > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.pending.length * 2, 4096));
      this.pending.copy(grown, 0, 0, this.pendingLen);
      this.pending = grown;
    }
    buf.copy(this.pending, this.pendingLen, start, end);
    this.pendingLen += len;
  }
}
