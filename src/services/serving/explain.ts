/**
 * Explanations (POST /v1/endpoints/{name}/explain): per row, per raw column, Shapley values of the
 * served version's output against a background sample, and the base value they start from.
 *
 *   random_forest, gradient_boosting  exact interventional TreeSHAP (ml/explain/tree-shap.ts) on
 *                                     the fitted trees kept with the version; in-process,
 *                                     yielding to other requests between background rows
 *   every other kind                  KernelSHAP (ml/explain/kernel-shap.ts): mixed rows run on
 *                                     the endpoint's replicas; exact when the sample budget covers
 *                                     every coalition, else an estimate (stated in `method`)
 *
 * The background is the training sample kept with a trained version, or the request's own.
 */
import * as ort from 'onnxruntime-node';
import { InvalidInputError } from '../../infra/errors.js';
import { openSession } from '../../engine/runtime.js';
import { treeShapSteps } from '../../ml/explain/tree-shap.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { kernelShap } from '../../ml/explain/kernel-shap.js';
import type { Signature } from '../../ml/signature.js';
import { allocate, instancesToFeeds, readPredictBody, type Feeds } from './codec/instances.js';
import type { DataPlane, PredictTarget } from './data-plane.js';
import type { Principal } from '../principal.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import { EXPLAIN_FILE, PREPROCESSING_FILE, type ExplainFile } from '../training/explain-files.js';
import type { ExplainAnswer, Explanation } from '../../api/explanations.js';

export const EXPLAIN_LIMITS = {
  /** Rows explained per request. */
  rows: 10,
  /** KernelSHAP coalitions per row: default and most. */
  samples: 256, maxSamples: 2048,
  /** Background rows: most in a request; the stored sample's rows used by KernelSHAP (each coalition runs on all of them). */
  backgroundRows: 100, kernelBackgroundRows: 20,
} as const;

interface ExplainBody { instances?: unknown; background?: unknown; samples?: unknown; seed?: unknown }

export class ExplainService {
  constructor(private readonly plane: DataPlane, private readonly registry: RegistryService) {}

  async explain(p: Principal, name: string, body: unknown, requestId?: string): Promise<ExplainAnswer> {
    const t = this.plane.target(p, name, undefined, requestId);
    const { signature: sig, model, version } = t.served.spec;
    if (sig.inputs.length === 0 || (sig.task !== 'classification' && sig.task !== 'regression')) {
      invalid('not_explainable', `Endpoint '${name}' serves a model without named raw columns (${sig.task}); explanations are per column, so only tabular classifiers and regressors are explained.`, {});
    }
    const { instances, options } = readPredictBody(body);
    if (Array.isArray(instances) && instances.length > EXPLAIN_LIMITS.rows) {
      invalid('too_many_rows', `At most ${EXPLAIN_LIMITS.rows} rows per explain request (each costs hundreds of model runs); split the request.`, { rows: instances.length, limit: EXPLAIN_LIMITS.rows });
    }
    const x = instancesToFeeds(sig, instances, options);
    const b = body as ExplainBody;
    const stored = await this.stored(t.served.version);
    const background = b.background !== undefined ? requestBackground(sig, b.background) : storedBackground(sig, stored, name, t.served.version);
    this.plane.recordPredictions(t.endpoint, x.rows);
    const head = { model, version };
    // An optimized copy (fp16, quantized) answers with its own graph, not the kept trees: it is explained through its replicas.
    const exactTrees = stored?.trees && !t.served.version.lineage.optimizedFrom && (t.served.version.kind === 'random_forest' || t.served.version.kind === 'gradient_boosting');
    if (exactTrees && stored?.trees) {
      const bytes = await this.registry.readFile(t.served.version, PREPROCESSING_FILE);
      if (!bytes) invalid('explain_unavailable', `Version ${version} of '${model}' lacks its preprocessing file; retrain it to explain it.`, {});
      return { method: 'tree_shap_interventional', ...head, backgroundRows: background.rows, explanations: await treeExplanations(sig, stored.trees, new Uint8Array(bytes), x, background) };
    }
    const samples = intOption(b.samples, 'samples', EXPLAIN_LIMITS.samples, 1, EXPLAIN_LIMITS.maxSamples);
    const seed = intOption(b.seed, 'seed', 0, 0, 2 ** 31 - 1);
    const bg = b.background !== undefined ? background : firstRows(background, Math.min(background.rows, EXPLAIN_LIMITS.kernelBackgroundRows));
    const r = await kernelExplanations(this.plane, t, sig, x, bg, samples, seed);
    return { method: r.exact ? 'kernel_shap_exact' : 'kernel_shap_sampled', ...head, backgroundRows: bg.rows, samples: r.samples, explanations: r.explanations };
  }

