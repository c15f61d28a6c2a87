/**
 * Jobs on Slurm, distributed: PostgreSQL, a real S3 server (Ceph RGW) and a two-node Slurm cluster
 * (two `slurmd -N` on this host, slurmrestd with JWT), two API nodes with AIAAS_EXECUTOR=slurm and
 * separate AIAAS_HOMEs. A train job submitted through one node runs as a Slurm batch job named
 * after it and succeeds; cancel goes to Slurm as scancel; a drained Slurm node gets no new jobs;
 * killing the slurmd of a job's node mid-job (and its processes) ends in a job Slurm requeued,
 * that resumed from its checkpoint in S3 and succeeded; Slurm preempting it for another partition's job
 * (SIGTERM: the job checkpoints and stops, Slurm requeues it) ends the same way.
 * Skipped (one line on how to run it) where PostgreSQL, Ceph or Slurm is missing, unless AIAAS_REQUIRE_ENGINES=1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';
import { engineSkip } from '../../infra/testing/store-engines.js';
import { enginesRequired, postgresCluster } from '../../infra/testing/postgres-cluster.js';
import { cephMissing, s3Server } from '../../infra/testing/ceph-rgw.js';
import { slurmCluster, slurmExecutorEnv, slurmMissing, type SlurmCluster } from '../../infra/testing/slurm-cluster.js';

const skip = engineSkip('postgres') ?? (enginesRequired() ? undefined : cephMissing() ?? slurmMissing());

describe('jobs on Slurm: two API nodes, PostgreSQL, an S3 bucket, two Slurm nodes', { skip }, () => {
  let slurm: SlurmCluster;
  let a: TestServer;
  let b: TestServer;
  let t: { id: string; developer: string; viewer: string };
  let other: { id: string; developer: string; viewer: string };

  /** Slurm's record of a job, as `scontrol show job` prints it. */
  const slurmJob = async (id: number) => Object.fromEntries((await slurm.scontrol('show', 'job', String(id), '-o')).trim().split(/\s+/).map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  })) as Record<string, string>;
  const slurmIdOf = (job: { attempts?: { pid: number | null }[] }): number => job.attempts?.at(-1)?.pid ?? 0;

  before(async () => {
    const [s3, pg] = await Promise.all([s3Server(), postgresCluster()]);
    slurm = await slurmCluster();
    const env = {
      AIAAS_DATABASE_URL: await pg.createDatabase(),
      AIAAS_BLOB_URL: `s3://${await s3.createBucket()}/aiaas`, AIAAS_S3_ENDPOINT: s3.endpoint, AIAAS_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ...slurmExecutorEnv(slurm),
      AIAAS_HEARTBEAT_SECONDS: '1', AIAAS_JOB_GRACE_SECONDS: '5',
    };
    a = await startTestServer(env);
    b = await startTestServer({ ...env, AIAAS_ADMIN_KEY: a.adminKey });
    t = await a.tenant('slurm-co');
    other = await a.tenant('slurm-other');
    const up = await a.call('POST', '/v1/datasets?name=iris', { key: t.developer, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')) });
    assert.equal(up.status, 201, up.text);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  test('a train job submitted through one API node runs as a Slurm job and succeeds; /v1/cluster shows the Slurm nodes', async () => {
    const cluster = await a.call('GET', '/v1/cluster');
    assert.equal(cluster.status, 200, cluster.text);
    assert.equal(cluster.body.executor, 'slurm');
    assert.deepEqual(cluster.body.slurm.nodes.map((n: { name: string }) => n.name), ['n1', 'n2']);
    assert.equal(cluster.body.nodes.find((n: { kind: string }) => n.kind === 'slurm')?.gpus, 1);

    // The cluster has 4 CPUs but no node has 3: refused at once instead of waiting in Slurm forever.
    const tooBig = await a.call('POST', '/v1/jobs', { key: t.developer, json: { type: 'noop', resources: { cpu: 3 } } });
    assert.equal(tooBig.status, 422, tooBig.text);
    assert.equal(tooBig.body.error.code, 'insufficient_capacity');

    const job = await submit(a, { type: 'train', name: 'iris-slurm', dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [8] }, training: { epochs: 3 } }, t.developer);
    const done = await waitJob(b, job.id, { key: t.developer });
    assert.equal(done.status, 'succeeded', done.error);
    const slurmId = slurmIdOf(done);
    assert.ok(slurmId, `the run records its Slurm job id: ${JSON.stringify(done.attempts)}`);
    assert.equal((await slurmJob(slurmId)).JobName, `aiaas-${job.id}`);
    // The batch job exits just after it recorded the run's end.
    await until('Slurm to record the batch job as completed', async () => (await slurmJob(slurmId)).JobState === 'COMPLETED');
    const model = await b.call('GET', '/v1/models/iris-slurm/versions/1', { key: t.viewer });
    assert.equal(model.status, 200, model.text);
    assert.equal(fs.existsSync(path.join(a.home, 'blobs', 'sha256')) || fs.existsSync(path.join(b.home, 'blobs', 'sha256')), false, 'no blobs in either API node\'s folder');
  });

  test('cancel through the other API node is a scancel of the Slurm job; another tenant sees neither the job nor it on the nodes', async () => {
    const job = await submit(a, { type: 'sleep', seconds: 600, steps: 600 }, t.developer);
    const running = await waitJob(a, job.id, { key: t.developer, pred: (j) => j.progress.fraction > 0 });
    const slurmId = slurmIdOf(running);
    assert.ok(slurmId);
    const view = await until('the job on a Slurm node in /v1/cluster', async () => {
      const c = await a.call('GET', '/v1/cluster', { key: t.viewer });
      return c.body.slurm.nodes.some((n: { jobs: { job: string }[] }) => n.jobs.some((j) => j.job === job.id)) && c.body;
    });
    assert.ok(view.slurm.nodes.length === 2);
    const theirs = await a.call('GET', '/v1/cluster', { key: other.viewer });
    assert.equal(theirs.body.slurm.nodes.some((n: { jobs: { job: string }[] }) => n.jobs.some((j) => j.job === job.id)), false);
    assert.equal((await b.call('GET', `/v1/jobs/${job.id}`, { key: other.viewer })).status, 404);

    const cancel = await b.call('POST', `/v1/jobs/${job.id}/cancel`, { key: t.developer });
    assert.equal(cancel.status, 200, cancel.text);
    const done = await waitJob(a, job.id, { key: t.developer });
    assert.equal(done.status, 'cancelled');
    await until('Slurm to record the cancel', async () => (await slurmJob(slurmId)).JobState === 'CANCELLED');
  });

  test('a drained Slurm node gets no new jobs', async () => {
    await slurm.scontrol('update', 'nodename=n1', 'state=drain', 'reason=aiaas-test');
    try {
      await until('n1 to leave the capacity', async () => {
        const c = await a.call('GET', '/v1/cluster');
        return c.body.slurm.nodes.find((n: { name: string }) => n.name === 'n1')?.usable === false
          && c.body.nodes.find((n: { kind: string }) => n.kind === 'slurm')?.cpu === 2;
      });
      const jobs = await Promise.all([1, 2, 3].map(() => submit(b, { type: 'sleep', seconds: 1, steps: 2 }, t.developer)));
      for (const j of jobs) {
        const done = await waitJob(a, j.id, { key: t.developer });
        assert.equal(done.status, 'succeeded', done.error);
        assert.equal((await slurmJob(slurmIdOf(done))).BatchHost, 'n2');
      }
    } finally {
      await slurm.scontrol('update', 'nodename=n1', 'state=resume');
    }
  });

  test('Slurm preempting a job for a higher-tier partition: it checkpoints on SIGTERM, Slurm requeues it, it resumes and succeeds', async () => {
    const job = await submit(a, { type: 'sleep', seconds: 30, steps: 60, }, t.developer);
    const running = await waitJob(a, job.id, { key: t.developer, pred: (j) => j.checkpoint && j.progress.fraction >= 0.05 });
    const slurmId = slurmIdOf(running);
    const host = (await slurmJob(slurmId)).BatchHost!;
    // Someone else's job that needs the whole node: Slurm preempts ours to make room.
    const urgent = await slurm.sbatch('-p', 'urgent', '-w', host, '-c', '2', '--mem=1024', '--wrap', 'sleep 2');
    const done = await waitJob(b, job.id, { key: t.developer });
    assert.equal(done.status, 'succeeded', done.error);
    assert.equal(done.attempts[0].outcome, 'requeued', JSON.stringify(done.attempts));
    assert.equal(done.attempts.at(-1).pid, slurmId);
    assert.equal(done.attempts.at(-1).resumedFromCheckpoint, true);
    const logs = await a.call('GET', `/v1/jobs/${job.id}/logs`, { key: t.developer });
    assert.match(logs.text, /sleep: stopping at step \d+ \(preempt\)/, 'the job stopped on the signal, after its checkpoint');
    assert.ok(Number((await slurmJob(slurmId)).Restarts) >= 1);
    await until('the urgent job to finish', async () => (await slurmJob(urgent)).JobState === 'COMPLETED');
  });

  test('killing the slurmd of a job\'s node mid-job: Slurm requeues it, it resumes from its checkpoint in S3 and succeeds', async () => {
    const job = await submit(a, { type: 'sleep', seconds: 40, steps: 40 }, t.developer);
    const running = await waitJob(a, job.id, { key: t.developer, pred: (j) => j.checkpoint && j.progress.fraction >= 0.1 });
    const slurmId = slurmIdOf(running);
    const host = (await slurmJob(slurmId)).BatchHost!;
    assert.ok(slurm.nodes.includes(host), host);
    await slurm.killNode(host);
    try {
      const done = await waitJob(b, job.id, { key: t.developer });
      assert.equal(done.status, 'succeeded', done.error);
      assert.ok(done.attempts.length >= 2, JSON.stringify(done.attempts));
      assert.equal(done.attempts[0].outcome, 'requeued', JSON.stringify(done.attempts));
      const last = done.attempts.at(-1);
      assert.equal(last.pid, slurmId, 'the same Slurm job, restarted by Slurm');
      assert.equal(last.resumedFromCheckpoint, true);
      assert.ok(done.metrics.resumedFromStep > 0, JSON.stringify(done.metrics));
      const record = await slurmJob(slurmId);
      assert.ok(Number(record.Restarts) >= 1, JSON.stringify(record));
      assert.notEqual(record.BatchHost, host);
    } finally {
      slurm.restartNode(host);
    }
  });
});
