/**
 * Every error leaves as `{"error": {code, message, details}}` with the status of API.md, whether
 * it came from a lower layer (a DomainError, whose kind gets its status here and only here), from
 * schema validation, from Fastify's body parsing, or from a bug (500, logged with its stack, never
 * shown to the caller).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind } from '../../infra/errors.js';
import { redactUrl } from '../../infra/logger.js';

/**
 * An error of the HTTP edge that carries its status: for what only HTTP knows (a multipart form
 * that Fastify could not read, with the 4xx it chose). The layers below throw DomainErrors.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export interface ErrorReply {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const FASTIFY_CODES: Record<string, (e: FastifyError) => ErrorReply> = {
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => ({ status: 400, code: 'invalid_json', message: `The body is not valid JSON (${e.message}). Check quoting and commas.` }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => ({ status: 400, code: 'invalid_json', message: 'The body is empty but Content-Type says JSON. Send a JSON object.' }),
  FST_ERR_CTP_BODY_TOO_LARGE: () => ({ status: 413, code: 'payload_too_large', message: 'The request body is larger than the limit. Send less, or raise AIAAS_BODY_LIMIT_BYTES.' }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) => ({ status: 415, code: 'unsupported_media_type', message: `${e.message}. Send Content-Type: application/json.` }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ({ status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body sent.' }),
  FST_ERR_CTP_INVALID_TYPE: () => ({ status: 415, code: 'unsupported_media_type', message: 'The Content-Type header is not a valid media type. Send Content-Type: application/json.' }),
  FST_ERR_CTP_EMPTY_TYPE: () => ({ status: 415, code: 'unsupported_media_type', message: 'The Content-Type header is empty. Send Content-Type: application/json.' }),
  FST_ERR_BAD_URL: () => ({ status: 400, code: 'bad_url', message: 'The URL is not valid: a percent sign must start an escape like %20. Encode the path (encodeURIComponent).' }),
  FST_ERR_MAX_PARAM_LENGTH: () => ({ status: 414, code: 'uri_too_long', message: 'A path parameter is longer than allowed. Use a shorter name or id.' }),
};

/** The HTTP status of each kind of domain error: the one place where the lower layers' errors become statuses. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  malformed_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  invalid_input: 422,
  quota_exceeded: 429,
  cancelled: 499,
  internal: 500,
  unavailable: 503,
};

export function toErrorReply(err: unknown): ErrorReply | undefined {
  if (err instanceof DomainError) return { status: STATUS_OF_KIND[err.kind], code: err.code, message: err.message, details: err.details };
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const fe = err as FastifyError;
  if (fe?.validation) {
    const where = fe.validationContext ?? 'body';
    const errors = fe.validation.map((v) => ({
      path: `${where}${v.instancePath.replaceAll('/', '.')}`,
      message: validationMessage(v),
    }));
    const first = errors[0]!;
    return {
      // A body that parses but does not fit the schema is unusable (422); bad query or path is a bad request.
      status: where === 'body' ? 422 : 400,
      code: 'invalid_request',
      message: `${first.path}: ${first.message}. See /docs for this route's schema.`,
      details: { errors },
    };
  }
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return mapped(fe);
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: (fe.code ?? 'bad_request').toLowerCase(), message: fe.message };
  }
  return undefined;
}

/** What any error answers: known ones as they are, anything else a 500 that is logged (with its stack) but not shown. */
export function errorReplyFor(err: unknown, requestId: string, log: { error(obj: object, msg: string): void }): ErrorReply {
  const known = toErrorReply(err);
  if (known) return known;
  log.error({ err }, 'unhandled error');
  return { status: 500, code: 'internal_error', message: `Something went wrong on our side. Quote request id ${requestId} when reporting it.` };
}

function validationMessage(v: { keyword: string; params: Record<string, unknown>; message?: string }): string {
  if (v.keyword === 'additionalProperties') return `unknown field '${String(v.params.additionalProperty)}'`;
  if (v.keyword === 'enum') return `must be one of ${(v.params.allowedValues as unknown[]).join(', ')}`;
  return v.message ?? 'is invalid';
}

/** The body and extra headers of an error answer (the one format of API.md). */
export function errorAnswer(e: ErrorReply): { body: { error: { code: string; message: string; details?: Record<string, unknown> } }; headers: Record<string, string> } {
  const retryAfter = e.details?.retryAfterSeconds;
  const headers: Record<string, string> = e.status === 429 && typeof retryAfter === 'number' ? { 'retry-after': String(Math.ceil(retryAfter)) } : {};
  return { body: { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }, headers };
}

export function sendError(reply: FastifyReply, e: ErrorReply): FastifyReply {
  reply.request.errorCode = e.code;
  const { body, headers } = errorAnswer(e);
  return reply.code(e.status).headers(headers).type('application/json').send(body);
}

/** A whole HTTP/1.1 error answer as text, for writing to a socket outside any request (client errors, cut bodies). */
export function rawErrorAnswer(e: ErrorReply): string {
  const text = JSON.stringify(errorAnswer(e).body);
  return `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(text)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`;
}

/** Requests Node could not read (malformed, headers too large, too slow): answered in API.md's format, then closed. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e: ErrorReply = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? { status: 408, code: 'request_timeout', message: 'The request took too long to arrive (AIAAS_HEADERS_TIMEOUT_MS for the headers, AIAAS_REQUEST_TIMEOUT_MS for the whole request). Send it in one go.' }
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? { status: 431, code: 'headers_too_large', message: 'The request headers are larger than the server accepts (16 KiB). Send fewer or shorter headers.' }
      : { status: 400, code: 'bad_request', message: `The request is not valid HTTP/1.1 (${err.code ?? err.message}). Check the client.` };
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorAnswer(e));
  socket.once('finish', () => socket.destroy());
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    return sendError(reply, errorReplyFor(err, req.id, req.log));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, { status: 404, code: 'route_not_found', message: `There is no route ${req.method} ${redactUrl(req.url.split('?')[0]!)}. See /docs for the API reference.` }),
  );
}
