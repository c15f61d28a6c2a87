/**
 * Pull-based reading of a byte stream in pieces of known sizes (an archive's headers, then its
 * files' bodies), without holding more than one incoming chunk beyond what the caller asked for.
 */
export class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or fewer only at the end of the stream (then as many as remained). */
  async read(n: number): Promise<Uint8Array> {
    if (this.chunk.length >= n) return this.take(n);
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      if (this.chunk.length === 0 && !(await this.fill())) break;
      const piece = this.take(Math.min(n - have, this.chunk.length));
      parts.push(piece);
      have += piece.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  }

  /** The next `n` bytes as they arrive (chunks of the stream); throws if the stream ends first. */
  async *stream(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.chunk.length === 0 && !(await this.fill())) throw new Error(`${what} ends ${left} bytes early`);
      const piece = this.take(Math.min(left, this.chunk.length));
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.stream(n, what)) { /* discarded */ }
  }

  private take(n: number): Uint8Array {
    const piece = this.chunk.subarray(0, n);
    this.chunk = this.chunk.subarray(n);
    return piece;
  }

  private async fill(): Promise<boolean> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.length > 0) {
        this.chunk = r.value;
        return true;
      }
    }
    return false;
  }
}