  private async stored(v: ModelVersion): Promise<ExplainFile | undefined> {
    const bytes = await this.registry.readFile(v, EXPLAIN_FILE);
    return bytes ? (JSON.parse(bytes.toString('utf8')) as ExplainFile) : undefined;
  }
}

function invalid(code: string, message: string, details: Record<string, unknown>): never {
  throw new InvalidInputError(code, message, details);
}

function intOption(v: unknown, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid('invalid_request', `body.${field}: must be an integer from ${min} to ${max}.`, { field });
  return v as number;
}

interface Rows { feeds: Feeds; rows: number }

function requestBackground(sig: Signature, rows: unknown): Rows {
  if (Array.isArray(rows) && rows.length > EXPLAIN_LIMITS.backgroundRows) {
    invalid('too_many_rows', `At most ${EXPLAIN_LIMITS.backgroundRows} background rows; send a sample.`, { field: 'background', limit: EXPLAIN_LIMITS.backgroundRows });
  }
  return instancesToFeeds(sig, rows, { impute: true });
}

function storedBackground(sig: Signature, stored: ExplainFile | undefined, name: string, v: ModelVersion): Rows {
  if (!stored) {
    const why = v.source === 'trained'
      ? `it was trained before versions kept a background sample; retrain it (POST /v1/jobs, type train) to explain it with its training rows`
      : `it was imported, so no training rows are kept with it`;
    invalid('no_background', `Version ${v.version} behind endpoint '${name}' has no background sample: ${why}, or send \`background\`: [rows] (up to ${EXPLAIN_LIMITS.backgroundRows}) in the request.`, { model: v.name, version: v.version });
  }
  const bg = stored.background;
  const feeds: Feeds = {};
  for (const t of sig.tensors) {
    if (t.name === 'features') feeds.features = { dtype: 'float32', dims: [bg.rows, bg.features.length / bg.rows], data: Float32Array.from(bg.features, (v) => v ?? NaN) };
    if (t.name === 'categories') feeds.categories = { dtype: 'string', dims: [bg.rows, bg.categories.length / bg.rows], data: bg.categories };
  }
  return { feeds, rows: bg.rows };
}

function firstRows(r: Rows, n: number): Rows {
  const feeds: Feeds = {};
  for (const [name, t] of Object.entries(r.feeds)) {
    const w = t.data.length / r.rows;
    feeds[name] = { dtype: t.dtype, dims: [n, ...t.dims.slice(1)], data: t.data.slice(0, n * w) as Feeds[string]['data'] };
  }
  return { feeds, rows: n };
}

// ---- trees ------------------------------------------------------------------------------------

async function preprocess(bytes: Uint8Array, r: Rows): Promise<Float32Array> {
  const session = await openSession(bytes, { intraOpThreads: 1 });
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(r.feeds)) if (session.inputNames.includes(name)) input[name] = new ort.Tensor(t.dtype === 'string' ? 'string' : 'float32', t.data as Float32Array, t.dims);
    return (await session.run(input)).preprocessed!.data as Float32Array;
  } finally {
    await session.release();
  }
}

async function treeExplanations(sig: Signature, trees: NonNullable<ExplainFile['trees']>, preprocessing: Uint8Array, x: Rows, bg: Rows): Promise<Explanation[]> {
  const { state, playerOf } = trees;
  const M = sig.inputs.length;
  const steps = treeShapSteps(state, await preprocess(preprocessing, x), x.rows, await preprocess(preprocessing, bg), bg.rows, playerOf, M);
  // In-process on the server's thread: other requests run between background rows.
  let step = steps.next();
  while (!step.done) {
    await nextTurn();
    step = steps.next();
  }
  const r = step.value;
  const O = r.outputs;
  const output = state.task === 'regression' ? 'value' : state.kind === 'random_forest' ? 'probability' : 'margin';
  return Array.from({ length: x.rows }, (_, i) => {
    const at = (p: number, k: number) => r.values[(i * M + p) * O + k]!;
    const predicted = Array.from({ length: O }, (_, k) => r.base[k]! + sig.inputs.reduce((s, _c, p) => s + at(p, k), 0));
    // A binary booster has one margin, the second class's; otherwise the predicted class's output is explained.
    const k = O === 1 ? 0 : predicted.indexOf(Math.max(...predicted));
    const cls = state.task === 'regression' ? undefined : sig.labels?.[O === 1 ? 1 : k] ?? String(O === 1 ? 1 : k);
    return explanation(sig, (p) => at(p, k), r.base[k]!, predicted[k]!, output, cls);
  });
}

