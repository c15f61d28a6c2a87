/**
 * Streaming tar reader (ustar, GNU long names, pax `path`/`size`), the counterpart of tar.ts:
 * entries come one after another with their bodies as streams, so an archive of any size passes
 * through in bounded memory. Regular files only are yielded; folders, links and the like are skipped.
 */
import { ByteSource } from './byte-source.js';

const BLOCK = 512;

export interface ArchiveEntry {
  path: string;
  size: number;
  /** The file's bytes; read it before asking for the next entry (what is left unread is skipped). */
  body: AsyncIterable<Uint8Array>;
}

export class ArchiveFormatError extends Error {}

export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<ArchiveEntry> {
  const src = new ByteSource(source);
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const h = await src.read(BLOCK);
    if (h.length === 0 || h.every((b) => b === 0)) return; // end of archive (two zero blocks; a short file is tolerated)
    if (h.length < BLOCK) throw new ArchiveFormatError('the tar archive is truncated inside a header');
    checkChecksum(h);
    const type = String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12);
    if (pax.size !== undefined) size = Number(pax.size);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L' || type === 'x' || type === 'g') {
      const meta = Buffer.from(await src.read(padded)).subarray(0, size);
      if (type === 'L') longName = meta.toString('utf8').replace(/\0.*$/s, '');
      else if (type === 'x') pax = parsePax(meta);
      continue;
    }
    const path = pax.path ?? longName ?? ustarName(h);
    longName = undefined;
    pax = {};
    if (type !== '0' && type !== '\0' && type !== '7') {
      await src.skip(padded, 'the tar archive');
      continue;
    }
    let read = 0;
    const body = (async function* () {
      for await (const piece of src.stream(size, `tar entry '${path}'`)) {
        read += piece.length;
        yield piece;
      }
    })();
    yield { path, size, body };
    if (read < size) await src.skip(size - read, `tar entry '${path}'`);
    if (padded > size) await src.skip(padded - size, 'the tar archive');
  }
}

function ustarName(h: Uint8Array): string {
  const name = cString(h, 0, 100);
  const magic = cString(h, 257, 6);
  const prefix = magic.startsWith('ustar') ? cString(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(h: Uint8Array, at: number, len: number): string {
  const b = Buffer.from(h.buffer, h.byteOffset + at, len);
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? len : end).toString('utf8');
}

function octal(h: Uint8Array, at: number, len: number): number {
  if (h[at]! & 0x80) { // GNU base-256 for sizes of 8 GiB and more
    let v = 0;
    for (let i = at + 1; i < at + len; i++) v = v * 256 + h[i]!;
    return v;
  }
  const text = cString(h, at, len).trim();
  const v = text === '' ? 0 : parseInt(text, 8);
  if (!Number.isFinite(v)) throw new ArchiveFormatError('the tar archive has a malformed header (a size is not octal)');
  return v;
}

function checkChecksum(h: Uint8Array): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  if (sum !== octal(h, 148, 8)) throw new ArchiveFormatError('this is not a tar archive (a header checksum does not match)');
}

function parsePax(meta: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < meta.length) {
    const space = meta.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(meta.subarray(pos, space).toString('latin1'));
    if (!(len > 0)) break;
    const record = meta.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}
