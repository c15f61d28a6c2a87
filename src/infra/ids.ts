/**
 * Identifiers: a type prefix, then a time part and a random part, so ids sort by creation time
 * and say what they name (`ds_…` is a dataset). Portable across SQLite and PostgreSQL as text.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  const bytes = randomBytes(10);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `${prefix}_${time}${rand}`;
}

export const nowIso = (): string => new Date().toISOString();
