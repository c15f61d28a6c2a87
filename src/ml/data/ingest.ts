/**
 * Dataset ingestion: an uploaded CSV / JSONL / text byte stream (gzip or not) becomes a schema, a
 * profile per column and a columnar file (format in columnar.ts). A text upload is a corpus: one row
 * per line in one column `text`, always of type text (text-reader.ts).
 *
 * How it works, and what it costs in memory (the goal: a 200 MB upload never needs 200 MB of heap):
 *
 *   Pass 1, while the upload streams in: every raw chunk is appended to a spool file next to the
 *   output (`<columnarPath>.spool-*`) and, gunzipped if it starts with 1f 8b, validated as UTF-8 and
 *   parsed. Each cell only updates its column's counters and running statistics (schema-inference.ts).
 *   Memory: one input chunk, one zlib window, O(1) per numeric column, and for string columns a map of
 *   their distinct values capped at 100k entries.
 *   All input errors (bad UTF-8, ragged rows, broken quotes, bad JSON, size limits) surface here,
 *   before any output exists.
 *
 *   Pass 2, from the spool: the same bytes are parsed again, now with every column's type known, and
 *   written straight into the columnar file one row group (about 4 MB) at a time; histograms and
 *   dictionaries are filled on the way. Memory: one read chunk, one or two row groups, the
 *   dictionaries of string columns (bounded by the 100k distinct cap; beyond it text is stored raw).
 *
 * Why two passes instead of buffering values: a column's type is only known after its last value
 * (a numeric-looking column can turn into text on the last row), the histogram needs min/max first,
 * and holding parsed values would cost 8 bytes per cell, several times the file for data like MNIST
 * ("0," is 2 bytes of text). Re-parsing costs CPU (about as much as the first pass) and the spool costs
 * disk (the size of the upload as sent); both are cheaper than RAM. The spool is always deleted.
 *
 * On any error the output file is removed and the input stream is left as it is (not destroyed,
 * not drained): the caller decides whether to drain it or close the connection.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ByteStage, Utf8Validator } from './byte-stages.js';
import { ColumnarWriter, type WriterColumn } from './columnar.js';
import { CsvTableReader } from './csv-parser.js';
import { dataErrors } from './errors.js';
import { JsonlTableReader } from './jsonl-parser.js';
import { buildProfile, NumericProfiler, type ColumnProfile } from './profile.js';
import { planColumns, SchemaPass, type ColumnPlan } from './schema-inference.js';
import { TextLinesReader } from './text-reader.js';
import type { ByteConsumer, TableSink } from './table-sink.js';

export type { ColumnProfile, ColumnType } from './profile.js';
export type { TextProfile } from './text-profile.js';
export { ColumnarReader, openColumnar, type ColumnData, type CellValue, type DatasetRow } from './columnar.js';

export interface IngestOptions {
  format: 'csv' | 'jsonl' | 'text';
  /** Limit on the raw input bytes as uploaded (compressed or not); over it: 413 payload_too_large. */
  maxBytes: number;
  /**
   * Limit on the decompressed bytes, against gzip bombs (a gzip of 1 GB of zeros is 1 MB); over it:
   * 413 payload_too_large with details.decompressed. Default: maxBytes, so the dataset size limit
   * means the data's size, whether it arrives compressed or not.
   */
  maxDecompressedBytes?: number;
  /** Limit on rows × columns; over it: 413 payload_too_large naming the line. Default: none. */
  maxCells?: number;
  /** Where to write the columnar file (created or truncated; removed again on failure). */
  columnarPath: string;
}

export interface IngestResult {
  rows: number;
  /** Raw input bytes, as uploaded. */
  bytes: number;
  /** Bytes after decompression (equal to `bytes` without gzip). */
  decompressedBytes: number;
  gzip: boolean;
  /** Size of the columnar file written to columnarPath. */
  columnarBytes: number;
  columns: ColumnProfile[];
}

/**
 * Ingests one dataset upload. Throws DomainErrors (malformed input / too large / invalid input, codes in errors.ts, details.line
 * where known) for unusable input; nothing is left at columnarPath then.
 */
export async function ingestDataset(input: AsyncIterable<Buffer | Uint8Array>, opts: IngestOptions): Promise<IngestResult> {
  const spoolPath = `${opts.columnarPath}.spool-${randomBytes(6).toString('hex')}`;
  try {
    const first = await firstPass(input, spoolPath, opts);
    const plans = planColumns(first.schema);
    if (opts.format === 'text') for (const p of plans) p.text = true;
    const { columnarBytes, columns } = await secondPass(spoolPath, first.gzip, opts, plans, first.schema.rows);
    return {
      rows: first.schema.rows,
      bytes: first.bytes,
      decompressedBytes: first.decompressedBytes,
      gzip: first.gzip,
      columnarBytes,
      columns,
    };
  } finally {
    await rm(spoolPath, { force: true });
  }
}

interface FirstPass {
  schema: SchemaPass;
  gzip: boolean;
  bytes: number;
  decompressedBytes: number;
}

