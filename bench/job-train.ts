/**
 * The job path of `npm run bench:train`: a real server (temporary AIAAS_HOME, ephemeral port),
 * the MNIST CSVs uploaded as datasets, and each recipe submitted as a `train` job over HTTP, as a
 * user would. Reads back what the job reports: per-epoch samples/s (its metrics events), the
 * training stage (`trainSeconds`, preprocessing to the last epoch) and the job's wall time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '../src/engine/index.js';
import { readEvents, submit, waitJob } from '../src/interfaces/testing/jobs-helpers.js';
import { startTestServer, type TestServer } from '../src/interfaces/testing/test-server.js';

export interface JobResult {
  /** Training samples over the epochs' own seconds (as the engine bench counts). */
  samplesPerSecond: number;
  /** Training samples per second of the whole training stage (`trainSeconds`). */
  stageSamplesPerSecond: number;
  trainSeconds: number;
  /** Job creation to its end, by the server's clock. */
  wallSeconds: number;
  testAccuracy: number;
  cpu: number;
  seed: number;
}

export interface JobBench {
  run(spec: ModelSpec, epochs: number, cpu: number, seed: number): Promise<JobResult>;
  stop(): Promise<void>;
}

export async function startJobBench(dataDir: string): Promise<JobBench> {
  // The node offers two cores, so a job may ask for `resources.cpu: 2`.
  const server = await startTestServer({ AIAAS_CPU: '2' });
  try {
    await upload(server, 'mnist-train', join(dataDir, 'mnist_train.csv.gz'));
    await upload(server, 'mnist-test', join(dataDir, 'mnist_test.csv.gz'));
  } catch (err) {
    await server.stop();
    throw err;
  }
  let k = 0;
  return {
    async run(spec, epochs, cpu, seed) {
      const job = await submit(server, {
        type: 'train', name: `bench-${++k}`, dataset: 'mnist-train', testDataset: { name: 'mnist-test' }, target: 'label',
        task: 'classification', resources: { cpu },
        // The engine bench's settings: pixels / 255, no validation share, the recipe's optimizer.
        preprocessing: [{ op: 'scale', factor: 1 / 255 }],
        split: { validation: 0, seed },
        model: spec,
        training: { epochs, batchSize: 32, optimizer: 'adam', learningRate: 1e-3 },
      });
      const done = await waitJob(server, job.id);
      if (done.status !== 'succeeded') throw new Error(`bench job ${job.id} ${done.status}: ${JSON.stringify(done.error)}`);
      const { events } = await readEvents(`${server.url}/v1/jobs/${job.id}/events`, server.adminKey);
      const perEpoch = events.filter((e) => e.event === 'metrics' && typeof e.data?.epoch === 'number' && typeof e.data?.seconds === 'number');
      const seconds = perEpoch.reduce((a, e) => a + Number(e.data.seconds), 0);
      const samples = perEpoch.reduce((a, e) => a + Number(e.data.samplesPerSecond) * Number(e.data.seconds), 0);
      const m = done.metrics;
      const trainSeconds = Number(m.trainSeconds ?? m.training?.trainSeconds);
      const trainRate = Number(m.trainSamplesPerSecond ?? m.training?.trainSamplesPerSecond);
      return {
        samplesPerSecond: samples / seconds,
        stageSamplesPerSecond: trainRate,
        trainSeconds,
        wallSeconds: (Date.parse(done.finishedAt) - Date.parse(done.createdAt)) / 1000,
        testAccuracy: Number(m.accuracy ?? m.test?.accuracy),
        cpu, seed,
      };
    },
    stop: () => server.stop(),
  };
}

async function upload(server: TestServer, name: string, file: string): Promise<void> {
  const r = await server.call('POST', `/v1/datasets?name=${name}&format=csv`, { body: readFileSync(file), headers: { 'content-type': 'application/gzip' } });
  if (r.status !== 201) throw new Error(`upload ${name}: ${r.status} ${r.text}`);
}
