/** Tables of language-model accounting (migration 0006). */
export interface TokenUsageTable {
  tenant_id: string;
  endpoint: string;
  /** The UTC hour, as an ISO instant. */
  hour: string;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface RateLimitsTable {
  /** `key:<id>` or `tenant:<id>`. */
  subject: string;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  updated_at: string;
}

/** One token bucket of the rate limits (migration 0010), shared by every API node. */
export interface RateBucketsTable {
  /** `key:<id>:requests`, `tenant:<id>:tokens`… */
  name: string;
  capacity: number;
  level: number;
  /** Milliseconds since the epoch of the last refill; PostgreSQL's bigint reads back as a string. */
  at_ms: number | string;
}

export interface LmTables {
  token_usage: TokenUsageTable;
  rate_limits: RateLimitsTable;
  rate_buckets: RateBucketsTable;
}
