/**
 * `aiaas server` as a separate process, for tests of what only a real process shows: the first
 * start's output, SIGTERM draining, kill -9 and recovery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../bin/aiaas.js');

export interface ServerProcess {
  child: ChildProcess;
  /** Resolves with the base URL once the server printed it (and, when asked, its admin key line). */
  ready: Promise<string>;
  output(): string;
  /** Resolves once the output (so far or later) matches `re`: an event to wait for, not a time. */
  printed(re: RegExp): Promise<void>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export function spawnServer(home: string, env: Record<string, string> = {}, opts: { waitForKey?: boolean } = {}): ServerProcess {
  const child = spawn(process.execPath, [BIN, 'server'], {
    env: { ...process.env, AIAAS_HOME: home, PORT: '0', AIAAS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /console (http:\/\/\S+?)\//.exec(out);
      if (m && (!opts.waitForKey || /admin key/i.test(out))) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => { out += d; });
    child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}): ${out}`)));
  });
  ready.catch(() => undefined);
  const printed = (re: RegExp) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!re.test(out)) return;
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      resolve();
    };
    // Listeners added after ours: `out` already holds the new chunk when they run.
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', () => (re.test(out) ? resolve() : reject(new Error(`server exited before printing ${re}: ${out}`))));
    check();
  });
  return { child, ready, exited, output: () => out, printed };
}

/** SIGTERM to a process still running, resolved once it has exited (a test's cleanup). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
