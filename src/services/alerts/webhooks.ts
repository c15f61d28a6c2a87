/**
 * Webhook deliveries of alert transitions: the body is POSTed as stored, signed with
 * `X-Aiaas-Signature: sha256=<hex HMAC-SHA256 of the raw body under the alert's secret>` and
 * named by `X-Aiaas-Delivery: <delivery id>` (the same on every retry, so receivers can
 * de-duplicate). Anything but a 2xx within the timeout is retried after
 * min(maxDelay, baseDelay × 2^(attempt−1)), up to maxAttempts; then the delivery is marked failed.
 */
import { createHmac } from 'node:crypto';

export interface WebhookPolicy {
  /** One attempt's time limit, ms. */
  timeoutMs: number;
  /** Attempts in flight at once on this node, over all alerts. */
  concurrency: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = { timeoutMs: 10_000, concurrency: 8, maxAttempts: 10, baseDelayMs: 5_000, maxDelayMs: 15 * 60_000 };

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

/** One POST of a delivery; never throws. */
export async function postWebhook(url: string, secret: string, deliveryId: string, body: string, timeoutMs: number): Promise<AttemptOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'aiaas-alerts/1',
        'x-aiaas-signature': signature(secret, body),
        'x-aiaas-delivery': deliveryId,
      },
      body,
    });
    await res.body?.cancel().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `the receiver answered HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message;
    return { ok: false, status: null, error: why };
  }
}

/** The URL a webhook may have: absolute http(s), without credentials in it. Returns the problem, or undefined. */
export function webhookUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `'${raw}' is not an absolute URL; give one like https://hooks.example.com/aiaas`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the URL's scheme is ${u.protocol.replace(':', '')}; webhooks are POSTed over http or https only`;
  if (u.username || u.password) return 'the URL carries a user name or password; authenticate the receiver with the signature (webhook.secret) instead';
  return undefined;
}
