/**
 * The one error type of the platform. Every layer throws AppError; the HTTP layer turns it into
 * `{"error": {code, message, details}}` with `status`. Messages say what went wrong and how to fix it.
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

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(400, code, message, details);
export const unauthorized = (message: string) => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string) => new AppError(403, 'forbidden', message);
export const notFound = (what: string, id: string) =>
  new AppError(404, 'not_found', `${what} '${id}' was not found.`, { [what.toLowerCase()]: id });
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(409, code, message, details);
export const tooLarge = (message: string, details?: Record<string, unknown>) =>
  new AppError(413, 'payload_too_large', message, details);
export const unprocessable = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(422, code, message, details);
export const tooManyRequests = (message: string, retryAfterSeconds: number, details?: Record<string, unknown>) =>
  new AppError(429, 'too_many_requests', message, { retryAfterSeconds, ...details });
