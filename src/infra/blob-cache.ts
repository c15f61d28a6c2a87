/**
 * A size-bounded folder of local copies of remote blobs, named by their hash: readers that seek
 * (the columnar dataset reader, ONNX Runtime loading a model) need a file. When the folder grows
 * past its bound the least recently used files go first. A file in use by a reader may be evicted:
 * on Linux its bytes stay readable through the open descriptor, and the next reader fetches it again.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const HASH = /^[0-9a-f]{64}$/;

export class BlobCache {
  readonly tmpDir: string;

  constructor(private readonly root: string, private readonly maxBytes: number, opts: { sweepScratch?: boolean } = {}) {
    this.tmpDir = path.join(root, 'tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    if (opts.sweepScratch !== false) {
      for (const f of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, f), { force: true });
    }
  }

  pathOf(hash: string): string {
    if (!HASH.test(hash)) throw new Error(`not a blob hash: ${hash}`);
    return path.join(this.root, hash);
  }

  scratchPath(suffix = ''): string {
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  /** The cached file of `hash`, marked as just used; undefined when it is not here. */
  async lookup(hash: string): Promise<string | undefined> {
    const file = this.pathOf(hash);
    const now = new Date();
    try {
      await fsp.utimes(file, now, now);
      return file;
    } catch {
      return undefined;
    }
  }

  /** Moves a complete scratch file in as `hash`, then keeps the folder within its bound. */
  async adopt(scratch: string, hash: string): Promise<string> {
    const file = this.pathOf(hash);
    await fsp.chmod(scratch, 0o600);
    await fsp.rename(scratch, file);
    await this.evict(file);
    return file;
  }

  async remove(hash: string): Promise<void> {
    await fsp.rm(this.pathOf(hash), { force: true });
  }

  /** Deletes the least recently used files until the folder is within its bound (never `keep`). */
  private async evict(keep: string): Promise<void> {
    const names = (await fsp.readdir(this.root)).filter((n) => HASH.test(n));
    const files = [];
    for (const n of names) {
      const p = path.join(this.root, n);
      try {
        const st = await fsp.stat(p);
        files.push({ p, size: st.size, used: st.mtimeMs });
      } catch {
        // Evicted by another process of this node meanwhile.
      }
    }
    let total = files.reduce((s, f) => s + f.size, 0);
    files.sort((a, b) => a.used - b.used);
    for (const f of files) {
      if (total <= this.maxBytes) break;
      if (f.p === keep) continue;
      await fsp.rm(f.p, { force: true });
      total -= f.size;
    }
  }
}
