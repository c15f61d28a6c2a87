/**
 * Per-key and per-tenant rate limits of the OpenAI-compatible API: `requestsPerMinute` and
 * `tokensPerMinute` (prompt + completion), as token buckets that refill continuously (a limit
 * of 60 per minute gives one back every second), as OpenAI's own limits do.
 *
 * - `admit` takes one request from the key's and the tenant's buckets, and refuses (429,
 *   `retryAfterSeconds`) when either has no request left or has spent its tokens: the tokens
 *   of a request are only known once it is answered, so a bucket may go below zero, and the
 *   next requests wait until it refills.
 * - `spend` takes the tokens of an answered request (generation and embeddings call it).
 * - Buckets live in this API node's memory (several nodes each allow the limit); the limits
 *   themselves are in the store, read again every few seconds.
 * The clock is injected so tests step through minutes without waiting.
 */
import type { Db } from '../infra/store/database.js';
import { InvalidInputError, QuotaExceededError } from '../infra/errors.js';
import { nowIso } from '../infra/ids.js';
import type { Principal } from './principal.js';

export interface RateLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

export type Clock = () => number;

/** Where a request stands against the limits: what the x-ratelimit-* headers say. */
export interface RateState {
  requests?: { limit: number; remaining: number; resetSeconds: number };
  tokens?: { limit: number; remaining: number; resetSeconds: number };
}

const CACHE_MS = 5000;
const MINUTE_MS = 60_000;

class Bucket {
  level: number;
  constructor(public capacity: number, public at: number) {
    this.level = capacity;
  }

  refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + ((now - this.at) * this.capacity) / MINUTE_MS);
    this.at = now;
  }

  /** Seconds until the bucket holds `need` again. */
  secondsUntil(need: number): number {
    return Math.max(0, ((need - this.level) * MINUTE_MS) / this.capacity / 1000);
  }

  state(): { limit: number; remaining: number; resetSeconds: number } {
    return { limit: this.capacity, remaining: Math.max(0, Math.floor(this.level)), resetSeconds: this.secondsUntil(this.capacity) };
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limits = new Map<string, { at: number; limits: RateLimits }>();

  constructor(private readonly db: Db, private readonly clock: Clock = Date.now) {}

  async get(subject: string): Promise<RateLimits> {
    const cached = this.limits.get(subject);
    const now = this.clock();
    if (cached && now - cached.at < CACHE_MS) return cached.limits;
    const row = await this.db.selectFrom('rate_limits').selectAll().where('subject', '=', subject).executeTakeFirst();
    const limits = { requestsPerMinute: row?.requests_per_minute ?? null, tokensPerMinute: row?.tokens_per_minute ?? null };
    this.limits.set(subject, { at: now, limits });
    return limits;
  }

  /** Sets a subject's limits; fields left out keep their value, null removes a limit. */
  async set(subject: string, patch: Partial<RateLimits>): Promise<RateLimits> {
    for (const [field, v] of Object.entries(patch)) {
      if (v !== null && v !== undefined && !(Number.isInteger(v) && v > 0)) {
        throw new InvalidInputError('invalid_limit', `${field} must be a positive integer, or null for no limit; got ${JSON.stringify(v)}.`, { field });
      }
    }
    this.limits.delete(subject);
    const merged = { ...(await this.get(subject)), ...stripUndefined(patch) };
    const row = { subject, requests_per_minute: merged.requestsPerMinute, tokens_per_minute: merged.tokensPerMinute, updated_at: nowIso() };
    await this.db.insertInto('rate_limits').values(row)
      .onConflict((oc) => oc.column('subject').doUpdateSet({ requests_per_minute: row.requests_per_minute, tokens_per_minute: row.tokens_per_minute, updated_at: row.updated_at }))
      .execute();
    this.limits.set(subject, { at: this.clock(), limits: merged });
    return merged;
  }

  /** Takes one request for the caller (its key and its tenant), or refuses with 429 and when to retry. */
  async admit(p: Principal): Promise<RateState> {
    const now = this.clock();
    const subjects = await this.subjects(p);
    let wait = 0;
    let reason = '';
    for (const s of subjects) {
      const r = s.limits.requestsPerMinute !== null ? this.bucket(`${s.name}:requests`, s.limits.requestsPerMinute, now) : undefined;
      const t = s.limits.tokensPerMinute !== null ? this.bucket(`${s.name}:tokens`, s.limits.tokensPerMinute, now) : undefined;
      if (r && r.level < 1 && r.secondsUntil(1) > wait) {
        wait = r.secondsUntil(1);
        reason = `the ${s.what}'s limit of ${r.capacity} requests per minute`;
      }
      if (t && t.level < 1 && t.secondsUntil(1) > wait) {
        wait = t.secondsUntil(1);
        reason = `the ${s.what}'s limit of ${t.capacity} tokens per minute`;
      }
    }
    if (wait > 0) {
      throw new QuotaExceededError('rate_limit_exceeded', `Rate limit reached: ${reason}. Retry in ${Math.ceil(wait)} s, or ask an admin to raise it (PUT /v1/keys/{id}/limits, PUT /v1/tenants/{id}/quota).`, {
        retryAfterSeconds: Math.ceil(wait), rateLimit: this.state(subjects),
      });
    }
    for (const s of subjects) if (s.limits.requestsPerMinute !== null) this.bucket(`${s.name}:requests`, s.limits.requestsPerMinute, now).level -= 1;
    return this.state(subjects);
  }

  /** The tokens of an answered request, taken from the key's and the tenant's token buckets. */
  async spend(p: Principal, tokens: number): Promise<RateState> {
    const now = this.clock();
    const subjects = await this.subjects(p);
    for (const s of subjects) {
      if (s.limits.tokensPerMinute !== null) this.bucket(`${s.name}:tokens`, s.limits.tokensPerMinute, now).level -= tokens;
    }
    return this.state(subjects);
  }

  private async subjects(p: Principal) {
    const key = `key:${p.keyId}`;
    const tenant = `tenant:${p.tenantId}`;
    return [
      { name: key, what: 'key', limits: await this.get(key) },
      { name: tenant, what: 'tenant', limits: await this.get(tenant) },
    ];
  }

  private bucket(name: string, capacity: number, now: number): Bucket {
    let b = this.buckets.get(name);
    if (!b) this.buckets.set(name, (b = new Bucket(capacity, now)));
    if (b.capacity !== capacity) {
      b.level = Math.min(b.level, capacity);
      b.capacity = capacity;
    }
    b.refill(now);
    return b;
  }

  /** The tightest of the key's and the tenant's buckets, for each of requests and tokens. */
  private state(subjects: { name: string; limits: RateLimits }[]): RateState {
    const out: RateState = {};
    for (const kind of ['requests', 'tokens'] as const) {
      for (const s of subjects) {
        const limit = kind === 'requests' ? s.limits.requestsPerMinute : s.limits.tokensPerMinute;
        if (limit === null) continue;
        const st = this.buckets.get(`${s.name}:${kind}`)?.state() ?? { limit, remaining: limit, resetSeconds: 0 };
        if (!out[kind] || st.remaining < out[kind]!.remaining) out[kind] = st;
      }
    }
    return out;
  }
}

/** The x-ratelimit-* headers of OpenAI's API for a state (limits that are not set are not named). */
export function rateLimitHeaders(s: RateState): Record<string, string> {
  const h: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    const st = s[kind];
    if (!st) continue;
    h[`x-ratelimit-limit-${kind}`] = String(st.limit);
    h[`x-ratelimit-remaining-${kind}`] = String(st.remaining);
    h[`x-ratelimit-reset-${kind}`] = `${Math.round(st.resetSeconds * 1000) / 1000}s`;
  }
  return h;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
