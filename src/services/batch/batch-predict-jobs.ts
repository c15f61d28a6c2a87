/**
 * The `batch_predict` job type, registered with the job system by the composition root; its spec
 * is checked in the API process (batch-predict-spec.ts), so a bad one is a 422 before anything queues.
 */
import type { JobType, JobTypeRegistry } from '../jobs/job-type.js';
import type { DatasetService } from '../datasets.js';
import type { RegistryService } from '../registry.js';
import { validateBatchPredictSpec, type BatchPredictSpec } from './batch-predict-spec.js';

export interface BatchPredictPlatform {
  datasets: DatasetService;
  registry: RegistryService;
}

export const batchPredictJob: JobType<BatchPredictSpec, BatchPredictPlatform> = {
  name: 'batch_predict',
  description: 'Score a dataset with a model version into a new dataset with the prediction columns appended (API.md "Batch prediction").',
  module: new URL('./batch-predict-job.js', import.meta.url).href,
  defaultResources: { cpu: 1, memoryMb: 1024, gpu: 0 },
  async validate(raw, { principal, platform }) {
    const spec = await validateBatchPredictSpec(raw, { principal, registry: platform.registry, datasets: platform.datasets });
    return { spec, name: spec.output };
  },
};

export function registerBatchPredictJobs<P extends BatchPredictPlatform>(types: JobTypeRegistry<P>): void {
  types.register(batchPredictJob as unknown as JobType<BatchPredictSpec, P>);
}
