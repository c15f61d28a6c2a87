/** JSON schemas of the model registry, endpoints and inference routes (TypeBox). */
import { Type } from '@sinclair/typebox';
import { NumberOrNull, StringEnum } from './schemas.js';

export const StageSchema = StringEnum(['none', 'staging', 'production', 'archived'] as const);
const Task = StringEnum(['classification', 'regression', 'other'] as const);
/** A version's task: what imports may declare, or a trained language model's. */
const VersionTask = StringEnum(['classification', 'regression', 'language_modeling', 'other'] as const);

const SigTensor = Type.Object({ name: Type.String(), dtype: Type.String(), shape: Type.Array(Type.Integer({ description: '-1: free (the batch)' })) });
export const SignatureSchema = Type.Object({
  inputs: Type.Array(Type.Object({
    name: Type.String({ description: 'raw column name used in instances' }), type: Type.String(), tensor: Type.String(), index: Type.Integer(),
    nullable: Type.Boolean(), categories: Type.Optional(Type.Array(Type.String())),
  }, { additionalProperties: true }), { description: 'raw columns (empty for imported graphs: send tensors)' }),
  tensors: Type.Array(SigTensor, { description: 'graph inputs' }),
  outputs: Type.Array(SigTensor),
  task: VersionTask,
  labels: Type.Optional(Type.Array(Type.String())),
}, { additionalProperties: true });

export const ModelVersionSchema = Type.Object({
  id: Type.String(), name: Type.String(), version: Type.Integer(), stage: StageSchema, kind: Type.String(), task: VersionTask,
  source: Type.Union([Type.Literal('trained'), Type.Literal('imported')]),
  signature: SignatureSchema,
  metrics: Type.Record(Type.String(), Type.Unknown()),
  lineage: Type.Object({
    job: Type.Union([Type.String(), Type.Null()]), dataset: Type.Union([Type.String(), Type.Null()]),
    datasetVersion: Type.Union([Type.Integer(), Type.Null()]), params: Type.Record(Type.String(), Type.Unknown()),
    optimizedFrom: Type.Optional(Type.Object({
      model: Type.String(), version: Type.Integer(), method: Type.String(),
    }, { description: 'set on a version an optimize job registered: the version it was made from, and how' })),
    teacher: Type.Optional(Type.Object({
      model: Type.String(), version: Type.Integer(), temperature: Type.Number(), alpha: Type.Number(),
    }, { description: 'set on a version a train job distilled from a teacher: the teacher version, temperature and alpha' })),
  }),
  description: Type.Union([Type.String(), Type.Null()]),
  sizeBytes: Type.Integer(), sha256: Type.String(), createdAt: Type.String(), updatedAt: Type.String(),
});

const Stages = Type.Object({
  none: Type.Array(Type.Integer()), staging: Type.Array(Type.Integer()), production: Type.Array(Type.Integer()), archived: Type.Array(Type.Integer()),
});
export const ModelSummarySchema = Type.Object({
  id: Type.String(), name: Type.String(), description: Type.Union([Type.String(), Type.Null()]), latestVersion: Type.Integer(),
  versions: Type.Integer({ description: 'number of versions' }), stages: Stages, createdAt: Type.String(), updatedAt: Type.String(),
});
export const ModelDetailSchema = Type.Composite([ModelSummarySchema, Type.Object({ latest: Type.Union([ModelVersionSchema, Type.Null()]) })]);

export const ModelParams = Type.Object({ name: Type.String() });
export const VersionParams = Type.Object({ name: Type.String(), v: Type.String({ description: 'version number, a stage (production, staging…: its newest version) or latest' }) });

export const SetStageBody = Type.Object({
  stage: StageSchema,
  archiveExisting: Type.Optional(Type.Boolean({ default: true, description: 'promoting to production archives the other production versions (default true)' })),
}, { additionalProperties: false });

export const ImportQuery = Type.Object({
  task: Type.Optional(Task),
  labels: Type.Optional(Type.String({ description: 'comma-separated class labels, in the order of the probability columns' })),
  description: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String({ description: "what the graph is (default 'onnx')" })),
});

const Traffic = Type.Array(Type.Object({ version: Type.Integer({ minimum: 1 }), weight: Type.Number({ minimum: 0 }) }, { additionalProperties: false }), { minItems: 1 });
const ReplicasIn = Type.Object({ min: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })), max: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })) }, { additionalProperties: false });
const BatchingIn = Type.Object({
  maxBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'rows per model run; 1 turns batching off (default 32)' })),
  maxDelayMs: Type.Optional(Type.Number({ minimum: 0, maximum: 1000, description: 'how long a free replica waits for a batch to fill (default 0)' })),
}, { additionalProperties: false });
const AutoscalingIn = Type.Object({
  intervalMs: Type.Optional(Type.Integer({ minimum: 50, description: 'measurement period (default 1000)' })),
  cooldownMs: Type.Optional(Type.Integer({ minimum: 0, description: 'low load needed before scaling down (default 30000)' })),
  targetQueueDepth: Type.Optional(Type.Number({ minimum: 0, description: 'rows waiting per replica that trigger a scale-up (default 8)' })),
  targetLatencyMs: Type.Optional(Type.Number({ minimum: 0, description: 'mean latency that triggers a scale-up while requests wait (default 0: off)' })),
  targetTokensPerSecond: Type.Optional(Type.Number({ minimum: 0, description: 'language models: generated tokens/s per replica that trigger a scale-up (default 0: off)' })),
}, { additionalProperties: false });

