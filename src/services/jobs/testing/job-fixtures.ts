/** Rows for job-store tests: a node that offers capacity, a job that asks for some. */
import type { Db } from '../../../infra/store/database.js';
import type { NewJob } from '../job-store.js';

export async function registerNode(db: Db, id: string, cpu: number, gpus = 0): Promise<void> {
  const now = new Date().toISOString();
  await db.insertInto('nodes').values({ id, hostname: 'test', kind: 'worker', cpu, memory_mb: cpu * 1024, gpus, pid: 1, started_at: now, heartbeat_at: now }).execute();
}

export function newJob(tenantId: string, cpu = 1, gpu = 0): NewJob {
  return {
    tenantId, type: 'noop', module: 'noop', name: null, priority: 0, spec: { a: [1, 2] }, resources: { cpu, memoryMb: 256, gpu },
    maxAttempts: 3, backoffSeconds: 0, createdBy: null, createdRole: null,
  };
}
