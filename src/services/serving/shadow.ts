/**
 * Shadow traffic: a candidate version of an endpoint's model gets a copy of `percent`% of the
 * endpoint's predict requests (every transport: the predict route, its fast path, Open
 * Inference infer), after the version that answers has answered. The candidate runs on replicas
 * of its own; its answers are compared with the ones returned and never returned themselves.
 *
 * Nothing of it is on the request path but a counter and a push: which requests are copied is
 * decided by a counter (exactly ⌊n·percent/100⌋ of the first n: 50% is every other request, 0%
 * none, 100% all), and the copy starts on a later turn of the event loop (setImmediate), after
 * the answer has been written. Copies in flight are bounded (`maxInflight`); when the bound is
 * reached a copy is dropped and counted, never waited for. A candidate that fails (a row it
 * refuses, a replica that dies) is counted as an error; the request it copies has been answered.
 *
 * Agreement, per row: a classifier's answers agree when their labels are equal; a regressor's
 * when every value is within a relative tolerance (|a − b| ≤ 0.001 · max(|a|, |b|), or
 * |a − b| ≤ 1e-6 near 0). The figures (copies, drops, errors, agreement, p50 latency) are this
 * node's, kept since the candidate was set; they are in GET /v1/endpoints/{name} and in the
 * endpoint's Prometheus metrics.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { feedRows } from './codec/feed-rows.js';
import { instancesToFeeds, toPredictions, type Feeds, type Prediction } from './codec/instances.js';
import { parseJson, predictFeeds, type PredictSpec } from './codec/predict-body.js';
import type { ServedVersion } from './endpoint.js';
import type { LoggedCall } from './prediction-log-records.js';

/** What an endpoint's row asks for: the candidate version and the share of requests it gets a copy of. */
export interface ShadowSetting {
  version: number;
  /** 0 to 100. */
  percent: number;
}

/** The shadow's figures, as GET /v1/endpoints/{name} shows them (this node's, since the candidate was set). */
export interface ShadowInfo extends ShadowSetting {
  /** Copies sent to the candidate. */
  requests: number;
  /** Copies not sent: as many were in flight as allowed. */
  dropped: number;
  /** Copies the candidate failed to answer. */
  errors: number;
  /** Rows compared. */
  rows: number;
  /** Share of compared rows whose answers agree; null before any. */
  agreement: number | null;
  /** Median time of the candidate's answers (of the last 1,000); null before any. */
  p50LatencyMs: number | null;
  /** Why the last failed copy failed. */
  lastError: string | null;
  replicas: number;
  ready: number;
}

/** What the endpoint's metrics hear of a shadow (./metrics.ts). */
export interface ShadowHooks {
  copied(outcome: 'compared' | 'failed' | 'dropped', seconds?: number): void;
  compared(agreed: number, disagreed: number): void;
}

/** Relative tolerance of regression answers, and the absolute one near 0. */
export const SHADOW_TOLERANCE = { relative: 1e-3, absolute: 1e-6 };

/** Copies in flight per shadow, at most (more are dropped and counted). */
export const SHADOW_MAX_INFLIGHT = 64;

const LATENCY_SAMPLES = 1000;

/** The shadow a create or an update asks for, checked (null: none). */
export function checkShadowSetting(input: ShadowSetting | null): ShadowSetting | null {
  if (input === null) return null;
  if (!Number.isInteger(input.version) || input.version < 1) {
    throw new InvalidInputError('invalid_shadow', 'shadow.version: must be a version number (a whole number from 1) of the endpoint\'s model.', { field: 'shadow.version' });
  }
  if (typeof input.percent !== 'number' || !(input.percent >= 0 && input.percent <= 100)) {
    throw new InvalidInputError('invalid_shadow', 'shadow.percent: must be from 0 (no copies) to 100 (a copy of every request).', { field: 'shadow.percent' });
  }
  return { version: input.version, percent: input.percent };
}

