/** Autoscaling through real HTTP: a slow model under load scales up, and back down after the cool-down. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { slowModel } from '../../ml/testing/onnx-fixtures.js';
import { until } from '../testing/jobs-helpers.js';

describe('autoscaling', () => {
  let s: TestServer;
  let dev: string;
  before(async () => {
    s = await startTestServer();
    dev = (await s.tenant('scale-co')).developer;
    const m = await s.call('POST', '/v1/models/slow/versions', { key: dev, body: slowModel(160), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(m.status, 201, m.text);
  });
  after(() => s.stop());

  test('queue depth scales replicas up to max under load, and down to min after the cool-down', async () => {
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: dev, json: {
      name: 'slow', model: 'slow', replicas: { min: 1, max: 2 }, batching: { maxBatchSize: 1 },
      autoscaling: { intervalMs: 200, cooldownMs: 1500, targetQueueDepth: 1 },
    } });
    assert.equal(ep.body.status, 'ready', ep.text);
    assert.equal(ep.body.replicas.current, 1);
    const x = Array.from({ length: 256 }, (_, i) => (i % 7) / 7);
    let running = true;
    let failed = 0;
    let ok = 0;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const r = await s.call('POST', '/v1/endpoints/slow/predict', { key: dev, json: { instances: [x] } });
        if (r.status === 200) ok++;
        else failed++;
      }
    });
    try {
      const up = await until('scale up', async () => {
        const g = await s.call('GET', '/v1/endpoints/slow', { key: dev });
        return g.body.replicas.current === 2 && g.body.replicas.ready === 2 ? g.body : undefined;
      });
      const event = up.events.find((e: { type: string }) => e.type === 'scale_up');
      assert.ok(event, JSON.stringify(up.events));
      assert.equal(event.from, 1);
      assert.equal(event.to, 2);
      assert.match(event.message, /queue depth|latency|busy/);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    assert.equal(failed, 0);
    assert.ok(ok > 0);
    const down = await until('scale down', async () => {
      const g = await s.call('GET', '/v1/endpoints/slow', { key: dev });
      return g.body.replicas.current === 1 ? g.body : undefined;
    });
    const event = down.events.find((e: { type: string }) => e.type === 'scale_down');
    assert.ok(event, JSON.stringify(down.events));
    assert.match(event.message, /low load/);
    const m = await s.call('GET', '/v1/endpoints/slow/metrics', { key: dev });
    assert.match(m.text, /aiaas_endpoint_scale_events_total\{[^}]*direction="up"\} 1/);
    assert.match(m.text, /aiaas_endpoint_scale_events_total\{[^}]*direction="down"\} 1/);
    assert.match(m.text, /aiaas_endpoint_replicas\{[^}]*\} 1/);
  });
});
