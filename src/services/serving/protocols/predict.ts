/**
 * The predict protocol (POST /v1/endpoints/{name}/predict) over the data plane: target (authorize
 * and pick a version), read the body, run, answer. A raw body goes to a replica as it is when the
 * version's replicas read bodies themselves (every input width fixed): the replica parses, checks,
 * runs and writes the answer, so the HTTP thread, which serves every endpoint, does no per-row
 * work; otherwise it is read here, with the same codec and the same answers.
 */
import type { Principal } from '../../principal.js';
import { parseJson, predictAnswer, predictFeeds, type PredictAnswer } from '../codec/predict-body.js';
import type { DataPlane, PredictTarget } from '../data-plane.js';

/** Predict from a parsed body. */
export async function predictRows(plane: DataPlane, p: Principal, name: string, body: unknown, requestId?: string): Promise<PredictAnswer> {
  return answerParsed(plane, plane.rowsTarget(p, name, undefined, requestId), body);
}

/** Predict from the raw JSON body (UTF-8 bytes): the answer as JSON text when a replica wrote it. */
export async function predictJson(plane: DataPlane, p: Principal, name: string, json: Uint8Array, requestId?: string): Promise<string | PredictAnswer> {
  const t = plane.rowsTarget(p, name, undefined, requestId);
  if (t.served.pool.readsJson) return plane.runJson(t, json);
  return answerParsed(plane, t, parseJson(json));
}

async function answerParsed(plane: DataPlane, t: PredictTarget, body: unknown): Promise<PredictAnswer> {
  const spec = t.served.spec;
  const { feeds, rows } = predictFeeds(spec.signature, body);
  return predictAnswer(spec, await plane.run(t, feeds, rows), rows);
}
