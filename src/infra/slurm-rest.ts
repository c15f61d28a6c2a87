/**
 * A client of Slurm's REST daemon (slurmrestd), API version v0.0.38: the one Debian 12's Slurm
 * 22.05 serves and the newest it has. JWT authentication: the user's name and token in the
 * X-SLURM-USER-NAME / X-SLURM-USER-TOKEN headers (slurmrestd started with `-a rest_auth/jwt`).
 * Only the calls the Slurm executor needs: submit, cancel (scancel), list jobs, list nodes.
 */
import { UnavailableError } from './errors.js';
import type { SlurmConfig } from './config.js';

export const SLURM_API = 'v0.0.38';

export interface SlurmSubmit {
  name: string;
  script: string;
  environment: Record<string, string>;
  cpusPerTask: number;
  memoryMb: number;
  gpus: number;
  partition?: string;
  cwd: string;
  output: string;
}

/** A Slurm job as the executor needs it (job_state is Slurm's: PENDING, RUNNING, COMPLETED, NODE_FAIL, …). */
export interface SlurmJob {
  jobId: number;
  name: string;
  state: string;
  nodes: string;
  batchHost: string;
  restarts: number;
  reason: string;
  exitCode: number;
}

export interface SlurmNode {
  name: string;
  /** idle | mixed | allocated | down | …, with DRAIN, NOT_RESPONDING … in `flags`. */
  state: string;
  flags: string[];
  cpus: number;
  allocCpus: number;
  memoryMb: number;
  allocMemoryMb: number;
  gpus: number;
  partitions: string[];
  reason: string;
}

interface Answer { errors?: { error?: string; description?: string; error_number?: number }[] }

export class SlurmRest {
  constructor(private readonly c: SlurmConfig) {}

  async submit(s: SlurmSubmit): Promise<number> {
    const job: Record<string, unknown> = {
      name: s.name, environment: s.environment, cpus_per_task: s.cpusPerTask, memory_per_node: Math.ceil(s.memoryMb),
      current_working_directory: s.cwd, standard_output: s.output, standard_error: s.output,
      // Slurm requeues the job when its node fails or it is preempted; the platform fences runs by job id.
      requeue: true,
    };
    if (s.partition) job.partition = s.partition;
    if (s.gpus > 0) job.gres = `gpu:${s.gpus}`;
    const r = await this.call<{ job_id: number }>('POST', '/job/submit', { script: s.script, job });
    return r.job_id;
  }

  /** scancel: Slurm signals the job's processes (SIGTERM, then SIGKILL after KillWait). */
  async cancel(jobId: number): Promise<void> {
    await this.call('DELETE', `/job/${jobId}`);
  }

  async jobs(): Promise<SlurmJob[]> {
    const r = await this.call<{ jobs: Record<string, unknown>[] }>('GET', '/jobs');
    return r.jobs.map((j) => ({
      jobId: Number(j.job_id), name: String(j.name ?? ''), state: String(j.job_state ?? ''), nodes: String(j.nodes ?? ''),
      batchHost: String(j.batch_host ?? ''), restarts: Number(j.restart_cnt ?? 0), reason: String(j.state_reason ?? ''),
      exitCode: Number(j.exit_code ?? 0),
    }));
  }

  async nodes(): Promise<SlurmNode[]> {
    const r = await this.call<{ nodes: Record<string, unknown>[] }>('GET', '/nodes');
    return r.nodes.map((n) => ({
      name: String(n.name), state: String(n.state ?? ''), flags: (n.state_flags as string[] | undefined) ?? [],
      cpus: Number(n.cpus ?? 0), allocCpus: Number(n.alloc_cpus ?? 0), memoryMb: Number(n.real_memory ?? 0),
      allocMemoryMb: Number(n.alloc_memory ?? 0), gpus: gpusIn(String(n.gres ?? '')),
      partitions: (n.partitions as string[] | undefined) ?? [], reason: String(n.reason ?? ''),
    }));
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const url = `${this.c.url}/slurm/${SLURM_API}${route}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { 'X-SLURM-USER-NAME': this.c.user, 'X-SLURM-USER-TOKEN': this.c.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new UnavailableError('slurm_unreachable', `slurmrestd at AIAAS_SLURM_URL=${this.c.url} does not answer (${(err as Error).message}); start it or fix the setting.`, { variable: 'AIAAS_SLURM_URL' });
    }
    const text = await res.text();
    let parsed: T & Answer;
    try {
      parsed = JSON.parse(text) as T & Answer;
    } catch {
      parsed = {} as T & Answer;
    }
    const errors = (parsed.errors ?? []).filter((e) => e.error_number !== 0 || e.error);
    if (res.status === 401 || res.status === 403) {
      throw new UnavailableError('slurm_unauthorized', `slurmrestd refused AIAAS_SLURM_USER=${this.c.user} with AIAAS_SLURM_TOKEN (HTTP ${res.status}); make a new token with \`scontrol token username=${this.c.user} lifespan=…\`.`, { variable: 'AIAAS_SLURM_TOKEN' });
    }
    if (!res.ok || errors.length) {
      const what = errors.map((e) => e.description || e.error).filter(Boolean).join('; ') || text.slice(0, 300);
      throw new UnavailableError('slurm_error', `slurmrestd ${method} ${route} failed (HTTP ${res.status}): ${what}`, { status: res.status });
    }
    return parsed;
  }
}

/** GPUs in a node's gres string, e.g. "gpu:1", "gpu:a100:4(S:0-1),shard:8". */
export function gpusIn(gres: string): number {
  let n = 0;
  for (const part of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(part.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}