/** Whether requests of `served` (or a candidate) can be mirrored: rows in, predictions out; language models generate or embed instead. */
export function refuseShadowOf(endpoint: string, v: { version: number; kind: string }, role: 'serves' | 'candidate'): void {
  if (v.kind !== 'causal_lm' && v.kind !== 'text_encoder') return;
  const what = v.kind === 'causal_lm' ? 'a language model (causal_lm): shadow traffic is not supported for generation' : 'a text encoder: shadow traffic is not supported for embeddings';
  const who = role === 'serves' ? `Endpoint '${endpoint}' serves version ${v.version}, ${what}` : `Version ${v.version} is ${what}`;
  throw new InvalidInputError('shadow_not_supported', `${who}; a shadow compares predictions of rows (classifiers and regressors). Remove "shadow" from the request.`, { field: 'shadow', version: v.version, kind: v.kind });
}

/** Whether two answers of one row agree (labels equal; values within SHADOW_TOLERANCE). */
export function agrees(a: Prediction, b: Prediction): boolean {
  if (a.label !== undefined || b.label !== undefined) return a.label === b.label;
  const x = a.value === undefined ? [] : Array.isArray(a.value) ? a.value : [a.value];
  const y = b.value === undefined ? [] : Array.isArray(b.value) ? b.value : [b.value];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= SHADOW_TOLERANCE.absolute || d <= SHADOW_TOLERANCE.relative * Math.max(Math.abs(x[i]!), Math.abs(y[i]!)))) return false;
  }
  return true;
}

/** Takes exactly ⌊n·percent/100⌋ of the first n offers, spread evenly. */
export class ShareSampler {
  private n = 0;

  constructor(private readonly percent: number) {}

  take(): boolean {
    this.n++;
    return Math.floor((this.n * this.percent) / 100) > Math.floor(((this.n - 1) * this.percent) / 100);
  }
}

/** How a candidate answers a copy: its replicas (or, in unit tests, a stand-in). */
export interface ShadowTarget {
  spec: PredictSpec;
  submit(feeds: Feeds, rows: number): Promise<Feeds>;
  /** Only when the candidate's replicas read raw predict bodies. */
  submitJson?(json: Uint8Array): Promise<{ answer: string }>;
}

export function shadowTarget(s: ServedVersion): ShadowTarget {
  return {
    spec: s.spec,
    submit: (feeds, rows) => s.pool.submit(feeds, rows),
    submitJson: s.pool.readsJson ? (json) => s.pool.submitJson(json) : undefined,
  };
}

/** One endpoint's running shadow: its candidate's replicas, which copies it takes, and its figures. */
export class Shadow {
  private sampler: ShareSampler;
  private inflight = 0;
  private requests = 0;
  private dropped = 0;
  private errors = 0;
  private agreed = 0;
  private rows = 0;
  private lastError: string | null = null;
  private readonly latencies: number[] = [];
  private nextLatency = 0;
  /** Settles when no copy is in flight (tests, and draining the candidate's pool after the copies it holds). */
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;

  constructor(
    public setting: ShadowSetting,
    /** The candidate as served (its own pool), when it runs on replicas. */
    readonly served: ServedVersion | undefined,
    private readonly target: ShadowTarget,
    private readonly hooks: ShadowHooks,
    private readonly maxInflight = SHADOW_MAX_INFLIGHT,
  ) {
    this.sampler = new ShareSampler(setting.percent);
  }

  /** A new share for the same candidate: the figures stay, the counting of requests starts again. */
  setPercent(percent: number): void {
    this.setting = { ...this.setting, percent };
    this.sampler = new ShareSampler(percent);
  }

