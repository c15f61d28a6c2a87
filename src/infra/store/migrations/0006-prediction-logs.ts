/**
 * Logged predictions (an endpoint's `logging.sampleRate` share of its requests), one row per
 * predicted row. Ids sort within a request by row, so (at, id) orders a page; the index serves the
 * per-endpoint time ranges of GET …/predictions, drift windows and the retention purge.
 */
import type { Kysely, Migration } from 'kysely';

export const predictionLogs: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('prediction_logs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('latency_ms', 'double precision', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('output', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('prediction_logs_endpoint_at').on('prediction_logs').columns(['endpoint_id', 'at', 'id']).execute();
  },
};
