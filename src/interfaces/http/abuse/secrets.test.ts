/**
 * Secrets on the real server process: a key sent in the query string is refused and never
 * written to the logs; AIAAS_HOME and what holds data in it (database, blobs) are owner-only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnServer } from '../../testing/server-process.js';

const KEY = 'aiaas_secrets_test_admin_key_0123456789';
const mode = (p: string) => fs.statSync(p).mode & 0o777;

test('a key in the query string is refused and redacted from the logs; the home, database and blobs are owner-only', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-secrets-'));
  const home = path.join(parent, 'home'); // made by the server
  const p = spawnServer(home, { AIAAS_ADMIN_KEY: KEY, AIAAS_LOG_LEVEL: 'info' });
  try {
    const url = await p.ready;
    for (const query of [`api_key=${KEY}`, `x=1&token=${KEY}`, `key=${KEY}`]) {
      const r = await fetch(`${url}/v1/tenants?${query}`);
      assert.equal(r.status, 401);
      assert.doesNotMatch(await r.text(), new RegExp(KEY));
    }
    assert.equal((await fetch(`${url}/no/such/${KEY}`)).status, 404);
    const upload = await fetch(`${url}/v1/datasets?name=modes`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    assert.equal(upload.status, 201, await upload.text());

    assert.equal(mode(home), 0o700);
    for (const f of ['aiaas.db', 'aiaas.db-wal', 'aiaas.db-shm']) assert.equal(mode(path.join(home, f)), 0o600, f);
    const blobs = path.join(home, 'blobs');
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      return e.isDirectory() ? [full, ...walk(full)] : [full];
    });
    const entries = [blobs, ...walk(blobs)];
    assert.ok(entries.some((e) => fs.statSync(e).isFile()), 'no blob written');
    for (const e of entries) assert.equal(mode(e), fs.statSync(e).isDirectory() ? 0o700 : 0o600, e);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    const logs = p.output();
    assert.match(logs, /incoming request/, 'request logging is on');
    assert.match(logs, /api_key=\[REDACTED\]/);
    assert.doesNotMatch(logs, new RegExp(KEY));
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    fs.rmSync(parent, { recursive: true, force: true });
  }
});
