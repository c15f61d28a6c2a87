/**
 * Usage counted in memory per tenant and endpoint (nothing is written on the request path) and
 * added every few seconds to hourly rows `(tenant_id, endpoint, hour, …columns)` of one table,
 * which GET /v1/usage reads. Predictions (`prediction_usage`) and tokens (`token_usage`) are two
 * instances of it; the alerts' traffic of every API node (`endpoint_traffic`, 5-second `slot`s,
 * services/alerts/traffic-window.ts) is a third. A flush is one upsert per few hundred rows that
 * adds to what other nodes added (`col = col + excluded.col`), its rows in key order so that two
 * nodes' flushes never deadlock on PostgreSQL. A flush that fails keeps its counts for the next
 * one: nothing counted is lost.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';

type Amounts<C extends string> = Record<C, number>;

/** Rows per INSERT (SQLite binds at most 32,766 values in one statement). */
const ROWS_PER_STATEMENT = 200;

export interface SlotOptions {
  /** The key column of the time slot (default `hour`). */
  slotColumn?: 'hour' | 'slot';
  /** The slot's length (default an hour). */
  slotMs?: number;
  /** Which slot a flush adds to (default Date.now). */
  clock?: () => number;
}

interface Counted<C extends string> {
  tenant: string;
  endpoint: string;
  amounts: Amounts<C>;
}

export class HourlyUsage<C extends string> {
  private counted = new Map<string, Counted<C>>();
  private timer: NodeJS.Timeout | undefined;
  // The table is a parameter, so its rows are typed here by `C`, not by the schema's table types.
  private readonly db: Kysely<any>;
  private readonly slotColumn: 'hour' | 'slot';
  private readonly slotMs: number;
  private readonly clock: () => number;

  constructor(db: Db, private readonly logger: Logger, private readonly table: 'prediction_usage' | 'token_usage' | 'endpoint_traffic', private readonly columns: readonly C[], slots: SlotOptions = {}) {
    this.db = db as unknown as Kysely<any>;
    this.slotColumn = slots.slotColumn ?? 'hour';
    this.slotMs = slots.slotMs ?? 3_600_000;
    this.clock = slots.clock ?? Date.now;
  }

  /** Flushes every `ms` from now on (the timer keeps no process alive). */
  start(ms: number): void {
    this.timer = setInterval(() => void this.flush(), ms);
    this.timer.unref();
  }

  /** Stops the timer and flushes what is counted. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  add(tenant: string, endpoint: string, amounts: Amounts<C>): void {
    const key = `${tenant}\u0000${endpoint}`;
    let c = this.counted.get(key);
    if (!c) this.counted.set(key, (c = { tenant, endpoint, amounts: this.zero() }));
    for (const col of this.columns) c.amounts[col] += amounts[col];
  }

  /** Adds what was counted since the last flush to the current slot's rows. */
  async flush(): Promise<void> {
    if (this.counted.size === 0) return;
    const batch = [...this.counted.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, u]) => u);
    this.counted = new Map();
    const t = this.clock();
    const slot = new Date(t - (t % this.slotMs)).toISOString();
    for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
      const rows = batch.slice(i, i + ROWS_PER_STATEMENT);
      try {
        await this.db.insertInto(this.table)
          .values(rows.map((u) => ({ tenant_id: u.tenant, endpoint: u.endpoint, [this.slotColumn]: slot, ...u.amounts })))
          .onConflict((oc) => oc.columns(['tenant_id', 'endpoint', this.slotColumn]).doUpdateSet((eb) =>
            Object.fromEntries(this.columns.map((col) => [col, eb(`${this.table}.${col}`, '+', eb.ref(`excluded.${col}`))]))))
          .execute();
      } catch (err) {
        for (const rest of batch.slice(i)) this.add(rest.tenant, rest.endpoint, rest.amounts);
        this.logger.error({ err, table: this.table }, 'usage flush failed; the counts are kept for the next flush');
        return;
      }
    }
  }

  /** Sums per tenant over the hours that overlap [from, to) (hour resolution), after a flush. */
  async byTenant(from?: string, to?: string): Promise<Map<string, Amounts<C>>> {
    await this.flush();
    let q = this.db.selectFrom(this.table)
      .select((eb) => ['tenant_id', ...this.columns.map((col) => eb.fn.sum<number>(col).as(col))])
      .groupBy('tenant_id');
    if (from) q = q.where('hour', '>=', hourOf(from));
    if (to) q = q.where('hour', '<', to);
    const sums = new Map<string, Amounts<C>>();
    for (const r of (await q.execute()) as Array<Record<string, unknown>>) {
      const a = this.zero();
      for (const col of this.columns) a[col] = Number(r[col] ?? 0);
      sums.set(r.tenant_id as string, a);
    }
    return sums;
  }

  private zero(): Amounts<C> {
    return Object.fromEntries(this.columns.map((col) => [col, 0])) as Amounts<C>;
  }
}

/** The UTC hour an ISO instant falls in, as an ISO instant. */
export function hourOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t - (t % 3_600_000)).toISOString() : iso;
}
