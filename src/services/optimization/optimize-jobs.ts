/**
 * The `optimize` job type, registered with the job system by the composition root. Validation
 * runs in the API process (optimize-spec.ts), so a method that does not apply is refused with a
 * 422 before anything is queued.
 */
import type { JobType, JobTypeRegistry } from '../jobs/job-type.js';
import type { DatasetService } from '../datasets.js';
import type { RegistryService } from '../registry.js';
import { validateOptimizeSpec, type OptimizeSpec } from './optimize-spec.js';

export interface OptimizePlatform {
  datasets: DatasetService;
  registry: RegistryService;
}

export const optimizeJob: JobType<OptimizeSpec, OptimizePlatform> = {
  name: 'optimize',
  description: 'Quantize, cast to float16 or prune a model version; register the result as a new version with lineage.optimizedFrom (API.md "Model optimization").',
  module: new URL('./optimize-job.js', import.meta.url).href,
  defaultResources: { cpu: 1, memoryMb: 2048, gpu: 0 },
  async validate(raw, { principal, platform }) {
    const spec = await validateOptimizeSpec(raw, { principal, registry: platform.registry, datasets: platform.datasets });
    return { spec, name: spec.model };
  },
};

export function registerOptimizeJobs<P extends OptimizePlatform>(types: JobTypeRegistry<P>): void {
  types.register(optimizeJob as unknown as JobType<OptimizeSpec, P>);
}
