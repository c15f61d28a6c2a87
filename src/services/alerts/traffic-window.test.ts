/** Window figures from sampled counters, and p99 from histogram buckets (as histogram_quantile). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantileMs, sumFigures, TrafficWindows } from './traffic-window.js';
import { REQUEST_LATENCY_BUCKETS } from '../serving/metrics.js';

const zeros = () => new Array<number>(REQUEST_LATENCY_BUCKETS.length + 1).fill(0);
const totals = (requests: number, errors: number, at5ms = requests) => {
  const latencyCounts = zeros();
  latencyCounts[3] = at5ms; // the (2 ms, 5 ms] bucket
  return { requests, errors, latencyCounts };
};

test('the window differences the newest sample with the newest one a window old', () => {
  const w = new TrafficWindows();
  w.sample('e', 0, totals(0, 0), 60_000);
  assert.equal(w.window('e', 60_000), undefined, 'one sample says nothing yet');
  w.sample('e', 30_000, totals(100, 1), 60_000);
  // Less than a window watched: the figures cover what there is (30 s).
  assert.deepEqual({ ...w.window('e', 60_000)!, latencyCounts: undefined }, { seconds: 30, requests: 100, errors: 1, latencyCounts: undefined });
  w.sample('e', 90_000, totals(160, 1), 60_000);
  const f = w.window('e', 60_000)!;
  assert.equal(f.seconds, 60);
  assert.equal(f.requests, 60);
  assert.equal(f.errors, 0);
  // Counters that went back (the endpoint was made again) count from zero.
  w.sample('e', 100_000, totals(5, 0), 60_000);
  assert.equal(w.window('e', 60_000)!.requests, 5);
  assert.equal(sumFigures([f, f])!.requests, 120);
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
