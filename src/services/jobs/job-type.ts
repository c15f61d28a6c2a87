/**
 * Job types: the plugin interface every kind of long-running work implements (`train`, `tune`,
 * the diagnostic `noop` and `sleep`, …), and the registry they join.
 *
 * A job type has two halves that run in different processes:
 *
 * 1. `validate(spec, {principal, platform})` runs in the API process when `POST /v1/jobs`
 *    arrives, BEFORE anything is queued. It throws an InvalidInputError for a
 *    spec it cannot run, so a bad spec never queues, and returns the normalised spec (defaults
 *    filled in) and optionally the resources the job needs when the caller named none.
 *
 * 2. `module` is the path (or file: URL) of an ES module executed in a worker process, one child
 *    process per job run. It exports
 *
 *        export async function run(ctx: JobContext): Promise<JobOutcome>
 *
 *    and, optionally, `describe` for documentation. The worker process opens its own store
 *    connection and blob store on the same AIAAS_HOME (`await ctx.services()`), so a train job can
 *    read datasets and register a model version.
 *
 * Registering (in the composition root, `src/interfaces/platform.ts`, after the job system is
 * built):
 *
 *     platform.jobs.types.register({
 *       name: 'train',
 *       description: 'Train a model on a dataset and register a version',
 *       module: new URL('./train-job.js', import.meta.url).href,
 *       defaultResources: { cpu: 1, memoryMb: 2048 },
 *       async validate(spec, { principal, platform }) { …; return { spec: normalised }; },
 *     });
 *
 * Contract inside `run`:
 * - Report with `ctx.progress({fraction, epoch?, epochs?, message?})`, `ctx.metrics({epoch, loss,
 *   …})` (one `metrics` event per call, appended to the job's `metrics.history`; the running job's
 *   `metrics` is `{ history }` until the outcome's final metrics replace it, keeping that history
 *   unless they bring their own), `ctx.log(line)` (stdout/stderr lines are logged too).
 * - Honour `ctx.signal`: it aborts with reason `'cancel'` (stop, nothing to keep), `'preempt'`
 *   (a higher-priority job needs the resources, or the server is shutting down: save a checkpoint
 *   with `ctx.checkpoint.save(bytes)` and return or throw) or `'lost'`. After an abort, whatever
 *   `run` returns or throws is ignored: the job is requeued (preempt) or cancelled.
 *   A job that does not stop within AIAAS_JOB_GRACE_SECONDS is killed; it then resumes from its
 *   last saved checkpoint. Check `ctx.signal.aborted` right before an effect that must happen
 *   once (registering a model version): after an abort the run's outcome is discarded.
 * - Checkpoint often enough that a crash loses little: `ctx.checkpoint.save(bytes)` resolves when
 *   the bytes are durable (a blob, referenced by the job). A new run of the same job (after a
 *   preemption, a crash, a retry) gets them back from `ctx.checkpoint.load()`.
 * - Throw `new RetryableError(message)` (or any error with `retryable: true`) for a failure that
 *   may go away (a transient I/O error); the job is retried with exponential backoff up to its
 *   `retry.maxAttempts`. Any other throw fails the job with the error's message.
 * - Give the granted thread count to native libraries: `ctx.threads` (ONNX Runtime's
 *   `intraOpNumThreads`); the heap is limited to `resources.memoryMb` by `--max-old-space-size`.
 */
import type { Logger } from '../../infra/logger.js';
import type { Config } from '../../infra/config.js';
import type { Db } from '../../infra/store/database.js';
import type { BlobStore } from '../../infra/blob-store.js';
import { DomainError, InvalidInputError } from '../../infra/errors.js';
import type { Principal } from '../principal.js';

/** What a job asks for, and what a node offers. `cpu` may be fractional (0.5 = half a core). */
export interface Resources {
  cpu: number;
  memoryMb: number;
  gpu: number;
}

export interface Progress {
  /** 0..1 */
  fraction: number;
  epoch?: number;
  epochs?: number;
  message?: string;
}

export interface JobResult {
  model: string;
  version: number;
}

export interface JobOutcome {
  /** Final metrics of the job (replace the running ones reported with ctx.metrics). */
  metrics?: Record<string, unknown>;
  /** What the job produced, e.g. the model version a train job registered. */
  result?: JobResult;
}

/** Why `ctx.signal` aborted. */
export type AbortReason = 'cancel' | 'preempt' | 'lost';

/** What a job's code can use in the worker process, opened lazily on first call. */
export interface WorkerServices {
  config: Config;
  logger: Logger;
  db: Db;
  blobs: BlobStore;
}

