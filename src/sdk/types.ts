/**
 * The SDK's types, taken from the server's own TypeBox schemas (type-only imports: nothing of the
 * server is bundled into a browser build), so request and response shapes are written once.
 */
import type { Static } from '@sinclair/typebox';
import type {
  ApiKey as ApiKeySchema, ColumnProfile as ColumnProfileSchema, CreatedKey as CreatedKeySchema, CreateKey as CreateKeySchema,
  DatasetSummary as DatasetSummarySchema, DatasetVersion as DatasetVersionSchema, ErrorBody as ErrorBodySchema, Tenant as TenantSchema,
  AuditEntry as AuditEntrySchema, Whoami as WhoamiSchema,
} from '../api/schemas.js';
import type {
  Cluster as ClusterSchema, Job as JobSchema, JobQuery as JobQuerySchema, LogLine as LogLineSchema, Quota as QuotaSchema, TenantQuota as TenantQuotaSchema, TenantQuotaPatch as TenantQuotaPatchSchema,
  SubmitJob as SubmitJobSchema, Usage as UsageSchema,
} from '../api/schemas-jobs.js';
import type {
  CreateEndpointBody as CreateEndpointSchema, DriftQuery as DriftQuerySchema, DriftReport as DriftReportSchema, EndpointSchema, LoggedPredictions as LoggedPredictionsSchema, PredictionsQuery as PredictionsQuerySchema, ModelDetailSchema, ModelSummarySchema, ModelVersionSchema,
  PredictBody as PredictBodySchema, SignatureSchema, StageSchema, UpdateEndpointBody as UpdateEndpointSchema,
} from '../api/schemas-serving.js';
import type { AlertDeliveryView, AlertView, CreateAlertBody } from '../api/schemas-alerts.js';
import type { ModelKind, TrainingOptions, TuningSummary } from '../api/training-types.js';
import type { HistoryEntry, TestMetrics, TrainingFigures, TrainMetrics } from '../api/job-metrics.js';

export type ErrorBody = Static<typeof ErrorBodySchema>;
export type Tenant = Static<typeof TenantSchema>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type CreateKey = Static<typeof CreateKeySchema>;
export type CreatedKey = Static<typeof CreatedKeySchema>;
export type AuditEntry = Static<typeof AuditEntrySchema>;
export type Whoami = Static<typeof WhoamiSchema>;
export type ColumnProfile = Static<typeof ColumnProfileSchema>;
export type DatasetVersion = Static<typeof DatasetVersionSchema>;
export type DatasetSummary = Static<typeof DatasetSummarySchema>;
export type Job = Static<typeof JobSchema>;
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobQuery = Partial<Static<typeof JobQuerySchema>>;
export type LogLine = Static<typeof LogLineSchema>;
export type Quota = Static<typeof QuotaSchema>;
/** A tenant's whole quota: jobs (null: no limit) and serving (endpoints, replicas). */
export type TenantQuota = Static<typeof TenantQuotaSchema>;
export type TenantQuotaPatch = Static<typeof TenantQuotaPatchSchema>;
export type Cluster = Static<typeof ClusterSchema>;
export type Usage = Static<typeof UsageSchema>;
export type SubmitJob = Static<typeof SubmitJobSchema>;
export type Stage = Static<typeof StageSchema>;
export type Signature = Static<typeof SignatureSchema>;
export type ModelVersion = Static<typeof ModelVersionSchema>;
export type ModelSummary = Static<typeof ModelSummarySchema>;
export type ModelDetail = Static<typeof ModelDetailSchema>;
export type Endpoint = Static<typeof EndpointSchema>;
export type CreateEndpoint = Static<typeof CreateEndpointSchema>;
export type UpdateEndpoint = Static<typeof UpdateEndpointSchema>;
export type PredictRequest = Static<typeof PredictBodySchema>;
/** A page of an endpoint's logged predictions (GET /v1/endpoints/{name}/predictions). */
export type LoggedPredictions = Static<typeof LoggedPredictionsSchema>;
export type PredictionsQuery = Static<typeof PredictionsQuerySchema>;
/** Drift of an endpoint's logged rows from its version's training rows (GET /v1/endpoints/{name}/drift). */
export type DriftReport = Static<typeof DriftReportSchema>;
export type DriftQuery = Static<typeof DriftQuerySchema>;
/** An alert (GET /v1/alerts[/{id}]): state, last value, history; `deliveries` in GET by id. */
export type Alert = AlertView;
export type AlertDelivery = AlertDeliveryView;
export type CreateAlert = CreateAlertBody;
export type { ModelKind, TrainingOptions, HistoryEntry, TestMetrics, TrainingFigures, TrainMetrics };

