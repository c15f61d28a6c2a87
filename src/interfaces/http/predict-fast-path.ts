/**
 * The prediction fast path: `POST /v1/endpoints/{name}/predict` answered straight from Node's
 * HTTP server, before Fastify's request lifecycle (routing, hooks, reply), which cost about as
 * much CPU as the rest of a prediction on a small model.
 *
 * It takes only requests it can decide from their headers alone, and leaves every other one to
 * Fastify's route (same service call, same answers): a JSON body within the body limit, a Bearer
 * key that authentication read less than a second ago (`keys.cached`: no store read, no
 * SHA-256), a role that may predict, no X-Tenant, a plain endpoint name, and a server that is not
 * closing. A first request with a key, or a revoked one after its second, goes through Fastify,
 * which reads the store. Then it is a transport like the route: the body's bytes go to the
 * data plane's predict protocol (`predictJson`: authorize, pick a version, a replica parses,
 * checks, runs and writes the answer), errors answer in API.md's format, and the request is
 * counted in the HTTP metrics and by the data plane (`recordRequest`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SeriesCounter, type CounterSeries } from '../../infra/prometheus-series.js';
import type { Logger } from '../../infra/logger.js';
import type { Principal } from '../../services/principal.js';
import { DataPlane } from '../../services/serving/data-plane.js';
import { predictJson } from '../../services/serving/protocols/predict.js';
import type { Platform } from '../platform.js';
import { errorAnswer, errorReplyFor, type ErrorReply } from './errors.js';
import { requestId, type HttpMetrics } from './observability.js';

const PREFIX = '/v1/endpoints/';
const SUFFIX = '/predict';
/** The route's pattern, as Fastify labels it in the HTTP metrics. */
export const PREDICT_ROUTE = '/v1/endpoints/:name/predict';
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const JSON_TYPE = /^application\/json\s*(;|$)/i;
const JSON_ANSWER = 'application/json; charset=utf-8';

export class PredictFastPath {
  /** Set when the server starts closing: from then on Fastify answers (503 to new requests). */
  closing = false;
  private readonly log: Logger;
  private readonly taken: CounterSeries<never>;

  constructor(private readonly platform: Platform, private readonly metrics: HttpMetrics) {
    this.log = platform.logger;
    this.taken = new SeriesCounter('aiaas_http_predict_fast_path_total', 'Predictions answered by the fast path, before Fastify (the rest of the predict requests went through Fastify).', [], platform.metrics).series({});
  }

  /** Takes the request and answers it (true), or leaves it untouched for Fastify (false). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || this.closing) return false;
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX) || !url.endsWith(SUFFIX)) return false;
    const name = url.slice(PREFIX.length, url.length - SUFFIX.length);
    if (!PLAIN_NAME.test(name)) return false;
    const h = req.headers;
    if (h['x-tenant'] !== undefined || !JSON_TYPE.test(h['content-type'] ?? '')) return false;
    if (Number(h['content-length'] ?? 0) > this.platform.config.bodyLimitBytes) return false;
    const principal = this.principal(h.authorization);
    if (!principal) return false;
    this.taken.inc();
    this.serve(req, res, principal, name);
    return true;
  }

  private principal(header: string | undefined): Principal | undefined {
    if (!header?.startsWith('Bearer ')) return undefined;
    const token = header.slice(7).trim();
    if (token === '' || /\s/.test(token)) return undefined;
    const key = this.platform.keys.cached(token);
    return key && DataPlane.mayPredict(key.role) ? key : undefined;
  }

  private serve(req: IncomingMessage, res: ServerResponse, principal: Principal, name: string): void {
    const started = performance.now();
    const id = requestId(req);
    const limit = this.platform.config.bodyLimitBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        this.answerError(res, id, principal, name, started, { status: 413, code: 'payload_too_large', message: 'The request body is larger than the limit. Send less, or raise AIAAS_BODY_LIMIT_BYTES.' });
        // The rest of the body is not read: the connection goes once the answer is out.
        res.once('finish', () => req.destroy());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      predictJson(this.platform.serving.plane, principal, name, body, id).then(
        (out) => this.answer(res, id, principal, name, started, 200, typeof out === 'string' ? out : JSON.stringify(out)),
        (err: unknown) => this.answerError(res, id, principal, name, started, errorReplyFor(err, id, this.log.child({ reqId: id }))),
      );
    });
    // A client that goes away mid-body leaves nothing to answer.
    req.on('error', () => undefined);
  }

  private answerError(res: ServerResponse, id: string, principal: Principal, name: string, started: number, e: ErrorReply): void {
    const { body, headers } = errorAnswer(e);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    this.answer(res, id, principal, name, started, e.status, JSON.stringify(body));
  }

  private answer(res: ServerResponse, id: string, principal: Principal, name: string, started: number, status: number, text: string): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': JSON_ANSWER, 'content-length': Buffer.byteLength(text), 'x-request-id': id });
    res.end(text);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.record('POST', PREDICT_ROUTE, status, seconds);
    this.platform.serving.plane.recordRequest(principal.tenantId, name, status, seconds);
  }
}
