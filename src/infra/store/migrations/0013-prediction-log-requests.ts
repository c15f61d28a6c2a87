/**
 * The prediction log keeps one record per logged request instead of one per predicted row: the
 * request body and the answer as the data plane held them (JSON text, never parsed or printed
 * again on the way in) and the request's row count. GET …/predictions and drift split a record
 * into its rows when they read it. `array_tensor` names the input a row sent as a bare array of
 * numbers is shown under (`{"<tensor>": [...]}`), null when the rows are objects. Rows logged
 * before are carried over as one-row requests; the old table is dropped.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const predictionLogRequests: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('prediction_log_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('latency_ms', 'double precision', (c) => c.notNull())
      .addColumn('rows', 'integer', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('output', 'text', (c) => c.notNull())
      .addColumn('array_tensor', 'text')
      .execute();
    await db.schema.createIndex('prediction_log_requests_endpoint_at').on('prediction_log_requests').columns(['endpoint_id', 'at', 'id']).execute();
    await sql`insert into prediction_log_requests (id, tenant_id, endpoint_id, at, request_id, version, latency_ms, rows, input, output, array_tensor)
      select id, tenant_id, endpoint_id, at, request_id, version, latency_ms, 1, '{"instances":[' || input || ']}', '{"predictions":[' || output || ']}', null
      from prediction_logs`.execute(db);
    await db.schema.dropTable('prediction_logs').execute();
  },
};
