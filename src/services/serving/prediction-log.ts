/**
 * Prediction logging: the rows of a sampled share of an endpoint's requests (its
 * `logging.sampleRate`), with their answers, version, latency, request id and time, kept in the
 * store (`prediction_logs`, one row per predicted row) for GET …/predictions and drift.
 *
 * Nothing of it runs on the request path but a coin toss and a push: the data plane hands over
 * the request as it already holds it (feeds and output tensors, or the raw JSON body and the
 * answer text a replica wrote), and a bounded queue keeps it. Turning that into rows, JSON and
 * multi-row inserts happens when the queue is flushed (a timer, or a full batch, after the
 * request has been answered). When the queue is full a request's rows are dropped and counted
 * (`aiaas_prediction_log_dropped_rows_total`), never waited for.
 */
import type { Registry } from 'prom-client';
import { InvalidInputError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import { SeriesCounter } from '../../infra/prometheus-series.js';
import type { Db } from '../../infra/store/database.js';
import type { PredictionLogsTable } from '../../infra/store/tables-registry.js';
import { feedRows, instanceRows, type RawRow } from './codec/feed-rows.js';
import { readPredictBody, toPredictions, type Feeds, type Prediction } from './codec/instances.js';
import { parseJson, type PredictSpec } from './codec/predict-body.js';
import type { Endpoint } from './endpoint.js';

/** A request as the data plane ran it: tensors both ways, or a raw body and the answer a replica wrote. */
export type LoggedCall = { feeds: Feeds; outputs: Feeds } | { json: Uint8Array; answer: string };

export interface PredictionLogOptions {
  /** Rows held in memory at most, waiting to be written; more are dropped (and counted). */
  queueRows: number;
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
}

export const DEFAULT_LOG_OPTIONS: PredictionLogOptions = {
  queueRows: 100_000, flushMs: 1000, batchRows: 5000, purgeMs: 10 * 60_000, now: Date.now, random: Math.random,
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

interface Queued {
  ep: Endpoint;
  spec: PredictSpec;
  at: string;
  requestId: string;
  latencyMs: number;
  rows: number;
  call: LoggedCall;
}

/** Rows per INSERT: 9 values each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_ROWS = 500;
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

export class PredictionLog {
  private queue: Queued[] = [];
  private queuedRows = 0;
  private flushing: Promise<void> = Promise.resolve();
  private flushSoon = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPurge: number;
  private readonly dropped: SeriesCounter<'tenant' | 'endpoint' | 'reason'>;
  private readonly written: SeriesCounter<'tenant' | 'endpoint'>;
  private readonly options: PredictionLogOptions;

  constructor(private readonly db: Db, private readonly logger: Logger, registry: Registry,
    private readonly endpoints: () => Iterable<Endpoint>, options: Partial<PredictionLogOptions> = {}) {
    this.options = { ...DEFAULT_LOG_OPTIONS, ...options };
    this.lastPurge = this.options.now();
    this.dropped = new SeriesCounter('aiaas_prediction_log_dropped_rows_total', 'Predicted rows sampled for logging but not logged: the queue was full (queue_full) or the store refused them (store_error).', ['tenant', 'endpoint', 'reason'], registry);
    this.written = new SeriesCounter('aiaas_prediction_log_rows_total', 'Predicted rows written to the prediction log.', ['tenant', 'endpoint'], registry);
  }

  /** Writes the queue out every `flushMs` from now on (the timer keeps no process alive). */
  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Stops the timer and writes out what is queued. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /**
   * On the request path: keeps the request for the log if its endpoint samples it and the queue
   * has room (else counts its rows as dropped). `startedAt` is the run's start (performance.now()).
   */
  offer(ep: Endpoint, spec: PredictSpec, call: LoggedCall, rows: number, startedAt: number, requestId?: string): void {
    const rate = ep.settings.logging.sampleRate;
    if (rate <= 0 || (rate < 1 && this.options.random() >= rate)) return;
    if (this.queuedRows + rows > this.options.queueRows) {
      this.dropped.series({ tenant: ep.row.tenant_id, endpoint: ep.row.name, reason: 'queue_full' }).inc(rows);
      return;
    }
    const latencyMs = performance.now() - startedAt;
    this.queue.push({ ep, spec, call, rows, latencyMs, at: new Date(this.options.now() - latencyMs).toISOString(), requestId: requestId ?? newId('req') });
    this.queuedRows += rows;
    if (this.queuedRows >= this.options.batchRows && !this.flushSoon) {
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
    this.dropQueued((q) => q.ep.row.id === endpointId);
    await this.flushing;
    await this.db.deleteFrom('prediction_logs').where('endpoint_id', '=', endpointId).execute();
  }

  /** The logged predictions of an endpoint, newest first, one page at a time (`next` is the cursor of the next). */
  async list(ep: Endpoint, q: PredictionQuery): Promise<{ data: LoggedPrediction[]; next: string | null }> {
    await this.flush();
    const limit = q.limit ?? DEFAULT_PAGE;
    let query = this.db.selectFrom('prediction_logs').selectAll().where('endpoint_id', '=', ep.row.id);
    if (q.from) query = query.where('at', '>=', q.from);
    if (q.to) query = query.where('at', '<', q.to);
    if (q.cursor) {
      const [at, id] = readCursor(q.cursor);
      query = query.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(shown), next: rows.length > limit && last ? writeCursor(last.at, last.id) : null };
  }

  /** The inputs and outputs an endpoint logged in [from, to) (for drift), oldest first, at most `max` rows. */
  async window(ep: Endpoint, from: string, to: string, max: number): Promise<Array<{ version: number; input: RawRow; output: Prediction }>> {
    await this.flush();
    const rows = await this.db.selectFrom('prediction_logs').select(['version', 'input', 'output'])
      .where('endpoint_id', '=', ep.row.id).where('at', '>=', from).where('at', '<', to)
      .orderBy('at', 'desc').orderBy('id', 'desc').limit(max).execute();
    return rows.map((r) => ({ version: r.version, input: JSON.parse(r.input) as RawRow, output: JSON.parse(r.output) as Prediction }));
  }

  /** Deletes the rows older than their endpoint's retention (each node may do it: deleting twice is harmless). */
  async purge(): Promise<void> {
    const now = this.options.now();
    this.lastPurge = now;
    for (const ep of this.endpoints()) {
      const before = new Date(now - ep.settings.logging.retentionDays * 86_400_000).toISOString();
      await this.db.deleteFrom('prediction_logs').where('endpoint_id', '=', ep.row.id).where('at', '<', before).execute();
    }
  }

  private dropQueued(match: (q: Queued) => boolean): void {
    const kept = this.queue.filter((q) => !match(q));
    this.queuedRows = kept.reduce((n, q) => n + q.rows, 0);
    this.queue = kept;
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    const records: PredictionLogsTable[] = [];
    for (const q of batch) {
      if (q.ep.deleted) continue;
      const n = records.length;
      try {
        records.push(...recordsOf(q));
      } catch (err) {
        records.length = n;
        this.logger.warn({ err, endpoint: q.ep.row.name }, 'a logged prediction could not be read back; skipped');
      }
    }
    for (let i = 0; i < records.length; i += INSERT_ROWS) {
      const chunk = records.slice(i, i + INSERT_ROWS);
      try {
        await this.db.insertInto('prediction_logs').values(chunk).execute();
        this.count(chunk, this.written, undefined);
      } catch (err) {
        this.count(chunk, this.dropped, 'store_error');
        this.logger.error({ err }, 'prediction log write failed');
      }
    }
    if (this.options.now() - this.lastPurge >= this.options.purgeMs) {
      await this.purge().catch((err: unknown) => this.logger.error({ err }, 'prediction log purge failed'));
    }
  }

  private count(records: PredictionLogsTable[], counter: SeriesCounter<any>, reason: string | undefined): void {
    const names = new Map<string, string>();
    for (const ep of this.endpoints()) names.set(ep.row.id, ep.row.name);
    const by = new Map<string, number>();
    for (const r of records) by.set(`${r.tenant_id}\0${r.endpoint_id}`, (by.get(`${r.tenant_id}\0${r.endpoint_id}`) ?? 0) + 1);
    for (const [key, n] of by) {
      const [tenant, id] = key.split('\0') as [string, string];
      counter.series({ tenant, endpoint: names.get(id) ?? id, ...(reason ? { reason } : {}) }).inc(n);
    }
  }
}

/** One store row per predicted row of a queued request. */
function recordsOf(q: Queued): PredictionLogsTable[] {
  const sig = q.spec.signature;
  let inputs: RawRow[];
  let outputs: Prediction[];
  if ('feeds' in q.call) {
    inputs = feedRows(sig, q.call.feeds, q.rows);
    outputs = toPredictions(sig, q.spec.roles, q.call.outputs, q.rows);
  } else {
    // The replica read this body and answered it; read again here, off the request path.
    inputs = instanceRows(sig, readPredictBody(parseJson(q.call.json)).instances as unknown[]);
    outputs = (JSON.parse(q.call.answer) as { predictions: Prediction[] }).predictions;
  }
  const id = newId('pl');
  return inputs.map((input, r) => ({
    id: `${id}_${String(r).padStart(6, '0')}`, tenant_id: q.ep.row.tenant_id, endpoint_id: q.ep.row.id, at: q.at,
    request_id: q.requestId, version: q.spec.version, latency_ms: q.latencyMs,
    input: JSON.stringify(input), output: JSON.stringify(outputs[r] ?? {}),
  }));
}

function shown(r: PredictionLogsTable): LoggedPrediction {
  return { at: r.at, requestId: r.request_id, version: r.version, latencyMs: r.latency_ms, input: JSON.parse(r.input) as RawRow, output: JSON.parse(r.output) as Prediction };
}

function writeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function readCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* refused below */
  }
  throw new InvalidInputError('invalid_cursor', "'cursor' is not one this API gave: pass the `next` of the previous page as it is.", { field: 'cursor' });
}
