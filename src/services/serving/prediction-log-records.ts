/**
 * What the prediction log keeps: logged requests packed into store records
 * (`prediction_log_packs`, migration 0015), up to PACK_REQUESTS requests (or about PACK_BYTES of
 * text) of one endpoint and version from one flush per record: their bodies and answers (UTF-8
 * JSON text, as bytes) one after another, an index of each request's time, id, latency, row count
 * and byte lengths, and the pack's time range. Split into requests and rows only when read.
 *
 * Packing is what makes the writer cheap: one record per request took a store page (4 KB for a
 * 2.2 KB MNIST request) of its own, written to SQLite's WAL and checkpointed again, ~4 syscalls
 * per request; a pack fills its overflow pages whole and is one insert for hundreds of requests.
 *
 * Queued requests travel to the writer in columns (`LogBatch`: typed arrays, and the raw bodies,
 * the answers and the request ids each in one buffer that is moved, not copied), so that the main
 * thread's share of a logged request is three copies and a few pushes, and the writer's an index
 * entry and a share of one insert: a pack's bodies (and answers) that lie one after another in
 * those buffers go to the store as one slice of them, never decoded into a string (nor encoded
 * back by the driver). Nothing is parsed or
 * printed again on the way in (a raw body a replica checked and answered is kept as sent); only
 * the tensor transports (feeds and output tensors) have their rows printed, by the writer.
 */
import fsp, { type FileHandle } from 'node:fs/promises';
import { HashedFile, type BlobStore } from '../../infra/blob-store.js';
import { newId } from '../../infra/ids.js';
import type { Db } from '../../infra/store/database.js';
import type { BlobRefs } from '../blob-refs.js';
import type { PredictionLogPacksTable } from '../../infra/store/tables-registry.js';
import { feedRows, type RawRow } from './codec/feed-rows.js';
import { readPredictBody, toPredictions, type Feeds, type Prediction } from './codec/instances.js';
import type { PredictSpec } from './codec/predict-body.js';

/** A request as the data plane ran it: tensors both ways, or a raw body and the answer a replica wrote. */
export type LoggedCall = { feeds: Feeds; outputs: Feeds } | { json: Uint8Array; answer: string };

/** A batch of queued requests, item `i` in position `i` of every column. */
export interface LogBatch {
  specs: PredictSpec[];
  /** Tenant and endpoint ids; null for an endpoint deleted meanwhile (its items are skipped). */
  endpoints: Array<{ tenantId: string; endpointId: string } | null>;
  endpoint: Uint32Array;
  spec: Uint32Array;
  rows: Uint32Array;
  /** When each request was received, ms since the epoch. */
  at: Float64Array;
  latencyMs: Float64Array;
  /** The raw bodies one after another, item i's ending at bodyEnds[i] (a tensor call's is empty). */
  bodies: ArrayBuffer;
  bodyEnds: Uint32Array;
  /** The answers a replica wrote, UTF-8, likewise (a tensor call's is empty: printed by the writer). */
  answers: ArrayBuffer;
  answerEnds: Uint32Array;
  /** The request ids, UTF-8, likewise. */
  requestIds: ArrayBuffer;
  requestIdEnds: Uint32Array;
  /** The tensor calls, by item. */
  tensorCalls: Array<{ item: number; feeds: Feeds; outputs: Feeds }>;
}

/** Rows written and rows lost, per endpoint id. */
export interface WriteResult {
  written: Record<string, number>;
  failed: Record<string, number>;
  errors: string[];
}

/** Requests per pack at most, and the texts' bytes a pack stops taking more at (a larger request is a pack of its own). */
export const PACK_REQUESTS = 256;
export const PACK_BYTES = 1024 * 1024;
/** Records per insert statement (15 parameters each). */
const RECORDS_PER_INSERT = 100;

/** A request's texts, on its way into a pack: a raw call's ranges of the batch's buffers, or a tensor call's printed texts. */
interface PackItem {
  item: number;
  printed?: { input: Buffer; output: Buffer };
  inputBytes: number;
  outputBytes: number;
}

interface OpenPack {
  endpoint: number;
  spec: number;
  items: PackItem[];
  bytes: number;
  rows: number;
}

/** A batch packed by `packBatch`: its packs' records, and the segment file that holds their texts (null: nothing to store). */
export interface PackedBatch {
  records: PredictionLogPacksTable[];
  segment: { file: string; hash: string; size: number } | null;
  /** Requests that could not be packed (counted as failed), so far. */
  result: WriteResult;
}

