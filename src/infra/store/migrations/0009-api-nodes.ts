/**
 * The API nodes sharing this store (several on one PostgreSQL in the scale-out mode): each keeps
 * a row alive by heartbeat, so GET /v1/cluster can say which nodes serve, by AIAAS_NODE_NAME.
 * Apart from `nodes`, which is what jobs run on (an API node on Slurm runs none itself).
 */
import type { Kysely, Migration } from 'kysely';

export const apiNodes: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('api_nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();
  },
};
