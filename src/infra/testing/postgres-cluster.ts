/**
 * A throwaway PostgreSQL cluster for the tests of one test file (one process): `initdb` into a
 * temporary folder, `pg_ctl start` on a free port with durability off (fsync, synchronous commit
 * and full-page writes: nothing here must survive a crash), about a second in all. Each test asks
 * for a fresh database in it. The cluster is stopped and its folder deleted when the process ends,
 * whether the tests passed or not.
 *
 * `initdb` refuses to run as root, so as root the server runs as the `postgres` user (runuser).
 * Where PostgreSQL is not installed, `postgresMissing()` says how to get it; tests skip on that
 * unless AIAAS_REQUIRE_ENGINES=1 (CI), where a missing engine is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

export const POSTGRES_HINT = 'PostgreSQL tests skipped: install PostgreSQL (apt-get install postgresql) to run them';

export interface PostgresCluster {
  port: number;
  /** A new, empty database; its connection URL. */
  createDatabase(): Promise<string>;
}

let started: Promise<PostgresCluster> | undefined;
let dir: string | undefined;
let binDir: string | undefined;
let dbCount = 0;

/** The folder of initdb and pg_ctl: AIAAS_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string | undefined {
  const env = process.env.AIAAS_PG_BIN;
  if (env) return fs.existsSync(path.join(env, 'initdb')) ? env : undefined;
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL tests cannot run here (undefined: they can). */
export function postgresMissing(): string | undefined {
  return postgresBinDir() ? undefined : POSTGRES_HINT;
}

/** Engines are required (CI): a missing one fails instead of skipping. */
export function enginesRequired(): boolean {
  return process.env.AIAAS_REQUIRE_ENGINES === '1';
}

/** The cluster of this process, started on first use. */
export function postgresCluster(): Promise<PostgresCluster> {
  started ??= start();
  return started;
}

async function start(): Promise<PostgresCluster> {
  binDir = postgresBinDir();
  if (!binDir) throw new Error(POSTGRES_HINT.replace('tests skipped', 'is required (AIAAS_REQUIRE_ENGINES=1)'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-pg-'));
  process.once('exit', stopSync);
  // A test run stopped by a signal still removes its cluster (the exit handler does the work).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
  const data = path.join(dir, 'data');
  asServer(path.join(binDir, 'initdb'), ['-D', data, '-U', 'aiaas', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await startServer(data);
  return { port, createDatabase: () => createDatabase(port) };
}

/** Starts the server on a free port; a port taken between probing and binding is retried. */
async function startServer(data: string): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    try {
      asServer(path.join(binDir!, 'pg_ctl'), ['-D', data, '-l', path.join(dir!, 'server.log'), '-w', '-o', opts, 'start']);
      return port;
    } catch (err) {
      if (tries >= 2) throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${readLog()}`);
    }
  }
}

/** Runs a server binary: as the `postgres` user when we are root (initdb refuses root). */
function asServer(bin: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', dir!]);
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

function readLog(): string {
  try {
    return fs.readFileSync(path.join(dir!, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

async function createDatabase(port: number): Promise<string> {
  const name = `t${process.pid}_${++dbCount}`;
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'aiaas', database: 'postgres' });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://aiaas@127.0.0.1:${port}/${name}`;
}

/** Stops the server at once and deletes its folder (runs on exit, also after a failure). */
function stopSync(): void {
  if (!dir) return;
  if (binDir && fs.existsSync(path.join(dir, 'data', 'postmaster.pid'))) {
    const args = [path.join(binDir, 'pg_ctl'), '-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop'];
    const root = process.getuid?.() === 0;
    spawnSync(root ? 'runuser' : args[0], root ? ['-u', 'postgres', '--', ...args] : args.slice(1), { stdio: 'ignore', timeout: 60_000 });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}
