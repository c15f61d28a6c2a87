/**
 * What the prediction log writes: a queued request turned into store rows (one per predicted row)
 * and multi-row inserts. Runs where the writing happens (the log's writer thread,
 * ./prediction-log-writer.ts, or inline), never on the request path.
 */
import { newId } from '../../infra/ids.js';
import type { Db } from '../../infra/store/database.js';
import type { PredictionLogsTable } from '../../infra/store/tables-registry.js';
import { feedRows } from './codec/feed-rows.js';
import { toPredictions, type Feeds } from './codec/instances.js';
import { arrayFieldElements } from './codec/json-elements.js';
import type { PredictSpec } from './codec/predict-body.js';

/** A request as the data plane ran it: tensors both ways, or a raw body and the answer a replica wrote. */
export type LoggedCall = { feeds: Feeds; outputs: Feeds } | { json: Uint8Array; answer: string };

/** One logged request, as it travels to the writer (`spec` indexes the batch's specs). */
export interface LogItem {
  tenantId: string;
  endpointId: string;
  spec: number;
  at: string;
  requestId: string;
  latencyMs: number;
  rows: number;
  call: LoggedCall;
}

export interface LogBatch {
  specs: PredictSpec[];
  items: LogItem[];
}

/** Rows written and rows lost, per endpoint id. */
export interface WriteResult {
  written: Record<string, number>;
  failed: Record<string, number>;
  errors: string[];
}

/** Rows per INSERT: 9 values each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_ROWS = 500;

/** Writes a batch: rows of requests that cannot be read back are skipped (and counted as failed). */
export async function writeBatch(db: Db, batch: LogBatch): Promise<WriteResult> {
  const result: WriteResult = { written: {}, failed: {}, errors: [] };
  const add = (to: Record<string, number>, id: string, n: number) => (to[id] = (to[id] ?? 0) + n);
  const records: PredictionLogsTable[] = [];
  for (const item of batch.items) {
    try {
      records.push(...recordsOf(item, batch.specs[item.spec]!));
    } catch (err) {
      add(result.failed, item.endpointId, item.rows);
      result.errors.push(`a logged prediction could not be read back: ${(err as Error).message}`);
    }
  }
  for (let i = 0; i < records.length; i += INSERT_ROWS) {
    const chunk = records.slice(i, i + INSERT_ROWS);
    try {
      await db.insertInto('prediction_logs').values(chunk).execute();
      for (const r of chunk) add(result.written, r.endpoint_id, 1);
    } catch (err) {
      for (const r of chunk) add(result.failed, r.endpoint_id, 1);
      result.errors.push(`prediction log write failed: ${(err as Error).message}`);
    }
  }
  return result;
}

/** One store row per predicted row of a logged request. */
function recordsOf(item: LogItem, spec: PredictSpec): PredictionLogsTable[] {
  const { inputs, outputs } = rowTexts(item, spec);
  const id = newId('pl');
  return inputs.map((input, r) => ({
    id: `${id}_${String(r).padStart(6, '0')}`, tenant_id: item.tenantId, endpoint_id: item.endpointId, at: item.at,
    request_id: item.requestId, version: spec.version, latency_ms: item.latencyMs, input, output: outputs[r] ?? '{}',
  }));
}

/**
 * Each row's input and output as JSON text. A raw body (a replica checked and answered it) is
 * split, not parsed: its rows are kept as sent, a row of numbers as `{"<input tensor>": [...]}`.
 */
function rowTexts(item: LogItem, spec: PredictSpec): { inputs: string[]; outputs: string[] } {
  const sig = spec.signature;
  if ('feeds' in item.call) {
    return {
      inputs: feedRows(sig, item.call.feeds, item.rows).map((r) => JSON.stringify(r)),
      outputs: toPredictions(sig, spec.roles, item.call.outputs, item.rows).map((p) => JSON.stringify(p)),
    };
  }
  const { json, answer } = item.call;
  const rows = arrayFieldElements(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'), ['instances', 'inputs']);
  const predictions = arrayFieldElements(answer, ['predictions']);
  if (!rows || !predictions || rows.length !== predictions.length) throw new Error(`the body has ${rows?.length ?? 'no'} rows and the answer ${predictions?.length ?? 'no'} predictions`);
  const tensor = JSON.stringify(sig.tensors.find((t) => t.dtype !== 'string')?.name ?? 'input');
  return { inputs: rows.map((r) => (r.startsWith('[') ? `{${tensor}:${r}}` : r)), outputs: predictions };
}