  /**
   * A request `primary` has answered: a copy of it, if it is one of the share, goes to the
   * candidate on a later turn of the event loop. Synchronous and cheap: it runs on the request path.
   */
  mirror(primary: PredictSpec, call: LoggedCall, rows: number): void {
    if (!this.sampler.take()) return;
    if (this.inflight >= this.maxInflight) {
      this.dropped++;
      this.hooks.copied('dropped');
      return;
    }
    if (this.inflight === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
    this.inflight++;
    this.requests++;
    setImmediate(() => {
      void this.copy(primary, call, rows).finally(() => {
        if (--this.inflight === 0) this.markIdle();
      });
    });
  }

  /** Resolves once no copy is in flight. */
  settled(): Promise<void> {
    return this.idle;
  }

  private async copy(primary: PredictSpec, call: LoggedCall, rows: number): Promise<void> {
    const started = performance.now();
    let theirs: Prediction[];
    try {
      theirs = await this.answer(primary, call, rows);
    } catch (err) {
      this.errors++;
      this.lastError = (err as Error).message;
      this.hooks.copied('failed');
      return;
    }
    const ms = performance.now() - started;
    this.latencies[this.nextLatency] = ms;
    this.nextLatency = (this.nextLatency + 1) % LATENCY_SAMPLES;
    this.hooks.copied('compared', ms / 1000);
    let ours: Prediction[];
    try {
      ours = 'feeds' in call ? toPredictions(primary.signature, primary.roles, call.outputs, rows) : answerPredictions(call.answer);
    } catch (err) {
      this.errors++;
      this.lastError = `the answer returned could not be read back to compare: ${(err as Error).message}`;
      return;
    }
    const n = Math.min(ours.length, theirs.length);
    let agreed = 0;
    for (let r = 0; r < n; r++) if (agrees(ours[r]!, theirs[r]!)) agreed++;
    // Rows one side has and the other not (a candidate answering another number of rows) disagree.
    const compared = Math.max(ours.length, theirs.length);
    this.agreed += agreed;
    this.rows += compared;
    this.hooks.compared(agreed, compared - agreed);
  }

  /** The candidate's predictions of a copied request: the raw body to replicas that read it, else tensors for its signature. */
  private async answer(primary: PredictSpec, call: LoggedCall, rows: number): Promise<Prediction[]> {
    const spec = this.target.spec;
    const sig = spec.signature;
    if ('json' in call) {
      if (this.target.submitJson) return answerPredictions((await this.target.submitJson(call.json)).answer);
      const { feeds, rows: n } = predictFeeds(sig, parseJson(call.json));
      return toPredictions(sig, spec.roles, await this.target.submit(feeds, n), n);
    }
    const feeds = sameTensors(primary, spec) ? call.feeds : instancesToFeeds(sig, feedRows(primary.signature, call.feeds, rows)).feeds;
    return toPredictions(sig, spec.roles, await this.target.submit(feeds, rows), rows);
  }

  info(): ShadowInfo {
    const sorted = this.latencies.slice().sort((a, b) => a - b);
    const st = this.served?.pool.stats();
    return {
      ...this.setting, requests: this.requests, dropped: this.dropped, errors: this.errors, rows: this.rows,
      agreement: this.rows > 0 ? this.agreed / this.rows : null,
      p50LatencyMs: sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)]! : null,
      lastError: this.lastError, replicas: st?.replicas ?? 0, ready: st?.ready ?? 0,
    };
  }
}

/** The `predictions` of a predict answer's JSON text. */
function answerPredictions(answer: string): Prediction[] {
  const predictions = (JSON.parse(answer) as { predictions?: Prediction[] }).predictions;
  if (!Array.isArray(predictions)) throw new Error('the answer has no predictions');
  return predictions;
}

/** Whether tensors made for one version feed the other as they are (same names, types and inner shapes). */
function sameTensors(a: PredictSpec, b: PredictSpec): boolean {
  const x = a.signature.tensors;
  const y = b.signature.tensors;
  return x.length === y.length && x.every((t, i) => {
    const u = y[i]!;
    return t.name === u.name && t.dtype === u.dtype && JSON.stringify(t.shape.slice(1)) === JSON.stringify(u.shape.slice(1));
  });
}
