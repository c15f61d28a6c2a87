/**
 * The rate limits' token buckets (services/rate-limits.ts), kept in the store so that every API
 * node takes from the same bucket: a limit holds for a key or tenant however many nodes serve it.
 */
import type { Kysely, Migration } from 'kysely';

export const rateBuckets: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('rate_buckets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('capacity', 'integer', (c) => c.notNull())
      .addColumn('level', 'double precision', (c) => c.notNull())
      // Milliseconds since the epoch of the last refill (the limiter's clock).
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};
