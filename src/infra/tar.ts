/**
 * A minimal ustar writer, gzipped: enough to ship a folder of files (a Hugging Face model folder)
 * as one `.tar.gz` that `tar`, Python's tarfile and the Hub tools extract. Regular files only;
 * folders are implied by the paths. In memory, so meant for artifacts that fit in memory.
 */
import { gzipSync } from 'node:zlib';

const BLOCK = 512;

/** `files` by relative path ("onnx/model.onnx"); `root` puts them all inside one top folder. */
export function tarGz(files: ReadonlyMap<string, Uint8Array>, o: { root?: string; mtime?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  const mtime = Math.floor((o.mtime ?? 0) / 1000);
  for (const [path, data] of files) {
    parts.push(header(o.root ? `${o.root}/${path}` : path, data.length, mtime));
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return gzipSync(Buffer.concat(parts));
}

function header(path: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = Buffer.from(path, 'utf8');
  // ustar: up to 100 bytes of name, with up to 155 more in the prefix (split at a '/').
  let prefix = Buffer.alloc(0);
  let base = name;
  if (name.length > 100) {
    const cut = path.lastIndexOf('/', path.length - 1);
    prefix = Buffer.from(path.slice(0, cut), 'utf8');
    base = Buffer.from(path.slice(cut + 1), 'utf8');
    if (cut < 0 || base.length > 100 || prefix.length > 155) throw new Error(`tar: path too long: ${path}`);
  }
  base.copy(h, 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.write('        ', 148, 'latin1'); // checksum field counts as spaces while summing
  h.write('0', 156, 'latin1'); // regular file
  h.write('ustar\u000000', 257, 'latin1');
  prefix.copy(h, 345);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return h;
}

function octal(h: Buffer, at: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, at, 'latin1');
}

/** One file of a streamed archive: its size is known before its bytes arrive. */
export interface TarSource {
  path: string;
  size: number;
  body: AsyncIterable<Uint8Array> | Uint8Array;
}

/** A tar archive (not gzipped) produced as its files are read: for folders larger than memory. */
export async function* tarStream(files: AsyncIterable<TarSource> | Iterable<TarSource>, o: { mtime?: number } = {}): AsyncGenerator<Uint8Array> {
  const mtime = Math.floor((o.mtime ?? 0) / 1000);
  for await (const f of files) {
    yield header(f.path, f.size, mtime);
    let n = 0;
    for await (const chunk of f.body instanceof Uint8Array ? [f.body] : f.body) {
      n += chunk.length;
      yield chunk;
    }
    if (n !== f.size) throw new Error(`tar: ${f.path} was announced as ${f.size} bytes but has ${n}`);
    const pad = (BLOCK - (n % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}
