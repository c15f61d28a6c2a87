/**
 * The whole platform on PostgreSQL, through real HTTP: the test server's store is a fresh
 * database in a throwaway cluster (AIAAS_DATABASE_URL), and a user's walk-through runs on it:
 * tenant and keys, a dataset upload (two versions, one concurrent pair), a train job run by a
 * worker process that writes to the same database, the registered version, a deployed endpoint
 * and predictions, the usage report, and a restart on the same database that keeps everything.
 * Skipped (one line on how to run it) where PostgreSQL is not installed, unless AIAAS_REQUIRE_ENGINES=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import pg from 'pg';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';
import { engineSkip } from '../../infra/testing/store-engines.js';
import { postgresCluster } from '../../infra/testing/postgres-cluster.js';

const iris = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'));
const row = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 };

describe('the platform on PostgreSQL', { skip: engineSkip('postgres') }, () => {
  let url: string;
  let s: TestServer;
  let t: { id: string; developer: string; viewer: string };
  before(async () => {
    url = await (await postgresCluster()).createDatabase();
    s = await startTestServer({ AIAAS_DATABASE_URL: url, AIAAS_CPU: '2' });
    t = await s.tenant('pg-co');
  });
  after(() => s?.stop());

  test('tenant, keys and the audit log live in PostgreSQL', async () => {
    const keys = await s.call('GET', '/v1/keys', { key: t.developer });
    assert.equal(keys.status, 200, keys.text);
    assert.ok(keys.body.data.length >= 2);
    assert.equal((await s.call('GET', '/v1/tenants/pg-co', { key: t.viewer })).body.id, t.id);
    assert.equal((await s.call('POST', '/v1/tenants', { json: { name: 'pg-co' } })).status, 409);
    // Read back from PostgreSQL itself, not through the platform.
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    try {
      const tenant = await direct.query('select name from tenants where id = $1', [t.id]);
      assert.deepEqual(tenant.rows, [{ name: 'pg-co' }]);
      const audit = await direct.query(`select count(*)::int as n from audit_log where path = '/v1/tenants'`);
      assert.ok(audit.rows[0].n >= 2, 'tenant creations are audited');
    } finally {
      await direct.end();
    }
  });

  test('upload, train, deploy, predict', async () => {
    // Two uploads of one new name at once: one creates the dataset, the other becomes version 2.
    const ups = await Promise.all([1, 2].map(() => s.call('POST', '/v1/datasets?name=iris', { key: t.developer, body: iris })));
    for (const u of ups) assert.equal(u.status, 201, u.text);
    assert.deepEqual(ups.map((u) => u.body.version).sort(), [1, 2]);
    const ds = await s.call('GET', '/v1/datasets/iris', { key: t.viewer });
    assert.equal(ds.body.rows, 150);
    assert.equal(typeof ds.body.bytes, 'number');

    const job = await s.call('POST', '/v1/jobs', { key: t.developer, json: { type: 'train', name: 'iris', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } } });
    assert.equal(job.status, 202, job.text);
    const done = await waitJob(s, job.body.id, { key: t.developer });
    assert.equal(done.status, 'succeeded', done.error);
    assert.deepEqual(done.result, { model: 'iris', version: 1 });
    assert.ok(done.metrics.test.accuracy > 0.9);
    const events = await s.call('GET', `/v1/jobs/${job.body.id}/events?follow=false`, { key: t.developer });
    assert.equal(events.status, 200);

    const v = await s.call('GET', '/v1/models/iris/versions/1', { key: t.viewer });
    assert.equal(v.status, 200, v.text);
    assert.equal(typeof v.body.sizeBytes, 'number');
    const ep = await s.call('POST', '/v1/endpoints', { key: t.developer, json: { name: 'iris', model: 'iris', version: 1 } });
    assert.equal(ep.status, 201, ep.text);
    await until('endpoint ready', async () => (await s.call('GET', '/v1/endpoints/iris', { key: t.viewer })).body.status === 'ready');
    const p = await s.call('POST', '/v1/endpoints/iris/predict', { key: t.developer, json: { instances: [row] } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.predictions[0].label, 'virginica');
  });

  test('two API nodes on one database schedule at once: every job runs exactly once', async () => {
    const b = await startTestServer({ AIAAS_DATABASE_URL: url, AIAAS_CPU: '2', AIAAS_ADMIN_KEY: s.adminKey });
    try {
      await until('both nodes alive', async () => (await s.call('GET', '/v1/cluster')).body.nodes.filter((n: { alive: boolean }) => n.alive).length === 2);
      // Submitted through both nodes, so both schedulers wake and plan from their own snapshots.
      const ids = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await submit(i % 2 ? b : s, { type: 'noop' }, t.developer)).id));
      for (const id of ids) assert.equal((await waitJob(s, id, { key: t.developer })).status, 'succeeded');
      const direct = new pg.Client({ connectionString: url });
      await direct.connect();
      try {
        const runs = await direct.query('select job_id, count(*)::int as n from job_attempts where job_id = any($1) group by job_id', [ids]);
        assert.equal(runs.rows.length, ids.length);
        for (const r of runs.rows) assert.equal(r.n, 1, `job ${r.job_id} ran ${r.n} times`);
      } finally {
        await direct.end();
      }
    } finally {
      await b.stop();
    }
  });

  test('a restart on the same database keeps tenants, models and jobs', async () => {
    const again = await startTestServer({ AIAAS_DATABASE_URL: url, AIAAS_CPU: '1', AIAAS_ADMIN_KEY: s.adminKey });
    try {
      const models = await again.call('GET', '/v1/models', { key: t.viewer });
      assert.equal(models.status, 200, models.text);
      assert.deepEqual(models.body.data.map((m: { name: string }) => m.name), ['iris']);
      const jobs = await again.call('GET', '/v1/jobs', { key: t.viewer });
      assert.equal(jobs.body.data[0].status, 'succeeded');
    } finally {
      await again.stop();
    }
  });
});
