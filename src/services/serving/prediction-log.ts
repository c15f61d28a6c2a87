/**
 * Prediction logging: the rows of a sampled share of an endpoint's requests (its
 * `logging.sampleRate`), with their answers, version, latency, request id and time, kept in the
 * store for GET …/predictions and drift: many requests of one endpoint and version per record
 * (`prediction_log_packs`: an index of the requests, and where their bodies and answers, JSON text
 * one after another, lie in a segment: one blob per flush), split into requests and rows when read
 * (./prediction-log-records.ts).
 *
 * Nothing of it runs on the request path but a coin toss and a push: the data plane hands over
 * the request as it already holds it (feeds and output tensors, or the raw JSON body and the
 * answer text a replica wrote), and a bounded queue keeps it in columns (./prediction-log-queue.ts).
 * When the queue is flushed (a timer, or a full batch, after the request has been answered) it
 * goes as one message to the writer thread (./prediction-log-writer.ts), which packs it and writes
 * the packs' texts into a segment file; this thread then inserts the packs' records (a few per
 * flush) and gives the segment to the blob store (without the thread, for tests, the same code
 * runs inline). When the queue is full a request's rows are dropped and counted
 * (`aiaas_prediction_log_dropped_rows_total`), never waited for.
 *
 * Newest first, as reads give rows: packs by their latest request (`last_at`, then id), within a
 * pack its requests by `at` (then the later written first), within a request its rows last to
 * first. A pack holds one flush, so across packs written at about the same time (two nodes, or a
 * request that finished after a flush began) the order by `at` is only approximate, by up to
 * about one flush interval; a page's cursor names (pack, request, row), so paging is exact: every
 * row once.
 */
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { InvalidInputError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import { SeriesCounter } from '../../infra/prometheus-series.js';
import type { BlobStore } from '../../infra/blob-store.js';
import type { Db } from '../../infra/store/database.js';
import type { BlobRefs } from '../blob-refs.js';
import type { RawRow } from './codec/feed-rows.js';
import type { Prediction } from './codec/instances.js';
import type { PredictSpec } from './codec/predict-body.js';
import type { Endpoint } from './endpoint.js';
import { LogQueue } from './prediction-log-queue.js';
import { LoggedPack, PACK_OWNER, SegmentReader, packBatch, storePacks, type LogBatch, type LoggedCall, type LoggedRow, type PackedBatch, type WriteResult } from './prediction-log-records.js';
import type { FromWriter, ToWriter } from './prediction-log-writer.js';

export type { LoggedCall } from './prediction-log-records.js';

const WRITER_URL = new URL('./prediction-log-writer.js', import.meta.url);

export interface PredictionLogOptions {
  /** Rows held in memory at most, waiting to be written; more are dropped (and counted). */
  queueRows: number;
  /** Bytes of raw bodies and answers held at most, likewise (rows of large inputs fill memory before the row bound). */
  queueBytes: number;
  /** How often the queue is written out, ms. */
  flushMs: number;
  /** Rows that make the queue be written out at once. */
  batchRows: number;
  /** How often rows past their endpoint's retention are deleted, ms. */
  purgeMs: number;
  /** The clock (ms since the epoch). */
  now: () => number;
  /** The share of requests logged is decided with this (a number in [0, 1)). */
  random: () => number;
  /** Packs batches on a thread of their own; false: inline (tests). */
  thread?: boolean;
}

export const DEFAULT_LOG_OPTIONS: PredictionLogOptions = {
  queueRows: 100_000, queueBytes: 64 * 2 ** 20, flushMs: 1000, batchRows: 5000, purgeMs: 10 * 60_000, now: Date.now, random: Math.random,
};

/** A logged prediction as GET /v1/endpoints/{name}/predictions shows it. */
export interface LoggedPrediction {
  at: string;
  requestId: string;
  version: number;
  latencyMs: number;
  input: RawRow;
  output: Prediction;
}

export interface PredictionQuery {
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
/** Packs listed per query while a page or a drift window is filled (their ids and times only: each pack is read when its turn comes). */
const LIST_PACKS = 100;
/** Packs deleted per statement (a bound on its parameters). */
const DELETE_PACKS = 500;

/** Where a page ends: the last row given, by its pack (and the pack's place in the order), request (its index in the pack) and row. */
interface Cursor {
  lastAt: string;
  id: string;
  request: number;
  row: number;
}

/** Which packs a read wants: an endpoint's, overlapping [from, to), of one version or all. */
interface PackRange {
  endpointId: string;
  from?: string;
  to?: string;
  version?: number;
}

export class PredictionLog {
  private queue = new LogQueue();
  private flushing: Promise<void> = Promise.resolve();
  private flushSoon = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPurge: number;
  private readonly dropped: SeriesCounter<'tenant' | 'endpoint' | 'reason'>;
  private readonly written: SeriesCounter<'tenant' | 'endpoint'>;
  private readonly options: PredictionLogOptions;
  private writer: Worker | undefined;
  private readonly waiting = new Map<number, (p: PackedBatch) => void>();
  private seq = 0;

  constructor(private readonly db: Db, private readonly blobs: BlobStore, private readonly refs: BlobRefs, private readonly logger: Logger, registry: Registry,
    private readonly endpoints: () => Iterable<Endpoint>, options: Partial<PredictionLogOptions> = {}) {
    this.options = { ...DEFAULT_LOG_OPTIONS, ...options };
    this.lastPurge = this.options.now();
    this.dropped = new SeriesCounter('aiaas_prediction_log_dropped_rows_total', 'Predicted rows sampled for logging but not logged: the queue was full (queue_full) or the store refused them (store_error).', ['tenant', 'endpoint', 'reason'], registry);
    this.written = new SeriesCounter('aiaas_prediction_log_rows_total', 'Predicted rows written to the prediction log.', ['tenant', 'endpoint'], registry);
  }

  /** Writes the queue out every `flushMs` from now on (the timer keeps no process alive). */
  start(): void {
    if (this.options.thread) this.startWriter();
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Stops the timer, writes out what is queued, and ends the writer thread. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    const w = this.writer;
    this.writer = undefined;
    if (w) {
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.ref();
      w.postMessage({ type: 'close' } satisfies ToWriter);
      await exited;
    }
  }

  private startWriter(): void {
    const w = new Worker(WRITER_URL);
    w.unref();
    w.on('message', (m: FromWriter) => {
      this.queue.recycle(m.buffers);
      this.waiting.get(m.id)?.(m.packed);
      this.waiting.delete(m.id);
      // Idle, the thread keeps no process alive; a batch being written does.
      if (this.waiting.size === 0) w.unref();
    });
    w.on('error', (err) => this.logger.error({ err }, 'the prediction log writer failed'));
    w.on('exit', () => {
      // Batches it held are lost: counted as failed, and later ones are written inline.
      for (const done of this.waiting.values()) done({ records: [], segment: null, result: { written: {}, failed: {}, errors: ['the prediction log writer exited'] } });
      this.waiting.clear();
      if (this.writer === w) this.writer = undefined;
    });
    this.writer = w;
  }

  /** A batch packed by the writer thread (or inline without one), then stored. */
  private async write(batch: LogBatch): Promise<WriteResult> {
    return storePacks(this.db, this.refs, this.blobs, await this.pack(batch));
  }

  private pack(batch: LogBatch): Promise<PackedBatch> {
    const segmentFile = this.blobs.scratchPath('.log');
    const w = this.writer;
    if (!w) {
      const packed = packBatch(batch, segmentFile);
      this.queue.recycle([batch.bodies, batch.answers, batch.requestIds]);
      return Promise.resolve(packed);
    }
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.ref();
      w.postMessage({ type: 'write', id, batch, segmentFile } satisfies ToWriter, [batch.bodies, batch.answers, batch.requestIds]);
    });
  }

  /**
   * On the request path: keeps the request for the log if its endpoint samples it and the queue
   * has room (else counts its rows as dropped). `startedAt` is the run's start (performance.now()).
   */
  offer(ep: Endpoint, spec: PredictSpec, call: LoggedCall, rows: number, startedAt: number, requestId?: string): void {
    const rate = ep.settings.logging.sampleRate;
    if (rate <= 0 || (rate < 1 && this.options.random() >= rate)) return;
    const bytes = callBytes(call);
    if (this.queue.rows + rows > this.options.queueRows || this.queue.bytes + bytes > this.options.queueBytes) {
      this.dropped.series({ tenant: ep.row.tenant_id, endpoint: ep.row.name, reason: 'queue_full' }).inc(rows);
      return;
    }
    const latencyMs = performance.now() - startedAt;
    this.queue.push(ep, spec, call, rows, bytes, this.options.now() - latencyMs, latencyMs, requestId ?? newId('req'));
    if (this.queue.rows >= this.options.batchRows && !this.flushSoon) {
      this.flushSoon = true;
      // After the answer is written, not inside this request.
      setImmediate(() => {
        this.flushSoon = false;
        void this.flush();
      });
    }
  }

  /** Writes out everything queued so far (one flush at a time; resolves when this one's rows are in). */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.writeQueued());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /** Forgets an endpoint's queued rows and deletes its logged ones (the endpoint is being deleted). */
  async discard(endpointId: string): Promise<void> {
    this.queue.discard(endpointId);
    await this.flushing;
    await this.deletePacks(endpointId);
  }

  /**
   * The logged predictions of an endpoint, newest first (see the order above), one page at a time
   * (`next` is the cursor of the next: the last row's pack, request and row).
   */
  async list(ep: Endpoint, q: PredictionQuery): Promise<{ data: LoggedPrediction[]; next: string | null }> {
    await this.flush();
    const limit = q.limit ?? DEFAULT_PAGE;
    const data: LoggedPrediction[] = [];
    let last: Cursor | undefined;
    const resume = q.cursor ? readCursor(q.cursor) : undefined;
    for await (const { pack, id, lastAt, version } of this.packs({ endpointId: ep.row.id, from: q.from, to: q.to }, resume)) {
      const { requests } = pack;
      // The cursor's own request is read again, for its rows before the cursor's.
      const resumed = resume && id === resume.id ? requests.findIndex((r) => r.index === resume.request) : -1;
      for (let k = Math.max(resumed, 0); k < requests.length; k++) {
        const r = requests[k]!;
        if (!inRange(r.at, q.from, q.to)) continue;
        const rows = pack.rows(r);
        for (let i = Math.min(k === resumed ? resume!.row : rows.length, rows.length) - 1; i >= 0; i--) {
          if (data.length === limit) return { data, next: writeCursor(last!) };
          data.push({ at: r.at, requestId: r.requestId, version, latencyMs: r.latencyMs, ...rows[i]! });
          last = { lastAt, id, request: r.index, row: i };
        }
      }
    }
    return { data, next: null };
  }

  /** The inputs and outputs `version` of an endpoint logged in [from, to) (for drift), newest first, at most `max` rows. */
  async window(ep: Endpoint, version: number, from: string, to: string, max: number): Promise<LoggedRow[]> {
    await this.flush();
    const out: LoggedRow[] = [];
    for await (const { pack } of this.packs({ endpointId: ep.row.id, from, to, version })) {
      for (const r of pack.requests) {
        if (!inRange(r.at, from, to)) continue;
        out.push(...pack.rows(r).reverse());
        if (out.length >= max) return out.slice(0, max);
      }
    }
    return out;
  }

  /**
   * The packs that may hold requests in `range`, newest first (by `last_at`, then id), from the
   * cursor's pack on (itself included) if there is one; each read when the caller gets to it.
   */
  private async *packs(range: PackRange, from?: Cursor): AsyncGenerator<{ pack: LoggedPack; id: string; lastAt: string; version: number }> {
    const segments = new SegmentReader(this.blobs);
    try {
      yield* this.packsFrom(range, segments, from);
    } finally {
      await segments.close();
    }
  }

  private async *packsFrom(range: PackRange, segments: SegmentReader, from?: Cursor): AsyncGenerator<{ pack: LoggedPack; id: string; lastAt: string; version: number }> {
    let after = from ? { lastAt: from.lastAt, id: from.id, inclusive: true } : undefined;
    for (;;) {
      let query = this.db.selectFrom('prediction_log_packs').select(['id', 'last_at']).where('endpoint_id', '=', range.endpointId);
      if (range.from) query = query.where('last_at', '>=', range.from);
      if (range.to) query = query.where('first_at', '<', range.to);
      if (range.version !== undefined) query = query.where('version', '=', range.version);
      if (after) {
        const { lastAt, id, inclusive } = after;
        query = query.where((eb) => eb.or([eb('last_at', '<', lastAt), eb.and([eb('last_at', '=', lastAt), eb('id', inclusive ? '<=' : '<', id)])]));
      }
      const listed = await query.orderBy('last_at', 'desc').orderBy('id', 'desc').limit(LIST_PACKS).execute();
      for (const { id, last_at } of listed) {
        const r = await this.db.selectFrom('prediction_log_packs').select(['version', 'request_index', 'inputs', 'outputs', 'array_tensor', 'blob', 'blob_offset', 'blob_bytes']).where('id', '=', id).executeTakeFirst();
        if (!r) continue; // purged meanwhile
        const texts = r.blob ? await segments.read(r.blob, r.blob_offset, r.blob_bytes) : r;
        if (texts instanceof Error) {
          // A pack purged meanwhile takes its segment with it; one still listed lost its texts.
          const still = await this.db.selectFrom('prediction_log_packs').select('id').where('id', '=', id).executeTakeFirst();
          if (!still) continue;
          throw new Error(`the prediction log's segment ${r.blob} of pack ${id} cannot be read: ${texts.message}`);
        }
        yield { pack: new LoggedPack(r, texts), id, lastAt: last_at, version: r.version };
      }
      const end = listed[listed.length - 1];
      if (listed.length < LIST_PACKS || !end) return;
      after = { lastAt: end.last_at, id: end.id, inclusive: false };
    }
  }

  /** This log's clock (ms since the epoch): the end of a drift window. */
  now(): number {
    return this.options.now();
  }

  /**
   * Deletes the rows older than their endpoint's retention (each node may do it: deleting twice is
   * harmless). A pack goes when its LAST request is past the retention, so its earlier requests may
   * outlive it by up to a flush interval.
   */
  async purge(): Promise<void> {
    const now = this.options.now();
    this.lastPurge = now;
    for (const ep of this.endpoints()) {
      await this.deletePacks(ep.row.id, new Date(now - ep.settings.logging.retentionDays * 86_400_000).toISOString());
    }
  }

  /** Deletes an endpoint's packs (those whose last request is before `before`, if given), and the segments no pack holds any more. */
  private async deletePacks(endpointId: string, before?: string): Promise<void> {
    for (;;) {
      let query = this.db.selectFrom('prediction_log_packs').select('id').where('endpoint_id', '=', endpointId);
      if (before) query = query.where('last_at', '<', before);
      const ids = (await query.limit(DELETE_PACKS).execute()).map((p) => p.id);
      if (ids.length === 0) return;
      const released = await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('prediction_log_packs').where('id', 'in', ids).execute();
        return this.refs.releaseBy(trx, PACK_OWNER, ids);
      });
      await this.refs.collect(released);
    }
  }

  private async writeQueued(): Promise<void> {
    const { batch, endpoints } = this.queue.take();
    if (batch.endpoint.length > 0) {
      const names = new Map(endpoints.map((ep) => [ep.row.id, { tenant: ep.row.tenant_id, endpoint: ep.row.name }]));
      const result = await this.write(batch);
      for (const [id, n] of Object.entries(result.written)) this.written.series(names.get(id)!).inc(n);
      for (const [id, n] of Object.entries(result.failed)) this.dropped.series({ ...names.get(id)!, reason: 'store_error' }).inc(n);
      for (const e of new Set(result.errors)) this.logger.error(e);
    }
    if (this.options.now() - this.lastPurge >= this.options.purgeMs) {
      await this.purge().catch((err: unknown) => this.logger.error({ err }, 'prediction log purge failed'));
    }
  }
}

/** What a queued call holds in memory, about (tensors by their data, bodies and answers by their length). */
function callBytes(call: LoggedCall): number {
  if ('json' in call) return call.json.byteLength + call.answer.length;
  let n = 0;
  for (const t of [...Object.values(call.feeds), ...Object.values(call.outputs)]) n += Array.isArray(t.data) ? t.data.length * 16 : t.data.byteLength;
  return n;
}

/** `at` (ISO 8601, as stored) within [from, to). */
function inRange(at: string, from?: string, to?: string): boolean {
  return (from === undefined || at >= from) && (to === undefined || at < to);
}

function writeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.lastAt, c.id, c.request, c.row])).toString('base64url');
}

function readCursor(cursor: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 4 && typeof v[0] === 'string' && typeof v[1] === 'string' && isIndex(v[2]) && isIndex(v[3])) {
      return { lastAt: v[0], id: v[1], request: v[2], row: v[3] };
    }
  } catch {
    /* refused below */
  }
  throw new InvalidInputError('invalid_cursor', "'cursor' is not one this API gave: pass the `next` of the previous page as it is.", { field: 'cursor' });
}

function isIndex(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}
