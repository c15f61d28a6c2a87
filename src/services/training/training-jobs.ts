/**
 * The training job types, registered with the job system by the composition root. Validation
 * runs in the API process, so a bad spec is refused with a 422 before anything is queued.
 */
import type { JobType, JobTypeRegistry } from '../jobs/job-type.js';
import type { DatasetService } from '../datasets.js';
import type { RegistryService } from '../registry.js';
import { isNeural, isText, validateTrainSpec, type TrainSpec } from './train-spec.js';
import { validateTuneSpec, type TuneSpec } from './tune-spec.js';
import { isLmSpec, validateLmSpec, type LmSpec } from './lm-spec.js';

/** What the training job types need of the platform at submission. */
export interface TrainingPlatform {
  datasets: DatasetService;
  registry: RegistryService;
}

export const trainJob: JobType<TrainSpec | LmSpec, TrainingPlatform> = {
  name: 'train',
  description: 'Train a model on a dataset and register a version of it (API.md: type "train").',
  module: new URL('./train-job.js', import.meta.url).href,
  defaultResources: { cpu: 1, memoryMb: 2048, gpu: 0 },
  async validate(raw, { principal, platform, name }) {
    if (isLmSpec(raw)) {
      const spec = await validateLmSpec({ ...raw, ...(name !== undefined ? { name } : {}) }, { principal, datasets: platform.datasets, registry: platform.registry });
      // The training loop runs inside ONNX Runtime; a second thread helps its larger MatMuls when granted.
      return { spec, name: spec.name, resources: { cpu: 1, memoryMb: 2048 } };
    }
    const spec = await validateTrainSpec({ ...raw, ...(name !== undefined ? { name } : {}) }, { principal, datasets: platform.datasets, registry: platform.registry });
    // Networks and forests fit faster with two threads when the node has them; one is the floor.
    return { spec, name: spec.name, resources: isNeural(spec.model.kind) || isText(spec.model.kind) ? { cpu: 1, memoryMb: 2048 } : { cpu: 1, memoryMb: 1024 } };
  },
};

export const tuneJob: JobType<TuneSpec, TrainingPlatform> = {
  name: 'tune',
  description: 'Search hyper-parameters with trials as child train jobs; register the best (API.md: type "tune").',
  module: new URL('./tune-job.js', import.meta.url).href,
  // The tune job itself only submits and watches its trials.
  defaultResources: { cpu: 0.1, memoryMb: 256, gpu: 0 },
  async validate(raw, { principal, platform, name }) {
    const spec = await validateTuneSpec(raw, { principal, datasets: platform.datasets, name });
    return { spec, name: spec.name };
  },
};

export function registerTrainingJobs<P extends TrainingPlatform>(types: JobTypeRegistry<P>): void {
  types.register(trainJob as unknown as JobType<TrainSpec | LmSpec, P>);
  types.register(tuneJob as unknown as JobType<TuneSpec, P>);
}
