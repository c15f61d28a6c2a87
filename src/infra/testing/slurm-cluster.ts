/**
 * A throwaway two-node Slurm cluster for the tests of one test file (one process), from Debian's
 * slurm-wlm, slurmrestd and munge: a munged with its own key and socket, slurmctld, two `slurmd -N`
 * on this host on distinct ports (n1: 2 CPUs; n2: 2 CPUs and one GPU as gres) and slurmrestd with
 * JWT authentication, all in a temporary folder on free ports, a few seconds to answer. Partition
 * `aiaas` is the platform's; a job in `urgent` preempts (requeues) what is in its way there.
 *
 * The daemons run in the foreground as children of the test process and are killed, and their
 * folder deleted, when it exits. Where Slurm is not installed, `slurmMissing()` says how to get
 * it; tests skip on that unless AIAAS_REQUIRE_ENGINES=1 (CI), where it is a failure. Slurm's
 * daemons run as root here (SlurmUser=root), as in CI's container.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export const SLURM_HINT = 'Slurm tests skipped: install Slurm (apt-get install slurm-wlm slurmrestd slurm-wlm-jwt-plugin munge) and run them as root to run them';

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'slurmrestd', 'scontrol'];
const PLUGINS = '/usr/lib/x86_64-linux-gnu/slurm-wlm';

export interface SlurmCluster {
  /** slurmrestd's base URL. */
  url: string;
  user: string;
  token: string;
  partition: string;
  nodes: string[];
  /** The folder the batch jobs' output goes to (AIAAS_SLURM_OUTPUT). */
  outputDir: string;
  scontrol(...args: string[]): Promise<string>;
  /** sbatch with these arguments (a job of someone else than the platform); its Slurm job id. */
  sbatch(...args: string[]): Promise<number>;
  /** Kills a node's slurmd and every process of the Slurm jobs running there: the node is lost. */
  killNode(node: string): Promise<void>;
  /** Starts a node's slurmd again (it returns to service by itself: ReturnToService=2). */
  restartNode(node: string): void;
}

/** The settings that make an API node submit its jobs to this cluster (AIAAS_EXECUTOR=slurm). */
export function slurmExecutorEnv(c: SlurmCluster): Record<string, string> {
  return {
    AIAAS_EXECUTOR: 'slurm', AIAAS_SLURM_URL: c.url, AIAAS_SLURM_USER: c.user, AIAAS_SLURM_TOKEN: c.token,
    AIAAS_SLURM_PARTITION: c.partition, AIAAS_SLURM_OUTPUT: path.join(c.outputDir, '%j.out'),
  };
}

/** Why Slurm tests cannot run here (undefined: they can). */
export function slurmMissing(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/sbin');
  const found = (bin: string) => dirs.some((d) => fs.existsSync(path.join(d, bin)));
  const jwt = !fs.existsSync(PLUGINS) || fs.existsSync(path.join(PLUGINS, 'auth_jwt.so'));
  return BINARIES.every(found) && jwt && process.getuid?.() === 0 ? undefined : SLURM_HINT;
}

let started: Promise<SlurmCluster> | undefined;
/** Unique per test process: the batch jobs' scratch folders carry it, so the ones a killed job left are found at exit. */
const clusterName = `aiaas${process.pid}`;
let dir: string | undefined;
const children: ChildProcess[] = [];
const slurmds = new Map<string, ChildProcess>();

/** The Slurm cluster of this process, started on first use. */
export function slurmCluster(): Promise<SlurmCluster> {
  started ??= start();
  return started;
}

