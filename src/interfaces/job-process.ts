/**
 * The entry point of a job's worker process (`node dist/src/interfaces/job-process.js`), started by a
 * node agent with an IPC channel: one process per job run. See services/jobs/job-process-runtime.ts.
 */
import { runWorker } from '../services/jobs/job-process-runtime.js';

runWorker().catch((err: Error) => {
  process.stderr.write(`aiaas worker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
