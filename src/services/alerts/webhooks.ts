/**
 * Webhook deliveries of alert transitions: the body is POSTed as stored, signed with
 * `X-Aiaas-Signature: sha256=<hex HMAC-SHA256 of the raw body under the alert's secret>` and
 * named by `X-Aiaas-Delivery: <delivery id>` (the same on every retry, so receivers can
 * de-duplicate). Anything but a 2xx within the timeout is retried after
 * min(maxDelay, baseDelay × 2^(attempt−1)), up to maxAttempts; then the delivery is marked failed.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { addressProblem, guardedLookup, literalAddress, type PrivateAddresses } from './webhook-addresses.js';

export interface WebhookPolicy {
  /** One attempt's time limit, ms. */
  timeoutMs: number;
  /** Attempts in flight at once on this node, over all alerts. */
  concurrency: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Whether loopback and private addresses may be called (link-local ones never are). */
  privateAddresses: PrivateAddresses;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = { timeoutMs: 10_000, concurrency: 8, maxAttempts: 10, baseDelayMs: 5_000, maxDelayMs: 15 * 60_000, privateAddresses: 'allow' };

export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** The wait before the attempt after `attempts` failed ones. */
export function retryDelayMs(policy: WebhookPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
}

export interface AttemptOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/** One POST of a delivery, to an address the policy allows (webhook-addresses.ts); never throws. */
export async function postWebhook(url: string, secret: string, deliveryId: string, body: string, o: { timeoutMs: number; privateAddresses: PrivateAddresses }): Promise<AttemptOutcome> {
  const u = new URL(url);
  const literal = literalAddress(u.hostname);
  const refused = literal ? addressProblem(literal, o.privateAddresses) : undefined;
  if (refused) return { ok: false, status: null, error: refused };
  const payload = Buffer.from(body, 'utf8');
  return new Promise((resolve) => {
    const req = (u.protocol === 'https:' ? https : http).request(u, {
      method: 'POST',
      // Redirects are not followed (a node's request module does not follow them).
      signal: AbortSignal.timeout(o.timeoutMs),
      lookup: guardedLookup(o.privateAddresses),
      headers: {
        'content-type': 'application/json',
        'content-length': payload.length,
        'user-agent': 'aiaas-alerts/1',
        'x-aiaas-signature': signature(secret, body),
        'x-aiaas-delivery': deliveryId,
      },
    }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      resolve({ ok, status, error: ok ? null : `the receiver answered HTTP ${status}` });
    });
    req.on('error', (err: Error & { code?: string }) => {
      const why = err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms`
        : err.code === 'EADDRREFUSED' ? err.message : err.code ?? err.message;
      resolve({ ok: false, status: null, error: why });
    });
    req.end(payload);
  });
}

/** The URL a webhook may have: absolute http(s), without credentials in it, not an IP address the policy refuses (names are checked when sent). Returns the problem, or undefined. */
export function webhookUrlProblem(raw: string, privateAddresses: PrivateAddresses): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `'${raw}' is not an absolute URL; give one like https://hooks.example.com/aiaas`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the URL's scheme is ${u.protocol.replace(':', '')}; webhooks are POSTed over http or https only`;
  if (u.username || u.password) return 'the URL carries a user name or password; authenticate the receiver with the signature (webhook.secret) instead';
  const literal = literalAddress(u.hostname);
  return literal ? addressProblem(literal, privateAddresses) : undefined;
}
