/**
 * Zip reader over a file on disk (a zip's table of contents is at its end, so the archive is
 * spooled to a file first): the central directory, zip64 included, then each entry streamed
 * from its offset (stored, or deflated through zlib). Memory stays bounded whatever the sizes.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { ArchiveFormatError, type ArchiveEntry } from './tar-read.js';

interface CentralEntry {
  path: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export async function* readZip(file: string): AsyncGenerator<ArchiveEntry> {
  const fh = await fsp.open(file, 'r');
  try {
    const entries = await centralDirectory(fh);
    for (const e of entries) {
      if (e.path.endsWith('/')) continue; // a folder
      if (e.flags & 1) throw new ArchiveFormatError(`zip entry '${e.path}' is encrypted; send an archive without a password`);
      if (e.method !== 0 && e.method !== 8) throw new ArchiveFormatError(`zip entry '${e.path}' uses compression method ${e.method}; only stored (0) and deflate (8) are read`);
      const local = await readAt(fh, e.localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new ArchiveFormatError(`zip entry '${e.path}' has no local header where the directory says`);
      const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const raw = fs.createReadStream(file, { start, end: start + e.compressedSize - 1, highWaterMark: 1 << 20 });
      const body = e.compressedSize === 0 ? emptyBody() : e.method === 8 ? raw.pipe(createInflateRaw()) : raw;
      yield { path: e.path, size: e.size, body };
    }
  } finally {
    await fh.close();
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> { /* nothing */ }

async function readAt(fh: fsp.FileHandle, at: number, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const { bytesRead } = await fh.read(b, 0, n, at);
  if (bytesRead < n) throw new ArchiveFormatError('the zip archive is truncated');
  return b;
}

async function centralDirectory(fh: fsp.FileHandle): Promise<CentralEntry[]> {
  const size = (await fh.stat()).size;
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = await readAt(fh, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new ArchiveFormatError('this is not a zip archive (no end-of-central-directory record)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locAt = eocd - 20;
    if (locAt < 0 || tail.readUInt32LE(locAt) !== 0x07064b50) throw new ArchiveFormatError('the zip64 archive has no zip64 locator');
    const rec = await readAt(fh, Number(tail.readBigUInt64LE(locAt + 8)), 56);
    if (rec.readUInt32LE(0) !== 0x06064b50) throw new ArchiveFormatError('the zip64 end-of-central-directory record is missing');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdSize > 64 * 2 ** 20) throw new ArchiveFormatError('the zip central directory is larger than 64 MiB');
  const cd = await readAt(fh, cdOffset, cdSize);
  const out: CentralEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new ArchiveFormatError('the zip central directory is malformed');
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const e: CentralEntry = {
      flags: cd.readUInt16LE(p + 8), method: cd.readUInt16LE(p + 10), compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24), localOffset: cd.readUInt32LE(p + 42),
      path: cd.subarray(p + 46, p + 46 + nameLen).toString('utf8'),
    };
    zip64Sizes(e, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The zip64 extra field (id 1) holds, in this order, the 32-bit fields that overflowed. */
function zip64Sizes(e: CentralEntry, extra: Buffer): void {
  for (let q = 0; q + 4 <= extra.length;) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      const next = () => { const v = Number(extra.readBigUInt64LE(r)); r += 8; return v; };
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localOffset === 0xffffffff) e.localOffset = next();
    }
    q += 4 + len;
  }
}