async function firstPass(input: AsyncIterable<Buffer | Uint8Array>, spoolPath: string, opts: IngestOptions): Promise<FirstPass> {
  const schema = new SchemaPass(opts.maxCells);
  const stage = new ByteStage(new Utf8Validator(tableReader(opts.format, schema)), opts.maxDecompressedBytes ?? opts.maxBytes);
  const spool = await open(spoolPath, 'w');
  let bytes = 0;
  // Counts, limits and spools the raw upload. Pulls with next() so that on error the caller's
  // stream is left alone (a for-await would destroy it).
  async function* raw(head: Buffer, it: AsyncIterator<Buffer | Uint8Array>, done: boolean): AsyncGenerator<Buffer> {
    let chunk = head;
    for (;;) {
      if (chunk.length > 0) {
        bytes += chunk.length;
        if (bytes > opts.maxBytes) throw dataErrors.payloadTooLarge(opts.maxBytes);
        await spool.write(chunk);
        yield chunk;
      }
      if (done) return;
      const r = await it.next();
      if (r.done) return;
      chunk = toBuffer(r.value);
    }
  }
  try {
    const { head, it, done } = await peek(input, 2);
    const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    await consume(raw(head, it, done), gzip, stage);
    return { schema, gzip, bytes, decompressedBytes: stage.bytes };
  } finally {
    await spool.close();
  }
}

async function secondPass(
  spoolPath: string,
  gzip: boolean,
  opts: IngestOptions,
  plans: ColumnPlan[],
  rows: number,
): Promise<{ columnarBytes: number; columns: ColumnProfile[] }> {
  const columns: WriterColumn[] = plans.map((p) => ({
    name: p.name,
    storage: p.storage,
    profiler: p.storage === 'f64' || p.storage === 'f32' ? new NumericProfiler(p.stats.min, p.stats.max, p.kind === 'integer') : undefined,
    avgBytes: rows > 0 ? p.stats.textBytes / rows : 0,
  }));
  const writer = await ColumnarWriter.create(opts.columnarPath, columns);
  try {
    const reader = tableReader(
      opts.format,
      writer,
      plans.map((p) => p.name),
    );
    await consume(createReadStream(spoolPath, { highWaterMark: 256 * 1024 }), gzip, new ByteStage(reader), () => writer.drain());
    await writer.endRows();
    if (writer.rowCount !== rows) throw new Error('Internal error: the second read of the upload has a different row count.');
    const profiles = plans.map((p, i) => buildProfile(p, rows, writer.pass2(i)));
    const columnarBytes = await writer.finish(
      profiles.map((p) => p.type),
      profiles,
    );
    return { columnarBytes, columns: profiles };
  } catch (err) {
    await writer.abort();
    await rm(opts.columnarPath, { force: true });
    throw err;
  }
}

function tableReader(format: IngestOptions['format'], sink: TableSink, columns?: string[]): ByteConsumer {
  if (format === 'csv') return new CsvTableReader(sink);
  if (format === 'jsonl') return new JsonlTableReader(sink, columns);
  if (format === 'text') return new TextLinesReader(sink);
  throw dataErrors.unknownFormat(String(format));
}

/**
 * Feeds `source` (gunzipped when `gzip`) into `target`, then ends it. `afterChunk` runs after every
 * chunk (pass 2 writes sealed row groups there, which also applies back-pressure to reading).
 */
async function consume(
  source: AsyncIterable<Buffer | Uint8Array>,
  gzip: boolean,
  target: ByteConsumer,
  afterChunk?: () => Promise<void>,
): Promise<void> {
  // What the reader threw (a bad row, a field too long, a size limit hit mid-stream): Node 20's
  // pipeline() may report the AbortError of the streams it then tears down instead, which would
  // hide the reason (and answer 500).
  let readerError: unknown;
  const feed = async (chunks: AsyncIterable<Buffer | Uint8Array>) => {
    try {
      for await (const chunk of chunks) {
        target.push(toBuffer(chunk));
        if (afterChunk) await afterChunk();
      }
      target.end();
    } catch (err) {
      readerError ??= err;
      throw err;
    }
  };
  if (!gzip) return feed(source);
  try {
    await pipeline(Readable.from(source, { objectMode: false }), createGunzip({ chunkSize: 256 * 1024 }), feed);
  } catch (err) {
    if (readerError !== undefined && !isZlibError(err)) throw readerError;
    if (isZlibError(err)) throw dataErrors.invalidGzip(err.message);
    throw err;
  }
}

/** Reads chunks until at least `n` bytes (or the end) so the gzip magic can be checked. */
async function peek(
  input: AsyncIterable<Buffer | Uint8Array>,
  n: number,
): Promise<{ head: Buffer; it: AsyncIterator<Buffer | Uint8Array>; done: boolean }> {
  const it = input[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const r = await it.next();
    if (r.done) return { head: Buffer.concat(parts), it, done: true };
    const b = toBuffer(r.value);
    parts.push(b);
    length += b.length;
  }
  return { head: parts.length === 1 ? parts[0] : Buffer.concat(parts), it, done: false };
}

const toBuffer = (chunk: Buffer | Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

function isZlibError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}
