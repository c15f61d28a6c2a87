/** Jobs, job events and attempts, nodes, tenant quotas and metered usage. */
import type { Kysely, Migration } from 'kysely';

export const jobs: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('module', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('priority', 'integer', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('cpu', 'double precision', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('gpu', 'integer', (c) => c.notNull())
      .addColumn('progress', 'text', (c) => c.notNull())
      .addColumn('metrics', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('error_code', 'text')
      .addColumn('queue_reason', 'text')
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('backoff_seconds', 'double precision', (c) => c.notNull())
      .addColumn('not_before', 'text')
      .addColumn('checkpoint_blob', 'text')
      .addColumn('checkpoint_at', 'text')
      .addColumn('checkpoint_bytes', 'bigint')
      .addColumn('node_id', 'text')
      .addColumn('gpu_ids', 'text')
      .addColumn('worker_pid', 'integer')
      .addColumn('heartbeat_at', 'text')
      .addColumn('cancel_requested', 'integer', (c) => c.notNull())
      .addColumn('preempt_for', 'text')
      .addColumn('preemptions', 'integer', (c) => c.notNull())
      .addColumn('event_seq', 'integer', (c) => c.notNull())
      .addColumn('cpu_seconds', 'double precision', (c) => c.notNull())
      .addColumn('gpu_seconds', 'double precision', (c) => c.notNull())
      .addColumn('parent_id', 'text')
      .addColumn('created_by', 'text')
      .addColumn('created_role', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('run_started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jobs_status').on('jobs').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('jobs_tenant').on('jobs').columns(['tenant_id', 'created_at']).execute();
    await db.schema.createIndex('jobs_node').on('jobs').columns(['node_id', 'status']).execute();
    await db.schema.createIndex('jobs_parent').on('jobs').column('parent_id').execute();

    await db.schema.createTable('job_events')
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_events_pk', ['job_id', 'seq'])
      .execute();

    await db.schema.createTable('job_attempts')
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer')
      .addColumn('cpu', 'double precision', (c) => c.notNull())
      .addColumn('gpu', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('resumed_from_checkpoint', 'integer', (c) => c.notNull())
      .addColumn('cpu_seconds', 'double precision', (c) => c.notNull())
      .addColumn('gpu_seconds', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_attempts_pk', ['job_id', 'attempt'])
      .execute();

    await db.schema.createTable('nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('cpu', 'double precision', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('gpus', 'integer', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema.createTable('tenant_quotas')
      .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
      .addColumn('max_cpu', 'double precision')
      .addColumn('max_gpu', 'integer')
      .addColumn('max_concurrent_jobs', 'integer')
      .addColumn('monthly_cpu_seconds', 'double precision')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema.createTable('usage_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('job_id', 'text')
      .addColumn('endpoint', 'text')
      .addColumn('cpu_seconds', 'double precision', (c) => c.notNull())
      .addColumn('gpu_seconds', 'double precision', (c) => c.notNull())
      .addColumn('predictions', 'bigint', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('usage_events_tenant_at').on('usage_events').columns(['tenant_id', 'at']).execute();
  },
};
