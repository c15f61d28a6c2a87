/** The console is served at / (public), with SPA fallback, and a 503 page saying how to build it when it is not built. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { startTestServer } from '../testing/test-server.js';
import { CONSOLE_DIR, consoleRoutes } from './console.js';

test('the built console is public at / and at client routes; API 404s stay JSON', { skip: !fs.existsSync(path.join(CONSOLE_DIR, 'index.html')) && 'console not built' }, async () => {
  const s = await startTestServer();
  try {
    for (const route of ['/', '/datasets', '/jobs/job_123', '/models/iris/versions/2', '/endpoints/iris', '/cluster']) {
      const r = await s.call('GET', route, { key: null });
      assert.equal(r.status, 200, route);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/);
      assert.match(r.text, /<div id="root"><\/div>/);
    }
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec((await s.call('GET', '/', { key: null })).text)![1]!;
    const js = await s.call('GET', asset, { key: null });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await s.call('GET', '/assets/nope.js', { key: null })).status, 404);
    const api = await s.call('GET', '/v1/nope', { key: null });
    assert.equal(api.status, 404);
    assert.equal(typeof api.body.error.code, 'string');
    // An unknown page is the console's 404 (its app says "Not found"); API paths keep their JSON 404 even for a browser.
    const html = { accept: 'text/html,application/xhtml+xml' };
    const page = await s.call('GET', '/no/such/page', { key: null, headers: html });
    assert.equal(page.status, 404);
    assert.match(page.text, /<div id="root"><\/div>/);
    for (const p of ['/v1/nope', '/v2/nope', '/openai/nope', '/metrics/nope']) {
      const r = await s.call('GET', p, { key: null, headers: html });
      assert.equal(r.status, 404, p);
      assert.equal(typeof r.body?.error?.code, 'string', `${p}: ${r.text.slice(0, 80)}`);
    }
    assert.equal((await s.call('GET', '/no/such/page', { key: null })).body.error.code, 'route_not_found', 'no HTML for a client that does not ask for it');
    const doc = (await s.call('GET', '/openapi.json', { key: null })).body;
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/datasets') || p === '/'), 'console routes are not in the API document');
  } finally {
    await s.stop();
  }
});

test('without a build, / answers 503 with how to build the console', async () => {
  const app = Fastify();
  await app.register(consoleRoutes, { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-no-console-')) });
  const r = await app.inject({ method: 'GET', url: '/jobs/x' });
  assert.equal(r.statusCode, 503);
  assert.match(r.body, /npm run build:console/);
  await app.close();
});
