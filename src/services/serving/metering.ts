/**
 * Prediction metering: rows predicted and requests answered per tenant and endpoint, counted in
 * memory on every request (no store write on the prediction path) and added every few seconds
 * to the hourly rows of `prediction_usage`, which GET /v1/usage reads.
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { hourOf } from './lm-accounting.js';

interface Counted {
  tenant: string;
  endpoint: string;
  predictions: number;
  requests: number;
}

export class PredictionMeter {
  private readonly counted = new Map<string, Counted>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Db, private readonly logger: Logger) {}

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

  /** One request of `rows` rows answered by endpoint `key` (`tenant`, `endpoint`). */
  count(key: string, tenant: string, endpoint: string, rows: number): void {
    let u = this.counted.get(key);
    if (!u) this.counted.set(key, (u = { tenant, endpoint, predictions: 0, requests: 0 }));
    u.predictions += rows;
    u.requests += 1;
  }

  /** Adds the predictions counted since the last flush to the hourly rows of `prediction_usage`. */
  async flush(): Promise<void> {
    if (this.counted.size === 0) return;
    const batch = [...this.counted.values()];
    this.counted.clear();
    const hour = hourOf(new Date().toISOString());
    try {
      for (const u of batch) {
        await this.db.insertInto('prediction_usage')
          .values({ tenant_id: u.tenant, endpoint: u.endpoint, hour, predictions: u.predictions, requests: u.requests })
          .onConflict((oc) => oc.columns(['tenant_id', 'endpoint', 'hour']).doUpdateSet((eb) => ({
            predictions: eb('prediction_usage.predictions', '+', eb.ref('excluded.predictions')),
            requests: eb('prediction_usage.requests', '+', eb.ref('excluded.requests')),
          })))
          .execute();
      }
    } catch (err) {
      this.logger.error({ err }, 'prediction usage flush failed');
    }
  }

  /** Predictions per tenant in the hours that overlap [from, to) (hour resolution), for usage reports. */
  async byTenant(from?: string, to?: string): Promise<Array<{ tenant: string; predictions: number; requests: number }>> {
    await this.flush();
    let q = this.db.selectFrom('prediction_usage')
      .select((eb) => ['tenant_id', eb.fn.sum<number>('predictions').as('predictions'), eb.fn.sum<number>('requests').as('requests')])
      .groupBy('tenant_id');
    if (from) q = q.where('hour', '>=', hourOf(from));
    if (to) q = q.where('hour', '<', to);
    return (await q.execute()).map((r) => ({ tenant: r.tenant_id, predictions: Number(r.predictions), requests: Number(r.requests) }));
  }
}

