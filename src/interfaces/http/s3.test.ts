/**
 * Two API nodes on one PostgreSQL database and one S3 bucket (a real Ceph RGW), each with its own
 * AIAAS_HOME: a dataset uploaded through one node is read through the other, a train job submitted
 * through the other runs in a worker process that reads and writes the bucket, the model artifact
 * is the same through both, and the blobs live in the bucket, not in either node's folder.
 * Skipped (one line on how to run it) where PostgreSQL or Ceph is missing, unless AIAAS_REQUIRE_ENGINES=1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { waitJob } from '../testing/jobs-helpers.js';
import { engineSkip } from '../../infra/testing/store-engines.js';
import { enginesRequired, postgresCluster } from '../../infra/testing/postgres-cluster.js';
import { cephMissing, s3Server, type S3Server } from '../../infra/testing/ceph-rgw.js';

const skip = engineSkip('postgres') ?? (enginesRequired() ? undefined : cephMissing());

describe('two API nodes on PostgreSQL and an S3 bucket', { skip }, () => {
  let server: S3Server;
  let bucket: string;
  let a: TestServer;
  let b: TestServer;
  let t: { id: string; developer: string; viewer: string };

  before(async () => {
    server = await s3Server();
    bucket = await server.createBucket();
    const env = {
      AIAAS_DATABASE_URL: await (await postgresCluster()).createDatabase(),
      AIAAS_BLOB_URL: `s3://${bucket}/aiaas`, AIAAS_S3_ENDPOINT: server.endpoint, AIAAS_S3_REGION: server.region,
      AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AIAAS_CPU: '2',
    };
    a = await startTestServer(env);
    b = await startTestServer({ ...env, AIAAS_ADMIN_KEY: a.adminKey });
    t = await a.tenant('s3-co');
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  test('an upload through one node is read through the other; a job through the other trains from the bucket', async () => {
    const up = await a.call('POST', '/v1/datasets?name=iris', { key: t.developer, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')) });
    assert.equal(up.status, 201, up.text);
    const rows = await b.call('GET', '/v1/datasets/iris/rows?limit=2', { key: t.viewer });
    assert.equal(rows.status, 200, rows.text);
    assert.equal(rows.body.rows.length, 2);

    const job = await b.call('POST', '/v1/jobs', { key: t.developer, json: { type: 'train', name: 'iris', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } } });
    assert.equal(job.status, 202, job.text);
    const done = await waitJob(b, job.body.id, { key: t.developer });
    assert.equal(done.status, 'succeeded', done.error);
    const fromA = await a.call('GET', '/v1/models/iris/versions/1/artifact', { key: t.viewer });
    const fromB = await b.call('GET', '/v1/models/iris/versions/1/artifact', { key: t.viewer });
    assert.equal(fromA.status, 200);
    assert.equal(fromA.text, fromB.text);

    const client = new S3Client({
      endpoint: server.endpoint, region: server.region, forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'aiaas/sha256/' }));
    client.destroy();
    // The dataset's original and columnar copies and the model artifact, at least.
    assert.ok((listed.Contents ?? []).length >= 3, `objects in the bucket: ${JSON.stringify(listed.Contents?.map((o) => o.Key))}`);
    for (const home of [a.home, b.home]) assert.equal(fs.existsSync(path.join(home, 'blobs', 'sha256')), false, `${home} holds no blobs of its own`);
  });
});
