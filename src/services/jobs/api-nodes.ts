/**
 * The API nodes on this store, for GET /v1/cluster: each `aiaas server` keeps a row of its own
 * (its AIAAS_NODE_NAME, host and pid) fresh by heartbeat and removes it when it stops; a node
 * that died stays listed as not alive until its row is an hour (or ten leases) old.
 */
import os from 'node:os';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { nowIso } from '../../infra/ids.js';

export interface ApiNodeView {
  id: string;
  name: string;
  hostname: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  alive: boolean;
  /** The node that answered. */
  self: boolean;
}

export interface ApiNodesOptions {
  db: Db;
  id: string;
  name: string;
  heartbeatSeconds: number;
  leaseSeconds: number;
  logger: Logger;
}

export class ApiNodes {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ApiNodesOptions) {}

  async start(): Promise<void> {
    const now = nowIso();
    const row = { id: this.o.id, name: this.o.name, hostname: os.hostname(), pid: process.pid, started_at: now, heartbeat_at: now };
    await this.o.db.insertInto('api_nodes').values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, hostname: row.hostname, pid: row.pid, started_at: now, heartbeat_at: now }))
      .execute();
    this.timer = setInterval(() => { void this.beat(); }, Math.max(50, this.o.heartbeatSeconds * 1000));
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.o.db.updateTable('api_nodes').set({ heartbeat_at: nowIso() }).where('id', '=', this.o.id).execute();
    } catch (err) {
      this.o.logger.warn({ err }, 'the API node heartbeat failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.o.db.deleteFrom('api_nodes').where('id', '=', this.o.id).execute().catch(() => undefined);
  }

  async list(now = Date.now()): Promise<ApiNodeView[]> {
    const lease = this.o.leaseSeconds * 1000;
    await this.o.db.deleteFrom('api_nodes').where('heartbeat_at', '<', new Date(now - Math.max(3600_000, 10 * lease)).toISOString()).execute();
    const rows = await this.o.db.selectFrom('api_nodes').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      id: r.id, name: r.name, hostname: r.hostname, pid: r.pid, startedAt: r.started_at, heartbeatAt: r.heartbeat_at,
      alive: now - Date.parse(r.heartbeat_at) <= lease, self: r.id === this.o.id,
    }));
  }
}
