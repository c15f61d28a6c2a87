/** API key material: 256-bit random tokens with a recognisable prefix, stored only as SHA-256. */
import { createHash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'aiaas_';

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What may be shown of a key after creation: enough to recognise it, too little to use it. */
export function keyHint(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 4) + '…';
}
