/**
 * Prediction logging: the rows of a sampled share of an endpoint's requests (its
 * `logging.sampleRate`), with their answers, version, latency, request id and time, kept in the
 * store for GET …/predictions and drift: one record per request (`prediction_log_requests`: the
 * body and the answer as JSON text, and the row count), split into its rows when read.
 *
 * Nothing of it runs on the request path but a coin toss and a push: the data plane hands over
 * the request as it already holds it (feeds and output tensors, or the raw JSON body and the
 * answer text a replica wrote), and a bounded queue keeps it in columns (./prediction-log-queue.ts).
 * When the queue is flushed (a timer, or a full batch, after the request has been answered) it
 * goes as one message to the writer thread (./prediction-log-writer.ts), which inserts it in one
 * transaction on a store connection of its own (without store options, for tests, the same code
 * runs inline). When the queue is full a request's rows are dropped and counted
 * (`aiaas_prediction_log_dropped_rows_total`), never waited for.
 */
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { InvalidInputError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import { SeriesCounter } from '../../infra/prometheus-series.js';
import type { Db, StoreOptions } from '../../infra/store/database.js';
import type { RawRow } from './codec/feed-rows.js';
import type { Prediction } from './codec/instances.js';
import type { PredictSpec } from './codec/predict-body.js';
import type { Endpoint } from './endpoint.js';
import { LogQueue } from './prediction-log-queue.js';
import { recordRows, writeBatch, type LogBatch, type LoggedCall, type LoggedRow, type WriteResult } from './prediction-log-records.js';
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
  /** Where the writer thread opens its own connection; without it batches are written inline (tests). */
  store?: StoreOptions;
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
/** Records (requests) read per query at most while a page or a drift window is filled (each has a row at least, so as many as the rows still wanted). */
const READ_REQUESTS = 1000;

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
  private readonly waiting = new Map<number, (r: WriteResult) => void>();
  private seq = 0;

  constructor(private readonly db: Db, private readonly logger: Logger, registry: Registry,
    private readonly endpoints: () => Iterable<Endpoint>, options: Partial<PredictionLogOptions> = {}) {
    this.options = { ...DEFAULT_LOG_OPTIONS, ...options };
    this.lastPurge = this.options.now();
    this.dropped = new SeriesCounter('aiaas_prediction_log_dropped_rows_total', 'Predicted rows sampled for logging but not logged: the queue was full (queue_full) or the store refused them (store_error).', ['tenant', 'endpoint', 'reason'], registry);
    this.written = new SeriesCounter('aiaas_prediction_log_rows_total', 'Predicted rows written to the prediction log.', ['tenant', 'endpoint'], registry);
  }

  /** Writes the queue out every `flushMs` from now on (the timer keeps no process alive). */
  start(): void {
    if (this.options.store) this.startWriter(this.options.store);
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

  private startWriter(store: StoreOptions): void {
    const w = new Worker(WRITER_URL, { workerData: store });
    w.unref();
    w.on('message', (m: FromWriter) => {
      this.waiting.get(m.id)?.(m.result);
      this.waiting.delete(m.id);
      // Idle, the thread keeps no process alive; a batch being written does.
      if (this.waiting.size === 0) w.unref();
    });
    w.on('error', (err) => this.logger.error({ err }, 'the prediction log writer failed'));
    w.on('exit', () => {
      // Batches it held are lost: counted as failed, and later ones are written inline.
      for (const done of this.waiting.values()) done({ written: {}, failed: {}, errors: ['the prediction log writer exited'] });
      this.waiting.clear();
      if (this.writer === w) this.writer = undefined;
    });
    this.writer = w;
  }

  /** A batch written by the writer thread (or inline without one). */
  private write(batch: LogBatch): Promise<WriteResult> {
    const w = this.writer;
    if (!w) return writeBatch(this.db, batch);
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.ref();
      w.postMessage({ type: 'write', id, batch } satisfies ToWriter, [batch.bodies]);
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
    await this.db.deleteFrom('prediction_log_requests').where('endpoint_id', '=', endpointId).execute();
  }

  /**
   * The logged predictions of an endpoint, newest first (a request's rows last to first), one page
   * at a time (`next` is the cursor of the next: the last row's request and index).
   */
  async list(ep: Endpoint, q: PredictionQuery): Promise<{ data: LoggedPrediction[]; next: string | null }> {
    await this.flush();
    const limit = q.limit ?? DEFAULT_PAGE;
    const data: LoggedPrediction[] = [];
    let last: { at: string; id: string; row: number } | undefined;
    // The cursor's own request is read again, for its rows before the cursor's; later queries start past the last record read.
    let after: { at: string; id: string; row: number; inclusive: boolean } | undefined = q.cursor ? { ...readCursor(q.cursor), inclusive: true } : undefined;
    for (;;) {
      let query = this.db.selectFrom('prediction_log_requests').selectAll().where('endpoint_id', '=', ep.row.id);
      if (q.from) query = query.where('at', '>=', q.from);
      if (q.to) query = query.where('at', '<', q.to);
      if (after) {
        const { at, id, inclusive } = after;
        query = query.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', inclusive ? '<=' : '<', id)])]));
      }
      const chunk = Math.min(READ_REQUESTS, limit + 1 - data.length);
      const records = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(chunk).execute();
      for (const r of records) {
        const rows = recordRows(r);
        const below = after?.inclusive && r.id === after.id && r.at === after.at ? after.row : rows.length;
        for (let i = Math.min(below, rows.length) - 1; i >= 0; i--) {
          if (data.length === limit) return { data, next: writeCursor(last!) };
          data.push({ at: r.at, requestId: r.request_id, version: r.version, latencyMs: r.latency_ms, ...rows[i]! });
          last = { at: r.at, id: r.id, row: i };
        }
      }
      const end = records[records.length - 1];
      if (records.length < chunk || !end) return { data, next: null };
      after = { at: end.at, id: end.id, row: 0, inclusive: false };
    }
  }

  /** The inputs and outputs `version` of an endpoint logged in [from, to) (for drift), newest first, at most `max` rows. */
  async window(ep: Endpoint, version: number, from: string, to: string, max: number): Promise<LoggedRow[]> {
    await this.flush();
    const out: LoggedRow[] = [];
    let after: { at: string; id: string } | undefined;
    while (out.length < max) {
      let query = this.db.selectFrom('prediction_log_requests').select(['at', 'id', 'input', 'output', 'array_tensor'])
        .where('endpoint_id', '=', ep.row.id).where('at', '>=', from).where('at', '<', to).where('version', '=', version);
      if (after) {
        const { at, id } = after;
        query = query.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]));
      }
      const chunk = Math.min(READ_REQUESTS, max - out.length);
      const records = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(chunk).execute();
      for (const r of records) out.push(...recordRows(r).reverse());
      const end = records[records.length - 1];
      if (records.length < chunk || !end) break;
      after = end;
    }
    return out.slice(0, max);
  }

  /** This log's clock (ms since the epoch): the end of a drift window. */
  now(): number {
    return this.options.now();
  }

  /** Deletes the rows older than their endpoint's retention (each node may do it: deleting twice is harmless). */
  async purge(): Promise<void> {
    const now = this.options.now();
    this.lastPurge = now;
    for (const ep of this.endpoints()) {
      const before = new Date(now - ep.settings.logging.retentionDays * 86_400_000).toISOString();
      await this.db.deleteFrom('prediction_log_requests').where('endpoint_id', '=', ep.row.id).where('at', '<', before).execute();
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

function writeCursor(c: { at: string; id: string; row: number }): string {
  return Buffer.from(JSON.stringify([c.at, c.id, c.row])).toString('base64url');
}

function readCursor(cursor: string): { at: string; id: string; row: number } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isInteger(v[2]) && v[2] >= 0) return { at: v[0], id: v[1], row: v[2] };
  } catch {
    /* refused below */
  }
  throw new InvalidInputError('invalid_cursor', "'cursor' is not one this API gave: pass the `next` of the previous page as it is.", { field: 'cursor' });
}
