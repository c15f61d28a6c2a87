/**
 * The `batch_predict` job's spec (API.md "Batch prediction"), checked in the API process before
 * anything is queued: the model version (a number or a stage), the input dataset (another
 * tenant's answer 404 as missing ones), that the dataset has every column the model takes, and an
 * output name whose prediction columns do not clash with the input's.
 */
import { fail, onlyFields } from '../training/spec-fields.js';
import type { DatasetService } from '../datasets.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import type { Principal } from '../principal.js';

export interface BatchPredictSpec {
  model: string;
  version: number;
  dataset: string;
  datasetVersion: number;
  output: string;
  /** Rows per resumable chunk: each finished chunk is kept, so a crashed run resumes after the last one. */
  chunkRows: number;
}

export interface BatchPredictContext {
  principal: Principal;
  registry: RegistryService;
  datasets: DatasetService;
}

const FIELDS = ['model', 'version', 'stage', 'dataset', 'datasetVersion', 'output', 'chunkRows'];
const CHUNK_ROWS = { min: 256, max: 1_048_576, default: 65_536 };

/** The columns appended: `prediction` (label or value), and a classifier's `probability_<label>` per class. */
export function predictionColumns(v: Pick<ModelVersion, 'signature'>): string[] {
  const sig = v.signature;
  if (sig.task !== 'classification') return ['prediction'];
  return ['prediction', ...(sig.labels ?? []).map((l) => `probability_${l}`)];
}

export async function validateBatchPredictSpec(raw: Record<string, unknown>, ctx: BatchPredictContext): Promise<BatchPredictSpec> {
  onlyFields(raw, FIELDS, '', 'a batch_predict job');
  if (typeof raw.model !== 'string' || !raw.model) throw fail('model', 'name the model, e.g. "model": "loans".');
  if (raw.version !== undefined && raw.stage !== undefined) throw fail('stage', 'give version or stage, not both.');
  const ref = raw.version ?? raw.stage ?? 'latest';
  if (typeof ref !== 'number' && typeof ref !== 'string') throw fail('version', 'a version number, or stage a stage name.');
  const version = await ctx.registry.getVersion(ctx.principal, raw.model, ref);
  if (version.signature.inputs.length === 0) {
    throw fail('model', `version ${version.version} of '${version.name}' takes tensors, not raw columns (an imported graph), so dataset rows cannot be fed to it; batch prediction needs a model trained on the platform.`);
  }
  if (typeof raw.dataset !== 'string' || !raw.dataset) throw fail('dataset', 'name the dataset to score.');
  if (raw.datasetVersion !== undefined && (typeof raw.datasetVersion !== 'number' || !Number.isInteger(raw.datasetVersion))) throw fail('datasetVersion', 'a version number.');
  const ds = await ctx.datasets.get(ctx.principal, raw.dataset, raw.datasetVersion as number | undefined);
  const have = new Set(ds.columns.map((c) => c.name));
  const missing = version.signature.inputs.filter((i) => !have.has(i.name) && !i.nullable).map((i) => i.name);
  if (missing.length) throw fail('dataset', `dataset '${ds.name}' lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which the model takes.`, { missing });
  if (typeof raw.output !== 'string' || !raw.output) throw fail('output', 'name the dataset the predictions go to, e.g. "output": "loans-scored".');
  const clash = predictionColumns(version).filter((c) => have.has(c));
  if (clash.length) throw fail('output', `the input already has column ${clash.join(', ')}, which the predictions would add; rename it in the input.`, { columns: clash });
  const chunkRows = raw.chunkRows ?? CHUNK_ROWS.default;
  if (typeof chunkRows !== 'number' || !Number.isInteger(chunkRows) || chunkRows < CHUNK_ROWS.min || chunkRows > CHUNK_ROWS.max) {
    throw fail('chunkRows', `rows per resumable chunk: an integer from ${CHUNK_ROWS.min} to ${CHUNK_ROWS.max} (default ${CHUNK_ROWS.default}).`);
  }
  return { model: version.name, version: version.version, dataset: ds.name, datasetVersion: ds.version, output: raw.output, chunkRows };
}
