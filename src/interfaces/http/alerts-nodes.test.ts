/**
 * Alerts with two API nodes (`aiaas server` processes with their own AIAAS_HOME, on one
 * PostgreSQL database and one S3 bucket, as in api-nodes.test.ts): requests split across both
 * nodes are summed for a requests/s alert whose threshold only the sum crosses (either node's
 * share alone stays under it), the alert fires once (one history entry, one webhook delivery
 * with a valid HMAC signature), and after the node that owns it is killed (SIGKILL) the other
 * takes it over and goes on evaluating it, the dead node's published traffic still counted.
 * Another tenant's endpoint of the same name and its traffic count for nothing; its keys see no
 * alert. Every wait is for an event (an alert's state, polled): the runner's timeout bounds it.
 * Skipped where PostgreSQL or Ceph is missing, unless AIAAS_REQUIRE_ENGINES=1.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { caller, createTenant, type TestServer } from '../testing/test-server.js';
import { spawnServer, type ServerProcess } from '../testing/server-process.js';
import { until } from '../testing/jobs-helpers.js';
import { webhookReceiver } from '../testing/webhook-receiver.js';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';
import { engineSkip } from '../../infra/testing/store-engines.js';
import { enginesRequired, postgresCluster } from '../../infra/testing/postgres-cluster.js';
import { cephMissing, s3Server } from '../../infra/testing/ceph-rgw.js';

const skip = engineSkip('postgres') ?? (enginesRequired() ? undefined : cephMissing());
const KEY = 'aiaas_alerts_nodes_admin_key_0123456789';
const SECRET = 'whsec-two-nodes';
const WINDOW = 600;
const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2, color: 'red' };

interface Node { name: string; home: string; process: ServerProcess; call: TestServer['call'] }

describe('alerts with two API nodes on one PostgreSQL and one bucket', { skip }, () => {
  const nodes: Node[] = [];
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let store: pg.Client;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };

  const predict = (node: Node, key: string, times: number) => Promise.all(Array.from({ length: times }, async () => {
    const p = await node.call('POST', '/v1/endpoints/iris/predict', { key, json: { instances: [row] } });
    assert.equal(p.status, 200, p.text);
  }));
  const alertOn = (node: Node, id: string, key = owner.viewer) => node.call('GET', `/v1/alerts/${id}`, { key });
  const ownerOf = async (id: string) => String((await store.query('select owner_node from alerts where id = $1', [id])).rows[0]?.owner_node ?? '');

  before(async () => {
    hook = await webhookReceiver();
    const s3 = await s3Server();
    const databaseUrl = await (await postgresCluster()).createDatabase();
    const env = {
      AIAAS_DATABASE_URL: databaseUrl, AIAAS_BLOB_URL: `s3://${await s3.createBucket()}/aiaas`, AIAAS_S3_ENDPOINT: s3.endpoint, AIAAS_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AIAAS_CPU: '2', AIAAS_ADMIN_KEY: KEY,
      // Passes every 200 ms; a dead node's alerts pass on after max(2 s, 3 passes).
      AIAAS_ALERTS_INTERVAL_MS: '200', AIAAS_JOB_LEASE_SECONDS: '2',
    };
    // One after another: the first makes the tables and the admin key.
    for (const name of ['node-a', 'node-b']) {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), `aiaas-${name}-`));
      const process = spawnServer(home, { ...env, AIAAS_NODE_NAME: name });
      nodes.push({ name, home, process, call: caller(await process.ready, KEY) });
    }
    store = new pg.Client({ connectionString: databaseUrl });
    await store.connect();
    const [a, b] = nodes as [Node, Node];
    owner = await createTenant(a.call, 'alerting-co');
    stranger = await createTenant(a.call, 'alerting-other');
    // Each tenant has an endpoint named iris, made through A, served by both nodes.
    for (const t of [owner, stranger]) {
      const m = await a.call('POST', '/v1/models/iris/versions', { key: t.developer, body: irisClassifier({ embedSignature: true }).bytes, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(m.status, 201, m.text);
      const ep = await a.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'iris', model: 'iris', version: 1, replicas: { min: 1, max: 1 } } });
      assert.equal(ep.status, 201, ep.text);
      for (const node of [a, b]) {
        await until(`iris of ${t.id} ready on ${node.name}`, async () => (await node.call('GET', '/v1/endpoints/iris', { key: t.viewer })).body?.status === 'ready');
      }
    }
  });
  after(async () => {
    await store?.end();
    for (const n of nodes) n.process.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.process.exited));
    for (const n of nodes) fs.rmSync(n.home, { recursive: true, force: true });
    await hook?.close();
  });

  test('requests split across the nodes fire a requests/s alert once; it goes on after its owner is killed', async () => {
    const [a, b] = nodes as [Node, Node];
    // 20 requests on each node: 40 / 600 s ≈ 0.067/s crosses 0.05, one node's 20 / 600 ≈ 0.033 does not.
    // The other tenant's 60 requests on its own iris would push the value higher if they counted.
    await Promise.all([predict(a, owner.developer, 20), predict(b, owner.developer, 20), predict(a, stranger.developer, 30), predict(b, stranger.developer, 30)]);
    const created = await b.call('POST', '/v1/alerts', { key: owner.developer, json: { name: 'busy', endpoint: 'iris', metric: 'requestsPerSecond', op: '>', threshold: 0.05, windowSeconds: WINDOW, webhook: { url: hook.url, secret: SECRET } } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;

    // Every node's published traffic reaches the owner: the value settles at the sum.
    const fired = await until('the alert firing at 40 requests', async () => {
      const x = (await alertOn(a, id)).body;
      return x.state === 'firing' && x.value === 40 / WINDOW && x;
    });
    assert.deepEqual(fired.history.map((h: { state: string }) => h.state), ['firing'], 'one transition');
    const delivered = await until('the delivery', async () => { const d = (await alertOn(b, id)).body.deliveries?.[0]; return d?.deliveredAt && d; });
    assert.equal(delivered.attempts, 1);
    assert.equal(hook.got.length, 1, 'one webhook POST');
    const sent = hook.got[0]!;
    assert.equal(sent.signature, 'sha256=' + createHmac('sha256', SECRET).update(sent.raw).digest('hex'));
    assert.equal(sent.delivery, delivered.id);
    assert.equal(sent.body.state, 'firing');
    assert.equal(sent.body.alert.id, id);
    assert.ok(sent.body.value > 0.05, `value ${sent.body.value}`);

    // Another tenant sees no alert through either node.
    for (const node of [a, b]) {
      const theirs = await alertOn(node, id, stranger.developer);
      assert.equal(theirs.status, 404, theirs.text);
      assert.deepEqual((await node.call('GET', '/v1/alerts', { key: stranger.viewer })).body.data, []);
    }

    // Kill the node that owns the alert: the other takes it over and goes on evaluating it.
    const first = await ownerOf(id);
    const dead = nodes.find((n) => first.startsWith(`${n.name}/`))!;
    const alive = nodes.find((n) => n !== dead)!;
    assert.ok(dead, `owner ${first}`);
    dead.process.child.kill('SIGKILL');
    await dead.process.exited;
    const killedAt = new Date().toISOString();
    await predict(alive, owner.developer, 10);
    const later = await until(`the alert evaluated by ${alive.name} at 50 requests`, async () => {
      const x = (await alertOn(alive, id)).body;
      return x.value === 50 / WINDOW && x.evaluatedAt > killedAt && x;
    });
    assert.ok((await ownerOf(id)).startsWith(`${alive.name}/`), 'the survivor holds the lease');
    assert.equal(later.state, 'firing');
    assert.deepEqual(later.history.map((h: { state: string }) => h.state), ['firing'], 'still one transition: the dead node\'s traffic still counts');
    assert.equal(later.deliveries.length, 1);
    assert.equal(hook.got.length, 1);
  });
});
