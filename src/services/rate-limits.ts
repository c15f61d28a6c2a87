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
 * - Buckets live in the store (`rate_buckets`), taken from in one transaction per request (their
 *   rows locked on PostgreSQL), so several API nodes share them and a limit holds however many
 *   nodes serve the key; the limits themselves are read again every few seconds.
 * The clock is injected so tests step through minutes without waiting.
 */
import { isPostgres, type Db } from '../infra/store/database.js';
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
  constructor(public capacity: number, public level: number, public at: number) {}

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
    const subjects = await this.subjects(p);
    return this.withBuckets(subjects, (buckets) => {
      let wait = 0;
      let reason = '';
      for (const s of subjects) {
        for (const kind of ['requests', 'tokens'] as const) {
          const b = buckets.get(`${s.name}:${kind}`);
          if (b && b.level < 1 && b.secondsUntil(1) > wait) {
            wait = b.secondsUntil(1);
            reason = `the ${s.what}'s limit of ${b.capacity} ${kind} per minute`;
          }
        }
      }
      if (wait > 0) {
        throw new QuotaExceededError('rate_limit_exceeded', `Rate limit reached: ${reason}. Retry in ${Math.ceil(wait)} s, or ask an admin to raise it (PUT /v1/keys/{id}/limits, PUT /v1/tenants/{id}/quota).`, {
          retryAfterSeconds: Math.ceil(wait), rateLimit: state(subjects, buckets),
        });
      }
      for (const s of subjects) {
        const b = buckets.get(`${s.name}:requests`);
        if (b) b.level -= 1;
      }
      return state(subjects, buckets);
    });
  }

  /** The tokens of an answered request, taken from the key's and the tenant's token buckets. */
  async spend(p: Principal, tokens: number): Promise<RateState> {
    const subjects = await this.subjects(p);
    return this.withBuckets(subjects, (buckets) => {
      for (const s of subjects) {
        const b = buckets.get(`${s.name}:tokens`);
        if (b) b.level -= tokens;
      }
      return state(subjects, buckets);
    });
  }

  private async subjects(p: Principal): Promise<Subject[]> {
    const key = `key:${p.keyId}`;
    const tenant = `tenant:${p.tenantId}`;
    return [
      { name: key, what: 'key', limits: await this.get(key) },
      { name: tenant, what: 'tenant', limits: await this.get(tenant) },
    ];
  }

  /**
   * The subjects' buckets (of the limits they have), refilled to now, given to `use` and written
   * back in one transaction; on PostgreSQL their rows are locked (in name order, so two nodes
   * never wait on each other in a cycle). A refusal thrown by `use` writes nothing.
   */
  private async withBuckets<T>(subjects: Subject[], use: (buckets: Map<string, Bucket>) => T): Promise<T> {
    const wanted = subjects.flatMap((s) => [
      ...(s.limits.requestsPerMinute !== null ? [{ name: `${s.name}:requests`, capacity: s.limits.requestsPerMinute }] : []),
      ...(s.limits.tokensPerMinute !== null ? [{ name: `${s.name}:tokens`, capacity: s.limits.tokensPerMinute }] : []),
    ]).sort((x, y) => (x.name < y.name ? -1 : 1));
    if (wanted.length === 0) return use(new Map());
    const now = Math.floor(this.clock()); // whole milliseconds: the store keeps an integer
    return this.db.transaction().execute(async (tx) => {
      await tx.insertInto('rate_buckets').values(wanted.map((w) => ({ name: w.name, capacity: w.capacity, level: w.capacity, at_ms: now })))
        .onConflict((oc) => oc.column('name').doNothing()).execute();
      let q = tx.selectFrom('rate_buckets').selectAll().where('name', 'in', wanted.map((w) => w.name)).orderBy('name');
      if (isPostgres(tx)) q = q.forUpdate();
      const rows = new Map((await q.execute()).map((r) => [r.name, r]));
      const buckets = new Map<string, Bucket>();
      for (const w of wanted) {
        const r = rows.get(w.name)!;
        // A limit changed since the bucket was made: it keeps what it had, up to the new capacity.
        const b = new Bucket(w.capacity, Math.min(r.level, w.capacity), Math.min(Number(r.at_ms), now));
        b.refill(now);
        buckets.set(w.name, b);
      }
      const out = use(buckets);
      for (const [name, b] of buckets) {
        await tx.updateTable('rate_buckets').set({ capacity: b.capacity, level: b.level, at_ms: b.at }).where('name', '=', name).execute();
      }
      return out;
    });
  }
}

interface Subject {
  name: string;
  what: 'key' | 'tenant';
  limits: RateLimits;
}

/** The tightest of the key's and the tenant's buckets, for each of requests and tokens. */
function state(subjects: Subject[], buckets: Map<string, Bucket>): RateState {
  const out: RateState = {};
  for (const kind of ['requests', 'tokens'] as const) {
    for (const s of subjects) {
      const st = buckets.get(`${s.name}:${kind}`)?.state();
      if (st && (!out[kind] || st.remaining < out[kind]!.remaining)) out[kind] = st;
    }
  }
  return out;
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
