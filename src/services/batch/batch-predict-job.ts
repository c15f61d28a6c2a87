/**
 * The `batch_predict` job, as it runs in a worker process: the input dataset read in blocks of
 * rows, each block through the model's graph (the same codec as the predict route, so a row is
 * read exactly as an endpoint reads it), and written out as CSV lines with the prediction columns
 * appended. Every `chunkRows` rows the chunk's CSV becomes a blob and a checkpoint names it, so a
 * run that crashes or is preempted resumes after its last finished chunk. The output dataset is
 * committed only when every row is in (the chunks, streamed in order), so a failed run leaves no
 * dataset behind; its chunks go with the job's checkpoint.
 */
import * as ort from 'onnxruntime-node';
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { trainingServices } from '../training/job-services.js';
import { openSession } from '../../engine/runtime.js';
import { instancesToFeeds, outputRoles, toPredictions, type Feeds, type Prediction } from '../serving/codec/instances.js';
import type { DatasetRow } from '../../ml/data/ingest.js';
import { predictionColumns, type BatchPredictSpec } from './batch-predict-spec.js';

/** Rows per graph run: large enough that a run's overhead vanishes, small enough to stay in a few MB. */
const BLOCK_ROWS = 4096;
const DEFAULT_CHUNK_ROWS = 65_536;

/** What a checkpoint keeps: how far the run got, and the blobs of the finished chunks, in order. */
interface Progress {
  /** The input this progress is of: a checkpoint of another input is not resumed. */
  input: string;
  rowsDone: number;
  chunks: string[];
  predictSeconds: number;
}

export async function run(ctx: JobContext<BatchPredictSpec>): Promise<JobOutcome> {
  const spec = ctx.spec;
  const chunkRows = spec.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const { datasets, registry, principal } = await trainingServices(ctx);
  const { blobs } = await ctx.services();
  const version = await registry.getVersion(principal, spec.model, spec.version);
  const { reader } = await datasets.open(principal, spec.dataset, spec.datasetVersion);
  const session = await openSession(await registry.readArtifact(version), { intraOpThreads: ctx.threads });
  const sig = version.signature;
  const roles = outputRoles(sig);
  const inputs = sig.inputs.map((i) => i.name);
  const columns = reader.columns.map((c) => c.name);
  const total = reader.rowCount;
  const input = `${spec.model}@${spec.version}:${spec.dataset}@${spec.datasetVersion}:${chunkRows}`;
  const state = await resumed(ctx, input) ?? { input, rowsDone: 0, chunks: [], predictSeconds: 0 };
  const resumedAt = state.rowsDone;
  if (resumedAt > 0) ctx.log(`resuming after row ${resumedAt} of ${total} (${state.chunks.length} chunks kept)`);
  const started = performance.now();

  async function predictBlock(rows: DatasetRow[]): Promise<Prediction[]> {
    const instances = rows.map((r) => Object.fromEntries(inputs.map((c) => [c, r[c] ?? null])));
    const { feeds, rows: n } = instancesToFeeds(sig, instances, { impute: true });
    const feed: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) feed[name] = new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, t.dims);
    const out = await session.run(feed);
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

  /** One chunk's CSV lines, block by block. */
  async function scoreChunk(from: number, to: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let offset = from; offset < to; offset += BLOCK_ROWS) {
      ctx.signal.throwIfAborted();
      const rows = await reader.rows(offset, Math.min(BLOCK_ROWS, to - offset));
      const t0 = performance.now();
      const predictions = await predictBlock(rows);
      state.predictSeconds += (performance.now() - t0) / 1000;
      parts.push(Buffer.from(rows.map((r, i) => [...columns.map((c) => csvCell(r[c] ?? null)), ...predictionCells(predictions[i]!)].join(',')).join('\n') + '\n'));
      ctx.progress({ fraction: Math.min(0.95, (offset + rows.length) / Math.max(1, total)), message: `${offset + rows.length}/${total} rows` });
    }
    return Buffer.concat(parts);
  }

  async function* csv(): AsyncGenerator<Buffer> {
    yield Buffer.from([...columns, ...predictionColumns(version)].map(csvCell).join(',') + '\n');
    for (const hash of state.chunks) yield await blobs.read(hash);
  }

  try {
    while (state.rowsDone < total) {
      const to = Math.min(total, state.rowsDone + chunkRows);
      const chunk = await blobs.put(await scoreChunk(state.rowsDone, to));
      state.chunks.push(chunk.hash);
      state.rowsDone = to;
      await ctx.checkpoint.save(Buffer.from(JSON.stringify(state)), { blobs: state.chunks });
    }
    ctx.signal.throwIfAborted();
    const output = await datasets.upload(principal, { name: spec.output, format: 'csv', filename: `${spec.output}.csv`, body: csv() });
    const seconds = (performance.now() - started) / 1000;
    const scored = total - resumedAt;
    const metrics = {
      rows: total, seconds, rowsPerSecond: scored / Math.max(seconds, 1e-9), resumedAtRow: resumedAt,
      predictSeconds: state.predictSeconds, predictRowsPerSecond: total / Math.max(state.predictSeconds, 1e-9),
      output: { dataset: output.name, version: output.version, columns: output.columns.length },
    };
    ctx.log(`scored ${total} rows of ${spec.dataset} v${spec.datasetVersion} with ${spec.model} v${spec.version} into ${output.name} v${output.version}`);
    return { metrics };
  } finally {
    await session.release();
    await reader.close();
  }
}

/** The progress an earlier run of this job saved, if it is of the same input. */
async function resumed(ctx: JobContext<BatchPredictSpec>, input: string): Promise<Progress | undefined> {
  const bytes = await ctx.checkpoint.load();
  if (!bytes) return undefined;
  const saved = JSON.parse(Buffer.from(bytes).toString('utf8')) as Progress;
  return saved.input === input ? saved : undefined;
}

/** A CSV cell: missing as empty, strings quoted when they hold a comma, a quote, a line break or edge spaces. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
