/**
 * Tables of the job system and scheduler: jobs, their events (progress, metrics, logs, status),
 * their attempts, the nodes that run them, per-tenant quotas and metered usage.
 */
export interface JobsTable {
  id: string;
  tenant_id: string;
  type: string;
  /** The job type's worker module (so a node agent needs no registry to run it). */
  module: string;
  name: string | null;
  /** queued | running | succeeded | failed | cancelled */
  status: string;
  priority: number;
  /** The normalised, type-specific spec (JSON). */
  spec: string;
  cpu: number;
  memory_mb: number;
  gpu: number;
  /** JSON: {fraction, epoch?, epochs?, message?} */
  progress: string;
  /** JSON object: the latest metrics. */
  metrics: string;
  /** JSON {model, version} or null. */
  result: string | null;
  error: string | null;
  error_code: string | null;
  /** Why a queued job is not running yet (quota, capacity, backoff, preemption). */
  queue_reason: string | null;
  /** Runs started so far (every start counts: failures, preemptions, lost nodes). */
  attempt: number;
  /** Failed runs so far (what `max_attempts` bounds). */
  failures: number;
  max_attempts: number;
  backoff_seconds: number;
  /** A queued job does not start before this time (retry backoff). */
  not_before: string | null;
  checkpoint_blob: string | null;
  checkpoint_at: string | null;
  checkpoint_bytes: number | null;
  node_id: string | null;
  /** JSON array of GPU indices granted on the node. */
  gpu_ids: string | null;
  worker_pid: number | null;
  heartbeat_at: string | null;
  cancel_requested: number;
  /** Set by the scheduler on a running job it preempts: the id of the job it makes room for. */
  preempt_for: string | null;
  preemptions: number;
  /** Last event sequence number handed out (events are numbered 1, 2, … per job). */
  event_seq: number;
  cpu_seconds: number;
  gpu_seconds: number;
  parent_id: string | null;
  created_by: string | null;
  created_role: string | null;
  created_at: string;
  started_at: string | null;
  /** When the current run started (started_at is the first). */
  run_started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  tenant_id: string;
  /** progress | metrics | log | status */
  kind: string;
  data: string;
  at: string;
}

export interface JobAttemptsTable {
  job_id: string;
  attempt: number;
  tenant_id: string;
  node_id: string;
  pid: number | null;
  cpu: number;
  gpu: number;
  started_at: string;
  finished_at: string | null;
  /** running | succeeded | failed | cancelled | preempted | lost | interrupted */
  outcome: string;
  error: string | null;
  resumed_from_checkpoint: number;
  cpu_seconds: number;
  gpu_seconds: number;
}

/** An API node (`aiaas server`) on this store, alive while its heartbeat is fresh. */
export interface ApiNodesTable {
  id: string;
  /** AIAAS_NODE_NAME */
  name: string;
  hostname: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}

export interface NodesTable {
  id: string;
  hostname: string;
  /** embedded (the server's own) | worker (an `aiaas worker` process) */
  kind: string;
  cpu: number;
  memory_mb: number;
  gpus: number;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}

export interface TenantQuotasTable {
  tenant_id: string;
  max_cpu: number | null;
  max_gpu: number | null;
  max_concurrent_jobs: number | null;
  monthly_cpu_seconds: number | null;
  updated_at: string;
}

/** Metered usage: one row per finished job run, or per batch of predictions. */
export interface UsageEventsTable {
  id: string;
  tenant_id: string;
  /** job | predictions */
  kind: string;
  job_id: string | null;
  endpoint: string | null;
  cpu_seconds: number;
  gpu_seconds: number;
  predictions: number;
  at: string;
}

export interface JobTables {
  jobs: JobsTable;
  job_events: JobEventsTable;
  job_attempts: JobAttemptsTable;
  nodes: NodesTable;
  api_nodes: ApiNodesTable;
  tenant_quotas: TenantQuotasTable;
  usage_events: UsageEventsTable;
}
