/** The autoscaler's decisions, driven directly: no threads, no timers, a clock the test moves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Autoscaler, type LoadSample, type ScalingSettings } from './autoscaler.js';

const settings: ScalingSettings = {
  replicas: { min: 1, max: 3 },
  autoscaling: { intervalMs: 1000, cooldownMs: 5000, targetQueueDepth: 4, targetLatencyMs: 0, targetTokensPerSecond: 0 },
};

/** The load of one second, with `replicas` ready. */
function second(o: Partial<LoadSample> & { queue?: number; busy?: number } = {}): LoadSample {
  const replicas = o.replicas ?? 1;
  return {
    queueRowMs: (o.queue ?? 0) * 1000,
    busyMs: (o.busy ?? 0) * 1000 * (o.ready ?? replicas),
    latencySumMs: o.latencySumMs ?? 0,
    latencyCount: o.latencyCount ?? 0,
    tokens: o.tokens ?? 0,
    replicas,
    ready: o.ready ?? replicas,
  };
}

test('a queue deeper than the target per replica adds a replica at once, and says why', () => {
  const a = new Autoscaler(0);
  const d = a.decide(second({ queue: 9, busy: 1 }), settings, 1000);
  assert.equal(d.change, 1);
  assert.match(d.change === 1 ? d.reason : '', /queue depth 9 rows over 1 replica\(s\) > target 4/);
  // The depth is per replica: the same queue over three replicas is under the target.
  assert.equal(new Autoscaler(0).decide(second({ queue: 9, busy: 0.5, replicas: 3 }), settings, 1000).change, 0);
});

test('the queue is averaged over the time the sample covers, not over the configured interval', () => {
  const a = new Autoscaler(0);
  // 9 rows·s over a 3 s gap (a late tick): 3 rows on average, under the target of 4.
  assert.equal(a.decide({ ...second({ busy: 1 }), queueRowMs: 9000 }, settings, 3000).change, 0);
});

test('latency over its target, or replicas over 90% busy, scale up only while requests wait', () => {
  const latency = { ...settings, autoscaling: { ...settings.autoscaling, targetLatencyMs: 50 } };
  const slow = { latencySumMs: 800, latencyCount: 10 };
  const up = new Autoscaler(0).decide(second({ ...slow, queue: 1 }), latency, 1000);
  assert.equal(up.change, 1);
  assert.match(up.change === 1 ? up.reason : '', /mean latency 80 ms > target 50 ms/);
  assert.equal(new Autoscaler(0).decide(second({ ...slow, queue: 0.2 }), latency, 1000).change, 0);
  const busy = new Autoscaler(0).decide(second({ busy: 0.95, queue: 2 }), settings, 1000);
  assert.equal(busy.change, 1);
  assert.match(busy.change === 1 ? busy.reason : '', /95% busy with requests waiting/);
  assert.equal(new Autoscaler(0).decide(second({ busy: 0.95, queue: 0 }), settings, 1000).change, 0);
});

test('no replica is added past max, and nothing is decided while a replica starts', () => {
  assert.equal(new Autoscaler(0).decide(second({ queue: 100, replicas: 3 }), settings, 1000).change, 0);
  assert.equal(new Autoscaler(0).decide(second({ queue: 100, replicas: 2, ready: 1 }), settings, 1000).change, 0);
});

test('a replica is removed only after cooldownMs of low load since the last scale event, and never below min', () => {
  const a = new Autoscaler(0);
  let t = 0;
  const tick = (load: LoadSample) => a.decide(load, settings, (t += 1000));
  assert.equal(tick(second({ queue: 9, replicas: 2 })).change, 1, 'scaled up at t=1s');
  // Quiet from then on: two replicas at 10% each could be one.
  for (let i = 0; i < 4; i++) assert.equal(tick(second({ busy: 0.1, replicas: 3 })).change, 0, `still cooling down at t=${t}`);
  const down = tick(second({ busy: 0.1, replicas: 3 }));
  assert.equal(down.change, -1, 'removed at t=6s, 5 s after the scale-up');
  assert.match(down.change === -1 ? down.reason : '', /low load for 5 s \(10% busy, queue 0\)/);
  // The cool-down starts again from that removal.
  for (let i = 0; i < 4; i++) assert.equal(tick(second({ busy: 0.1, replicas: 2 })).change, 0);
  assert.equal(tick(second({ busy: 0.1, replicas: 2 })).change, -1);
  for (let i = 0; i < 10; i++) assert.equal(tick(second({ replicas: 1 })).change, 0, 'never below min');
});

