/**
 * What language-model requests cost: the rate limits they are admitted under (../rate-limits.ts)
 * and the tokens they used, counted in memory per tenant and endpoint and added every few
 * seconds to the hourly rows of `token_usage`, which GET /v1/usage reads (prices from config).
 *
 * Every OpenAI-compatible route calls `admit` before its work (the /openai/v1 edge does it) and
 * `recordTokens` once it knows the tokens of its answer (generation, embeddings).
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import type { Principal } from '../principal.js';
import { RateLimiter, type Clock, type RateState } from '../rate-limits.js';

export interface TokenCounts {
  prompt: number;
  completion: number;
}

interface Counted extends TokenCounts {
  tenant: string;
  endpoint: string;
}

export class LmAccounting {
  readonly limiter: RateLimiter;
  private counted = new Map<string, Counted>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Db, private readonly logger: Logger, clock?: Clock) {
    this.limiter = new RateLimiter(db, clock);
  }

  start(ms: number): void {
    this.timer = setInterval(() => void this.flush(), ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  admit(p: Principal): Promise<RateState> {
    return this.limiter.admit(p);
  }

  /** The tokens of one answered request on `endpoint`: metered for the tenant, taken from the key's and tenant's token limits. */
  async recordTokens(p: Principal, endpoint: string, t: TokenCounts): Promise<RateState> {
    const key = `${p.tenantId}\u0000${endpoint}`;
    let c = this.counted.get(key);
    if (!c) this.counted.set(key, (c = { tenant: p.tenantId, endpoint, prompt: 0, completion: 0 }));
    c.prompt += t.prompt;
    c.completion += t.completion;
    return this.limiter.spend(p, t.prompt + t.completion);
  }

  async flush(): Promise<void> {
    if (this.counted.size === 0) return;
    const batch = [...this.counted.values()];
    this.counted = new Map();
    const hour = hourOf(new Date().toISOString());
    try {
      for (const u of batch) {
        await this.db.insertInto('token_usage')
          .values({ tenant_id: u.tenant, endpoint: u.endpoint, hour, prompt_tokens: u.prompt, completion_tokens: u.completion })
          .onConflict((oc) => oc.columns(['tenant_id', 'endpoint', 'hour']).doUpdateSet((eb) => ({
            prompt_tokens: eb('token_usage.prompt_tokens', '+', eb.ref('excluded.prompt_tokens')),
            completion_tokens: eb('token_usage.completion_tokens', '+', eb.ref('excluded.completion_tokens')),
          })))
          .execute();
      }
    } catch (err) {
      this.logger.error({ err }, 'token usage flush failed');
    }
  }

  /** Tokens per tenant in the hours that overlap [from, to). */
  async byTenant(from: string, to: string): Promise<Map<string, TokenCounts>> {
    await this.flush();
    const rows = await this.db.selectFrom('token_usage')
      .select((eb) => ['tenant_id', eb.fn.sum<number>('prompt_tokens').as('prompt'), eb.fn.sum<number>('completion_tokens').as('completion')])
      .where('hour', '>=', hourOf(from)).where('hour', '<', to).groupBy('tenant_id').execute();
    return new Map(rows.map((r) => [r.tenant_id, { prompt: Number(r.prompt ?? 0), completion: Number(r.completion ?? 0) }]));
  }
}

/** The UTC hour an ISO instant falls in, as an ISO instant. */
export function hourOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t - (t % 3_600_000)).toISOString() : iso;
}