/** Who holds a segment in `blob_refs`: each of its packs (they are deleted one by one, by their endpoint's retention). */
export const PACK_OWNER = 'prediction_log_pack';

/**
 * Packs a batch: its requests grouped into pack records, whose texts are written one pack after
 * another into one new file, `segmentFile` (hashed as written: the blob store takes the hash as
 * it is). Synchronous and without the store: the writer thread runs it. Requests whose tensors
 * cannot be printed are skipped (and counted as failed).
 */
export function packBatch(batch: LogBatch, segmentFile: string): PackedBatch {
  const result: WriteResult = { written: {}, failed: {}, errors: [] };
  const packs = packItems(batch, result);
  if (packs.length === 0) return { records: [], segment: null, result };
  const texts: BatchTexts = { bodies: Buffer.from(batch.bodies), answers: Buffer.from(batch.answers), requestIds: Buffer.from(batch.requestIds) };
  let segment: HashedFile | undefined;
  try {
    segment = new HashedFile(segmentFile);
    const records = packs.map((p) => packRecord(batch, texts, p, segment!));
    const { hash, size } = segment.close();
    for (const r of records) r.blob = hash;
    return { records, segment: { file: segmentFile, hash, size }, result };
  } catch (err) {
    segment?.abandon();
    for (const p of packs) countRows(result.failed, batch.endpoints[p.endpoint]!.endpointId, p.rows);
    result.errors.push(`prediction log write failed: ${(err as Error).message}`);
    return { records: [], segment: null, result };
  }
}

/**
 * Stores a packed batch: its segment into the blob store, then its records (and each record's
 * hold on the segment) in one transaction. On failure nothing is kept: the segment is deleted
 * unless another batch's records hold the same bytes.
 */
export async function storePacks(db: Db, refs: BlobRefs, blobs: BlobStore, packed: PackedBatch): Promise<WriteResult> {
  const { records, segment, result } = packed;
  if (!segment) return result;
  let stored = false;
  try {
    await blobs.putFile(segment.file, segment);
    stored = true;
    await db.transaction().execute(async (trx) => {
      // Multi-row inserts: a statement costs more than its rows (about 40 µs each through Kysely on SQLite).
      for (let i = 0; i < records.length; i += RECORDS_PER_INSERT) await trx.insertInto('prediction_log_packs').values(records.slice(i, i + RECORDS_PER_INSERT)).execute();
      await refs.holdBy(trx, segment.hash, PACK_OWNER, records.map((r) => r.id));
    });
    for (const r of records) countRows(result.written, r.endpoint_id, r.rows);
  } catch (err) {
    for (const r of records) countRows(result.failed, r.endpoint_id, r.rows);
    result.errors.push(`prediction log write failed: ${(err as Error).message}`);
    if (stored) await refs.collect([segment.hash]).catch(() => undefined);
    else await fsp.rm(segment.file, { force: true });
  }
  return result;
}

function countRows(to: Record<string, number>, id: string, n: number): void {
  to[id] = (to[id] ?? 0) + n;
}

/** The batch's requests grouped into packs by endpoint and spec (in the order queued), each closed when full. */
function packItems(batch: LogBatch, result: WriteResult): OpenPack[] {
  const tensorCalls = new Map(batch.tensorCalls.map((c) => [c.item, c]));
  const open = new Map<number, OpenPack>();
  const packs: OpenPack[] = [];
  for (let i = 0; i < batch.endpoint.length; i++) {
    const e = batch.endpoint[i]!;
    const ep = batch.endpoints[e];
    if (!ep) continue;
    const s = batch.spec[i]!;
    const item: PackItem = { item: i, inputBytes: batch.bodyEnds[i]! - start(batch.bodyEnds, i), outputBytes: batch.answerEnds[i]! - start(batch.answerEnds, i) };
    const tensors = tensorCalls.get(i);
    if (tensors) {
      const spec = batch.specs[s]!;
      try {
        const input = Buffer.from(JSON.stringify({ instances: feedRows(spec.signature, tensors.feeds, batch.rows[i]!) }));
        const output = Buffer.from(JSON.stringify({ predictions: toPredictions(spec.signature, spec.roles, tensors.outputs, batch.rows[i]!) }));
        item.printed = { input, output };
        item.inputBytes = input.byteLength;
        item.outputBytes = output.byteLength;
      } catch (err) {
        countRows(result.failed, ep.endpointId, batch.rows[i]!);
        result.errors.push(`a logged prediction could not be read back: ${(err as Error).message}`);
        continue;
      }
    }
    // One open pack per (endpoint, spec): a spec is one version of one model.
    const key = e * batch.specs.length + s;
    let pack = open.get(key);
    if (!pack || pack.items.length >= PACK_REQUESTS || pack.bytes + item.inputBytes + item.outputBytes > PACK_BYTES) {
      pack = { endpoint: e, spec: s, items: [], bytes: 0, rows: 0 };
      open.set(key, pack);
      packs.push(pack);
    }
    pack.items.push(item);
    pack.bytes += item.inputBytes + item.outputBytes;
    pack.rows += batch.rows[i]!;
  }
  return packs;
}

