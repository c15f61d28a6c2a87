import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './prometheus-series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

test('a hot counter and histogram render exactly as prom-client renders the same observations', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const hc = new SeriesCounter('x_requests_total', 'Requests.', ['route', 'status'], ours);
  const hh = new SeriesHistogram('x_latency_seconds', 'Latency.', ['route'], BUCKETS, ours);
  const pc = new Counter({ name: 'x_requests_total', help: 'Requests.', labelNames: ['route', 'status'], registers: [theirs] });
  const ph = new Histogram({ name: 'x_latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
  const observations: Array<[string, string, number]> = [['/a', '200', 0.0005], ['/a', '200', 0.001], ['/a', '500', 0.05], ['/b', '200', 3], ['/b', '404', 0.2], ['/a', '200', 0.7]];
  for (const [route, status, seconds] of observations) {
    hc.series({ route, status }).inc();
    hh.series({ route }).observe(seconds);
    pc.inc({ route, status });
    ph.observe({ route }, seconds);
  }
  hc.series({ route: '/b', status: '200' }).inc(4);
  pc.inc({ route: '/b', status: '200' }, 4);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('a series found once is the same object, and remove() drops the series that match', async () => {
  const reg = new Registry();
  const c = new SeriesCounter('y_total', 'Y.', ['tenant', 'endpoint'], reg);
  const s = c.series({ tenant: 't1', endpoint: 'e1' });
  assert.equal(c.series({ tenant: 't1', endpoint: 'e1' }), s);
  s.inc(2);
  c.series({ tenant: 't1', endpoint: 'e2' }).inc();
  c.series({ tenant: 't2', endpoint: 'e1' }).inc();
  c.remove({ tenant: 't1', endpoint: 'e1' });
  const text = await reg.metrics();
  assert.doesNotMatch(text, /tenant="t1",endpoint="e1"/);
  assert.match(text, /y_total\{tenant="t1",endpoint="e2"\} 1/);
  assert.match(text, /y_total\{tenant="t2",endpoint="e1"\} 1/);
});
