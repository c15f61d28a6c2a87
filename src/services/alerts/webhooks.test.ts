/**
 * One webhook POST: signed as documented, and only to addresses the policy allows, whether the URL
 * names an IP address or a host name that resolves to one (src/interfaces/http/alerts.test.ts runs
 * deliveries and their retries through the API).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../../infra/config.js';
import { addressProblem } from './webhook-addresses.js';
import { postWebhook, signature, webhookUrlProblem } from './webhooks.js';

interface Received { headers: http.IncomingHttpHeaders; body: string }

async function receiver(status: number): Promise<{ port: number; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.statusCode = status; res.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, got, close: () => new Promise((r) => server.close(() => r())) };
}

const ALLOW = { timeoutMs: 10_000, privateAddresses: 'allow' as const };
const DENY = { timeoutMs: 10_000, privateAddresses: 'deny' as const };

test('a delivery is POSTed signed with the alert secret; a non-2xx answer is an error naming the status', async (t) => {
  const ok = await receiver(204);
  t.after(() => ok.close());
  const body = JSON.stringify({ state: 'firing' });
  assert.deepEqual(await postWebhook(`http://127.0.0.1:${ok.port}/hook`, 's3cret', 'dlv_1', body, ALLOW), { ok: true, status: 204, error: null });
  assert.equal(ok.got.length, 1);
  assert.equal(ok.got[0].body, body);
  assert.equal(ok.got[0].headers['x-aiaas-signature'], signature('s3cret', body));
  assert.equal(ok.got[0].headers['x-aiaas-delivery'], 'dlv_1');
  const failing = await receiver(500);
  t.after(() => failing.close());
  assert.deepEqual(await postWebhook(`http://127.0.0.1:${failing.port}/`, 's', 'dlv_2', '{}', ALLOW), { ok: false, status: 500, error: 'the receiver answered HTTP 500' });
});

test('with private addresses denied, loopback is refused by address and by a name resolving to it, without a connection', async (t) => {
  const r = await receiver(200);
  t.after(() => r.close());
  for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
    const out = await postWebhook(`http://${host}:${r.port}/`, 's', 'dlv', '{}', DENY);
    assert.equal(out.ok, false, host);
    assert.equal(out.status, null);
    assert.match(out.error ?? '', /loopback or private address.*AIAAS_WEBHOOK_PRIVATE_ADDRESSES=deny/, host);
  }
  assert.equal(r.got.length, 0, 'the receiver was never reached');
  assert.match(webhookUrlProblem(`http://10.1.2.3/hook`, 'deny') ?? '', /private/);
  assert.equal(webhookUrlProblem(`http://10.1.2.3/hook`, 'allow'), undefined);
  assert.equal(webhookUrlProblem('https://hooks.example.com/x', 'deny'), undefined, 'a name is judged when it is resolved, at sending');
});

test('link-local addresses (cloud metadata services) are refused whatever the setting', async () => {
  for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/', 'http://0.0.0.0:8080/']) {
    assert.match(webhookUrlProblem(url, 'allow') ?? '', /link-local or unspecified/, url);
    const out = await postWebhook(url, 's', 'dlv', '{}', ALLOW);
    assert.equal(out.ok, false);
    assert.match(out.error ?? '', /never sent there/, url);
  }
  for (const ip of ['8.8.8.8', '2001:db8::1', '172.32.0.1', '192.169.0.1']) assert.equal(addressProblem(ip, 'deny'), undefined, ip);
  for (const ip of ['172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', 'fd00::1', '::1']) assert.ok(addressProblem(ip, 'deny'), ip);
});

test('AIAAS_WEBHOOK_PRIVATE_ADDRESSES is allow by default, deny on request, and anything else names the setting', () => {
  assert.equal(loadConfig({}).alerts.webhookPrivateAddresses, 'allow');
  assert.equal(loadConfig({ AIAAS_WEBHOOK_PRIVATE_ADDRESSES: 'deny' }).alerts.webhookPrivateAddresses, 'deny');
  assert.throws(() => loadConfig({ AIAAS_WEBHOOK_PRIVATE_ADDRESSES: 'block' }), (e: Error & { details?: { variable?: string } }) => e.details?.variable === 'AIAAS_WEBHOOK_PRIVATE_ADDRESSES' && /'allow', 'deny'/.test(e.message));
});
