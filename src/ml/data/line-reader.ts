/**
 * The streaming line splitter under the JSONL and text readers: bytes in, one `takeLine` call per
 * LF-terminated line (the LF excluded; CR is the subclass's to strip), a line that spans chunks held
 * in one growing buffer, and a line longer than MAX_FIELD_BYTES refused with its line number.
 */
import { dataErrors, MAX_FIELD_BYTES } from './errors.js';

const LF = 10;

export abstract class LineReader {
  /** 1-based physical line of the next byte. */
  line = 1;
  private pending = Buffer.allocUnsafe(0); // the start of a line that continues in the next chunk
  private pendingLen = 0;

  /** One whole line: `buf[start, end)`, valid only during the call. */
  protected abstract takeLine(buf: Buffer, start: number, end: number): void;

  push(buf: Buffer): void {
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

  /** The last line when the input does not end with a newline (a final newline starts no line). */
  protected flushLastLine(): void {
    if (this.pendingLen > 0) this.takeLine(this.pending, 0, this.pendingLen);
    this.pendingLen = 0;
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