/**
 * `job.metrics` and `version.metrics` (API.md, "Job metrics"): `test`, `training`, `history` and
 * optionally `crossValidation`, `featureImportance`, `tuning`; a running job has only `history`.
 * Cast: `const m = job.metrics as JobMetrics; m.test?.accuracy`.
 */
export type JobMetrics = Partial<Omit<TrainMetrics, 'training'>> & { training?: TrainingFigures & Record<string, unknown>; history?: Array<HistoryEntry & Record<string, unknown>> };

/** A `train` job request (API.md); the server checks it completely before queueing. */
export interface TrainRequest extends Omit<SubmitJob, 'type'> {
  type?: 'train';
  name: string;
  dataset: string;
  datasetVersion?: number;
  target: string;
  task?: 'classification' | 'regression';
  split?: { test?: number; validation?: number; seed?: number };
  testDataset?: string | { name: string; version?: number };
  preprocessing?: 'auto' | Array<{ op: string } & Record<string, unknown>>;
  model?: { kind: ModelKind } & Record<string, unknown>;
  training?: Partial<TrainingOptions>;
  importanceRepeats?: number;
  /** Distillation (API.md "Model optimization"): learn from a classifier version's probabilities softened at `temperature` (default 2), weight `alpha` (default 0.5) beside the labels. */
  teacher?: { model: string; version?: number | string; temperature?: number; alpha?: number };
}

/** An `optimize` job request (API.md "Model optimization"): registers a new version with `lineage.optimizedFrom`. */
export interface OptimizeRequest extends Omit<SubmitJob, 'type'> {
  type?: 'optimize';
  model: string;
  /** A version number, a stage name or 'latest' (the default). */
  version?: number | string;
  method: 'quantize_dynamic' | 'quantize_static' | 'quantize_weights' | 'fp16' | 'prune';
  /** quantize_dynamic: ONNX Runtime's fused op (default) or plain ONNX ops. */
  ops?: 'contrib' | 'standard';
  /** quantize_weights */
  bits?: 4 | 8;
  blockSize?: number;
  /** quantize_static (default: 256 of the source's training rows) */
  calibration?: { dataset: string; version?: number; rows?: number; target?: string };
  /** prune */
  sparsity?: number;
  structured?: boolean;
  fineTuneEpochs?: number;
  /** Imported versions: the dataset their test metrics are measured on. */
  evaluation?: { dataset: string; version?: number; target: string };
}

/** An optimized version's (and its optimize job's) metrics: the result and the source side by side. */
export interface OptimizationMetrics {
  test?: Record<string, unknown>;
  sizeBytes: number;
  latencyMs: { p50Row: number; p50Batch: number; batchRows: number };
  source: { model: string; version: number; sizeBytes: number; latencyMs: { p50Row: number; p50Batch: number; batchRows: number }; test?: Record<string, unknown> };
  optimization: { method: string; rewritten: number; skipped: { node: string; reason: string }[]; testRows: number } & Record<string, unknown>;
}

/** One dimension of a tune job's search space: a list of choices, or a numeric range (grid: `step` apart, or `gridPoints` values). */
export type SearchDimension = unknown[] | { min: number; max: number; log?: boolean; integer?: boolean; gridPoints?: number; step?: number };

/** A `tune` job request (API.md): trials run as child train jobs; the best candidate is registered. */
export interface TuneRequest extends Omit<SubmitJob, 'type'> {
  type?: 'tune';
  name: string;
  base: Omit<TrainRequest, 'name'> & { name?: string };
  space: Record<string, SearchDimension>;
  strategy?: 'grid' | 'random' | 'halving';
  trials?: number;
  cv?: number;
  metric?: string;
  seed?: number;
  eta?: number;
}

/** One row of a finished tune job's `metrics.tuning.trials`, and `metrics.tuning` itself (the server's own types). */
export type TuneTrial = TuningSummary['trials'][number];
export type Tuning = TuningSummary;

export interface DatasetRows {
  offset: number;
  limit: number;
  total: number;
  rows: Array<Record<string, string | number | boolean | null>>;
}

export interface Prediction {
  label?: string | number | boolean;
  probabilities?: number[];
  value?: number;
  [k: string]: unknown;
}

export interface PredictResponse {
  predictions: Prediction[];
  model: string;
  version: number;
}

export type { Explanation, ExplainAnswer as ExplainResponse } from '../api/explanations.js';

export interface ExplainOptions {
  background?: unknown[];
  samples?: number;
  seed?: number;
}

/** One Server-Sent Event of a job: `status`, `progress`, `metrics` (one per epoch) or `log`. */
export interface JobEvent {
  id: number;
  event: 'status' | 'progress' | 'metrics' | 'log' | string;
  data: Record<string, unknown> & { at?: string };
}
