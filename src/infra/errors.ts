/**
 * The errors of the platform. The lower layers (infra, engine, ml, services) throw DomainErrors:
 * a kind (what sort of failure), a snake_case code, a message that says what went wrong and how
 * to fix it, and details. They know nothing of HTTP: interfaces/http/errors.ts gives each kind its
 * status, once, and answers `{"error": {code, message, details}}`.
 */
export type ErrorDetails = Record<string, unknown>;

/** The closed set of failure kinds (each has one HTTP status in interfaces/http/errors.ts). */
export type ErrorKind =
  | 'malformed_input' // the bytes cannot be read at all (bad JSON, bad gzip, ragged CSV)
  | 'invalid_input' // it reads, but the values cannot be used (bad parameter, unusable table)
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict' // the request clashes with the current state (name taken, version serving)
  | 'too_large'
  | 'unsupported_media_type'
  | 'quota_exceeded' // a quota or rate limit; `details.retryAfterSeconds` when waiting helps
  | 'cancelled'
  | 'unavailable' // not now (starting, shutting down); `details.retryAfterSeconds` when known
  | 'internal'; // our side is broken in a way we can explain (bad configuration, a damaged stored file)

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The base of each kind's class below: its constructor takes what a throw site knows (code, message, details). */
function ofKind(kind: ErrorKind) {
  return class extends DomainError {
    constructor(code: string, message: string, details?: ErrorDetails) {
      super(kind, code, message, details);
    }
  };
}

export class MalformedInputError extends ofKind('malformed_input') {}
export class InvalidInputError extends ofKind('invalid_input') {}
export class UnauthenticatedError extends ofKind('unauthenticated') {}
export class ForbiddenError extends ofKind('forbidden') {}
export class NotFoundError extends ofKind('not_found') {
  /** The usual one: `Dataset 'x' was not found.`, details `{dataset: 'x'}`. */
  static of(what: string, id: string): NotFoundError {
    return new NotFoundError('not_found', `${what} '${id}' was not found.`, { [what.toLowerCase()]: id });
  }
}
export class ConflictError extends ofKind('conflict') {}
export class TooLargeError extends ofKind('too_large') {}
export class UnsupportedMediaTypeError extends ofKind('unsupported_media_type') {}
export class QuotaExceededError extends ofKind('quota_exceeded') {}
export class CancelledError extends ofKind('cancelled') {}
export class UnavailableError extends ofKind('unavailable') {}
export class InternalError extends ofKind('internal') {}

/** What a DomainError is made of: plain data, so it can cross a worker thread (structured clone drops the class). */
export interface DomainErrorData {
  kind: ErrorKind;
  code: string;
  message: string;
  details?: ErrorDetails;
}

const CLASS_OF_KIND: Readonly<Record<ErrorKind, new (code: string, message: string, details?: ErrorDetails) => DomainError>> = {
  malformed_input: MalformedInputError,
  invalid_input: InvalidInputError,
  unauthenticated: UnauthenticatedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  conflict: ConflictError,
  too_large: TooLargeError,
  unsupported_media_type: UnsupportedMediaTypeError,
  quota_exceeded: QuotaExceededError,
  cancelled: CancelledError,
  unavailable: UnavailableError,
  internal: InternalError,
};

/** A DomainError as data (to send it to another thread). */
export function domainErrorData(err: DomainError): DomainErrorData {
  return { kind: err.kind, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** The DomainError of the right class back from its data (what domainErrorData sent from another thread). */
export function domainErrorFrom(data: DomainErrorData): DomainError {
  return new CLASS_OF_KIND[data.kind](data.code, data.message, data.details);
}
