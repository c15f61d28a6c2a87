/** A time in a query string (`from`, `to`): any date or time Date.parse reads, as an ISO instant. */
import { MalformedInputError } from '../../infra/errors.js';

export function queryTime(v: string | undefined, field: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new MalformedInputError('invalid_time', `'${field}' is not a date or time: use ISO 8601, e.g. 2025-01-31 or 2025-01-31T12:00:00Z.`, { field });
  return new Date(ms).toISOString();
}
