/**
 * Drift of an endpoint's traffic from its training data (GET /v1/endpoints/{name}/drift): the
 * rows one served version logged in a window (the prediction log), per raw feature and for the
 * predictions, against the profile stored with the version when it was trained
 * (ml/monitoring/drift-profile.ts).
 *
 * Thresholds (documented in docs/API.md): a feature or the prediction drifts when its PSI is above
 * 0.2 (the usual reading: under 0.1 stable, 0.1–0.2 moderate, above 0.2 a real shift); a number also
 * when the KS test rejects at p < 0.01 with a distance above 0.1 (on large windows any tiny shift is
 * significant, so significance alone would flag noise).
 */
import { ConflictError, InvalidInputError } from '../../infra/errors.js';
import {
  DRIFT_PROFILE_FILE, featureDrift, PROFILE_FORMAT, type DriftProfile, type FeatureDrift, type FeatureProfile, type Values,
} from '../../ml/monitoring/drift-profile.js';
import type { SignatureInput } from '../../ml/signature.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import type { RawRow, RawValue } from './codec/feed-rows.js';
import type { Prediction } from './codec/instances.js';
import type { Endpoint } from './endpoint.js';
import type { PredictionLog } from './prediction-log.js';

export const DRIFT_THRESHOLDS = { psi: 0.2, ksPValue: 0.01, ksStatistic: 0.1 } as const;
/** The newest rows of a window drift reads at most. */
export const MAX_DRIFT_ROWS = 10_000;
export const DEFAULT_WINDOW_SECONDS = 3600;

export interface DriftQuery {
  windowSeconds?: number;
  version?: number;
  /** The window's end, ms since the epoch (default: now by the prediction log's clock). */
  at?: number;
}

export interface FeatureDriftReport extends FeatureDrift {
  name: string;
  type: FeatureProfile['kind'];
  drifted: boolean;
}

export interface DriftReport {
  version: number;
  windowSeconds: number;
  from: string;
  to: string;
  rows: number;
  /** Whether the window held more rows than MAX_DRIFT_ROWS (then its newest ones are read). */
  truncated: boolean;
  thresholds: typeof DRIFT_THRESHOLDS;
  features: FeatureDriftReport[];
  prediction: { psi: number; drifted: boolean } | null;
  message?: string;
}

export async function endpointDrift(ep: Endpoint, q: DriftQuery, log: PredictionLog, registry: RegistryService): Promise<DriftReport> {
  const windowSeconds = q.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const served = servedVersion(ep, q.version);
  const profile = await readProfile(registry, served, ep.row.name);
  const end = q.at ?? log.now();
  const from = new Date(end - windowSeconds * 1000).toISOString();
  const to = new Date(end + 1).toISOString();
  const logged = await log.window(ep, served.version, from, to, MAX_DRIFT_ROWS + 1);
  const truncated = logged.length > MAX_DRIFT_ROWS;
  const rows = truncated ? logged.slice(0, MAX_DRIFT_ROWS) : logged;
  const base = { version: served.version, windowSeconds, from, to, rows: rows.length, truncated, thresholds: DRIFT_THRESHOLDS };
  if (rows.length === 0) {
    const sampling = ep.settings.logging.sampleRate > 0 ? '' : ' Logging is off on this endpoint: PATCH it with {"logging": {"sampleRate": 1}} (or a share).';
    return {
      ...base, features: [], prediction: null,
      message: `No predictions of version ${served.version} were logged in the last ${windowSeconds} seconds, so there is nothing to compare.${sampling}`,
    };
  }
  const inputs = new Map(served.signature.inputs.map((i) => [i.name, i]));
  const features = profile.features.map((f) => {
    const d = featureDrift(f, liveValues(f, rows.map((r) => r.input), inputs.get(f.name)));
    return { name: f.name, type: f.kind, ...d, drifted: isDrifted(d) };
  });
  let prediction = null;
  if (profile.prediction) {
    const d = featureDrift(profile.prediction, predictionValues(profile.prediction, rows.map((r) => r.output)));
    prediction = { psi: d.psi, drifted: isDrifted(d) };
  }
  return { ...base, features, prediction };
}

function isDrifted(d: FeatureDrift): boolean {
  const t = DRIFT_THRESHOLDS;
  return d.psi > t.psi || (d.ks !== undefined && d.ks.pValue < t.ksPValue && d.ks.statistic > t.ksStatistic);
}

/** The version asked for (it must be in the endpoint's traffic), else the one with the most traffic. */
function servedVersion(ep: Endpoint, version?: number): ModelVersion {
  const versions = ep.traffic.map((t) => t.version);
  const chosen = version ?? [...ep.traffic].sort((a, b) => b.weight - a.weight)[0]?.version;
  const served = chosen === undefined ? undefined : ep.served.get(chosen);
  if (!served || !versions.includes(chosen!)) {
    throw new InvalidInputError('version_not_served', `Endpoint '${ep.row.name}' does not serve version ${chosen}; it serves ${versions.join(', ') || 'none yet'}. Pass one of those as ?version=, or omit it for the version with the most traffic.`, { field: 'version', served: versions });
  }
  return served.version;
}

async function readProfile(registry: RegistryService, v: ModelVersion, endpoint: string): Promise<DriftProfile> {
  const bytes = await registry.readFile(v, DRIFT_PROFILE_FILE);
  const how = v.source === 'imported'
    ? 'it was imported, and drift needs the training rows: train the model on the platform (a train job), register and deploy that version'
    : 'it was trained before training profiles were kept, or is a kind without tabular columns: retrain it (a train job) and deploy the new version';
  if (!bytes) {
    throw new ConflictError('no_drift_profile', `Version ${v.version} of model '${v.name}' (served by '${endpoint}') has no training profile to measure drift against: ${how}.`, { model: v.name, version: v.version });
  }
  const profile = JSON.parse(bytes.toString('utf8')) as DriftProfile;
  if (profile.format !== PROFILE_FORMAT) {
    throw new ConflictError('no_drift_profile', `Version ${v.version} of model '${v.name}' has a training profile of format ${profile.format}, which this server does not read (it reads ${PROFILE_FORMAT}); retrain the model to profile it again.`, { model: v.name, version: v.version });
  }
  return profile;
}

/**
 * One feature's values in the logged rows. A row is kept as sent: keyed by column, or (a row of
 * numbers) `{<tensor>: [...]}`, where the column is at its signature position.
 */
function liveValues(f: FeatureProfile, rows: RawRow[], input?: SignatureInput): Values {
  const cell = (r: RawRow): RawValue | undefined => {
    if (Object.hasOwn(r, f.name)) return r[f.name];
    const packed = input ? r[input.tensor] : undefined;
    return Array.isArray(packed) ? packed[input!.index] : undefined;
  };
  if (f.kind === 'numeric') return { kind: 'numeric', values: rows.map((r) => asNumber(cell(r))) };
  return { kind: 'categorical', values: rows.map((r) => asCategory(cell(r))) };
}

function predictionValues(f: FeatureProfile, outputs: Prediction[]): Values {
  if (f.kind === 'numeric') {
    // A regressor's value, or a binary classifier's probability of its second class (as profiled).
    return { kind: 'numeric', values: outputs.map((o) => asNumber(o.probabilities ? o.probabilities[1] : Array.isArray(o.value) ? o.value[0] : o.value)) };
  }
  return { kind: 'categorical', values: outputs.map((o) => asCategory(o.label)) };
}

function asNumber(v: RawValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NaN;
}

function asCategory(v: RawValue | undefined): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}