test('load that is not low restarts the cool-down; a busy pool is not shrunk', () => {
  const a = new Autoscaler(0);
  let t = 0;
  const tick = (load: LoadSample) => a.decide(load, settings, (t += 1000));
  for (let i = 0; i < 4; i++) tick(second({ busy: 0.1, replicas: 2 }));
  // Two replicas at 40% each would make one at 80%: not low.
  assert.equal(tick(second({ busy: 0.4, replicas: 2 })).change, 0);
  for (let i = 0; i < 4; i++) assert.equal(tick(second({ busy: 0.1, replicas: 2 })).change, 0, `t=${t}`);
  assert.equal(tick(second({ busy: 0.1, replicas: 2 })).change, -1);
});

test('a scale event made elsewhere (bounds changed) restarts the cool-down', () => {
  const a = new Autoscaler(0);
  let t = 0;
  const tick = (load: LoadSample) => a.decide(load, settings, (t += 1000));
  for (let i = 0; i < 4; i++) tick(second({ replicas: 2 }));
  a.noteScaled(t);
  for (let i = 0; i < 4; i++) assert.equal(tick(second({ replicas: 2 })).change, 0);
  assert.equal(tick(second({ replicas: 2 })).change, -1);
});

test('language models: tokens/s per replica over targetTokensPerSecond adds a replica, with or without a queue; off at 0', () => {
  const lm = { ...settings, autoscaling: { ...settings.autoscaling, targetTokensPerSecond: 100 } };
  // 450 tokens in 3 s (a late tick): 150 tokens/s on one replica, over 100; every sequence has a slot (no queue).
  const up = new Autoscaler(0).decide(second({ tokens: 450, busy: 0.5 }), lm, 3000);
  assert.equal(up.change, 1);
  assert.match(up.change === 1 ? up.reason : '', /150 tokens\/s over 1 replica\(s\) > target 100 per replica/);
  // Per replica: 150 tokens/s over two replicas is under the target.
  assert.equal(new Autoscaler(0).decide(second({ tokens: 150, busy: 0.5, replicas: 2 }), lm, 1000).change, 0);
  // The same load without the target: nothing (the replica is half busy, nothing waits).
  assert.equal(new Autoscaler(0).decide(second({ tokens: 450, busy: 0.5 }), settings, 3000).change, 0);
});

test('language models: a replica is removed only if the others would stay under half the tokens/s target', () => {
  const lm = { ...settings, autoscaling: { ...settings.autoscaling, targetTokensPerSecond: 100 } };
  const a = new Autoscaler(0);
  let t = 0;
  const tick = (load: LoadSample) => a.decide(load, lm, (t += 1000));
  // Two replicas 20% busy, 120 tokens/s: one would take 120 tokens/s, over half the target (50): kept past the cool-down.
  for (let i = 0; i < 8; i++) assert.equal(tick(second({ busy: 0.2, tokens: 120, replicas: 2 })).change, 0, `t=${t}`);
  // 40 tokens/s: one replica would be under 50; after the cool-down since the last busy tick, one goes.
  for (let i = 0; i < 4; i++) assert.equal(tick(second({ busy: 0.2, tokens: 40, replicas: 2 })).change, 0, `t=${t}`);
  const down = tick(second({ busy: 0.2, tokens: 40, replicas: 2 }));
  assert.equal(down.change, -1);
  assert.match(down.change === -1 ? down.reason : '', /low load for 5 s \(20% busy, queue 0, 40 tokens\/s\)/);
});
