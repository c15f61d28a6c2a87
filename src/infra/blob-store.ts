/**
 * Content-addressed blob store. A blob is named by the SHA-256 of its bytes; it is written to a
 * temporary file and renamed into place, so a crash never leaves a half file under a real name.
 * `LocalBlobStore` keeps blobs under AIAAS_HOME/blobs; an S3-compatible store implements the
 * same interface for the scale-out mode.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TooLargeError } from './errors.js';

export interface BlobInfo {
  hash: string;
  size: number;
  /** false when identical bytes were already stored. */
  created: boolean;
}

export interface BlobStore {
  /** Streams bytes in; past `maxBytes` it stops with a 413 and leaves nothing behind. */
  put(source: AsyncIterable<Uint8Array> | Uint8Array, opts?: { maxBytes?: number }): Promise<BlobInfo>;
  /**
   * Takes ownership of a file the caller wrote at a path from `scratchPath()`. `hashed`: its
   * SHA-256 and size as the caller computed them while writing it (not read back to hash it).
   */
  putFile(file: string, hashed?: { hash: string; size: number }): Promise<BlobInfo>;
  /** A fresh path for a scratch file on the same volume as the store (cheap rename). */
  scratchPath(suffix?: string): string;
  read(hash: string): Promise<Buffer>;
  /** A local file holding the blob's bytes, for readers that seek (an S3 store would cache one). */
  localPath(hash: string): Promise<string>;
  stream(hash: string): Readable;
  size(hash: string): Promise<number>;
  has(hash: string): Promise<boolean>;
  delete(hash: string): Promise<void>;
}

const HASH = /^[0-9a-f]{64}$/;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export class LocalBlobStore implements BlobStore {
  private readonly tmpDir: string;

  /**
   * `sweepScratch: false` for a second process on the same store (a job's worker process): only
   * the process that owns AIAAS_HOME may delete scratch files, which may belong to live uploads.
   */
  constructor(private readonly root: string, opts: { sweepScratch?: boolean } = {}) {
    this.tmpDir = path.join(root, 'tmp');
    // Owner only, like the rest of AIAAS_HOME: blobs are tenants' data and models.
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: DIR_MODE });
    // Scratch files of a process that died are garbage: nothing refers to them.
    if (opts.sweepScratch !== false) {
      for (const f of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, f), { force: true });
    }
  }

  pathOf(hash: string): string {
    if (!HASH.test(hash)) throw new Error(`not a blob hash: ${hash}`);
    return path.join(this.root, 'sha256', hash.slice(0, 2), hash);
  }

  scratchPath(suffix = ''): string {
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  async put(source: AsyncIterable<Uint8Array> | Uint8Array, opts: { maxBytes?: number } = {}): Promise<BlobInfo> {
    const tmp = this.scratchPath();
    const { hash, size } = await writeHashed(source, tmp, opts.maxBytes);
    return this.commit(tmp, hash, size);
  }

  async putFile(file: string, hashed?: { hash: string; size: number }): Promise<BlobInfo> {
    const { hash, size } = hashed ?? (await hashFile(file));
    return this.commit(file, hash, size);
  }

  private async commit(tmp: string, hash: string, size: number): Promise<BlobInfo> {
    const dest = this.pathOf(hash);
    if (await exists(dest)) {
      await fsp.rm(tmp, { force: true });
      return { hash, size, created: false };
    }
    await fsp.mkdir(path.dirname(dest), { recursive: true, mode: DIR_MODE });
    // Files from putFile() were written by the caller, with whatever mode it chose.
    await fsp.chmod(tmp, FILE_MODE);
    await fsp.rename(tmp, dest);
    return { hash, size, created: true };
  }

  read(hash: string): Promise<Buffer> {
    return fsp.readFile(this.pathOf(hash));
  }

  async localPath(hash: string): Promise<string> {
    return this.pathOf(hash);
  }

  stream(hash: string): Readable {
    return fs.createReadStream(this.pathOf(hash));
  }

  async size(hash: string): Promise<number> {
    return (await fsp.stat(this.pathOf(hash))).size;
  }

  has(hash: string): Promise<boolean> {
    return exists(this.pathOf(hash));
  }

  async delete(hash: string): Promise<void> {
    await fsp.rm(this.pathOf(hash), { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Streams bytes into a new file `dest` (owner-only) while hashing them; past `maxBytes` it stops
 * with a 413 and deletes the file, so an oversized upload leaves nothing behind.
 */
export async function writeHashed(source: AsyncIterable<Uint8Array> | Uint8Array, dest: string, maxBytes = Infinity): Promise<{ hash: string; size: number }> {
  const hasher = createHash('sha256');
  let size = 0;
  const out = fs.createWriteStream(dest, { flags: 'wx', mode: FILE_MODE });
  try {
    for await (const chunk of source instanceof Uint8Array ? [source] : source) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new TooLargeError('payload_too_large', `The upload is larger than the limit of ${maxBytes} bytes. Send a smaller file, or raise the limit (AIAAS_DATASET_MAX_BYTES).`, { limitBytes: maxBytes });
      }
      hasher.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    // The file is opened asynchronously: wait until the stream has opened and closed it, or the
    // file could appear after the rm below and be left behind.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()).destroy());
    await fsp.rm(dest, { force: true });
    throw err;
  }
  return { hash: hasher.digest('hex'), size };
}

/**
 * A new file (owner-only) written synchronously while hashing it: `writeHashed` for a caller
 * that has its bytes at hand as buffers and cannot afford a stream per file (the prediction
 * log's writer thread, a segment per flush). Hand it to `putFile` with the hash `close` gives.
 */
export class HashedFile {
  size = 0;
  private readonly fd: number;
  private readonly hasher = createHash('sha256');

  constructor(private readonly file: string) {
    this.fd = fs.openSync(file, 'wx', FILE_MODE);
  }

  /** Appends the parts one after another; returns the offset the first starts at. */
  append(parts: Buffer[]): number {
    const at = this.size;
    let bytes = 0;
    for (const p of parts) {
      this.hasher.update(p);
      bytes += p.byteLength;
    }
    // A regular file takes a writev whole (short only past 2 GB); anything else is an error.
    const written = fs.writevSync(this.fd, parts);
    if (written !== bytes) throw new Error(`short write to ${this.file}: ${written} of ${bytes} bytes`);
    this.size += bytes;
    return at;
  }

  close(): { hash: string; size: number } {
    fs.closeSync(this.fd);
    return { hash: this.hasher.digest('hex'), size: this.size };
  }

  /** Closes and deletes the file (after a failure). */
  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed already */
    }
    fs.rmSync(this.file, { force: true });
  }
}

/** The SHA-256 and size of a file's bytes. */
export async function hashFile(file: string): Promise<{ hash: string; size: number }> {
  const hasher = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hasher.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: hasher.digest('hex'), size };
}
