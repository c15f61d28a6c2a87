/** Helpers shared by the data tests (not used by production code). */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DomainError, type ErrorKind } from '../../infra/errors.js';
import { ingestDataset, type IngestOptions, type IngestResult } from '../data/ingest.js';

/** examples/data of the repository (tests run from dist/src/ml/data). */
export const EXAMPLES = fileURLToPath(new URL('../../../../examples/data/', import.meta.url));

/** Yields `data` in chunks of `size` bytes (size 1 exercises every chunk-boundary state). */
export async function* chunked(data: Buffer | string, size = 64 * 1024): AsyncGenerator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

export const gzip = (data: string | Buffer) => gzipSync(typeof data === 'string' ? Buffer.from(data) : data);

/** A fresh temporary directory per test file; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; path: (name: string) => string; files: () => Promise<string[]>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'aiaas-data-'));
  return {
    dir,
    path: (name) => join(dir, name),
    files: () => readdir(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

let counter = 0;

/** Ingests a string/Buffer (or an example file by name) into a new columnar file in `dir`. */
export async function ingest(
  dir: string,
  data: string | Buffer | { file: string },
  opts: Partial<IngestOptions> & { chunkSize?: number } = {},
): Promise<IngestResult & { path: string }> {
  const path = join(dir, `ds-${++counter}.col`);
  const input = typeof data === 'object' && !Buffer.isBuffer(data) ? createReadStream(join(EXAMPLES, data.file)) : chunked(data, opts.chunkSize);
  const result = await ingestDataset(input, { format: 'csv', maxBytes: 512 * 1024 * 1024, ...opts, columnarPath: path });
  return { ...result, path };
}

/** Asserts that `promise` rejects with a DomainError of this kind and code, with these details. */
export async function rejectsWith(promise: Promise<unknown>, kind: ErrorKind, code: string, details: Record<string, unknown> = {}): Promise<DomainError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DomainError, `expected DomainError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.kind, kind);
  for (const [k, v] of Object.entries(details)) assert.deepEqual(caught.details?.[k], v, `details.${k}`);
  assert.ok(caught.message.length > 20, 'the message explains the problem');
  return caught;
}
