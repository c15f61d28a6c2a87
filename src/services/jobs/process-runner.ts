/**
 * Runs one job run in a child process: `node --max-old-space-size=<memoryMb> job-process.js`, talking
 * over Node's IPC channel. The child never shares the API's event loop or heap: a job that
 * throws, runs out of memory, exits or is killed ends only its own process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AbortReason, JobOutcome, Progress } from './job-type.js';
import type { FromWorker, StartPayload, ToWorker } from './job-process-protocol.js';
import type { SpareWorker } from './spare-workers.js';

export type RunExit =
  | { kind: 'done'; outcome: JobOutcome }
  | { kind: 'failed'; message: string; retryable: boolean; code?: string }
  | { kind: 'aborted'; reason: AbortReason }
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; stderrTail: string; outOfMemory: boolean };

export interface RunHooks {
  progress(p: Progress): void;
  metrics(m: Record<string, unknown>): void;
  log(line: string, stream: 'stdout' | 'stderr' | 'job'): void;
  /** Makes a checkpoint blob (and the blobs it names) the job's; resolves when durable. */
  checkpoint(hash: string, bytes: number, blobs?: string[]): Promise<void>;
}

export interface RunOptions {
  /** The worker entry module (dist/src/interfaces/job-process.js). */
  workerEntry: string;
  job: StartPayload;
  memoryMb: number;
  env: Record<string, string | undefined>;
  hooks: RunHooks;
  /** A worker started ahead (spare-workers.ts) to run this job in instead of a new process; `job.env` then carries the per-job variables. */
  spare?: SpareWorker;
}

export interface RunHandle {
  pid: number;
  /** Asks the job to stop (it sees ctx.signal abort with this reason). */
  abort(reason: AbortReason): void;
  /** SIGKILL. */
  kill(): void;
  done: Promise<RunExit>;
}

const MAX_LINE = 4000;
const STDERR_TAIL = 4000;

export function startRun(opts: RunOptions): RunHandle {
  const child: ChildProcess = opts.spare?.child ?? fork(opts.workerEntry, [], {
    execArgv: [`--max-old-space-size=${Math.max(16, Math.floor(opts.memoryMb))}`],
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  if (opts.spare) {
    // A running job keeps its process' parent alive, as a new worker would.
    child.ref();
    (child.channel as { ref?: () => void } | undefined)?.ref?.();
  }
  let final: RunExit | undefined;
  let stderrTail = '';
  const send = (m: ToWorker) => {
    if (child.connected) child.send(m, (err) => { if (err) { /* the child is gone; its exit settles the run */ } });
  };

  lines(child.stdout!, (l) => opts.hooks.log(l, 'stdout'));
  lines(child.stderr!, (l) => {
    stderrTail = (stderrTail + l + '\n').slice(-STDERR_TAIL);
    opts.hooks.log(l, 'stderr');
  });

  // A spare that said `ready` before it was handed over is started now.
  if (opts.spare?.ready) send({ t: 'start', job: opts.job });
  child.on('message', (raw) => {
    const m = raw as FromWorker;
    switch (m.t) {
      case 'ready': send({ t: 'start', job: opts.job }); break;
      case 'progress': opts.hooks.progress(m.progress); break;
      case 'metrics': opts.hooks.metrics(m.metrics); break;
      case 'log': opts.hooks.log(m.line.slice(0, MAX_LINE), 'job'); break;
      case 'checkpoint':
        opts.hooks.checkpoint(m.hash, m.bytes, m.blobs).then(
          () => send({ t: 'checkpoint-ok', id: m.id }),
          (err: Error) => send({ t: 'checkpoint-failed', id: m.id, message: err.message }),
        );
        break;
      case 'done': final = { kind: 'done', outcome: m.outcome ?? {} }; break;
      case 'failed': final = { kind: 'failed', message: m.message, retryable: m.retryable, code: m.code }; break;
      case 'aborted': final = { kind: 'aborted', reason: m.reason }; break;
    }
  });

  const done = new Promise<RunExit>((resolve) => {
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      // Let the last stderr lines arrive before judging a crash.
      setImmediate(() => {
        if (final && code === 0) return resolve(final);
        const outOfMemory = /heap out of memory|Allocation failed|ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(stderrTail);
        resolve(final && final.kind !== 'done' ? final : { kind: 'crashed', exitCode: code, signal, stderrTail, outOfMemory });
      });
    };
    // 'close', not 'exit': it comes after stdio and the IPC channel are drained, so the last message is in.
    child.once('close', finish);
    child.once('error', () => finish(null, null));
  });

  return {
    pid: child.pid ?? -1,
    abort: (reason) => send({ t: 'abort', reason }),
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
    done,
  };
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).slice(0, MAX_LINE));
      buf = buf.slice(i + 1);
    }
    if (buf.length > MAX_LINE) {
      onLine(buf.slice(0, MAX_LINE));
      buf = '';
    }
  });
  stream.on('end', () => { if (buf) onLine(buf); });
}
