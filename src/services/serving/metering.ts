/**
 * Prediction metering: rows predicted and requests answered per tenant and endpoint, counted in
 * memory on every request (no store write on the prediction path) and added every few seconds
 * to the hourly rows of `prediction_usage` (./hourly-usage.ts), which GET /v1/usage reads.
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { HourlyUsage } from './hourly-usage.js';

export class PredictionMeter {
  private readonly usage: HourlyUsage<'predictions' | 'requests'>;

  constructor(db: Db, logger: Logger) {
    this.usage = new HourlyUsage(db, logger, 'prediction_usage', ['predictions', 'requests']);
  }

  start(ms: number): void {
    this.usage.start(ms);
  }

  stop(): Promise<void> {
    return this.usage.stop();
  }

  flush(): Promise<void> {
    return this.usage.flush();
  }

  /** One request of `rows` rows answered by `endpoint` of `tenant`. */
  count(tenant: string, endpoint: string, rows: number): void {
    this.usage.add(tenant, endpoint, { predictions: rows, requests: 1 });
  }

  /** Predictions per tenant in the hours that overlap [from, to), for usage reports. */
  async byTenant(from?: string, to?: string): Promise<Array<{ tenant: string; predictions: number; requests: number }>> {
    return [...(await this.usage.byTenant(from, to))].map(([tenant, u]) => ({ tenant, ...u }));
  }
}
