/**
 * Alert rules (POST /v1/alerts) with their state, history and evaluation lease, and the webhook
 * deliveries of their transitions. An alert is evaluated by the API node holding its lease
 * (`owner_node` until `lease_until`), so several nodes on one PostgreSQL evaluate it once; the
 * deliveries of an alert are sent by the node that owns it, each claimed by moving its
 * `next_attempt_at` forward in one conditional UPDATE.
 */
import type { Kysely, Migration } from 'kysely';

export const alerts: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text')
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('op', 'text', (c) => c.notNull())
      .addColumn('threshold', 'double precision', (c) => c.notNull())
      .addColumn('window_seconds', 'integer', (c) => c.notNull())
      .addColumn('webhook_url', 'text', (c) => c.notNull())
      .addColumn('webhook_secret', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('state_since', 'text', (c) => c.notNull())
      .addColumn('value', 'double precision')
      .addColumn('message', 'text')
      .addColumn('evaluated_at', 'text')
      .addColumn('history', 'text', (c) => c.notNull())
      .addColumn('owner_node', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('alerts_tenant_name', ['tenant_id', 'name'])
      .execute();
    await db.schema.createTable('alert_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('alert_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('last_attempt_at', 'text')
      .addColumn('next_attempt_at', 'text')
      .addColumn('delivered_at', 'text')
      .addColumn('failed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_deliveries_alert').on('alert_deliveries').columns(['alert_id', 'created_at']).execute();
    await db.schema.createIndex('alert_deliveries_due').on('alert_deliveries').columns(['next_attempt_at']).execute();
  },
};
