/**
 * Several API nodes on one PostgreSQL database and one S3 bucket (a real Ceph RGW), each with its
 * own AIAAS_HOME: an endpoint created on node A is served by node B (its own replicas, loaded from
 * the bucket), a traffic or settings change on A reaches B, a delete on A is a 404 on B, a node
 * whose notification connection is cut still follows (it listens again and catches up, polling
 * meanwhile), and killing A (SIGKILL, a real process) leaves B serving with nothing lost.
 * Every wait is for an event (B's status, polled): the test runner's timeout bounds it.
 * Skipped (one line on how to run it) where PostgreSQL or Ceph is missing, unless AIAAS_REQUIRE_ENGINES=1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { caller, startTestServer, type TestServer } from '../testing/test-server.js';
import { spawnServer, type ServerProcess } from '../testing/server-process.js';
import { until } from '../testing/jobs-helpers.js';
import { irisClassifier, irisExpected } from '../../ml/testing/onnx-fixtures.js';
import { engineSkip } from '../../infra/testing/store-engines.js';
import { enginesRequired, postgresCluster } from '../../infra/testing/postgres-cluster.js';
import { cephMissing, s3Server } from '../../infra/testing/ceph-rgw.js';
import { LISTENER_APPLICATION } from '../../infra/store/change-feed.js';
import { openBlobStore } from '../../infra/open-blob-store.js';

const skip = engineSkip('postgres') ?? (enginesRequired() ? undefined : cephMissing());
const octet = { 'content-type': 'application/octet-stream' };
const row = (petal_length: number) => ({ sepal_length: 5.1, sepal_width: 3.5, petal_length, petal_width: 0.2, color: 'red' });

describe('several API nodes on one PostgreSQL and one bucket', { skip }, () => {
  let env: Record<string, string>;
  let b: TestServer;
  let a: { process: ServerProcess; home: string; call: TestServer['call'] };
  let t: { id: string; developer: string; viewer: string };
  let other: string;

  /** Node A as a process of its own, so that it can be killed. */
  async function startA(home: string): Promise<typeof a> {
    const process = spawnServer(home, { ...env, AIAAS_ADMIN_KEY: b.adminKey, AIAAS_NODE_NAME: 'node-a' });
    return { process, home, call: caller(await process.ready, b.adminKey) };
  }

  /** Node B's view of an endpoint once `pred` holds for it (GET's body; `null` when it is a 404). */
  function onB(name: string, pred: (ep: any) => boolean): Promise<any> {
    return until(`${name} on node B`, async () => {
      const g = await b.call('GET', `/v1/endpoints/${name}`, { key: t.viewer });
      const ep = g.status === 404 ? null : g.body;
      return pred(ep) ? { ep } : undefined;
    }).then((r) => r.ep);
  }

  const predictOn = (node: { call: TestServer['call'] }, name: string, petalLength = 1.4) =>
    node.call('POST', `/v1/endpoints/${name}/predict`, { key: t.developer, json: { instances: [row(petalLength)] } });

  before(async () => {
    const s3 = await s3Server();
    env = {
      AIAAS_DATABASE_URL: await (await postgresCluster()).createDatabase(),
      AIAAS_BLOB_URL: `s3://${await s3.createBucket()}/aiaas`, AIAAS_S3_ENDPOINT: s3.endpoint, AIAAS_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AIAAS_CPU: '2',
    };
    b = await startTestServer({ ...env, AIAAS_NODE_NAME: 'node-b' });
    a = await startA(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-node-a-')));
    t = await b.tenant('nodes-co');
    other = (await b.tenant('nodes-other')).developer;
    // Two versions, imported through A: v2's bias makes it answer virginica for every row.
    for (const bias of [0, 100]) {
      const m = await a.call('POST', '/v1/models/iris/versions', { key: t.developer, body: irisClassifier({ embedSignature: true, bias }).bytes, headers: octet });
      assert.equal(m.status, 201, m.text);
    }
  });
  after(async () => {
    a?.process.child.kill('SIGKILL');
    await a?.process.exited;
    await b?.stop();
    if (a) fs.rmSync(a.home, { recursive: true, force: true });
  });

  test('/v1/cluster lists both API nodes by AIAAS_NODE_NAME, alive, each marking itself', async () => {
    for (const [node, self] of [[a, 'node-a'], [b, 'node-b']] as const) {
      const c = await node.call('GET', '/v1/cluster', { key: t.viewer });
      assert.equal(c.status, 200, c.text);
      const api = c.body.apiNodes as Array<{ name: string; alive: boolean; self: boolean }>;
      assert.deepEqual(api.map((n) => n.name), ['node-a', 'node-b']);
      assert.ok(api.every((n) => n.alive), JSON.stringify(api));
      assert.deepEqual(api.filter((n) => n.self).map((n) => n.name), [self]);
    }
  });

  test('an endpoint created on A predicts on B; a traffic, a settings and a shadow change on A reach B; a delete on A is a 404 on B', async () => {
    const r = await a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'iris', model: 'iris', version: 1, replicas: { min: 1, max: 2 } } });
    assert.equal(r.status, 201, r.text);
    const ready = await onB('iris', (ep) => ep?.status === 'ready');
    assert.equal(ready.replicas.ready, 1, 'B runs a replica of its own');
    const p = await predictOn(b, 'iris');
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.version, 1);
    assert.equal(p.body.predictions[0].label, irisExpected(1.4));
    // Another tenant gets the same 404 through B as for a missing endpoint.
    const foreign = await b.call('POST', '/v1/endpoints/iris/predict', { key: other, json: { instances: [row(1.4)] } });
    const missing = await b.call('POST', '/v1/endpoints/nope/predict', { key: other, json: { instances: [row(1.4)] } });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, missing.body.error.code);

    const patched = await a.call('PATCH', '/v1/endpoints/iris', { key: t.developer, json: { traffic: [{ version: 2, weight: 100 }] } });
    assert.equal(patched.status, 200, patched.text);
    const switched = await onB('iris', (ep) => ep?.status === 'ready' && ep.traffic[0]?.version === 2);
    assert.deepEqual(switched.versions.map((v: { version: number }) => v.version), [2], 'B no longer serves version 1');
    const p2 = await predictOn(b, 'iris');
    assert.equal(p2.body.version, 2);
    assert.equal(p2.body.predictions[0].label, 'virginica');

    assert.equal((await a.call('PATCH', '/v1/endpoints/iris', { key: t.developer, json: { replicas: { min: 2, max: 3 } } })).status, 200);
    const scaled = await onB('iris', (ep) => ep?.replicas.max === 3 && ep.replicas.ready === 2);
    assert.equal(scaled.replicas.min, 2, "B's pool follows the new replicas.min");

    // A shadow set on A runs on B too, on B's own replica of the candidate; B copies B's requests.
    assert.equal((await a.call('PATCH', '/v1/endpoints/iris', { key: t.developer, json: { shadow: { version: 1, percent: 100 } } })).status, 200);
    await onB('iris', (ep) => ep?.shadow?.version === 1 && ep.shadow.ready >= 1);
    assert.equal((await predictOn(b, 'iris', 6.9)).body.predictions[0].label, 'virginica');
    const copied = await onB('iris', (ep) => ep?.shadow?.rows === 1);
    assert.equal(copied.shadow.agreement, 1, 'v1 says virginica for 6.9 too');
    assert.equal((await a.call('PATCH', '/v1/endpoints/iris', { key: t.developer, json: { shadow: null } })).status, 200);
    await onB('iris', (ep) => ep?.shadow === null);

    assert.equal((await a.call('DELETE', '/v1/endpoints/iris', { key: t.developer })).status, 200);
    await onB('iris', (ep) => ep === null);
    const gone = await predictOn(b, 'iris');
    assert.equal(gone.status, 404, gone.text);
    assert.deepEqual(b.server.platform.serving.servingUse(t.id), { endpoints: 0, replicas: 0 }, 'B holds no replicas of it');
  });

  test('predictions logged on A are read on B (their segments in the bucket); deleting the endpoint on B deletes them', async () => {
    const r = await a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'logged', model: 'iris', version: 1, replicas: { min: 1, max: 1 }, logging: { sampleRate: 1 } } });
    assert.equal(r.status, 201, r.text);
    await until('logged ready on A', async () => (await a.call('GET', '/v1/endpoints/logged', { key: t.viewer })).body?.status === 'ready');
    await onB('logged', (ep) => ep?.status === 'ready');
    for (const petal of [1.1, 1.2, 1.3]) assert.equal((await predictOn(a, 'logged', petal)).status, 200);
    // A writes its queue within a second (its flush timer); B reads what the store and the bucket hold.
    const page = await until("A's rows on B", async () => {
      const g = await b.call('GET', '/v1/endpoints/logged/predictions', { key: t.viewer });
      return g.body?.data?.length === 3 ? g.body : undefined;
    });
    assert.deepEqual(page.data.map((p: { input: { petal_length: number } }) => p.input.petal_length).sort(), [1.1, 1.2, 1.3]);
    assert.equal(page.data[0].output.label, irisExpected(page.data[0].input.petal_length));
    const foreign = await b.call('GET', '/v1/endpoints/logged/predictions', { key: other });
    assert.equal(foreign.status, 404, 'another tenant sees no log');
    const store = new pg.Client({ connectionString: env.AIAAS_DATABASE_URL });
    await store.connect();
    try {
      const held = async () => (await store.query("select distinct hash from blob_refs where owner_type = 'prediction_log_pack'")).rows.map((x) => x.hash as string);
      const segments = await held();
      assert.ok(segments.length >= 1, 'the packs hold their segments');
      assert.equal((await b.call('DELETE', '/v1/endpoints/logged', { key: t.developer })).status, 200);
      assert.deepEqual(await held(), []);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bucket-view-'));
      const bucket = await openBlobStore(home, { url: env.AIAAS_BLOB_URL, endpoint: env.AIAAS_S3_ENDPOINT, region: env.AIAAS_S3_REGION!, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, cacheBytes: 0 });
      for (const hash of segments) assert.equal(await bucket.has(hash), false, `segment ${hash} deleted from the bucket`);
      fs.rmSync(home, { recursive: true, force: true });
    } finally {
      await store.end();
    }
  });

  test("a tenant's quota holds across nodes: creates through A and B at once take its last room once", async () => {
    const q = await b.call('PUT', `/v1/tenants/${t.id}/quota`, { json: { maxEndpoints: 1 } });
    assert.equal(q.status, 200, q.text);
    try {
      const [ra, rb] = await Promise.all([
        a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'race-a', model: 'iris', version: 1 } }),
        b.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'race-b', model: 'iris', version: 1 } }),
      ]);
      assert.deepEqual([ra.status, rb.status].sort(), [201, 429], `${ra.text} ${rb.text}`);
      const refused = ra.status === 429 ? ra : rb;
      assert.equal(refused.body.error.details.quota, 'maxEndpoints');
      const won = ra.status === 201 ? 'race-a' : 'race-b';
      assert.equal((await a.call('DELETE', `/v1/endpoints/${won}`, { key: t.developer })).status, 200);
      await onB(won, (ep) => ep === null);
    } finally {
      await b.call('PUT', `/v1/tenants/${t.id}/quota`, { json: { maxEndpoints: null } });
    }
  });

  test('one name through both nodes at once: one endpoint is made, the other create is a conflict', async () => {
    const [sa, sb] = await Promise.all([
      a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'same', model: 'iris', version: 1 } }),
      b.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'same', model: 'iris', version: 1 } }),
    ]);
    assert.deepEqual([sa.status, sb.status].sort(), [201, 409], `${sa.text} ${sb.text}`);
    assert.equal((sa.status === 409 ? sa : sb).body.error.code, 'name_taken');
    const made = (sa.status === 201 ? sa : sb).body.id;
    const seen = await onB('same', (ep) => ep?.status === 'ready');
    assert.equal(seen.id, made, 'B serves the one that was made');
    assert.equal((await b.call('DELETE', '/v1/endpoints/same', { key: t.developer })).status, 200);
    await onB('same', (ep) => ep === null);
  });

  test('a node whose notification connection is cut still follows the changes', async () => {
    assert.equal((await a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'cut', model: 'iris', version: 1 } })).status, 201);
    await onB('cut', (ep) => ep?.status === 'ready');
    const admin = new pg.Client({ connectionString: env.AIAAS_DATABASE_URL });
    await admin.connect();
    try {
      const cut = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`${LISTENER_APPLICATION} node-b`]);
      assert.equal(cut.rowCount, 1, "B's listening connection was found and terminated");
    } finally {
      await admin.end();
    }
    // Made while B is not listening: B hears of it by its poll, or by the catch-up when it listens again.
    assert.equal((await a.call('PATCH', '/v1/endpoints/cut', { key: t.developer, json: { version: 2 } })).status, 200);
    await onB('cut', (ep) => ep?.status === 'ready' && ep.traffic[0]?.version === 2);
    assert.equal((await predictOn(b, 'cut')).body.version, 2);
    assert.equal((await a.call('DELETE', '/v1/endpoints/cut', { key: t.developer })).status, 200);
    await onB('cut', (ep) => ep === null);
  });

  test('killing node A leaves B serving; nothing is lost, and A comes back with what B made meanwhile', async () => {
    assert.equal((await a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'survivor', model: 'iris', version: 1 } })).status, 201);
    await onB('survivor', (ep) => ep?.status === 'ready');
    a.process.child.kill('SIGKILL');
    await a.process.exited;
    const p = await predictOn(b, 'survivor', 6.9);
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.predictions[0].label, irisExpected(6.9));
    const versions = await b.call('GET', '/v1/models/iris', { key: t.viewer });
    assert.equal(versions.status, 200, versions.text);
    // B changes things while A is down; A, started again on its home, serves them.
    assert.equal((await b.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'made-on-b', model: 'iris', version: 2 } })).status, 201);
    a = await startA(a.home);
    const listed = await b.call('GET', '/v1/cluster', { key: t.viewer });
    assert.deepEqual(listed.body.apiNodes.map((n: { name: string }) => n.name), ['node-a', 'node-b'], 'A, back on its home, is the same API node');
    // A loads its endpoints' replicas again one by one: each is waited for until A calls it ready.
    const readyOnA = (name: string) => until(`${name} on node A`, async () => {
      const g = await a.call('GET', `/v1/endpoints/${name}`, { key: t.viewer });
      return g.body?.status === 'ready' ? g.body : undefined;
    });
    const back = await readyOnA('made-on-b');
    assert.equal(back.traffic[0].version, 2);
    assert.equal((await predictOn(a, 'made-on-b')).body.predictions[0].label, 'virginica');
    await readyOnA('survivor');
    const survived = await predictOn(a, 'survivor', 6.9);
    assert.equal(survived.status, 200, survived.text);
  });
});
