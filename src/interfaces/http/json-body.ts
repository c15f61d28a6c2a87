/**
 * JSON request bodies: nesting is limited before parsing. JSON.parse itself copes with any
 * depth, but what walks the value afterwards (schema validation, tensor flattening, logging)
 * recurses, and 100,000 levels of `[` overflow the stack: a 500 for one short request.
 */
import type { FastifyInstance } from 'fastify';
import { MalformedInputError } from '../../infra/errors.js';

/** Deeper than any real request: tensors have a handful of dimensions, settings a few levels. */
export const JSON_MAX_DEPTH = 64;

/** Whether arrays/objects in `text` nest deeper than `max` (brackets inside strings do not count). */
export function jsonTooDeep(text: string, max = JSON_MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

export function tooDeep(max = JSON_MAX_DEPTH): MalformedInputError {
  return new MalformedInputError('json_too_deep', `The JSON body nests arrays or objects deeper than ${max} levels. Flatten it (Open Inference Protocol tensors send "data" flat, with "shape").`, { maxDepth: max });
}

/** Fastify's JSON parser (with its prototype-poisoning checks), behind the depth limit. */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonTooDeep(body as string)) {
      done(tooDeep(), undefined);
      return;
    }
    parse(req, body as string, done);
  });
  // Every route but uploads takes JSON only: text/plain (which Fastify parses as a string by
  // default) answers 415 instead of a schema error about a string body.
  app.removeContentTypeParser('text/plain');
}