/** Where item i's bytes start in a column of ends (the previous item's end). */
function start(ends: Uint32Array, i: number): number {
  return i > 0 ? ends[i - 1]! : 0;
}

/** The batch's buffers, as Buffers. */
interface BatchTexts {
  bodies: Buffer;
  answers: Buffer;
  requestIds: Buffer;
}

/**
 * A pack as its store record, its texts appended to the segment (inputs, then outputs): raw
 * bodies (and answers) that lie one after another in the batch's buffers go as one slice of them.
 */
function packRecord(batch: LogBatch, texts: BatchTexts, pack: OpenPack, segment: HashedFile): PredictionLogPacksTable {
  const ep = batch.endpoints[pack.endpoint]!;
  const spec = batch.specs[pack.spec]!;
  const inputs = new Slices(texts.bodies);
  const outputs = new Slices(texts.answers);
  const index: string[] = [];
  let first = Infinity;
  let last = -Infinity;
  let rows = 0;
  for (const it of pack.items) {
    const i = it.item;
    if (it.printed) {
      inputs.push(it.printed.input);
      outputs.push(it.printed.output);
    } else {
      inputs.range(start(batch.bodyEnds, i), batch.bodyEnds[i]!);
      outputs.range(start(batch.answerEnds, i), batch.answerEnds[i]!);
    }
    // Whole milliseconds, as an ISO time keeps them (Date truncates the same way).
    const at = Math.floor(batch.at[i]!);
    if (at < first) first = at;
    if (at > last) last = at;
    rows += batch.rows[i]!;
    const id = texts.requestIds.toString('utf8', start(batch.requestIdEnds, i), batch.requestIdEnds[i]!);
    index.push(`[${at},${PLAIN_ID.test(id) ? `"${id}"` : JSON.stringify(id)},${batch.latencyMs[i]},${batch.rows[i]},${it.inputBytes},${it.outputBytes}]`);
  }
  return {
    id: newId('pl'), tenant_id: ep.tenantId, endpoint_id: ep.endpointId, version: spec.version,
    first_at: new Date(first).toISOString(), last_at: new Date(last).toISOString(), requests: pack.items.length, rows,
    // A tensor call's rows are printed as objects, so the name only serves the raw bodies' rows of numbers.
    array_tensor: spec.signature.tensors.find((t) => t.dtype !== 'string')?.name ?? 'input',
    request_index: `[${index.join(',')}]`,
    inputs: EMPTY,
    outputs: EMPTY,
    blob: null, // the segment's hash, once it is written whole
    blob_offset: segment.append([...inputs.parts(), ...outputs.parts()]),
    blob_bytes: pack.bytes,
  };
}

const EMPTY = new Uint8Array(0);

/** A request id that is its own JSON string (as the HTTP edge's ids all are): no escaping to do. */
const PLAIN_ID = /^[A-Za-z0-9._:-]*$/;

/** A record's bytes, gathered as slices of one buffer (adjacent ranges joined into one) and printed texts. */
class Slices {
  private readonly gathered: Buffer[] = [];
  private from = -1;
  private to = -1;

  constructor(private readonly source: Buffer) {}

  range(from: number, to: number): void {
    if (from === this.to) {
      this.to = to;
      return;
    }
    this.close();
    this.from = from;
    this.to = to;
  }

  push(bytes: Buffer): void {
    this.close();
    this.gathered.push(bytes);
  }

  /** All of it, as slices of the source and printed texts (none copied). */
  parts(): Buffer[] {
    this.close();
    return this.gathered;
  }