const LoggingIn = Type.Object({
  sampleRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of requests whose rows are logged (GET …/predictions, drift): 0 off (default), 1 every request' })),
  retentionDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650, description: 'logged rows older than this are deleted (default 30)' })),
}, { additionalProperties: false });

export const CreateEndpointBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  model: Type.String({ minLength: 1 }),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  stage: Type.Optional(StageSchema),
  traffic: Type.Optional(Traffic),
  replicas: Type.Optional(ReplicasIn),
  batching: Type.Optional(BatchingIn),
  autoscaling: Type.Optional(AutoscalingIn),
  logging: Type.Optional(LoggingIn),
}, { additionalProperties: false });

const ShadowIn = Type.Union([
  Type.Object({
    version: Type.Integer({ minimum: 1, description: 'the candidate: a version of the endpoint\'s model (any, in the traffic or not); it runs on replicas of its own' }),
    percent: Type.Number({ minimum: 0, maximum: 100, description: 'share of requests the candidate gets a copy of, after they were answered (0 to 100)' }),
  }, { additionalProperties: false }),
  Type.Null({ description: 'removes the shadow' }),
]);

export const UpdateEndpointBody = Type.Object({
  traffic: Type.Optional(Traffic),
  version: Type.Optional(Type.Integer({ minimum: 1, description: 'roll all traffic to this version' })),
  stage: Type.Optional(StageSchema),
  replicas: Type.Optional(ReplicasIn),
  batching: Type.Optional(BatchingIn),
  autoscaling: Type.Optional(AutoscalingIn),
  logging: Type.Optional(LoggingIn),
  shadow: Type.Optional(ShadowIn),
}, { additionalProperties: false });

const ShadowOut = Type.Union([
  Type.Object({
    version: Type.Integer(), percent: Type.Number(),
    requests: Type.Integer({ description: 'copies sent to the candidate (this node, since the shadow was set)' }),
    dropped: Type.Integer({ description: 'copies not sent: as many were in flight as allowed' }),
    errors: Type.Integer({ description: 'copies the candidate failed to answer (the requests were answered)' }),
    rows: Type.Integer({ description: 'rows compared' }),
    agreement: Type.Union([Type.Number(), Type.Null()], { description: 'share of compared rows that agree: same label (classifiers), values within 0.1% (regressors)' }),
    p50LatencyMs: Type.Union([Type.Number(), Type.Null()], { description: 'median time of the candidate\'s answers' }),
    lastError: Type.Union([Type.String(), Type.Null()]),
    replicas: Type.Integer(), ready: Type.Integer(),
  }),
  Type.Null(),
]);

export const EndpointSchema = Type.Object({
  id: Type.String(), name: Type.String(), model: Type.String(), stage: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('loading'), Type.Literal('ready'), Type.Literal('updating'), Type.Literal('failed')]),
  error: Type.Union([Type.String(), Type.Null()]),
  traffic: Type.Array(Type.Object({ version: Type.Integer(), weight: Type.Number() })),
  replicas: Type.Object({ min: Type.Integer(), max: Type.Integer(), current: Type.Integer(), ready: Type.Integer() }),
  batching: Type.Object({ maxBatchSize: Type.Integer(), maxDelayMs: Type.Number() }),
  autoscaling: Type.Object({ intervalMs: Type.Integer(), cooldownMs: Type.Integer(), targetQueueDepth: Type.Number(), targetLatencyMs: Type.Number(), targetTokensPerSecond: Type.Number() }),
  logging: Type.Object({ sampleRate: Type.Number(), retentionDays: Type.Number() }),
  shadow: ShadowOut,
  versions: Type.Array(Type.Object({
    version: Type.Integer(), weight: Type.Number(), replicas: Type.Integer(), ready: Type.Integer(), queueDepth: Type.Integer(), inflight: Type.Integer(),
  })),
  events: Type.Array(Type.Object({
    at: Type.String(), type: Type.String(), version: Type.Optional(Type.Integer()), from: Type.Optional(Type.Integer()),
    to: Type.Optional(Type.Integer()), message: Type.String(),
  })),
  urls: Type.Object({ predict: Type.String(), infer: Type.String() }),
  createdAt: Type.String(), updatedAt: Type.String(),
});

export const EndpointParams = Type.Object({ name: Type.String() });

export const PredictionsQuery = Type.Object({
  from: Type.Optional(Type.String({ description: 'ISO 8601: logged at or after' })),
  to: Type.Optional(Type.String({ description: 'ISO 8601: logged before' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'rows per page (default 100)' })),
  cursor: Type.Optional(Type.String({ description: 'the `next` of the previous page' })),
});

