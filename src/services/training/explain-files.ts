/**
 * What a trained version keeps for explanations (POST /v1/endpoints/{name}/explain), as files
 * beside its graph: a background sample of its training rows (the raw model inputs), and for tree
 * ensembles the fitted trees, the preprocessing graph alone and which raw column each
 * preprocessed feature comes from, so that TreeSHAP runs on the trees the artifact was built from.
 */
import type { PreparedData, TrainedModel } from './pipeline.js';
import { rawFeeds } from './pipeline.js';
import type { TreeEnsembleState } from '../../ml/estimators/types.js';
import type { FittedPreprocessing } from '../../ml/preprocessing/fit.js';

export const EXPLAIN_FILE = 'aiaas/explain.json';
export const PREPROCESSING_FILE = 'aiaas/preprocessing.onnx';
/** Training rows kept as the background: enough for stable base values, few enough that each explained row stays cheap. */
export const BACKGROUND_ROWS = 100;

export interface ExplainFile {
  format: 1;
  /** Background rows in the artifact's input tensors (`features` with null for NaN, `categories`). */
  background: { rows: number; features: (number | null)[]; categories: string[] };
  /** Tree ensembles only: the fitted trees and, per preprocessed feature, its raw column (index into signature.inputs). */
  trees?: { state: TreeEnsembleState; playerOf: number[] };
}

export function explainFiles(trained: TrainedModel, data: PreparedData): Map<string, Uint8Array> {
  const pre = trained.preprocessing;
  if (trained.signature.inputs.length === 0) return new Map();
  const n = Math.min(BACKGROUND_ROWS, data.trainRows.length);
  // Evenly spaced over the (shuffled) training rows: deterministic, and spread over the data.
  const rows = Int32Array.from({ length: n }, (_, i) => data.trainRows[Math.floor((i * data.trainRows.length) / n)]!);
  const feeds = rawFeeds(data.table, pre, rows);
  const file: ExplainFile = {
    format: 1,
    background: { rows: n, features: Array.from(feeds.features, (v) => (Number.isNaN(v) ? null : v)), categories: feeds.categories },
  };
  const state = trained.state;
  const files = new Map<string, Uint8Array>();
  if (state && (state.kind === 'random_forest' || state.kind === 'gradient_boosting') && trained.preprocessingModel) {
    file.trees = { state, playerOf: playerOf(pre) };
    files.set(PREPROCESSING_FILE, trained.preprocessingModel);
  }
  files.set(EXPLAIN_FILE, new TextEncoder().encode(JSON.stringify(file)));
  return files;
}

/** The raw column of each preprocessed feature: numeric columns first, then each one-hot and tf-idf block. */
function playerOf(pre: FittedPreprocessing): number[] {
  const N = pre.numeric.length;
  return [
    ...pre.numeric.map((_, i) => i),
    ...pre.encoders.flatMap((e) => e.categories.map(() => N + e.input)),
    ...pre.tfidf.flatMap((f) => f.terms.map(() => N + f.input)),
  ];
}