export interface JobContext<Spec = any> {
  jobId: string;
  tenantId: string;
  type: string;
  name: string | null;
  /** The normalised spec `validate` returned. */
  spec: Spec;
  /** 1 for the first run; every start (retry, resume after preemption or crash) adds one. */
  attempt: number;
  /** Who submitted the job (their role at submission time). */
  principal: Principal;
  /** Aborts with an AbortReason as `signal.reason`. */
  signal: AbortSignal;
  /** What the scheduler granted, and the GPU indices on this node (also in CUDA_VISIBLE_DEVICES). */
  resources: Resources & { gpuIds: number[] };
  /** Threads to use: max(1, floor(resources.cpu)). Pass to ONNX Runtime as intraOpNumThreads. */
  threads: number;
  progress(p: Progress): void;
  metrics(record: Record<string, unknown>): void;
  log(line: string): void;
  checkpoint: {
    /** The bytes of the last checkpoint this job saved (in any earlier run), if any. */
    load(): Promise<Uint8Array | undefined>;
    /**
     * Stores a checkpoint; resolves once it is durable and referenced by the job. `blobs`: other
     * blobs (put with the worker's blob store) that this checkpoint names, such as finished parts of
     * an output; the job holds them with it until a later checkpoint leaves them out or the job ends.
     */
    save(bytes: Uint8Array, o?: { blobs?: string[] }): Promise<void>;
  };
  /** The store, blob store, config and a logger, opened in this worker process on first call. */
  services(): Promise<WorkerServices>;
}

/** The module a job type names: `export async function run(ctx) {…}`. */
export interface JobModule {
  run(ctx: JobContext): Promise<JobOutcome | void>;
}

export interface ValidateContext<P = unknown> {
  principal: Principal;
  /** The job's `name` field (a train job's model name), which is not part of the spec. */
  name?: string;
  /** The composition root (`Platform` of src/interfaces/platform.ts). */
  platform: P;
}

export interface ValidatedSpec<Spec = unknown> {
  spec: Spec;
  /** Used for any resource the caller did not name (before the type's defaultResources). */
  resources?: Partial<Resources>;
  /** A display name for the job (e.g. the model name of a train job). */
  name?: string;
}

export interface JobType<Spec = unknown, P = unknown> {
  /** The `type` field of POST /v1/jobs. Lower-case letters, digits, '_' and '-'. */
  name: string;
  description?: string;
  /** Path or file: URL of the module that exports `run(ctx)`; executed in a worker process. */
  module: string;
  defaultResources?: Partial<Resources>;
  /**
   * Checks and normalises the type-specific fields (everything of the POST body except `type`,
   * `priority`, `resources`, `retry`, `name`). Throws an InvalidInputError for an unusable spec.
   */
  validate(spec: Record<string, unknown>, ctx: ValidateContext<P>): ValidatedSpec<Spec> | Promise<ValidatedSpec<Spec>>;
}

/** A failure that may succeed when tried again: the job is retried with backoff. */
export class RetryableError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'RetryableError';
  }
}

export const DEFAULT_RESOURCES: Resources = { cpu: 1, memoryMb: 512, gpu: 0 };
const TYPE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export class JobTypeRegistry<P = unknown> {
  private readonly types = new Map<string, JobType<any, P>>();

  register(type: JobType<any, P>): void {
    if (!TYPE_NAME.test(type.name)) throw new Error(`job type name '${type.name}' is not allowed`);
    if (this.types.has(type.name)) throw new Error(`job type '${type.name}' is already registered`);
    if (!type.module) throw new Error(`job type '${type.name}' names no module`);
    this.types.set(type.name, type);
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  /** The type, or a 422 naming the known ones. */
  get(name: string): JobType<any, P> {
    const t = this.types.get(name);
    if (!t) {
      throw new InvalidInputError('unknown_job_type', `Job type '${name}' does not exist; use one of: ${[...this.types.keys()].sort().join(', ')}.`, { field: 'type', type: name });
    }
    return t;
  }

  list(): JobType<any, P>[] {
    return [...this.types.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Helpers for validate(): field checks that answer 422 with the field's name. */
export const specCheck = {
  number(spec: Record<string, unknown>, field: string, opts: { min?: number; max?: number; integer?: boolean; default?: number }): number {
    const v = spec[field] ?? opts.default;
    const bad = (why: string) => new InvalidInputError('invalid_job_spec', `'${field}' ${why}.`, { field });
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('must be a number');
    if (opts.integer && !Number.isInteger(v)) throw bad('must be a whole number');
    if (opts.min !== undefined && v < opts.min) throw bad(`must be at least ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) throw bad(`must be at most ${opts.max}`);
    return v;
  },
  boolean(spec: Record<string, unknown>, field: string, fallback: boolean): boolean {
    const v = spec[field] ?? fallback;
    if (typeof v !== 'boolean') throw new InvalidInputError('invalid_job_spec', `'${field}' must be true or false.`, { field });
    return v;
  },
  noOthers(spec: Record<string, unknown>, allowed: string[]): void {
    const extra = Object.keys(spec).filter((k) => !allowed.includes(k));
    if (extra.length) {
      throw new InvalidInputError('invalid_job_spec', `Unknown field '${extra[0]}' for this job type; allowed: ${allowed.join(', ') || 'none'}.`, { field: extra[0] });
    }
  },
};

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
