/**
 * The small checks every part of a train spec uses: a 422 `invalid_train_spec` naming the field
 * path (`model.layers[2].units`), unknown fields refused with the nearest known one suggested,
 * and numbers within a stated range.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { closest } from '../../infra/did-you-mean.js';

export const fail = (field: string, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('invalid_train_spec', `${field}: ${message}`, { field, ...details });

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses a field not in `allowed`; `where` is the object's own path ('' at the top level). */
export function onlyFields(obj: Record<string, unknown>, allowed: readonly string[], where: string, what = where || 'a train job'): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const suggestion = closest(k, allowed);
    const path = where ? `${where}.${k}` : k;
    throw fail(path, `unknown field${suggestion ? `; did you mean '${suggestion}'?` : ';'} ${what} takes ${allowed.join(', ')}.`, suggestion ? { suggestion } : {});
  }
}

export function num(v: unknown, field: string, lo: number, hi: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw fail(field, `must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}; got ${JSON.stringify(v)}.`, { limit: { min: lo, max: hi } });
  }
  return v;
}
