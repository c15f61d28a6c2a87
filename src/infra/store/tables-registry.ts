/**
 * Tables of the model registry and of serving: models, their versions (each an ONNX blob with
 * its signature, metrics and lineage), endpoints (their desired state: traffic, replicas,
 * batching; the running state lives in memory and is rebuilt on start), and the prediction
 * counts that usage metering reads.
 */
export interface ModelsTable {
  id: string;
  tenant_id: string;
  name: string;
  latest_version: number;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface ModelVersionsTable {
  id: string;
  model_id: string;
  tenant_id: string;
  version: number;
  /** none | staging | production | archived */
  stage: string;
  /** mlp, cnn, random_forest…, or 'onnx' for an imported graph. */
  kind: string;
  /** classification | regression | other */
  task: string;
  /** 'trained' (by a job) or 'imported' (POST …/versions). */
  source: string;
  /** JSON: Signature (src/ml/signature.ts). */
  signature: string;
  /** JSON: metrics on the held-out split. */
  metrics: string;
  /** JSON: {job, dataset, datasetVersion, params}. */
  lineage: string;
  description: string | null;
  blob: string;
  size_bytes: number;
  /** JSON {name: blob hash}: files beside the graph (a causal_lm's Hugging Face folder files), or null. */
  files?: string | null;
  created_at: string;
  updated_at: string;
}

export interface EndpointsTable {
  id: string;
  tenant_id: string;
  name: string;
  model_name: string;
  /** The stage the endpoint was deployed from, when it was (informational). */
  stage: string | null;
  /** JSON: [{version, weight}] */
  traffic: string;
  /** JSON: {replicas, batching, autoscaling} */
  settings: string;
  /** JSON: {version, percent}, the candidate mirrored requests go to; null: none. */
  shadow?: string | null;
  created_at: string;
  updated_at: string;
}

/** Predictions (rows) served, per tenant, endpoint and UTC hour. */
export interface PredictionUsageTable {
  tenant_id: string;
  endpoint: string;
  hour: string;
  predictions: number;
  requests: number;
}

/**
 * Logged requests of one endpoint and version from one flush (services/serving/prediction-log-records.ts,
 * migration 0015): their bodies (`inputs`) and answers (`outputs`), UTF-8 JSON text one after
 * another as bytes, found by `request_index` (JSON: `[atMs, requestId, latencyMs, rows, inputBytes,
 * outputBytes]` per request, in the order written), split into rows when read.
 */
export interface PredictionLogPacksTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  version: number;
  first_at: string;
  last_at: string;
  requests: number;
  rows: number;
  array_tensor: string | null;
  request_index: string;
  /** The texts, in records of migration 0015; empty in records whose texts are in a segment (`blob`). */
  inputs: Uint8Array;
  outputs: Uint8Array;
  /** The segment (a blob) holding the texts from `blob_offset` on, `blob_bytes` of them (inputs, then outputs); null: in `inputs` and `outputs`. */
  blob: string | null;
  blob_offset: number;
  blob_bytes: number;
}

/** Per-tenant serving quotas; null: the default (services/serving/quotas.ts). */
export interface ServingQuotasTable {
  tenant_id: string;
  max_endpoints: number | null;
  max_replicas_per_endpoint: number | null;
  max_replicas: number | null;
  updated_at: string;
}

export interface RegistryTables {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  endpoints: EndpointsTable;
  prediction_usage: PredictionUsageTable;
  prediction_log_packs: PredictionLogPacksTable;
  serving_quotas: ServingQuotasTable;
}