async function start(): Promise<SlurmCluster> {
  const missing = slurmMissing();
  if (missing) throw new Error(missing.replace('tests skipped', 'is required (AIAAS_REQUIRE_ENGINES=1)'));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-slurm-'));
  dir = root;
  // slurmrestd runs as nobody and reads slurm.conf from here.
  fs.chmodSync(root, 0o755);
  process.once('exit', stopSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
  for (const d of ['state', 'spool', 'log', 'run', 'out']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.chmodSync(path.join(root, 'out'), 0o777);
  const munge = path.join(root, 'munge.key');
  fs.writeFileSync(munge, randomBytes(1024), { mode: 0o400 });
  const jwt = path.join(root, 'jwt.key');
  fs.writeFileSync(jwt, randomBytes(32), { mode: 0o600 });
  const socket = path.join(root, 'run', 'munge.sock');
  daemon('munged', ['-F', '-f', `--socket=${socket}`, `--key-file=${munge}`, `--pid-file=${root}/run/munged.pid`, `--log-file=${root}/log/munged.log`, `--seed-file=${root}/run/munge.seed`]);
  await until(() => fs.existsSync(socket));

  const [ctld, p1, p2, rest] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const conf = writeConfig(root, { ctld, ports: [p1, p2], socket, jwt });
  const env = { ...process.env, SLURM_CONF: conf };
  const scontrol = async (...args: string[]) => (await run('scontrol', args, { env })).stdout;
  daemon('slurmctld', ['-D', '-f', conf], env);
  await until(async () => { await scontrol('ping'); return true; });
  for (const n of ['n1', 'n2']) startSlurmd(n, conf, env);
  await until(async () => /State=IDLE/.test(await scontrol('show', 'node', 'n1')) && /State=IDLE/.test(await scontrol('show', 'node', 'n2')));
  daemon('slurmrestd', ['-f', conf, '-a', 'rest_auth/jwt', '-s', 'openapi/v0.0.38', '-u', 'nobody', '-g', 'nogroup', `127.0.0.1:${rest}`], { ...env, SLURM_JWT: 'daemon' });
  const token = /SLURM_JWT=(\S+)/.exec(await scontrol('token', 'username=root', 'lifespan=86400'))![1]!;
  const url = `http://127.0.0.1:${rest}`;
  await until(async () => (await fetch(`${url}/slurm/v0.0.38/ping`, { headers: { 'X-SLURM-USER-NAME': 'root', 'X-SLURM-USER-TOKEN': token } })).ok);
  return {
    url, user: 'root', token, partition: 'aiaas', nodes: ['n1', 'n2'], outputDir: path.join(root, 'out'), scontrol,
    sbatch: async (...args) => Number((await run('sbatch', ['--parsable', '-o', '/dev/null', ...args], { env })).stdout.trim().split(';')[0]),
    killNode: (node) => killNode(node, env),
    restartNode: (node) => startSlurmd(node, conf, env),
  };
}

/**
 * Defaults that make a two-node cluster on one host behave: DefMemPerCPU (else a job takes a
 * node's whole memory), a short SlurmdTimeout (a dead node is noticed in ~15-30 s), a short
 * credential lifetime (a requeued job restarts after it), requeue on node failure.
 */
function writeConfig(root: string, o: { ctld: number; ports: number[]; socket: string; jwt: string }): string {
  const lines = [
    `ClusterName=${clusterName}`, `SlurmctldHost=${os.hostname()}(127.0.0.1)`, `SlurmctldPort=${o.ctld}`,
    'SlurmUser=root', 'SlurmdUser=root', 'AuthType=auth/munge', `AuthInfo=socket=${o.socket},cred_expire=20`,
    'AuthAltTypes=auth/jwt', `AuthAltParameters=jwt_key=${o.jwt}`, 'CredType=cred/munge',
    `StateSaveLocation=${root}/state`, `SlurmdSpoolDir=${root}/spool/%n`, `SlurmctldPidFile=${root}/run/slurmctld.pid`,
    `SlurmdPidFile=${root}/run/slurmd-%n.pid`, `SlurmctldLogFile=${root}/log/slurmctld.log`, `SlurmdLogFile=${root}/log/slurmd-%n.log`,
    'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core_Memory',
    'DefMemPerCPU=512', 'GresTypes=gpu', 'JobRequeue=1', 'ReturnToService=2', 'SlurmdTimeout=10', 'KillWait=15',
    'MinJobAge=600', 'SchedulerType=sched/backfill', 'MpiDefault=none', 'SchedulerParameters=sched_interval=2',
    `NodeName=n1 NodeAddr=127.0.0.1 Port=${o.ports[0]} CPUs=2 RealMemory=4096 State=UNKNOWN`,
    `NodeName=n2 NodeAddr=127.0.0.1 Port=${o.ports[1]} CPUs=2 RealMemory=4096 Gres=gpu:1 State=UNKNOWN`,
    // Slurm's own preemption: a job in `urgent` requeues jobs of `aiaas` in its way, after SIGTERM and a grace time.
    'PreemptType=preempt/partition_prio', 'PreemptMode=REQUEUE',
    'PartitionName=aiaas Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=20',
    'PartitionName=urgent Nodes=n1,n2 MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF',
  ];
  const conf = path.join(root, 'slurm.conf');
  fs.writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o644 });
  fs.writeFileSync(path.join(root, 'gres.conf'), 'NodeName=n2 Name=gpu File=/dev/null Count=1\n', { mode: 0o644 });
  return conf;
}

function startSlurmd(node: string, conf: string, env: NodeJS.ProcessEnv): void {
  slurmds.set(node, daemon('slurmd', ['-D', '-N', node, '-f', conf], env));
}

async function killNode(node: string, env: NodeJS.ProcessEnv): Promise<void> {
  const jobs = (await run('squeue', ['-h', '-w', node, '-o', '%A'], { env })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  slurmds.get(node)?.kill('SIGKILL');
  // The job steps outlive their slurmd: kill them and what they run, as a power loss would.
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const ofJob = jobs.some((j) => environ.includes(`SLURM_JOB_ID=${j}`) || cmd.startsWith(`slurmstepd: [${j}.`));
      if (ofJob) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** At exit: every process a batch job of this cluster started (their environment names its slurm.conf's folder). */
function killJobProcesses(): void {
  if (!dir) return;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`SLURM_CONF=${dir}/slurm.conf`)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

function daemon(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(bin, args, { stdio: 'ignore', env });
  child.on('error', () => undefined);
  // The daemons must not keep the test process alive: they are killed when it exits.
  child.unref();
  children.push(child);
  return child;
}

/** Waits until a start-up step holds (each daemon takes a moment), up to 2 minutes. */
async function until(ok: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if (await ok()) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error('the Slurm cluster did not come up within 2 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopSync(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  killJobProcesses();
  for (const d of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(`aiaas-slurm-${clusterName}-`))) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
