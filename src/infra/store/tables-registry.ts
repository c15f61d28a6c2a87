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
 * One logged request (services/serving/prediction-log.ts): its body (`input`) and answer
 * (`output`) as JSON text, split into its `rows` predicted rows when read.
 */
export interface PredictionLogRequestsTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  at: string;
  request_id: string;
  version: number;
  latency_ms: number;
  rows: number;
  input: string;
  output: string;
  array_tensor: string | null;
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
  prediction_log_requests: PredictionLogRequestsTable;
  serving_quotas: ServingQuotasTable;
}
