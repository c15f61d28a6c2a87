/**
 * The edge of the OpenAI-compatible API (everything under /openai/v1): errors in OpenAI's shape
 * `{"error": {message, type, param, code}}` (so the `openai` client raises its typed errors),
 * and the rate limits, checked before every request with the x-ratelimit-* headers on the answer.
 * A plugin holding OpenAI routes calls `registerOpenAiEdge` first; its hooks stay inside it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { redactUrl } from '../../infra/logger.js';
import { rateLimitHeaders, type RateState } from '../../services/rate-limits.js';
import type { Platform } from '../platform.js';
import { errorAnswer, errorReplyFor, type ErrorReply } from './errors.js';

/** OpenAI's error types by status. */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The body of an error in OpenAI's shape; `param` is the request field at fault, when known. */
export function openAiErrorBody(e: ErrorReply): { error: { message: string; type: string; param: string | null; code: string } } {
  const field = e.details?.field ?? e.details?.param;
  return { error: { message: e.message, type: errorType(e.status), param: typeof field === 'string' ? field : null, code: e.code } };
}

export function sendOpenAiError(reply: FastifyReply, e: ErrorReply): FastifyReply {
  reply.request.errorCode = e.code;
  const rate = e.details?.rateLimit as RateState | undefined;
  return reply.code(e.status).headers({ ...errorAnswer(e).headers, ...(rate ? rateLimitHeaders(rate) : {}) })
    .type('application/json').send(openAiErrorBody(e));
}

export function registerOpenAiEdge(app: FastifyInstance, platform: Platform): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => sendOpenAiError(reply, errorReplyFor(err, req.id, req.log)));
  app.setNotFoundHandler((req, reply) => sendOpenAiError(reply, {
    status: 404, code: 'route_not_found',
    message: `There is no route ${req.method} ${redactUrl(req.url.split('?')[0]!)} in the OpenAI-compatible API; it has chat/completions, completions, embeddings and models.`,
  }));
  app.addHook('preHandler', async (req, reply) => {
    if (!req.principal) return;
    reply.headers(rateLimitHeaders(await platform.lm.admit(req.principal)));
  });
}

/** After an answer's tokens are known: meters them and sets the headers to what is left. */
export async function recordAnswerTokens(platform: Platform, req: FastifyRequest, reply: FastifyReply, endpoint: string, tokens: { prompt: number; completion: number }): Promise<void> {
  const state = await platform.lm.recordTokens(req.principal!, endpoint, tokens);
  if (!reply.sent) reply.headers(rateLimitHeaders(state));
}
