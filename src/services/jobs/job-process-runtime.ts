/**
 * The worker side of a job run (runs in the child process): receives the job, builds its
 * JobContext, imports the job type's module and calls `run(ctx)`, reports back over IPC, exits.
 * When the parent dies (the IPC channel closes) the worker exits at once, so a job never runs
 * twice at once after its server is restarted.
 */
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../infra/config.js';
import { openBlobStore } from '../../infra/open-blob-store.js';
import type { AbortReason, JobContext, JobModule, JobOutcome, WorkerServices } from './job-type.js';
import type { FromWorker, StartPayload, ToWorker } from './job-process-protocol.js';

/** Exit code of a worker whose parent went away. */
export const ORPHAN_EXIT = 70;

export async function runWorker(): Promise<void> {
  if (!process.send) {
    process.stderr.write('aiaas worker process: started without an IPC channel; node agents start this, not people.\n');
    process.exit(2);
  }
  const send = (m: FromWorker) => new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
  const controller = new AbortController();
  const pendingCheckpoints = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let started = false;

  // Under Slurm every process of the job gets scancel's SIGTERM; the supervisor decides (checkpoint, then stop).
  if (process.env.AIAAS_JOB_IGNORE_SIGTERM === '1') process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => {
    // The node agent is gone: stop now, without writing anything.
    process.exit(ORPHAN_EXIT);
  });
  process.on('message', (raw) => {
    const m = raw as ToWorker;
    if (m.t === 'start' && !started) {
      started = true;
      execute(m.job).catch((err: Error) => fail(err));
    } else if (m.t === 'abort') {
      if (!controller.signal.aborted) controller.abort(m.reason);
    } else if (m.t === 'checkpoint-ok') {
      pendingCheckpoints.get(m.id)?.resolve();
      pendingCheckpoints.delete(m.id);
    } else if (m.t === 'checkpoint-failed') {
      pendingCheckpoints.get(m.id)?.reject(new Error(`checkpoint not saved: ${m.message}`));
      pendingCheckpoints.delete(m.id);
    }
  });

  const fail = async (err: unknown) => {
    if (controller.signal.aborted) {
      await send({ t: 'aborted', reason: controller.signal.reason as AbortReason });
    } else {
      const e = err as { message?: string; retryable?: boolean; code?: unknown; stack?: string };
      if (e?.stack) process.stderr.write(e.stack + '\n');
      await send({ t: 'failed', message: String(e?.message ?? err), retryable: e?.retryable === true, code: typeof e?.code === 'string' ? e.code : undefined });
    }
    process.exit(0);
  };

  const config = loadConfig(process.env);
  const blobs = await openBlobStore(config.home, config.blobs, { sweepScratch: false });
  let services: Promise<WorkerServices> | undefined;
  let checkpointId = 0;

  async function execute(job: StartPayload): Promise<void> {
    Object.assign(process.env, job.env);
    const ctx: JobContext = {
      jobId: job.jobId, tenantId: job.tenantId, type: job.type, name: job.name, spec: job.spec, attempt: job.attempt,
      principal: job.principal, signal: controller.signal, resources: job.resources, threads: job.threads,
      progress: (p) => void send({ t: 'progress', progress: p }),
      metrics: (m) => void send({ t: 'metrics', metrics: m }),
      log: (line) => void send({ t: 'log', line: String(line) }),
      checkpoint: {
        load: async () => (job.checkpoint ? new Uint8Array(await blobs.read(job.checkpoint)) : undefined),
        save: async (bytes, o) => {
          const info = await blobs.put(bytes);
          const id = ++checkpointId;
          const acked = new Promise<void>((resolve, reject) => pendingCheckpoints.set(id, { resolve, reject }));
          await send({ t: 'checkpoint', id, hash: info.hash, bytes: info.size, blobs: o?.blobs });
          await acked;
        },
      },
      // The store's drivers load only when a job asks for them: a worker starts faster without.
      services: () => (services ??= (async () => {
        const [{ createLogger }, { openStore }] = await Promise.all([import('../../infra/logger.js'), import('../../infra/store/database.js')]);
        return {
          config, blobs,
          logger: createLogger(process.env.AIAAS_WORKER_LOG_LEVEL || 'warn', `job-${job.jobId}`),
          db: await openStore({ home: config.home, databaseUrl: config.databaseUrl }),
        };
      })()),
    };
    const mod = (await import(moduleUrl(job.module))) as Partial<JobModule>;
    if (typeof mod.run !== 'function') throw new Error(`job module ${job.module} exports no run(ctx) function`);
    const outcome = (await mod.run(ctx)) ?? {};
    if (controller.signal.aborted) {
      await send({ t: 'aborted', reason: controller.signal.reason as AbortReason });
    } else {
      await send({ t: 'done', outcome: outcome as JobOutcome });
    }
    if (services) await (await services).db.destroy().catch(() => undefined);
    process.exit(0);
  }

  await send({ t: 'ready' });
  // A spare worker imports the module its next job most likely runs while it waits (the import at
  // start then finds it loaded or loading); a failure here is the start's to report.
  const preload = process.env.AIAAS_WORKER_PRELOAD;
  if (preload && !started) import(moduleUrl(preload)).catch(() => undefined);
}

/** A job module's path or file URL as the URL it is imported by (the same for the preload and the start, so the second finds the first). */
function moduleUrl(module: string): string {
  return module.startsWith('file:') ? module : pathToFileURL(module).href;
}
