/** Messages between the main thread and a replica worker (structured clone; buffers transferred). */
import type { DomainErrorData } from '../../infra/errors.js';
import type { BatchStats, DecoderShape, SequenceRequest, TokenEvent } from '../../engine/lm/continuous-batch.js';
import type { Feeds } from './codec/instances.js';
import type { PredictSpec } from './codec/predict-body.js';

/**
 * One request of a batch: feeds already made on the main thread, or the raw JSON body of a
 * predict call (UTF-8), which the replica parses, checks, runs and answers as JSON text. The
 * bodies of a batch travel as one transferred buffer (`bodies`), in request order, `json` bytes
 * each: cloning a buffer through postMessage costs ~10× transferring it.
 */
export type ReplicaRequest = { feeds: Feeds } | { json: number };

/**
 * A refusal (a bad body: invalid JSON, a bad row or column; a stopped run): a DomainError as
 * data, since structured clone drops its class; the main thread rebuilds it (domainErrorFrom).
 */
export type ReplicaError = DomainErrorData;

/** A file of ONNX external data: the `location` the graph names, and where it is on this machine. */
export interface ExternalDataFile {
  path: string;
  data: string;
}

export type ToReplica =
  /** `split`: a request of more than `maxRows` rows may be run in pieces (every input and output has a free first axis). */
  /** `externalData`: the graph's external data files (`path` as the graph names it, `data` a local file). */
  | { type: 'load'; model: Uint8Array; threads: number; fetches: string[]; split: boolean; warmup?: Feeds; predict?: PredictSpec; externalData?: ExternalDataFile[]; generation?: GenerationLoad }
  | { type: 'run'; id: number; requests: ReplicaRequest[]; maxRows: number; bodies?: Uint8Array }
  /**
   * Release the session and exit once the runs held end. `stop`: each run ends after the piece
   * of at most `maxRows` rows under way (what it did not reach is answered 503), so that a close
   * takes one piece, not the rest of a large batch.
   */
  | { type: 'close'; stop: boolean }
  /** A language model's replica: start generating a sequence (its tokens come back as `tokens` messages). */
  | { type: 'generate'; request: SequenceRequest }
  /** Stop generating a sequence (its client went away, or a stop sequence was met). */
  | { type: 'cancel'; id: number };

/** A replica of a language model (a key/value-cache decoder) runs a continuous batch instead of predict batches. */
export interface GenerationLoad {
  shape: DecoderShape;
  prefillChunk: number;
}

export type RunResult =
  | { ok: true; outputs: Feeds }
  | { ok: true; answer: string; rows: number }
  | { ok: false; message: string; error?: ReplicaError };

export type FromReplica =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  /** `runs`: the rows of each model run the batch took (for the batch-size metric). */
  | { type: 'result'; id: number; results: RunResult[]; runMs: number; runs: number[] }
  /** The tokens of one decoding iteration of a language model's continuous batch, and the batch after it. */
  | { type: 'tokens'; events: TokenEvent[]; stats: BatchStats };
