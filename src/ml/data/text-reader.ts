/**
 * Streaming reader for `format=text`: a corpus, one row per line (LF or CRLF), in one column `text`.
 * Every line is a row, blank ones included (stored as missing, read back as null), so that joining
 * the rows with "\n" gives the file back. Cells are literal text: "12" or "NA" on a line of a corpus
 * is that text, never a number or a missing value (see TableSink.cellLiteral).
 */
import { dataErrors } from './errors.js';
import { LineReader } from './line-reader.js';
import type { ByteConsumer, TableSink } from './table-sink.js';

const CR = 13;
export const TEXT_COLUMN = 'text';

export class TextLinesReader extends LineReader implements ByteConsumer {
  rows = 0;
  private sawBytes = false;

  constructor(private readonly sink: TableSink) {
    super();
    sink.addColumn(TEXT_COLUMN, 0);
  }

  override push(buf: Buffer): void {
    if (buf.length > 0) this.sawBytes = true;
    super.push(buf);
  }

  end(): void {
    this.flushLastLine();
    if (!this.sawBytes) throw dataErrors.emptyFile('text');
  }

  protected takeLine(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CR) end--;
    this.sink.cellLiteral(0, buf, start, end);
    this.sink.endRow(this.line);
    this.rows++;
  }
}
