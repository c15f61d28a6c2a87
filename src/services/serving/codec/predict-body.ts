/**
 * The predict protocol's codec (POST /v1/endpoints/{name}/predict): a body (parsed, or its raw
 * UTF-8 bytes) into feeds, and outputs into the answer `{predictions, model, version}`. One
 * codec for the two places that read bodies: the HTTP thread (a body already parsed, or a model
 * whose input widths are not fixed) and the replica threads (raw bytes, ../replica-worker.ts).
 */
import { MalformedInputError } from '../../../infra/errors.js';
import type { Signature } from '../../../ml/signature.js';
import { instancesToFeeds, MAX_ROWS, readPredictBody, toPredictions, type Feeds, type OutputRoles, type Prediction } from './instances.js';
import { readNumberRows } from './number-rows.js';

/** What it takes to write a version's answers (a replica gets it to answer bodies itself). */
export interface PredictSpec {
  signature: Signature;
  roles: OutputRoles;
  /** `model` and `version` of the answer. */
  model: string;
  version: number;
}

export interface PredictAnswer {
  predictions: Prediction[];
  model: string;
  version: number;
}

/** A model's one float input of fixed width: bodies of number rows are read without JSON.parse. */
export interface NumberRowsInput {
  name: string;
  width: number;
  dtype: 'float32' | 'float64';
}

/** The refusal of a body that is not JSON (every route answers it alike). */
export function invalidJson(err: unknown): MalformedInputError {
  return new MalformedInputError('invalid_json', `The body is not valid JSON (${(err as Error).message}). Check quoting and commas.`);
}

/** `length` bytes of UTF-8 JSON from `at`, parsed (malformed input `invalid_json` if they are not JSON). */
export function parseJson(bytes: Uint8Array, at = 0, length = bytes.byteLength): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('utf8'));
  } catch (err) {
    throw invalidJson(err);
  }
}

/** A parsed predict body into feeds (throws the 4xx a bad body gets). */
export function predictFeeds(sig: Signature, body: unknown): { feeds: Feeds; rows: number } {
  const { instances, options } = readPredictBody(body);
  return instancesToFeeds(sig, instances, options);
}

/** The input whose number rows can be read straight from the bytes, if the model has one. */
export function numberRowsInput(sig: Signature): NumberRowsInput | undefined {
  const t = sig.tensors[0];
  if (sig.tensors.length !== 1 || !t || (t.dtype !== 'float32' && t.dtype !== 'float64')) return undefined;
  if (t.shape.length !== 2 || !(t.shape[1]! > 0)) return undefined;
  return { name: t.name, width: t.shape[1]!, dtype: t.dtype };
}

/**
 * A raw predict body (`length` bytes from `at`) into feeds: number rows read directly when the
 * model allows (`numberRows`), anything else parsed and read as `predictFeeds` does.
 */
export function predictJsonFeeds(sig: Signature, bytes: Uint8Array, at: number, length: number, numberRows?: NumberRowsInput): { feeds: Feeds; rows: number } {
  if (numberRows) {
    const { name, width, dtype } = numberRows;
    const read = readNumberRows(bytes, at, at + length, width, dtype, MAX_ROWS);
    if (read) return { feeds: { [name]: { dtype, dims: [read.rows, width], data: read.data } }, rows: read.rows };
  }
  return predictFeeds(sig, parseJson(bytes, at, length));
}

/** The answer to a predict call of `rows` rows. */
export function predictAnswer(spec: PredictSpec, outputs: Feeds, rows: number): PredictAnswer {
  return { predictions: toPredictions(spec.signature, spec.roles, outputs, rows), model: spec.model, version: spec.version };
}
