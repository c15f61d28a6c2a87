/**
 * The server as a newcomer runs it: `aiaas server` in its own process, first start printing the
 * URL and the admin key, SIGTERM draining in-flight requests before exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../bin/aiaas.js');

function startProcess(home: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string; ready: Promise<string> } {
  const child = spawn(process.execPath, [BIN, 'server'], {
    env: { ...process.env, AIAAS_HOME: home, PORT: '0', AIAAS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /console (http:\/\/\S+?)\//.exec(out);
      if (m && /admin key/i.test(out)) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return { child, output: () => out, ready };
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

test('first start prints the console URL and a generated admin key, saved with mode 0600', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-srv-'));
  try {
    const first = startProcess(home);
    const url = await first.ready;
    const key = /^\s+(aiaas_\S+)$/m.exec(first.output())?.[1];
    assert.ok(key, `no key printed in: ${first.output()}`);
    const file = path.join(home, 'admin.key');
    assert.equal(fs.readFileSync(file, 'utf8').trim(), key);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const r = await fetch(`${url}/v1/tenants`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(r.status, 200);
    first.child.kill('SIGTERM');
    assert.equal(await exited(first.child), 0);

    // A second start keeps the key and does not print it again.
    const second = startProcess(home);
    const url2 = await second.ready;
    assert.ok(!second.output().includes(key!));
    assert.equal((await fetch(`${url2}/v1/tenants`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    second.child.kill('SIGTERM');
    assert.equal(await exited(second.child), 0);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('AIAAS_ADMIN_KEY sets the first admin key; SIGTERM lets an in-flight upload finish', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-srv-'));
  const key = 'aiaas_my_chosen_admin_key_0123456789';
  try {
    const p = startProcess(home, { AIAAS_ADMIN_KEY: key });
    const url = await p.ready;
    assert.ok(!fs.existsSync(path.join(home, 'admin.key')));
    // A slow upload: the body arrives in pieces; SIGTERM comes while it is in flight.
    const rows = Array.from({ length: 2000 }, (_, i) => `${i},${i % 7},${i % 2 ? 'a' : 'b'}\n`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('x,y,z\n'));
        if (sent >= rows.length) return controller.close();
        controller.enqueue(new TextEncoder().encode(rows.slice(sent, sent + 200).join('')));
        sent += 200;
        if (sent === 400) p.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 30));
      },
    });
    const res = await fetch(`${url}/v1/datasets?name=slow`, {
      method: 'POST', body, headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' }, duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { rows: number }).rows, 2000);
    assert.equal(await exited(p.child), 0);
    // After shutdown nothing listens.
    await assert.rejects(fetch(`${url}/healthz`));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
