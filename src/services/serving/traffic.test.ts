import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, NotFoundError } from '../../infra/errors.js';
import type { ModelVersion } from '../registry.js';
import { describeTraffic, mainVersion, resolveTraffic, WeightedRoundRobin } from './traffic.js';

const picks = (r: WeightedRoundRobin<string>, n: number) => Array.from({ length: n }, () => r.pick());

test('weighted round-robin: exact shares, evenly interleaved, weight 0 never picked', () => {
  const r = new WeightedRoundRobin<string>();
  r.set([{ target: 'stable', weight: 90 }, { target: 'canary', weight: 10 }, { target: 'off', weight: 0 }]);
  const hundred = picks(r, 100);
  assert.equal(hundred.filter((t) => t === 'canary').length, 10);
  assert.equal(hundred.filter((t) => t === 'stable').length, 90);
  assert.ok(!hundred.includes('off'));
  // Every window of 10 requests holds the canary once: no run of canary requests.
  for (let at = 0; at < 100; at += 10) assert.equal(hundred.slice(at, at + 10).filter((t) => t === 'canary').length, 1, `window at ${at}`);
  r.set([{ target: 'a', weight: 2 }, { target: 'b', weight: 1 }]);
  assert.deepEqual(picks(r, 6), ['a', 'b', 'a', 'a', 'b', 'a']);
});

test('weighted round-robin: one target always, none without traffic', () => {
  const r = new WeightedRoundRobin<string>();
  assert.equal(r.pick(), undefined);
  r.set([{ target: 'only', weight: 5 }]);
  assert.deepEqual(picks(r, 3), ['only', 'only', 'only']);
  r.set([{ target: 'x', weight: 0 }]);
  assert.equal(r.pick(), undefined);
});

test('traffic as shown, and the version with the most of it', () => {
  assert.equal(describeTraffic([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]), 'v1 90, v2 10');
  assert.equal(mainVersion([{ version: 1, weight: 10 }, { version: 2, weight: 90 }]), 2);
  assert.equal(mainVersion([]), undefined);
});

/** Versions 1 and 2 of a model; 'production' is `production` if given. */
function registryOf(production?: number) {
  const asked: Array<string | number> = [];
  const servable = async (ref: string | number): Promise<ModelVersion> => {
    asked.push(ref);
    const version = ref === 'latest' ? 2 : ref === 'production' ? production : Number(ref);
    if (version === undefined || ![1, 2].includes(version)) throw NotFoundError.of('Model version', `m@${ref}`);
    return { version } as ModelVersion;
  };
  return { servable, asked };
}

test('resolveTraffic: traffic checked, version or stage to one version, else production, else latest', async () => {
  const { servable, asked } = registryOf();
  assert.deepEqual(await resolveTraffic({ traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] }, servable), { traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] });
  assert.deepEqual(asked, [1, 2], 'every version of the traffic is checked');
  assert.deepEqual(await resolveTraffic({ version: 2 }, servable), { traffic: [{ version: 2, weight: 100 }] });
  assert.deepEqual(await resolveTraffic({}, servable), { traffic: [{ version: 2, weight: 100 }] }, 'no production version: the latest');
  assert.deepEqual(await resolveTraffic({}, registryOf(1).servable), { traffic: [{ version: 1, weight: 100 }] });
  assert.deepEqual(await resolveTraffic({ stage: 'production' }, registryOf(1).servable), { traffic: [{ version: 1, weight: 100 }], stage: 'production' });
  const refused = async (input: Parameters<typeof resolveTraffic>[0]) => {
    const err = await resolveTraffic(input, servable).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DomainError, JSON.stringify(input));
    return { kind: err.kind, code: err.code, message: err.message };
  };
  assert.deepEqual(await refused({ traffic: [{ version: 1, weight: 100 }], version: 1 }), { kind: 'invalid_input', code: 'invalid_traffic', message: 'Give either traffic, or version/stage (which sends all traffic to one version), not both.' });
  assert.match((await refused({ traffic: [{ version: 1, weight: 50 }, { version: 1, weight: 50 }] })).message, /Version 1 appears twice/);
  assert.match((await refused({ traffic: [{ version: 1, weight: 0 }] })).message, /at least one version with a weight above 0/);
  assert.equal((await refused({ traffic: [] })).code, 'invalid_traffic');
  assert.equal((await refused({ version: 7 })).kind, 'not_found');
});