  private close(): void {
    if (this.from >= 0) this.gathered.push(this.source.subarray(this.from, this.to));
    this.from = this.to = -1;
  }
}

/** A logged row, as it is read back. */
export interface LoggedRow {
  input: RawRow;
  output: Prediction;
}

/** One request of a pack: its place in the pack (`index`, in the order written) and its texts' byte ranges. */
export interface PackedRequest {
  index: number;
  at: string;
  requestId: string;
  latencyMs: number;
  rows: number;
  input: [number, number];
  output: [number, number];
}

/** A stored pack, read: its requests newest first (by `at`, then the later written first), each split into rows on demand. */
export class LoggedPack {
  readonly requests: PackedRequest[];
  private readonly inputs: Buffer;
  private readonly outputs: Buffer;

  /** `texts`: the record's own inputs and outputs (records of migration 0015), or its bytes of a segment (inputs, then outputs). */
  constructor(private readonly record: Pick<PredictionLogPacksTable, 'request_index' | 'array_tensor'>, texts: Pick<PredictionLogPacksTable, 'inputs' | 'outputs'> | Uint8Array) {
    const entries = JSON.parse(record.request_index) as Array<[number, string, number, number, number, number]>;
    let inAt = 0;
    let outAt = 0;
    const requests = entries.map(([atMs, requestId, latencyMs, rows, inBytes, outBytes], index) => {
      const r = { atMs, index, requestId, latencyMs, rows, input: [inAt, inAt + inBytes] as [number, number], output: [outAt, outAt + outBytes] as [number, number] };
      inAt += inBytes;
      outAt += outBytes;
      return r;
    });
    requests.sort((a, b) => b.atMs - a.atMs || b.index - a.index);
    this.requests = requests.map(({ atMs, ...r }) => ({ ...r, at: new Date(atMs).toISOString() }));
    if (texts instanceof Uint8Array) {
      const bytes = asBuffer(texts);
      this.inputs = bytes.subarray(0, inAt);
      this.outputs = bytes.subarray(inAt, inAt + outAt);
    } else {
      this.inputs = asBuffer(texts.inputs);
      this.outputs = asBuffer(texts.outputs);
    }
  }

  /** A request's rows, first to last. */
  rows(r: PackedRequest): LoggedRow[] {
    return recordRows({ input: this.inputs.toString('utf8', ...r.input), output: this.outputs.toString('utf8', ...r.output), array_tensor: this.record.array_tensor });
  }
}

/**
 * Reads packs' bytes out of their segments, keeping the last segment open (a page's packs are
 * mostly of one segment). A segment that cannot be opened reads as an error the caller judges
 * (its packs purged meanwhile, or a segment lost).
 */
export class SegmentReader {
  private open: { hash: string; file: FileHandle | Error } | undefined;

  constructor(private readonly blobs: BlobStore) {}

  async read(hash: string, offset: number, bytes: number): Promise<Buffer | Error> {
    if (this.open?.hash !== hash) {
      await this.close();
      const file = await this.blobs.localPath(hash).then((p) => fsp.open(p, 'r')).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      this.open = { hash, file };
    }
    const file = this.open.file;
    if (file instanceof Error) return file;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    while (at < bytes) {
      const { bytesRead } = await file.read(out, at, bytes - at, offset + at);
      if (bytesRead === 0) throw new Error(`prediction log segment ${hash} ends before byte ${offset + bytes}`);
      at += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const file = this.open?.file;
    this.open = undefined;
    if (file && !(file instanceof Error)) await file.close();
  }
}

/** The drivers' bytes (Buffers both, but typed as any Uint8Array) as a Buffer, without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A logged request's texts split into its rows (a row of numbers sent as a bare array shown as `{"<input tensor>": [...]}`). */
export function recordRows(r: { input: string; output: string; array_tensor: string | null }): LoggedRow[] {
  const instances = readPredictBody(JSON.parse(r.input)).instances;
  const predictions = (JSON.parse(r.output) as { predictions?: unknown }).predictions;
  if (!Array.isArray(instances)) return [];
  return instances.map((row: unknown, i) => ({
    input: (Array.isArray(row) ? { [r.array_tensor ?? 'input']: row } : row) as RawRow,
    output: ((Array.isArray(predictions) ? predictions[i] : undefined) ?? {}) as Prediction,
  }));
}
