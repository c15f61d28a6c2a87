/**
 * The `batch_predict` job, as it runs in a worker process: the input dataset read in blocks of
 * rows, each block through the model's graph (the same codec as the predict route, so a row is
 * read exactly as an endpoint reads it), and written out as CSV lines with the prediction columns
 * appended, streamed straight into the upload of the output dataset. No block is kept after it is
 * written; the output is committed only when every row is in, so a failed run leaves nothing.
 */
import * as ort from 'onnxruntime-node';
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { trainingServices } from '../training/job-services.js';
import { openSession } from '../../engine/runtime.js';
import { instancesToFeeds, outputRoles, toPredictions, type Feeds, type Prediction } from '../serving/codec/instances.js';
import type { DatasetRow } from '../../ml/data/ingest.js';
import { predictionColumns, type BatchPredictSpec } from './batch-predict-spec.js';

/** Rows per block: large enough that a run's overhead vanishes, small enough to stay in a few MB. */
const BLOCK_ROWS = 4096;

export async function run(ctx: JobContext<BatchPredictSpec>): Promise<JobOutcome> {
  const spec = ctx.spec;
  const { datasets, registry, principal } = await trainingServices(ctx);
  const version = await registry.getVersion(principal, spec.model, spec.version);
  const { reader } = await datasets.open(principal, spec.dataset, spec.datasetVersion);
  const session = await openSession(await registry.readArtifact(version), { intraOpThreads: ctx.threads });
  const sig = version.signature;
  const roles = outputRoles(sig);
  const inputs = sig.inputs.map((i) => i.name);
  const columns = reader.columns.map((c) => c.name);
  const total = reader.rowCount;
  let predictSeconds = 0;
  const started = performance.now();

  async function* csv(): AsyncGenerator<Buffer> {
    yield Buffer.from([...columns, ...predictionColumns(version)].map(csvCell).join(',') + '\n');
    for (let offset = 0; offset < total; offset += BLOCK_ROWS) {
      ctx.signal.throwIfAborted();
      const rows = await reader.rows(offset, BLOCK_ROWS);
      const t0 = performance.now();
      const predictions = await predictBlock(rows);
      predictSeconds += (performance.now() - t0) / 1000;
      yield Buffer.from(rows.map((r, i) => [...columns.map((c) => csvCell(r[c] ?? null)), ...predictionCells(predictions[i]!)].join(',')).join('\n') + '\n');
      ctx.progress({ fraction: Math.min(0.95, (offset + rows.length) / Math.max(1, total)), message: `${offset + rows.length}/${total} rows` });
    }
  }

  async function predictBlock(rows: DatasetRow[]): Promise<Prediction[]> {
    const instances = rows.map((r) => Object.fromEntries(inputs.map((c) => [c, r[c] ?? null])));
    const { feeds, rows: n } = instancesToFeeds(sig, instances, { impute: true });
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, t.dims);
    const out = await session.run(input);
    const outputs: Feeds = {};
    for (const [name, t] of Object.entries(out)) outputs[name] = { dtype: t.type as Feeds[string]['dtype'], dims: [...t.dims], data: t.data as Feeds[string]['data'] };
    return toPredictions(sig, roles, outputs, n);
  }

  function predictionCells(p: Prediction): string[] {
    const first = p.label ?? (Array.isArray(p.value) ? p.value[0] : p.value) ?? null;
    const cells = [csvCell(first)];
    if (sig.task === 'classification') for (let k = 0; k < (sig.labels?.length ?? 0); k++) cells.push(csvCell(p.probabilities?.[k] ?? null));
    return cells;
  }

  try {
    const output = await datasets.upload(principal, { name: spec.output, format: 'csv', filename: `${spec.output}.csv`, body: csv() });
    const seconds = (performance.now() - started) / 1000;
    const metrics = {
      rows: total, seconds, rowsPerSecond: total / Math.max(seconds, 1e-9),
      predictSeconds, predictRowsPerSecond: total / Math.max(predictSeconds, 1e-9),
      output: { dataset: output.name, version: output.version, columns: output.columns.length },
    };
    ctx.log(`scored ${total} rows of ${spec.dataset} v${spec.datasetVersion} with ${spec.model} v${spec.version} into ${output.name} v${output.version}`);
    return { metrics };
  } finally {
    await session.release();
    await reader.close();
  }
}

/** A CSV cell: missing as empty, strings quoted when they hold a comma, a quote, a line break or edge spaces. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
