/**
 * Request figures of a window over every API node: each node publishes, at every alerts pass,
 * what its endpoints' counters (ServingMetrics, in memory, untouched on the request path) grew by
 * since its last publish, added to the 5-second slot of `endpoint_traffic` (one row per tenant,
 * endpoint and slot holds the sum of all nodes: services/serving/hourly-usage.ts's upsert). The
 * evaluating node publishes its own first, then sums the slots that start inside the window. The
 * latency histogram has fixed buckets (REQUEST_LATENCY_BUCKETS), so the nodes' histograms add up
 * and p99 is read from the sum as Prometheus' histogram_quantile does: linear within the bucket
 * holding the 99th percentile. Another node's last pass-worth (one AIAAS_ALERTS_INTERVAL_MS) may
 * not be in yet; a node killed loses what it had not published. Slots older than the longest
 * window (7 days) are deleted, once a minute, by every node.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { HourlyUsage } from '../serving/hourly-usage.js';
import { REQUEST_LATENCY_BUCKETS, type RequestTotals } from '../serving/metrics.js';

export const TRAFFIC_SLOT_MS = 5_000;
/** The longest alert window (schemas-alerts.ts) and a slot. */
const KEEP_MS = 7 * 86_400_000 + TRAFFIC_SLOT_MS;
const EXPIRE_EVERY_MS = 60_000;

const LATENCY = Array.from({ length: REQUEST_LATENCY_BUCKETS.length + 1 }, (_, i) => `latency_${i}` as const);
type Column = 'requests' | 'errors' | (typeof LATENCY)[number];
const COLUMNS: readonly Column[] = ['requests', 'errors', ...LATENCY];

export interface WindowFigures {
  /** The window's seconds (requests/s is requests over them). */
  seconds: number;
  requests: number;
  errors: number;
  latencyCounts: number[];
}

/** This node's request counters per endpoint (ServingService implements it). */
export type TrafficTotals = () => Array<{ tenant: string; endpoint: string; totals: RequestTotals }>;

export class EndpointTraffic {
  private readonly usage: HourlyUsage<Column>;
  /** What was published of each endpoint's counters. */
  private published = new Map<string, RequestTotals>();
  private expiredAt = -Infinity;
  // Read through the untyped handle as HourlyUsage writes: the latency columns are made from a count.
  private readonly db: Kysely<any>;

  constructor(db: Db, private readonly logger: Logger, private readonly totals: TrafficTotals, private readonly clock: () => number) {
    this.db = db as unknown as Kysely<any>;
    this.usage = new HourlyUsage(db, logger, 'endpoint_traffic', COLUMNS, { slotColumn: 'slot', slotMs: TRAFFIC_SLOT_MS, clock });
  }

  /** Adds this node's traffic since the last publish to the store (a failed write is kept for the next). */
  async publish(): Promise<void> {
    const seen = new Map<string, RequestTotals>();
    for (const { tenant, endpoint, totals } of this.totals()) {
      const k = `${tenant}\0${endpoint}`;
      seen.set(k, totals);
      const grown = growth(this.published.get(k), totals);
      if (grown.requests > 0) this.usage.add(tenant, endpoint, amounts(grown));
    }
    this.published = seen;
    await this.usage.flush();
    const now = this.clock();
    if (now - this.expiredAt < EXPIRE_EVERY_MS) return;
    this.expiredAt = now;
    await this.db.deleteFrom('endpoint_traffic').where('slot', '<', new Date(now - KEEP_MS).toISOString()).execute()
      .catch((err: unknown) => this.logger.warn({ err }, 'deleting expired traffic slots failed; the next publish retries'));
  }

  /** The figures of `endpoints` of `tenant` over every node in the window ending now (slots starting inside it). */
  async window(tenant: string, endpoints: string[], windowMs: number): Promise<WindowFigures> {
    const from = new Date(this.clock() - windowMs).toISOString();
    const row = await this.db.selectFrom('endpoint_traffic')
      .select((eb) => COLUMNS.map((col) => eb.fn.sum<number>(col).as(col)))
      .where('tenant_id', '=', tenant).where('endpoint', 'in', endpoints).where('slot', '>', from)
      .executeTakeFirst() as Record<Column, unknown> | undefined;
    const n = (col: Column) => Number(row?.[col] ?? 0);
    return { seconds: windowMs / 1000, requests: n('requests'), errors: n('errors'), latencyCounts: LATENCY.map(n) };
  }
}

/** What counters grew by since `before`; counters that went back (the endpoint was made again) count from zero. */
function growth(before: RequestTotals | undefined, now: RequestTotals): RequestTotals {
  const b = before && now.requests >= before.requests ? before : undefined;
  return {
    requests: now.requests - (b?.requests ?? 0),
    errors: now.errors - (b?.errors ?? 0),
    latencyCounts: now.latencyCounts.map((c, i) => c - (b?.latencyCounts[i] ?? 0)),
  };
}

function amounts(t: RequestTotals): Record<Column, number> {
  const a = { requests: t.requests, errors: t.errors } as Record<Column, number>;
  LATENCY.forEach((col, i) => { a[col] = t.latencyCounts[i] ?? 0; });
  return a;
}

/** The q-quantile (0..1) of a latency histogram, in ms; undefined without observations. */
export function histogramQuantileMs(counts: number[], q: number, bounds: readonly number[] = REQUEST_LATENCY_BUCKETS): number | undefined {
  const total = counts.reduce((a, c) => a + c, 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i]!;
    if (cumulative >= rank && counts[i]! > 0) {
      // Above every bound: the highest bound is all a histogram can say (as Prometheus answers).
      if (i >= bounds.length) return bounds[bounds.length - 1]! * 1000;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return (lower + (upper - lower) * ((rank - before) / counts[i]!)) * 1000;
    }
  }
  return bounds[bounds.length - 1]! * 1000;
}
