/**
 * The prediction log packs many requests into one record: up to a few hundred requests of one
 * endpoint and version from one flush (services/serving/prediction-log-records.ts). One record
 * per request cost a store page (or more) per request, each written to the WAL and checkpointed
 * again: the writer thread's main cost at 100% logging. A pack's records are filled pages instead.
 *
 * - `inputs` / `outputs`: the requests' bodies and answers (JSON text as sent and answered, in
 *   UTF-8) one after another, as bytes (BLOB, bytea): the writer hands SQLite the bodies' buffer as
 *   the data plane received it, with no decoding into a string and encoding again. `request_index`
 *   (JSON text) lists the requests in the order written, `[at (ms since the epoch), request id,
 *   latency ms, rows, input bytes, output bytes]` each: a request's texts are found by adding up
 *   the byte lengths of those before it.
 * - `first_at` / `last_at`: the earliest and latest `at` of its requests; `requests`, `rows`.
 * - `array_tensor`: as in 0013 (the input a row of bare numbers is shown under; null: rows are objects).
 *
 * Pages are ordered by (`last_at`, `id`) (the index), retention deletes a pack once its LAST
 * request is past it. The records of 0013 are carried over as packs of one request each; the old
 * table is dropped.
 */
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

export const predictionLogPacks: Migration = {
  async up(db: Kysely<any>) {
    const pg = db.getExecutor().adapter instanceof PostgresAdapter;
    const bytes = pg ? 'bytea' : 'blob';
    await db.schema.createTable('prediction_log_packs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('first_at', 'text', (c) => c.notNull())
      .addColumn('last_at', 'text', (c) => c.notNull())
      .addColumn('requests', 'integer', (c) => c.notNull())
      .addColumn('rows', 'integer', (c) => c.notNull())
      .addColumn('array_tensor', 'text')
      .addColumn('request_index', 'text', (c) => c.notNull())
      .addColumn('inputs', bytes, (c) => c.notNull())
      .addColumn('outputs', bytes, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('prediction_log_packs_endpoint_last').on('prediction_log_packs').columns(['endpoint_id', 'last_at', 'id']).execute();
    // A one-request pack's index entry and texts, in each engine's JSON, time and UTF-8 functions.
    const [entry, input, output] = pg
      ? [sql`json_build_array(json_build_array(round(extract(epoch from cast(at as timestamptz)) * 1000)::bigint, request_id, latency_ms, rows, octet_length(input), octet_length(output)))::text`,
        sql`convert_to(input, 'UTF8')`, sql`convert_to(output, 'UTF8')`]
      : [sql`json_array(json_array(cast(round((julianday(at) - 2440587.5) * 86400000) as integer), request_id, latency_ms, rows, length(cast(input as blob)), length(cast(output as blob))))`,
        sql`cast(input as blob)`, sql`cast(output as blob)`];
    await sql`insert into prediction_log_packs (id, tenant_id, endpoint_id, version, first_at, last_at, requests, rows, array_tensor, request_index, inputs, outputs)
      select id, tenant_id, endpoint_id, version, at, at, 1, rows, array_tensor, ${entry}, ${input}, ${output}
      from prediction_log_requests`.execute(db);
    await db.schema.dropTable('prediction_log_requests').execute();
  },
};
