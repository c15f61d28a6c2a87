/**
 * Language-model accounting: tokens metered per tenant, endpoint and hour (GET /v1/usage), and
 * the per-key and per-tenant rate limits (requests and tokens per minute; null: no limit).
 */
import type { Kysely, Migration } from 'kysely';

export const lmUsageLimits: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('token_usage')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('hour', 'text', (c) => c.notNull())
      .addColumn('prompt_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('completion_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('token_usage_pk', ['tenant_id', 'endpoint', 'hour'])
      .execute();
    await db.schema.createTable('rate_limits')
      .addColumn('subject', 'text', (c) => c.primaryKey())
      .addColumn('requests_per_minute', 'integer')
      .addColumn('tokens_per_minute', 'integer')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
