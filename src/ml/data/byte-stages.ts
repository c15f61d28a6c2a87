/**
 * Byte-level stages between decompression and parsing: strip a UTF-8 BOM, enforce the decompressed
 * size limit, and validate UTF-8 with the line number of the first bad byte.
 */
import { isUtf8 } from 'node:buffer';
import { dataErrors } from './errors.js';
import type { ByteConsumer } from './table-sink.js';

/** Strips a leading UTF-8 byte order mark and counts bytes against a limit (decompression bombs). */
export class ByteStage implements ByteConsumer {
  bytes = 0;
  private head: Buffer | null = Buffer.alloc(0); // bytes held until we know whether a BOM starts the file

  constructor(
    private readonly next: ByteConsumer,
    private readonly maxBytes = Infinity,
  ) {}

  get line(): number {
    return this.next.line;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) throw dataErrors.decompressedTooLarge(this.maxBytes);
    if (this.head === null) {
      this.next.push(chunk);
      return;
    }
    const head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    if (head.length < 3 && head.every((b, i) => b === BOM[i])) {
      this.head = head; // could still be a BOM: wait for more bytes
      return;
    }
    this.head = null;
    this.next.push(startsWithBom(head) ? head.subarray(3) : head);
  }

  end(): void {
    if (this.head !== null && this.head.length > 0) this.next.push(this.head); // 1-2 bytes, not a BOM
    this.head = null;
    this.next.end();
  }
}

const BOM = [0xef, 0xbb, 0xbf];
const startsWithBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/**
 * Validates UTF-8 chunk by chunk with node:buffer isUtf8 (native simdutf; strict like a fatal
 * TextDecoder: rejects overlongs, surrogates, truncated sequences) without creating strings.
 * A multi-byte character split across chunks is carried over (at most 3 bytes).
 * On failure it passes the valid lines before the bad one on to the parser, so earlier problems are
 * reported first and the parser's line counter names the bad line.
 */
export class Utf8Validator implements ByteConsumer {
  private carry: Buffer | null = null;

  constructor(private readonly next: ByteConsumer) {}

  get line(): number {
    return this.next.line;
  }

  push(chunk: Buffer): void {
    const buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    const cut = completeLength(buf);
    const body = cut === buf.length ? buf : buf.subarray(0, cut);
    if (!isUtf8(body)) this.fail(body);
    if (cut < buf.length) this.carry = Buffer.from(buf.subarray(cut));
    this.next.push(body);
  }

  end(): void {
    if (this.carry !== null) throw dataErrors.invalidUtf8(this.next.line); // file ends mid-character
    this.next.end();
  }

  /** Finds the first invalid line of `body` (newlines never occur inside a UTF-8 sequence). */
  private fail(body: Buffer): never {
    let start = 0;
    while (start < body.length) {
      const nl = body.indexOf(10, start);
      const end = nl < 0 ? body.length : nl + 1;
      if (!isUtf8(body.subarray(start, end))) {
        this.next.push(body.subarray(0, start));
        throw dataErrors.invalidUtf8(this.next.line);
      }
      start = end;
    }
    throw dataErrors.invalidUtf8(this.next.line); // unreachable: some line must be invalid
  }
}

/** Length of the prefix of `buf` that ends on a character boundary (drops a trailing partial sequence). */
function completeLength(buf: Buffer): number {
  const n = buf.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + need > n ? i : n;
  }
  return n; // only continuation bytes: invalid, and isUtf8 will say so
}
