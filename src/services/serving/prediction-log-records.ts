/**
 * What the prediction log keeps: one store record per logged request (`prediction_log_requests`),
 * its body and answer as JSON text and its row count, split into rows only when read.
 *
 * Queued requests travel to the writer in columns (`LogBatch`: typed arrays, strings, and every raw
 * body in one buffer that is moved, not copied), so that the main thread's share of a logged
 * request is a copy of its body and a few pushes, and the writer's a string slice and a share of
 * a multi-row insert. Nothing is parsed or printed again on the way in (a raw body a replica
 * checked and answered is kept as sent); only the tensor transports (feeds and output tensors)
 * have their rows printed, by the writer.
 */
import { CompiledQuery } from 'kysely';
import { newId } from '../../infra/ids.js';
import { isPostgres, type Db } from '../../infra/store/database.js';
import type { PredictionLogRequestsTable } from '../../infra/store/tables-registry.js';
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
  requestIds: string[];
  /** The raw bodies one after another, item i's ending at bodyEnds[i] (a tensor call's is empty). */
  bodies: ArrayBuffer;
  bodyEnds: Uint32Array;
  /** The answers a replica wrote ('' for a tensor call). */
  answers: string[];
  /** The tensor calls, by item. */
  tensorCalls: Array<{ item: number; feeds: Feeds; outputs: Feeds }>;
}

/** Rows written and rows lost, per endpoint id. */
export interface WriteResult {
  written: Record<string, number>;
  failed: Record<string, number>;
  errors: string[];
}

const COLUMNS = ['id', 'tenant_id', 'endpoint_id', 'at', 'request_id', 'version', 'latency_ms', 'rows', 'input', 'output', 'array_tensor'] as const;
/** Records per INSERT (11 values each, far below SQLite's and PostgreSQL's parameter limits); a batch's rest goes by tens and ones, so three statements serve every batch. */
const CHUNKS = [100, 10, 1];

/** Writes a batch in one transaction: requests whose tensors cannot be printed are skipped (and counted as failed). */
export async function writeBatch(db: Db, batch: LogBatch): Promise<WriteResult> {
  const result: WriteResult = { written: {}, failed: {}, errors: [] };
  const add = (to: Record<string, number>, id: string, n: number) => (to[id] = (to[id] ?? 0) + n);
  const n = batch.endpoint.length;
  const body = Buffer.from(batch.bodies, 0, n > 0 ? batch.bodyEnds[n - 1] : 0);
  const tensorCalls = new Map(batch.tensorCalls.map((c) => [c.item, c]));
  const arrayTensors = batch.specs.map((s) => s.signature.tensors.find((t) => t.dtype !== 'string')?.name ?? 'input');
  const base = newId('pl');
  const values: unknown[] = [];
  const endpoints: string[] = [];
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    const ep = batch.endpoints[batch.endpoint[i]!];
    if (!ep) continue;
    const spec = batch.specs[batch.spec[i]!]!;
    let input: string, output: string, arrayTensor: string | null;
    const tensors = tensorCalls.get(i);
    if (tensors) {
      try {
        input = JSON.stringify({ instances: feedRows(spec.signature, tensors.feeds, batch.rows[i]!) });
        output = JSON.stringify({ predictions: toPredictions(spec.signature, spec.roles, tensors.outputs, batch.rows[i]!) });
      } catch (err) {
        add(result.failed, ep.endpointId, batch.rows[i]!);
        result.errors.push(`a logged prediction could not be read back: ${(err as Error).message}`);
        continue;
      }
      arrayTensor = null;
    } else {
      input = body.toString('utf8', i > 0 ? batch.bodyEnds[i - 1] : 0, batch.bodyEnds[i]);
      output = batch.answers[i]!;
      arrayTensor = arrayTensors[batch.spec[i]!]!;
    }
    values.push(`${base}_${String(i).padStart(6, '0')}`, ep.tenantId, ep.endpointId, new Date(batch.at[i]!).toISOString(), batch.requestIds[i],
      spec.version, batch.latencyMs[i], batch.rows[i], input, output, arrayTensor);
    endpoints.push(ep.endpointId);
    rows.push(batch.rows[i]!);
  }
  if (endpoints.length === 0) return result;
  try {
    await db.transaction().execute(async (trx) => {
      const pg = isPostgres(trx);
      for (let at = 0; at < endpoints.length;) {
        const size = CHUNKS.find((c) => c <= endpoints.length - at)!;
        await trx.executeQuery(CompiledQuery.raw(insertSql(size, pg), values.slice(at * COLUMNS.length, (at + size) * COLUMNS.length)));
        at += size;
      }
    });
    for (let i = 0; i < endpoints.length; i++) add(result.written, endpoints[i]!, rows[i]!);
  } catch (err) {
    for (let i = 0; i < endpoints.length; i++) add(result.failed, endpoints[i]!, rows[i]!);
    result.errors.push(`prediction log write failed: ${(err as Error).message}`);
  }
  return result;
}

const insertTexts = new Map<string, string>();

/** INSERT of `records` records, with the placeholders of SQLite (?) or PostgreSQL ($n). */
function insertSql(records: number, pg: boolean): string {
  const key = `${records}:${pg}`;
  let text = insertTexts.get(key);
  if (!text) {
    let p = 0;
    const tuple = () => `(${COLUMNS.map(() => (pg ? `$${++p}` : '?')).join(', ')})`;
    text = `insert into prediction_log_requests (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: records }, tuple).join(', ')}`;
    insertTexts.set(key, text);
  }
  return text;
}

/** A logged row, as it is read back. */
export interface LoggedRow {
  input: RawRow;
  output: Prediction;
}

/** A stored request split into its rows (a row of numbers sent as a bare array shown as `{"<input tensor>": [...]}`). */
export function recordRows(r: Pick<PredictionLogRequestsTable, 'input' | 'output' | 'array_tensor'>): LoggedRow[] {
  const instances = readPredictBody(JSON.parse(r.input)).instances;
  const predictions = (JSON.parse(r.output) as { predictions?: unknown }).predictions;
  if (!Array.isArray(instances)) return [];
  return instances.map((row: unknown, i) => ({
    input: (Array.isArray(row) ? { [r.array_tensor ?? 'input']: row } : row) as RawRow,
    output: ((Array.isArray(predictions) ? predictions[i] : undefined) ?? {}) as Prediction,
  }));
}
