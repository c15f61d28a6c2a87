/**
 * What a training job uses in its worker process: the dataset and registry services built on the
 * worker's store, with the platform's limits, and the job's principal in the job's tenant.
 */
import type { JobContext } from '../jobs/job-type.js';
import { BlobRefs } from '../blob-refs.js';
import { DatasetService } from '../datasets.js';
import { RegistryService } from '../registry.js';
import type { Principal } from '../principal.js';
import { loadTable, type RawTable } from '../../ml/training-table.js';

export interface TrainingServices {
  datasets: DatasetService;
  registry: RegistryService;
  principal: Principal;
}

export async function trainingServices<T>(ctx: JobContext<T>): Promise<TrainingServices> {
  const s = await ctx.services();
  const refs = new BlobRefs(s.db, s.blobs);
  return {
    datasets: new DatasetService(s.db, s.blobs, refs, s.config.datasetMaxBytes, s.config.datasetMaxCells),
    registry: new RegistryService(s.db, s.blobs, refs, s.config.modelMaxBytes),
    principal: { ...ctx.principal, tenantId: ctx.tenantId },
  };
}

/** A dataset version in memory, as training and evaluation read it. */
export async function readTable(datasets: DatasetService, p: Principal, id: string, version: number, skip: readonly string[] = []): Promise<RawTable> {
  const { reader } = await datasets.open(p, id, version);
  try {
    return await loadTable(reader, skip);
  } finally {
    await reader.close();
  }
}
