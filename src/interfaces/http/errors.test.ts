/** The one mapping of domain errors to HTTP answers: every kind's status, the body as API.md has it, Retry-After. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelledError, ConflictError, DomainError, ForbiddenError, InternalError, InvalidInputError, MalformedInputError,
  NotFoundError, QuotaExceededError, TooLargeError, UnauthenticatedError, UnavailableError, UnsupportedMediaTypeError,
  domainErrorData, domainErrorFrom, type ErrorDetails,
} from '../../infra/errors.js';
import { AppError, errorAnswer, STATUS_OF_KIND, toErrorReply } from './errors.js';

const CASES: [new (code: string, message: string, details?: ErrorDetails) => DomainError, number][] = [
  [MalformedInputError, 400], [UnauthenticatedError, 401], [ForbiddenError, 403], [NotFoundError, 404], [ConflictError, 409],
  [TooLargeError, 413], [UnsupportedMediaTypeError, 415], [InvalidInputError, 422], [QuotaExceededError, 429],
  [CancelledError, 499], [InternalError, 500], [UnavailableError, 503],
];

test('every kind of domain error answers its status with code, message and details unchanged', () => {
  const kinds = new Set<string>();
  for (const [Kind, status] of CASES) {
    const err = new Kind('some_code', 'What went wrong, and how to fix it.', { field: 'x', limit: 3 });
    kinds.add(err.kind);
    assert.ok(err instanceof Kind && err instanceof DomainError && err instanceof Error);
    assert.equal(err.name, Kind.name, 'the stack trace names the kind');
    assert.equal(STATUS_OF_KIND[err.kind], status, err.kind);
    const reply = toErrorReply(err)!;
    assert.equal(reply.status, status, Kind.name);
    assert.deepEqual(errorAnswer(reply).body, { error: { code: 'some_code', message: 'What went wrong, and how to fix it.', details: { field: 'x', limit: 3 } } });
  }
  assert.deepEqual([...kinds].sort(), Object.keys(STATUS_OF_KIND).sort(), 'each kind has a case here');
});

test('a domain error without details answers without a details field', () => {
  const { body } = errorAnswer(toErrorReply(new ForbiddenError('forbidden', 'Only admins can create admin keys.'))!);
  assert.deepEqual(body, { error: { code: 'forbidden', message: 'Only admins can create admin keys.' } });
});

test('a domain error sent to another thread as data comes back as its class and answers alike', () => {
  for (const [Kind] of CASES) {
    for (const details of [{ field: 'x' }, undefined]) {
      const err = new Kind('some_code', 'What went wrong.', details);
      // What postMessage does to it: the class is lost, the data is kept.
      const back = domainErrorFrom(structuredClone(domainErrorData(err)));
      assert.ok(back instanceof Kind, Kind.name);
      assert.deepEqual(toErrorReply(back), toErrorReply(err), Kind.name);
    }
  }
});

test('NotFoundError.of says what was not found, as notFound did', () => {
  const reply = toErrorReply(NotFoundError.of('Dataset', 'iris'))!;
  assert.deepEqual(reply, { status: 404, code: 'not_found', message: "Dataset 'iris' was not found.", details: { dataset: 'iris' } });
});

test('Retry-After (whole seconds, rounded up) on a 429 that says when to retry, and only there', () => {
  const limited = errorAnswer(toErrorReply(new QuotaExceededError('too_many_requests', 'Slow down.', { retryAfterSeconds: 1.2 }))!);
  assert.deepEqual(limited.headers, { 'retry-after': '2' });
  assert.deepEqual(limited.body.error.details, { retryAfterSeconds: 1.2 });
  assert.deepEqual(errorAnswer(toErrorReply(new QuotaExceededError('quota_exceeded', 'Over the quota.', { quota: 'replicas' }))!).headers, {});
  // As before: a 503 keeps retryAfterSeconds in its details but sends no header.
  const unavailable = errorAnswer(toErrorReply(new UnavailableError('endpoint_not_ready', 'Loading.', { retryAfterSeconds: 1 }))!);
  assert.deepEqual(unavailable.headers, {});
  assert.deepEqual(unavailable.body.error.details, { retryAfterSeconds: 1 });
});

test('an AppError (thrown at the HTTP edge only) answers the status it carries', () => {
  const reply = toErrorReply(new AppError(429, 'too_many_requests', 'The endpoint queue is full.', { retryAfterSeconds: 1 }))!;
  assert.equal(reply.status, 429);
  assert.deepEqual(errorAnswer(reply).headers, { 'retry-after': '1' });
});

test('anything else is not a known error (the caller answers 500 and logs it)', () => {
  assert.equal(toErrorReply(new Error('bug')), undefined);
});
