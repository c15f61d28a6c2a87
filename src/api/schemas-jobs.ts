/** JSON schemas of the jobs, cluster, quota and usage routes (TypeBox). */
import { Type } from '@sinclair/typebox';
import { ServingQuotaPatch, ServingQuotaSchema } from './schemas-serving.js';
import { NumberOrNull } from './schemas.js';

const Num = Type.Number();
const AnyObject = Type.Object({}, { additionalProperties: true });

export const Resources = Type.Object({
  cpu: Type.Number({ exclusiveMinimum: 0, description: 'cores; fractions allowed (0.5)' }),
  memoryMb: Type.Integer({ minimum: 16 }),
  gpu: Type.Integer({ minimum: 0 }),
});

export const SubmitJob = Type.Object({
  type: Type.String({ description: 'job type: train, tune, or the diagnostic noop and sleep (GET /v1/job-types lists them)' }),
  priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, default: 0, description: 'higher runs first, and may preempt lower' })),
  resources: Type.Optional(Type.Partial(Resources, { additionalProperties: false })),
  retry: Type.Optional(Type.Object({
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'runs allowed to fail with a retryable error (default 3)' })),
    backoffSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, description: 'first retry delay; doubles each time (default 2)' })),
  }, { additionalProperties: false })),
  name: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: true, description: 'common fields; the other fields are the job type\'s own (e.g. sleep: seconds, steps)' });

export const Attempt = Type.Object({
  attempt: Type.Integer(), node: Type.String(), pid: Type.Union([Type.Integer(), Type.Null()]),
  startedAt: Type.String(), finishedAt: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String({ description: 'running | succeeded | failed | cancelled | preempted | lost | interrupted' }),
  error: Type.Union([Type.String(), Type.Null()]), resumedFromCheckpoint: Type.Boolean(), cpuSeconds: Num, gpuSeconds: Num,
});

export const Job = Type.Object({
  id: Type.String(), type: Type.String(), name: Type.Union([Type.String(), Type.Null()]), tenant: Type.String(),
  status: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  priority: Type.Integer(), resources: Resources, spec: AnyObject,
  progress: Type.Object({ fraction: Num, epoch: Type.Optional(Num), epochs: Type.Optional(Num), message: Type.Optional(Type.String()) }, { additionalProperties: true }),
  metrics: AnyObject,
  result: Type.Optional(Type.Object({ model: Type.String(), version: Type.Integer() }, { additionalProperties: true })),
  error: Type.Optional(Type.String()), errorCode: Type.Optional(Type.String()),
  queueReason: Type.Optional(Type.String({ description: 'why a queued job is not running yet' })),
  attempt: Type.Integer({ description: 'runs started so far' }), maxAttempts: Type.Integer(), failures: Type.Integer(), preemptions: Type.Integer(),
  cancelRequested: Type.Boolean(), node: Type.Optional(Type.String()),
  checkpoint: Type.Optional(Type.Object({ at: Type.String(), bytes: Type.Integer() })),
  cpuSeconds: Num, gpuSeconds: Num, parent: Type.Optional(Type.String()),
  createdAt: Type.String(), startedAt: Type.Optional(Type.String()), finishedAt: Type.Optional(Type.String()), updatedAt: Type.String(),
  attempts: Type.Optional(Type.Array(Attempt)),
});

export const JobQuery = Type.Object({
  status: Type.Optional(Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)))),
  type: Type.Optional(Type.String()),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  before: Type.Optional(Type.String({ description: 'page: jobs older than this job id' })),
});

export const LogLine = Type.Object({ seq: Type.Integer(), at: Type.String(), stream: Type.String(), line: Type.String() });

