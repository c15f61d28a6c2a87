/**
 * README's own commands, extracted from the file and run as written with bash against one real
 * server: the curl section (steps 1–7: tenant, uploads, three trainings with wait_job), then the
 * CLI section, which must work after it (names of its own). Only the port is changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from './testing/test-server.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

/** The README's ```sh blocks, in order. */
export function shellBlocks(readme: string): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

let s: TestServer;
let dir: string;
before(async () => {
  s = await startTestServer({ AIAAS_CPU: '2' });
  // A work tree as README expects at the repository root: examples/, bin/ and .aiaas/admin.key.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-readme-'));
  for (const d of ['examples', 'bin', 'dist', 'package.json', 'node_modules']) fs.symlinkSync(path.join(ROOT, d), path.join(dir, d));
  fs.mkdirSync(path.join(dir, '.aiaas'));
  fs.writeFileSync(path.join(dir, '.aiaas', 'admin.key'), s.adminKey);
});
after(async () => {
  await s?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("README: the curl steps 1–7 print progress and metrics; then the CLI section works on the same server", { timeout: 540_000 }, async () => {
  const blocks = shellBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  const port = new URL(s.url).port;
  const local = (b: string) => b.replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${port}`);
  const curl = blocks.find((b) => b.includes('# 1. A tenant for your team'))!;
  const training = blocks.find((b) => b.includes('wait_job() {'))!;
  const cli = blocks.find((b) => b.includes('aiaas login'))!;
  assert.ok(curl && training && cli, 'README has the curl, training and CLI blocks');
  const env = { HOME: dir, AIAAS_CONFIG: path.join(dir, 'cli.json') };

  const first = await bash(local(curl) + '\n' + training.slice(0, training.indexOf('# 8.')), dir, env);
  assert.equal(first.code, 0, first.out);
  // How many progress lines show depends on the machine's speed (a fast one finishes between two polls).
  assert.match(first.out, /job_\S+: succeeded 100%/, 'wait_job shows the status and progress');
  assert.match(first.out, /test metrics: accuracy \d/);
  assert.match(first.out, /cross-validation \(5 folds\): .*r2 -?\d/);

  const second = await bash(local(cli), dir, env);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /Created tenant acme-cli/);
  assert.match(second.out, /Endpoint iris-cli: v1:90% v2:10%/);
  assert.match(second.out, /^\s*\d+% step \d of 6/m, 'jobs submit --wait shows progress');
  assert.match(second.out, /Cross-validation \(3 folds\): accuracy/);
});
