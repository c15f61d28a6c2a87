/**
 * Evaluation through the exported artifact itself: the held-out rows go through the same ONNX
 * graph an endpoint will serve (preprocessing included), so reported metrics are the metrics of
 * what users deploy. Permutation importance is measured per raw column the same way.
 */
import * as ort from 'onnxruntime-node';
import { classificationMetrics, type ClassificationMetrics } from '../../ml/metrics/classification.js';
import { regressionMetrics, type RegressionMetrics } from '../../ml/metrics/regression.js';
import { permutation, Rng } from '../../ml/core/random.js';
import { CATEGORIES, FEATURES } from '../../ml/preprocessing/onnx.js';
import type { Task } from './target.js';

/** Raw inputs of n rows, in the signature's two tensors. */
export interface RawFeeds {
  rows: number;
  features: Float32Array;
  featureCount: number;
  categories: string[];
  categoryCount: number;
}

export interface ModelOutputs {
  labels?: Int32Array;
  probabilities?: Float32Array;
  classCount?: number;
  values?: Float32Array;
}

/** Rows per run: the graph's widest intermediate (tf-idf: rows × 10,000 terms) stays in tens of MB. */
const CHUNK = 1024;

export async function runArtifact(session: ort.InferenceSession, feeds: RawFeeds): Promise<ModelOutputs> {
  const out: { labels: number[]; probs: Float32Array[]; values: Float32Array[]; classes?: number } = { labels: [], probs: [], values: [] };
  for (let start = 0; start < feeds.rows; start += CHUNK) {
    const n = Math.min(CHUNK, feeds.rows - start);
    const input: Record<string, ort.Tensor> = {};
    if (feeds.featureCount) {
      input[FEATURES] = new ort.Tensor('float32', feeds.features.subarray(start * feeds.featureCount, (start + n) * feeds.featureCount), [n, feeds.featureCount]);
    }
    if (feeds.categoryCount) {
      input[CATEGORIES] = new ort.Tensor('string', feeds.categories.slice(start * feeds.categoryCount, (start + n) * feeds.categoryCount), [n, feeds.categoryCount]);
    }
    const r = await session.run(input);
    if (r.probabilities) {
      out.classes = r.probabilities.dims[1];
      out.probs.push(r.probabilities.data as Float32Array);
      for (const v of r.label!.data as BigInt64Array) out.labels.push(Number(v));
    } else {
      out.values.push(r.value!.data as Float32Array);
    }
  }
  if (out.classes !== undefined) {
    return { labels: Int32Array.from(out.labels), probabilities: concat(out.probs), classCount: out.classes };
  }
  return { values: concat(out.values) };
}

function concat(parts: Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

export function scoreOutputs(task: Task, truth: Float64Array, out: ModelOutputs, labels?: string[]): ClassificationMetrics | RegressionMetrics {
  if (task === 'classification') {
    return classificationMetrics(truth, out.labels!, labels!.length, { probabilities: out.probabilities, labels });
  }
  return regressionMetrics(truth, out.values!);
}

/** The scalar a permutation is judged by: accuracy, or R² for regression. */
function headline(task: Task, truth: Float64Array, out: ModelOutputs): number {
  if (task === 'classification') {
    let ok = 0;
    out.labels!.forEach((l, i) => { if (l === truth[i]) ok++; });
    return ok / truth.length;
  }
  return regressionMetrics(truth, out.values!).r2;
}

export interface ColumnImportance {
  feature: string;
  importance: number;
  std: number;
}

/**
 * How much accuracy (or R²) drops when one raw column is shuffled across the held-out rows
 * (Breiman's permutation importance, per input column rather than per encoded feature).
 * Unlike ml/metrics/importance.ts, which permutes one matrix column for in-process estimators,
 * this permutes a column of the model's raw input tensors and scores through ONNX Runtime.
 */
export async function rawPermutationImportance(
  session: ort.InferenceSession, task: Task, feeds: RawFeeds, truth: Float64Array,
  columns: { name: string; tensor: 'features' | 'categories'; index: number }[], repeats: number, seed: number,
  signal?: AbortSignal,
): Promise<ColumnImportance[]> {
  const baseline = headline(task, truth, await runArtifact(session, feeds));
  const rng = new Rng(seed);
  // One working copy, permuted one column at a time and restored: no copy of the matrix per column.
  const work: RawFeeds = { ...feeds, features: feeds.features.slice(), categories: feeds.categories.slice() };
  const result: ColumnImportance[] = [];
  for (const c of columns) {
    signal?.throwIfAborted();
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      permuteColumn(feeds, work, c, permutation(feeds.rows, rng));
      drops.push(baseline - headline(task, truth, await runArtifact(session, work)));
    }
    permuteColumn(feeds, work, c);
    const mean = drops.reduce((a, b) => a + b, 0) / drops.length;
    const std = Math.sqrt(drops.reduce((a, d) => a + (d - mean) ** 2, 0) / drops.length);
    result.push({ feature: c.name, importance: mean, std });
  }
  return result.sort((a, b) => b.importance - a.importance);
}

/** Writes column `c` of `from`, rows reordered by `perm` (identity when omitted), into `to`. */
function permuteColumn(from: RawFeeds, to: RawFeeds, c: { tensor: 'features' | 'categories'; index: number }, perm?: ArrayLike<number>): void {
  if (c.tensor === 'features') copyColumn(from.features, to.features, from.featureCount, c.index, from.rows, perm);
  else copyColumn(from.categories, to.categories, from.categoryCount, c.index, from.rows, perm);
}

function copyColumn<T>(src: ArrayLike<T>, dst: { [i: number]: T }, width: number, col: number, rows: number, perm?: ArrayLike<number>): void {
  for (let i = 0; i < rows; i++) dst[i * width + col] = src[(perm ? perm[i]! : i) * width + col]!;
}
