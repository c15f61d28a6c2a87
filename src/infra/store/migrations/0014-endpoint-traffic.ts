/**
 * Every API node's prediction traffic per endpoint in 5-second slots, for alerts on p99 latency,
 * error rate and requests/s across nodes: each node adds what it counted since its last publish to
 * the row of (tenant, endpoint, slot) with one upsert (`col = col + excluded.col`), so a row holds
 * the sum of all nodes. `latency_0…latency_13` are the request latency histogram's buckets, fixed
 * here (upper bounds 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 ms, then above),
 * so histograms of several nodes merge by adding. Rows older than the longest alert window expire.
 */
import type { Kysely, Migration } from 'kysely';

export const TRAFFIC_LATENCY_COLUMNS = 14;

export const endpointTraffic: Migration = {
  async up(db: Kysely<any>) {
    let table = db.schema.createTable('endpoint_traffic')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('slot', 'text', (c) => c.notNull())
      .addColumn('requests', 'bigint', (c) => c.notNull())
      .addColumn('errors', 'bigint', (c) => c.notNull());
    for (let i = 0; i < TRAFFIC_LATENCY_COLUMNS; i++) table = table.addColumn(`latency_${i}`, 'bigint', (c) => c.notNull());
    await table.addPrimaryKeyConstraint('endpoint_traffic_pk', ['tenant_id', 'endpoint', 'slot']).execute();
    await db.schema.createIndex('endpoint_traffic_slot').on('endpoint_traffic').column('slot').execute();
  },
};
