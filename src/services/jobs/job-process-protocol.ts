/** Messages between a node agent and a job's worker process (Node IPC, structured clone). */
import type { AbortReason, JobOutcome, Progress, Resources } from './job-type.js';
import type { Principal } from '../principal.js';

export interface StartPayload {
  jobId: string;
  tenantId: string;
  type: string;
  name: string | null;
  spec: unknown;
  attempt: number;
  principal: Principal;
  resources: Resources & { gpuIds: number[] };
  threads: number;
  /** Path or file: URL of the job type's module. */
  module: string;
  /** Blob hash of the last checkpoint, if any. */
  checkpoint: string | null;
  /** Environment variables of this job (its id, thread counts), set before its code runs: a spare worker was started without them. */
  env?: Record<string, string>;
}

export type ToWorker =
  | { t: 'start'; job: StartPayload }
  | { t: 'abort'; reason: AbortReason }
  | { t: 'checkpoint-ok'; id: number }
  | { t: 'checkpoint-failed'; id: number; message: string };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'progress'; progress: Progress }
  | { t: 'metrics'; metrics: Record<string, unknown> }
  | { t: 'log'; line: string }
  | { t: 'checkpoint'; id: number; hash: string; bytes: number; blobs?: string[] }
  | { t: 'done'; outcome: JobOutcome }
  | { t: 'failed'; message: string; retryable: boolean; code?: string }
  | { t: 'aborted'; reason: AbortReason };