export const Quota = Type.Object({
  maxCpu: NumberOrNull({ minimum: 0, description: 'CPU cores at once (null: no limit)' }),
  maxGpu: NumberOrNull({ integer: true, minimum: 0 }),
  maxConcurrentJobs: NumberOrNull({ integer: true, minimum: 0 }),
  monthlyCpuSeconds: NumberOrNull({ minimum: 0, description: 'per calendar month, UTC' }),
});
export const QuotaPatch = Type.Partial(Quota, { additionalProperties: false });
/** A tenant's whole quota: jobs (null: no limit) and serving (always a number; see schemas-serving.ts). */
/** Rate limits of the OpenAI-compatible API (per key: PUT /v1/keys/{id}/limits; per tenant: in the quota); null: none. */
export const RateLimitsSchema = Type.Object({
  requestsPerMinute: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  tokensPerMinute: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'prompt + completion tokens' }),
});
export const RateLimitsPatch = Type.Partial(RateLimitsSchema, { additionalProperties: false });
export const TenantQuota = Type.Composite([Quota, ServingQuotaSchema, RateLimitsSchema]);
export const TenantQuotaPatch = Type.Composite([Type.Partial(Quota), ServingQuotaPatch, RateLimitsPatch], { additionalProperties: false });

const Alloc = Type.Object({ cpu: Num, memoryMb: Num, gpu: Num, jobs: Type.Integer() });
export const Cluster = Type.Object({
  at: Type.String(),
  nodes: Type.Array(Type.Object({
    id: Type.String(), hostname: Type.String(), kind: Type.String(), cpu: Num, memoryMb: Num, gpus: Type.Integer(),
    alive: Type.Boolean(), heartbeatAt: Type.String(), allocated: Alloc,
  })),
  capacity: Type.Object({ cpu: Num, memoryMb: Num, gpu: Num }),
  queue: Type.Object({ queued: Type.Integer(), running: Type.Integer() }),
  tenants: Type.Array(Type.Object({
    tenant: Type.String(), name: Type.String(), share: Type.Number({ description: 'dominant-resource share of the cluster (0..1)' }),
    usage: Alloc, queued: Type.Integer(), quota: Quota,
  })),
  executor: Type.String({ description: 'where jobs run: `local` (forked workers) or `slurm`' }),
  apiNodes: Type.Array(Type.Object({
    id: Type.String(), name: Type.String({ description: 'AIAAS_NODE_NAME' }), hostname: Type.String(), pid: Type.Integer(),
    startedAt: Type.String(), heartbeatAt: Type.String(), alive: Type.Boolean(), self: Type.Boolean({ description: 'the node that answered' }),
  }), { description: 'the API nodes on this store (several in the scale-out mode)' }),
  slurm: Type.Optional(Type.Object({
    nodes: Type.Array(Type.Object({
      name: Type.String(), state: Type.String(), flags: Type.Array(Type.String()), usable: Type.Boolean({ description: 'counted in the capacity jobs are admitted for (not drained, down or unresponsive)' }),
      cpus: Num, allocCpus: Num, memoryMb: Num, allocMemoryMb: Num, gpus: Type.Integer(), partitions: Type.Array(Type.String()), reason: Type.String(),
      jobs: Type.Array(Type.Object({ job: Type.String(), slurmJobId: Type.Integer(), state: Type.String() })),
    })),
    pending: Type.Array(Type.Object({ job: Type.String(), slurmJobId: Type.Integer(), state: Type.String(), reason: Type.String() })),
  }, { description: 'AIAAS_EXECUTOR=slurm: the Slurm nodes and which job runs where' })),
});

export const Usage = Type.Object({
  from: Type.String(), to: Type.String(),
  prices: Type.Object({ cpuSecond: Num, gpuSecond: Num, thousandPredictions: Num, gbMonth: Num, promptToken: Num, completionToken: Num }),
  data: Type.Array(Type.Object({
    tenant: Type.String(), name: Type.String(), cpuSeconds: Num, gpuSeconds: Num, jobs: Type.Integer(), predictions: Type.Integer(),
    promptTokens: Type.Integer(), completionTokens: Type.Integer(), storageBytes: Type.Integer(), cost: Num,
  })),
});
