/**
 * The server as a newcomer runs it: `aiaas server` in its own process, first start printing the
 * URL and the admin key, SIGTERM draining in-flight requests before exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnServer } from './testing/server-process.js';

const startProcess = (home: string, env: Record<string, string> = {}) => spawnServer(home, env, { waitForKey: true });
const exited = (p: { exited: Promise<number | null> }) => p.exited;

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
    assert.equal(await exited(first), 0);

    // A second start keeps the key and does not print it again.
    const second = startProcess(home);
    const url2 = await second.ready;
    assert.ok(!second.output().includes(key!));
    assert.equal((await fetch(`${url2}/v1/tenants`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    second.child.kill('SIGTERM');
    assert.equal(await exited(second), 0);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('AIAAS_ADMIN_KEY sets the first admin key; SIGTERM lets an in-flight upload finish', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-srv-'));
  const key = 'aiaas_my_chosen_admin_key_0123456789';
  try {
    // Info level: the server says when it begins shutting down, which the test waits for.
    const p = startProcess(home, { AIAAS_ADMIN_KEY: key, AIAAS_LOG_LEVEL: 'info' });
    const url = await p.ready;
    assert.ok(!fs.existsSync(path.join(home, 'admin.key')));
    // A slow upload over a raw socket: headers and the first rows go out, the server has them,
    // then SIGTERM arrives while the rest of the body is still being sent.
    const rows = ['x,y,z\n', ...Array.from({ length: 2000 }, (_, i) => `${i},${i % 7},${i % 2 ? 'a' : 'b'}\n`)].join('');
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let response = '';
    // Node's HTTP server answers "100 Continue" as it hands the request to the app: the server
    // has the request from then on (an event, where a sleep would only guess).
    let gotHeaders!: () => void;
    const headersTaken = new Promise<void>((resolve) => { gotHeaders = resolve; });
    socket.on('data', (d) => {
      response += d;
      if (/^HTTP\/1\.1 100 Continue\r\n\r\n/.test(response)) gotHeaders();
    });
    const ended = once(socket, 'end');
    socket.write(`POST /v1/datasets?name=slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: text/csv\r\nContent-Length: ${Buffer.byteLength(rows)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    await headersTaken;
    socket.write(rows.slice(0, 1000));
    p.child.kill('SIGTERM');
    // The rest of the body goes out only once the server is shutting down.
    await p.printed(/"msg":"shutting down"/);
    for (let i = 1000; i < rows.length; i += 4000) {
      socket.write(rows.slice(i, i + 4000));
      await new Promise((r) => setTimeout(r, 20));
    }
    await ended;
    assert.match(response, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201/, response.slice(0, 300));
    assert.match(response, /"rows":2000/);
    assert.equal(await exited(p), 0);
    // After shutdown nothing listens.
    await assert.rejects(fetch(`${url}/healthz`));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