export const LoggedPredictions = Type.Object({
  data: Type.Array(Type.Object({
    at: Type.String({ format: 'date-time' }), requestId: Type.String(), version: Type.Integer(), latencyMs: Type.Number(),
    input: Type.Record(Type.String(), Type.Unknown(), { description: 'the row: raw columns (missing as null), or an imported model\'s input tensors' }),
    output: Type.Object({
      label: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])), probabilities: Type.Optional(Type.Array(Type.Number())),
      value: Type.Optional(Type.Union([Type.Number(), Type.Array(Type.Number())])),
    }, { description: 'the prediction, as the predict route answered it' }),
  })),
  next: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next (older) page; null on the last' }),
});
export const DriftQuery = Type.Object({
  window: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 86_400, description: 'seconds back from now (default 3600)' })),
  version: Type.Optional(Type.Integer({ minimum: 1, description: 'a version in the traffic (default: the one with the most)' })),
});

const Ks = Type.Object({
  statistic: Type.Number({ description: 'largest distance between the empirical distribution functions' }),
  pValue: Type.Number({ description: 'asymptotic two-sample p-value' }),
});

export const DriftReport = Type.Object({
  version: Type.Integer(), windowSeconds: Type.Integer(), from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }),
  rows: Type.Integer({ description: 'logged rows of the version in the window that were compared' }),
  truncated: Type.Boolean({ description: 'the window held more rows than the 10,000 newest read' }),
  thresholds: Type.Object({ psi: Type.Number(), ksPValue: Type.Number(), ksStatistic: Type.Number() }),
  features: Type.Array(Type.Object({
    name: Type.String(), type: Type.Union([Type.Literal('numeric'), Type.Literal('categorical')]),
    psi: Type.Number(), ks: Type.Optional(Ks), missingShare: Type.Number(), unseenShare: Type.Optional(Type.Number()), drifted: Type.Boolean(),
  })),
  prediction: Type.Union([Type.Object({ psi: Type.Number(), drifted: Type.Boolean() }), Type.Null()]),
  message: Type.Optional(Type.String()),
});

export const V2ModelParams = Type.Object({ endpoint: Type.String() });

export const PredictBody = Type.Object({
  instances: Type.Optional(Type.Array(Type.Unknown(), { description: 'rows: objects keyed by column, or arrays of numbers' })),
  inputs: Type.Optional(Type.Array(Type.Unknown(), { description: 'alias of instances' })),
  impute: Type.Optional(Type.Boolean({
    default: false,
    description: "columns absent from a row go to the model's fitted imputation (as missing values) instead of a 422 `missing_column`; only for columns the model can impute (nullable in its signature). Unknown columns are refused either way.",
  })),
}, { additionalProperties: true });

export const ExplainBody = Type.Object({
  instances: Type.Array(Type.Unknown(), { description: 'rows to explain (at most 10): objects keyed by column', minItems: 1 }),
  background: Type.Optional(Type.Array(Type.Unknown(), { description: "rows the explained ones are compared with (at most 100); default: the training sample kept with the version", minItems: 1 })),
  samples: Type.Optional(Type.Integer({ minimum: 1, maximum: 2048, default: 256, description: 'KernelSHAP coalitions per row (models that are not tree ensembles)' })),
  seed: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'seed of the KernelSHAP coalition draws' })),
  impute: Type.Optional(Type.Boolean({ default: false, description: 'as in predict' })),
}, { additionalProperties: false });

export const V2InferBody = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: '`impute: true`: raw columns left out are imputed, as `impute` of the predict route' })),
  inputs: Type.Array(Type.Object({
    name: Type.String(),
    shape: Type.Array(Type.Integer({ minimum: 0 })),
    datatype: Type.String({ description: 'BOOL, UINT8, INT8, INT32, INT64, FP32, FP64, BYTES' }),
    data: Type.Unknown({ description: 'row-major, flat or nested' }),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }), { minItems: 1 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }))),
}, { additionalProperties: true });

export const ServingQuotaSchema = Type.Object({
  maxEndpoints: Type.Integer({ minimum: 0, description: 'endpoints of the tenant (default 10)' }),
  maxReplicasPerEndpoint: Type.Integer({ minimum: 1, maximum: 64, description: 'highest replicas.max of an endpoint (default 8)' }),
  maxReplicas: Type.Integer({ minimum: 0, description: "replicas over all the tenant's endpoints, counted as replicas.max per version in the traffic (default 16)" }),
});

export const ServingQuotaPatch = Type.Object({
  maxEndpoints: Type.Optional(NumberOrNull({ integer: true, minimum: 0, description: 'null: back to the default (10)' })),
  maxReplicasPerEndpoint: Type.Optional(NumberOrNull({ integer: true, minimum: 1, maximum: 64, description: 'null: back to the default (8)' })),
  maxReplicas: Type.Optional(NumberOrNull({ integer: true, minimum: 0, description: 'null: back to the default (16)' })),
});