function explanation(sig: Signature, value: (p: number) => number, base: number, prediction: number, output: Explanation['output'], cls?: string): Explanation {
  const values: Record<string, number> = {};
  sig.inputs.forEach((c, p) => { values[c.name] = value(p); });
  return { baseValue: base, values, output, ...(cls !== undefined ? { class: cls } : {}), prediction };
}

// ---- any model, through the replicas ----------------------------------------------------------

/** Model rows per replica call: coalitions × background rows are cut into runs of about this many. */
const RUN_ROWS = 8192;

async function kernelExplanations(plane: DataPlane, t: PredictTarget, sig: Signature, x: Rows, bg: Rows, samples: number, seed: number) {
  const roles = t.served.spec.roles;
  const outputName = sig.task === 'classification' ? roles.probabilities : roles.value;
  if (!outputName) invalid('not_explainable', `The model has no ${sig.task === 'classification' ? 'probabilities' : 'value'} output to explain.`, {});
  const score = async (feeds: Feeds, rows: number): Promise<Float32Array> => {
    const out = (await plane.runProbes(t, feeds, rows))[outputName!]!;
    return out.data as Float32Array;
  };
  const fx = await score(x.feeds, x.rows);
  const width = fx.length / x.rows;
  const M = sig.inputs.length;
  const explanations: Explanation[] = [];
  let exact = true;
  let used = 0;
  for (let i = 0; i < x.rows; i++) {
    const row = fx.subarray(i * width, (i + 1) * width);
    const k = sig.task === 'classification' ? row.indexOf(Math.max(...row)) : 0;
    const game = {
      players: M, outputs: 1,
      value: async (masks: Uint8Array, count: number) => {
        const v = new Float64Array(count);
        const per = Math.max(1, Math.floor(RUN_ROWS / bg.rows));
        for (let s = 0; s < count; s += per) {
          const n = Math.min(per, count - s);
          const scores = await score(mixedFeeds(sig, x, i, bg, masks.subarray(s * M, (s + n) * M), n), n * bg.rows);
          for (let c = 0; c < n; c++) for (let b = 0; b < bg.rows; b++) v[s + c]! += scores[(c * bg.rows + b) * width + k]! / bg.rows;
        }
        return v;
      },
    };
    const r = await kernelShap(game, samples, seed);
    exact &&= r.exact;
    used = r.samples;
    const output = sig.task === 'classification' ? 'probability' : 'value';
    const cls = sig.task === 'classification' ? sig.labels?.[k] ?? String(k) : undefined;
    explanations.push(explanation(sig, (p) => r.values[p]!, r.base[0]!, r.base[0]! + r.values.reduce((a, b) => a + b, 0), output, cls));
  }
  return { explanations, exact, samples: used };
}

/** For each coalition, every background row with the coalition's columns taken from row `i` of `x`. */
function mixedFeeds(sig: Signature, x: Rows, i: number, bg: Rows, masks: Uint8Array, count: number): Feeds {
  const M = sig.inputs.length;
  const feeds: Feeds = {};
  for (const [name, xt] of Object.entries(x.feeds)) {
    const bt = bg.feeds[name]!;
    const w = xt.data.length / x.rows;
    const n = count * bg.rows;
    const data = allocate(xt.dtype, n * w) as Float32Array;
    const xd = xt.data as Float32Array;
    const bd = bt.data as Float32Array;
    const cols = sig.inputs.map((c, p) => (c.tensor === name ? [p, c.index] as const : null)).filter((e) => e !== null);
    for (let c = 0; c < count; c++) {
      for (let b = 0; b < bg.rows; b++) {
        const at = (c * bg.rows + b) * w;
        for (let j = 0; j < w; j++) data[at + j] = bd[b * w + j]!;
        for (const [p, j] of cols) if (masks[c * M + p]) data[at + j] = xd[i * w + j]!;
      }
    }
    feeds[name] = { dtype: xt.dtype, dims: [n, ...xt.dims.slice(1)], data };
  }
  return feeds;
}
