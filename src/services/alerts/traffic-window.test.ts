/**
 * Traffic windows across API nodes: two nodes' publishers on one store (both engines) add their
 * counters' growth to shared 5-second slots; a window sums the slots starting inside it, the
 * latency histograms merge bucket by bucket, another tenant's endpoint of the same name is not
 * counted, old slots expire; p99 from histogram buckets (as histogram_quantile).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../infra/logger.js';
import { storeTest } from '../../infra/testing/store-engines.js';
import { TRAFFIC_LATENCY_COLUMNS } from '../../infra/store/migrations/0014-endpoint-traffic.js';
import { EndpointTraffic, histogramQuantileMs } from './traffic-window.js';
import { REQUEST_LATENCY_BUCKETS, type RequestTotals } from '../serving/metrics.js';

const zeros = () => new Array<number>(REQUEST_LATENCY_BUCKETS.length + 1).fill(0);
/** `fast` requests in (2 ms, 5 ms], `slow` in (1 s, 2 s]. */
const totals = (fast: number, slow: number, errors = 0): RequestTotals => {
  const latencyCounts = zeros();
  latencyCounts[3] = fast;
  latencyCounts[11] = slow;
  return { requests: fast + slow, errors, latencyCounts };
};

storeTest('two nodes publish into shared slots; a window sums them, histograms merged; tenants apart; old slots expire', async (engine) => {
  const db = await engine.open();
  let now = Date.parse('2026-01-01T00:00:00Z');
  const counters = { a: totals(0, 0), b: totals(0, 0), other: totals(0, 0) };
  const node = (mine: () => ReturnType<ConstructorParameters<typeof EndpointTraffic>[2]>) => new EndpointTraffic(db, createLogger('silent'), mine, () => now);
  const a = node(() => [{ tenant: 't1', endpoint: 'e', totals: counters.a }]);
  const b = node(() => [{ tenant: 't1', endpoint: 'e', totals: counters.b }, { tenant: 't2', endpoint: 'e', totals: counters.other }]);
  // A: 60 fast requests, 2 of them errors; B: 39 fast and 1 slow; t2's endpoint 'e': 500 slow.
  counters.a = totals(60, 0, 2);
  counters.b = totals(39, 1);
  counters.other = totals(0, 500);
  await a.publish();
  await b.publish();
  now += 10_000;
  let w = await a.window('t1', ['e'], 60_000);
  assert.deepEqual({ seconds: w.seconds, requests: w.requests, errors: w.errors }, { seconds: 60, requests: 100, errors: 2 });
  assert.equal(w.latencyCounts[3], 99);
  assert.equal(w.latencyCounts[11], 1);
  // The merged p99: rank 99 of 100 is the last of the fast bucket (a node alone would say otherwise).
  assert.equal(histogramQuantileMs(w.latencyCounts, 0.99), 5);
  assert.equal((await a.window('t2', ['e'], 60_000)).requests, 500);
  assert.equal((await a.window('t1', ['other'], 60_000)).requests, 0);

  // Only the growth is published: 20 more on A, in a later slot.
  counters.a = totals(80, 0, 2);
  await a.publish();
  await b.publish();
  assert.equal((await b.window('t1', ['e'], 60_000)).requests, 120);
  // 55 s later the first slot has left a 60 s window, the later one (10 s after it) not yet.
  now += 55_000;
  assert.equal((await b.window('t1', ['e'], 60_000)).requests, 20);
  // A node's counters that went back (the endpoint was made again) count from zero.
  counters.a = totals(5, 0);
  await a.publish();
  assert.equal((await a.window('t1', ['e'], 60_000)).requests, 25);
  // After the longest window (7 days) the rows are deleted by the next publish.
  now += 7 * 86_400_000 + 60_000;
  await a.publish();
  const left = await db.selectFrom('endpoint_traffic').select('slot').execute();
  assert.deepEqual(left, []);
});

test('the store keeps a column per latency bucket', () => {
  assert.equal(TRAFFIC_LATENCY_COLUMNS, REQUEST_LATENCY_BUCKETS.length + 1);
});

test('p99 from buckets is linear inside the bucket holding it; none without requests', () => {
  const counts = zeros();
  counts[3] = 100; // all in (2 ms, 5 ms]
  assert.ok(Math.abs(histogramQuantileMs(counts, 0.99)! - (2 + 3 * 0.99)) < 1e-9);
  counts[5] = 100; // and as many in (10 ms, 20 ms]: p99 is 98% into that bucket
  assert.ok(Math.abs(histogramQuantileMs(counts, 0.99)! - (10 + 10 * 0.98)) < 1e-9);
  const slow = zeros();
  slow[slow.length - 1] = 10;
  assert.equal(histogramQuantileMs(slow, 0.99), 5000, 'above every bound: the highest bound');
  assert.equal(histogramQuantileMs(zeros(), 0.99), undefined);
});
