/**
 * The program of a Slurm batch job the Slurm executor submits (`node dist/src/interfaces/slurm-job.js`):
 * runs one platform job's run on the Slurm node. See services/jobs/slurm/slurm-run.ts.
 */
import { fileURLToPath } from 'node:url';
import { runSlurmBatchJob } from '../services/jobs/slurm/slurm-run.js';

runSlurmBatchJob({ workerEntry: fileURLToPath(new URL('./job-process.js', import.meta.url)) }).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`aiaas slurm job: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
