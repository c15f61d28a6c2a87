/**
 * Feeding a registered version from dataset rows and reading its outputs, whatever made it: a
 * version trained here takes raw columns by its signature; an imported graph that takes one float
 * matrix gets the table's numeric columns (but the target). Used where a job runs another version
 * over a table: an optimize job's test metrics and calibration, a distillation's teacher.
 */
import * as ort from 'onnxruntime-node';
import { InvalidInputError } from '../../infra/errors.js';
import { CATEGORIES, FEATURES } from '../../ml/preprocessing/onnx.js';
import { isNumeric, type RawTable } from '../../ml/training-table.js';
import type { Signature } from '../../ml/signature.js';
import { rawFeeds } from './pipeline.js';
import { runArtifact, type ModelOutputs, type RawFeeds } from './evaluate.js';

export const columnsOf = (sig: Signature) => {
  const by = (tensor: string) => sig.inputs.filter((i) => i.tensor === tensor).sort((a, b) => a.index - b.index).map((i) => ({ name: i.name, type: i.type, nullable: i.nullable }));
  return { numeric: by(FEATURES), categorical: by(CATEGORIES) };
};

/** Raw columns by the signature; a graph that takes one float matrix gets the table's numeric columns but the target. */
export function importedFeeds(sig: Signature, table: RawTable, rows: Int32Array, skip?: string): RawFeeds {
  if (sig.inputs.length > 0) return rawFeeds(table, columnsOf(sig), rows);
  const t = sig.tensors[0];
  if (sig.tensors.length !== 1 || !t || t.dtype !== 'float32' || t.shape.length !== 2) {
    throw new InvalidInputError('unsupported_model', `Only graphs with raw columns, or one float32 matrix input [rows, features], can be fed from a dataset; this one takes ${sig.tensors.map((x) => `${x.name} ${x.dtype}[${x.shape}]`).join(', ')}.`);
  }
  const numeric = table.columns.filter((c) => c.name !== skip && isNumeric(c)).map((c) => ({ name: c.name, type: 'number' as const, nullable: true }));
  if (t.shape[1]! >= 0 && numeric.length !== t.shape[1]) {
    throw new InvalidInputError('dataset_mismatch', `The graph's input '${t.name}' takes ${t.shape[1]} features; the dataset has ${numeric.length} numeric columns besides the target (${numeric.map((c) => c.name).slice(0, 8).join(', ')}…).`);
  }
  const feeds = rawFeeds(table, { numeric, categorical: [] }, rows);
  return feeds;
}

/** A version's outputs on the feeds: a trained one's named outputs, an imported one's float outputs. */
export async function runVersion(session: ort.InferenceSession, f: RawFeeds, sig: Signature): Promise<ModelOutputs> {
  return sig.inputs.length > 0 ? runArtifact(session, f) : runImported(session, f, sig);
}

/** An imported graph's outputs as labels and probabilities (a float [N, C] output) or values ([N] / [N, 1]). */
async function runImported(session: ort.InferenceSession, f: RawFeeds, sig: Signature): Promise<ModelOutputs> {
  const r = await session.run({ [sig.tensors[0]!.name]: new ort.Tensor('float32', f.features, [f.rows, f.featureCount]) });
  const floats = Object.values(r).filter((t) => t.type === 'float32');
  if (sig.task === 'regression') return { values: floats[0]!.data as Float32Array };
  const probs = floats.find((t) => t.dims.length === 2 && t.dims[1]! > 1);
  if (!probs) throw new InvalidInputError('unsupported_model', 'The classifier has no float [rows, classes] output to score.');
  const c = probs.dims[1]!;
  const p = probs.data as Float32Array;
  const labels = Int32Array.from({ length: f.rows }, (_, i) => {
    let best = 0;
    for (let k = 1; k < c; k++) if (p[i * c + k]! > p[i * c + best]!) best = k;
    return best;
  });
  return { labels, probabilities: p, classCount: c };
}
