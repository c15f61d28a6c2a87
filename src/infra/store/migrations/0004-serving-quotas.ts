/** Per-tenant serving quotas (endpoints and replicas); a null column means the default. */
import type { Kysely, Migration } from 'kysely';

export const servingQuotas: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('serving_quotas')
      .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
      .addColumn('max_endpoints', 'integer')
      .addColumn('max_replicas_per_endpoint', 'integer')
      .addColumn('max_replicas', 'integer')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
