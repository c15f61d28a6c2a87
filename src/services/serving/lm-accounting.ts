/**
 * What language-model requests cost: the rate limits they are admitted under (../rate-limits.ts)
 * and the tokens they used, counted in memory per tenant and endpoint and added every few
 * seconds to the hourly rows of `token_usage` (./hourly-usage.ts), which GET /v1/usage reads (prices from config).
 *
 * Every OpenAI-compatible route calls `admit` before its work (the /openai/v1 edge does it) and
 * `recordTokens` once it knows the tokens of its answer (generation, embeddings).
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import type { Principal } from '../principal.js';
import { HourlyUsage } from './hourly-usage.js';
import { RateLimiter, type Clock, type RateState } from '../rate-limits.js';

export interface TokenCounts {
  prompt: number;
  completion: number;
}

export class LmAccounting {
  readonly limiter: RateLimiter;
  private readonly usage: HourlyUsage<'prompt_tokens' | 'completion_tokens'>;

  constructor(db: Db, logger: Logger, clock?: Clock) {
    this.limiter = new RateLimiter(db, clock);
    this.usage = new HourlyUsage(db, logger, 'token_usage', ['prompt_tokens', 'completion_tokens']);
  }

  start(ms: number): void {
    this.usage.start(ms);
  }

  stop(): Promise<void> {
    return this.usage.stop();
  }

  admit(p: Principal): Promise<RateState> {
    return this.limiter.admit(p);
  }

  /** The tokens of one answered request on `endpoint`: metered for the tenant, taken from the key's and tenant's token limits. */
  async recordTokens(p: Principal, endpoint: string, t: TokenCounts): Promise<RateState> {
    this.usage.add(p.tenantId, endpoint, { prompt_tokens: t.prompt, completion_tokens: t.completion });
    return this.limiter.spend(p, t.prompt + t.completion);
  }

  flush(): Promise<void> {
    return this.usage.flush();
  }

  /** Tokens per tenant in the hours that overlap [from, to). */
  async byTenant(from: string, to: string): Promise<Map<string, TokenCounts>> {
    const sums = await this.usage.byTenant(from, to);
    return new Map([...sums].map(([tenant, u]) => [tenant, { prompt: u.prompt_tokens, completion: u.completion_tokens }]));
  }
}
