/**
 * A throwaway S3 server for the tests of one test file (one process): Ceph's RADOS gateway from
 * Debian (`radosgw`) on one monitor and one memstore OSD, in a temporary folder, on free ports,
 * about 10-15 s to answer. It checks signatures like any S3 service (a wrong secret is a 403),
 * which an in-process mock would not. Each test asks for a fresh bucket in it.
 *
 * The daemons run in the foreground as children of the test process and are killed, and their
 * folder deleted, when the process exits. Where Ceph is not installed, `cephMissing()` says how to
 * get it; tests skip on that unless AIAAS_REQUIRE_ENGINES=1 (CI), where it is a failure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export const CEPH_HINT = 'S3 tests skipped: install Ceph\'s S3 gateway (apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common) to run them';

const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph-authtool', 'ceph'];

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A new, empty bucket; its name. */
  createBucket(): Promise<string>;
}

/** Why S3 tests cannot run here (undefined: they can). */
export function cephMissing(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/sbin');
  const found = (bin: string) => dirs.some((d) => fs.existsSync(path.join(d, bin)));
  return BINARIES.every(found) ? undefined : CEPH_HINT;
}

let started: Promise<S3Server> | undefined;
let dir: string | undefined;
const children: ChildProcess[] = [];
let buckets = 0;

/** The S3 server of this process, started on first use. */
export function s3Server(): Promise<S3Server> {
  started ??= start();
  return started;
}

async function start(): Promise<S3Server> {
  const missing = cephMissing();
  if (missing) throw new Error(missing.replace('tests skipped', 'is required (AIAAS_REQUIRE_ENGINES=1)'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-rgw-'));
  process.once('exit', stopSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const conf = writeConfig(dir, monPort, rgwPort);
  const ceph = (...args: string[]) => run('ceph', ['-c', conf, '--connect-timeout', '5', ...args]);
  await startMonitor(dir, conf, monPort);
  await retry(() => ceph('quorum_status'));
  await startOsd(dir, conf, ceph);
  daemon('radosgw', ['-c', conf, '-n', 'client.rgw.a', '-f']);
  const keys = { accessKeyId: `AK${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('base64url') };
  await retry(() => run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid', 'aiaas-test', '--display-name', 'aiaas tests', '--access-key', keys.accessKeyId, '--secret', keys.secretAccessKey]));
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  await retry(async () => { await fetch(endpoint); });
  return { endpoint, region: 'us-east-1', ...keys, createBucket: () => createBucket(endpoint, keys) };
}

/** Auth off between the daemons (one machine, loopback only); memstore keeps objects in memory. */
function writeConfig(root: string, monPort: number, rgwPort: number): string {
  const fsid = randomUUID();
  const lines = [
    '[global]', `fsid = ${fsid}`, `mon host = v1:127.0.0.1:${monPort}`,
    'auth cluster required = none', 'auth service required = none', 'auth client required = none',
    'osd objectstore = memstore', 'memstore device bytes = 2147483648',
    'osd pool default size = 1', 'osd pool default min size = 1', 'mon allow pool size one = true',
    'osd pool default pg num = 8', 'osd pool default pgp num = 8', 'mon max pg per osd = 1000',
    'osd crush chooseleaf type = 0',
    // Without these two the OSD asks the monitor for things it has not got and exits ("wrong fsid").
    'osd class update on start = false', 'osd crush update on start = false',
    `run dir = ${root}/run`, `admin socket = ${root}/run/$name.asok`, `log file = ${root}/log/$name.log`,
    `keyring = ${root}/keyring`, `mon data = ${root}/mon/$name`, `osd data = ${root}/osd/$name`,
    '[client.rgw.a]', `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`, `rgw data = ${root}/rgw`,
  ];
  for (const d of ['run', 'log', 'mon/mon.a', 'osd', 'rgw']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const conf = path.join(root, 'ceph.conf');
  fs.writeFileSync(conf, lines.join('\n') + '\n');
  return conf;
}

async function startMonitor(root: string, conf: string, port: number): Promise<void> {
  const fsid = /fsid = (.+)/.exec(fs.readFileSync(conf, 'utf8'))![1]!;
  await run('ceph-authtool', ['--create-keyring', path.join(root, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
  await run('monmaptool', ['--create', '--add', 'a', `v1:127.0.0.1:${port}`, '--fsid', fsid, path.join(root, 'monmap')]);
  await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(root, 'monmap'), '--keyring', path.join(root, 'keyring')]);
  daemon('ceph-mon', ['-c', conf, '-i', 'a', '-f']);
}

async function startOsd(root: string, conf: string, ceph: (...args: string[]) => Promise<{ stdout: string }>): Promise<void> {
  const uuid = randomUUID();
  // Fails for a moment while the new monitor settles.
  const id = (await retry(() => ceph('osd', 'create', uuid))).stdout.trim();
  fs.mkdirSync(path.join(root, 'osd', `osd.${id}`), { recursive: true });
  await run('ceph-osd', ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', uuid]);
  // Can still be refused (EPERM: "problem getting command descriptions from mon") while the monitor settles.
  await retry(() => ceph('osd', 'crush', 'add', `osd.${id}`, '1', 'root=default', 'host=localhost'));
  daemon('ceph-osd', ['-c', conf, '-i', id, '-f']);
}

function daemon(bin: string, args: string[]): void {
  const child = spawn(bin, args, { stdio: 'ignore' });
  child.on('error', () => undefined);
  // The daemons must not keep the test process alive: they are killed when it exits.
  child.unref();
  children.push(child);
}

async function createBucket(endpoint: string, keys: { accessKeyId: string; secretAccessKey: string }): Promise<string> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: keys });
  const name = `aiaas-test-${process.pid}-${++buckets}`;
  // The first bucket also creates the gateway's pools (a few seconds).
  await retry(() => client.send(new CreateBucketCommand({ Bucket: name })));
  client.destroy();
  return name;
}

/** Retries a step of the start-up until it works (each daemon takes a moment to answer), up to 2 minutes. */
async function retry<T>(step: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function stopSync(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
