/** Messages between the main thread and a replica worker (structured clone; buffers transferred). */
import type { Feeds, OutputRoles } from '../../ml/instances.js';
import type { Signature } from '../../ml/signature.js';

/** What a replica needs to read predict bodies and write their answers itself. */
export interface PredictSpec {
  signature: Signature;
  roles: OutputRoles;
  /** `model` and `version` of the answer. */
  model: string;
  version: number;
}

/**
 * One request of a batch: feeds already made on the main thread, or the raw JSON body of a
 * predict call (UTF-8), which the replica parses, checks, runs and answers as JSON text. The
 * bodies of a batch travel as one transferred buffer (`bodies`), in request order, `json` bytes
 * each: cloning a buffer through postMessage costs ~10× transferring it.
 */
export type ReplicaRequest = { feeds: Feeds } | { json: number };

/** A refusal with its HTTP status (a bad body: invalid JSON, a bad row or column). */
export interface ReplicaError {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ToReplica =
  | { type: 'load'; model: Uint8Array; threads: number; fetches: string[]; warmup?: Feeds; predict?: PredictSpec }
  | { type: 'run'; id: number; requests: ReplicaRequest[]; maxRows: number; bodies?: Uint8Array }
  | { type: 'close' };

export type RunResult =
  | { ok: true; outputs: Feeds }
  | { ok: true; answer: string; rows: number }
  | { ok: false; message: string; error?: ReplicaError };

export type FromReplica =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  /** `runs`: the rows of each model run the batch took (for the batch-size metric). */
  | { type: 'result'; id: number; results: RunResult[]; runMs: number; runs: number[] };
