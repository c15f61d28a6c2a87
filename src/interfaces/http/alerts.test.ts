/**
 * Alerts over real HTTP with a real webhook receiver (node:http on an ephemeral port): a drift
 * alert fires once shifted rows of the loans model are logged and resolves when they leave the
 * window; each transition is POSTed signed, the first answer a 500 retried after the backoff
 * (the clock is injected and stands still between steps: no sleeps); requests/s and p99 alerts on
 * the traffic published to the store; validation; roles; another tenant sees nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { submit, until, waitJob } from '../testing/jobs-helpers.js';
import { webhookReceiver } from '../testing/webhook-receiver.js';

const LOANS = fs.readFileSync(path.join(EXAMPLES, 'loans.csv'), 'utf8');
const NUMBERS = new Set(['age', 'income', 'loan_amount', 'credit_score', 'late_payments']);
const SECRET = 'whsec-test-1234';
const RETRY_MS = 60_000;

function loanRows(): Record<string, unknown>[] {
  const [header, ...lines] = LOANS.trim().split(/\r?\n/);
  const cols = header!.split(',');
  return lines.map((l) => {
    const cells = l.split(',');
    const row: Record<string, unknown> = {};
    cols.forEach((c, i) => {
      if (c !== 'default') row[c] = cells[i] === '' ? null : NUMBERS.has(c) ? Number(cells[i]) : cells[i];
    });
    return row;
  });
}

describe('alerts', () => {
  let s: TestServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let owner: { id: string; developer: string; viewer: string };
  let stranger: { id: string; developer: string; viewer: string };
  // The platform's clock: stands still unless a test moves it.
  let now = Date.now();

  const get = (id: string, key = owner.viewer) => s.call('GET', `/v1/alerts/${id}`, { key });
  /** Moves the clock and waits for an evaluation at the new time. */
  async function step(ms: number, id: string) {
    now += ms;
    const at = new Date(now).toISOString();
    return until(`an evaluation at ${at}`, async () => {
      const a = (await get(id)).body;
      return a.evaluatedAt === at && a;
    });
  }

  before(async () => {
    hook = await webhookReceiver();
    s = await startTestServer({ AIAAS_CPU: '2', AIAAS_ALERTS_INTERVAL_MS: '100', AIAAS_WEBHOOK_RETRY_MS: String(RETRY_MS) }, { clock: () => now });
    owner = await s.tenant('alerts-owner');
    stranger = await s.tenant('alerts-stranger');
    assert.equal((await s.call('POST', '/v1/datasets?name=loans', { key: owner.developer, body: LOANS })).status, 201);
    const job = await submit(s, { type: 'train', name: 'loans', dataset: 'loans', target: 'default', preprocessing: 'auto', model: { kind: 'logistic_regression' } }, owner.developer);
    assert.equal((await waitJob(s, job.id, { key: owner.developer })).status, 'succeeded');
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: owner.developer, json: { name: 'loans-live', model: 'loans', version: 1, replicas: { min: 1, max: 1 }, logging: { sampleRate: 1 } } });
    assert.equal(ep.status, 201, ep.text);
    await until('loans-live ready', async () => (await s.call('GET', '/v1/endpoints/loans-live', { key: owner.viewer })).body.status === 'ready');
  });
  after(async () => {
    await s?.stop();
    await hook?.close();
  });

  test('bad alerts are refused naming the field; viewers may not create', async () => {
    const good = { name: 'x', endpoint: 'loans-live', metric: 'drift', op: '>', threshold: 0.2, windowSeconds: 600, webhook: { url: hook.url, secret: SECRET } };
    const post = (json: unknown, key = owner.developer) => s.call('POST', '/v1/alerts', { key, json });
    const metric = await post({ ...good, metric: 'accuracy' });
    assert.equal(metric.status, 422, metric.text);
    assert.equal(metric.body.error.code, 'invalid_request');
    assert.match(metric.body.error.message, /body\.metric: must be one of drift, p99LatencyMs, errorRate, requestsPerSecond/);
    const window = await post({ ...good, windowSeconds: 1 });
    assert.equal(window.status, 422);
    assert.match(window.body.error.message, /body\.windowSeconds/);
    assert.match((await post({ ...good, webhook: undefined })).body.error.message, /webhook/);
    const scheme = await post({ ...good, webhook: { url: 'ftp://example.com/x', secret: SECRET } });
    assert.equal(scheme.status, 422, scheme.text);
    assert.equal(scheme.body.error.code, 'invalid_webhook_url');
    assert.match(scheme.body.error.message, /http or https/);
    assert.equal((await post({ ...good, webhook: { url: 'not a url', secret: SECRET } })).body.error.code, 'invalid_webhook_url');
    const metadata = await post({ ...good, webhook: { url: 'http://169.254.169.254/latest/meta-data/', secret: SECRET } });
    assert.equal(metadata.status, 422, metadata.text);
    assert.equal(metadata.body.error.code, 'invalid_webhook_url');
    assert.match(metadata.body.error.message, /webhook\.url: 169\.254\.169\.254 is a link-local/);
    const endpoint = await post({ ...good, endpoint: 'nowhere' });
    assert.equal(endpoint.status, 422);
    assert.equal(endpoint.body.error.code, 'unknown_endpoint');
    // Another tenant's endpoint is as unknown as one that does not exist.
    assert.equal((await post({ ...good, endpoint: 'loans-live' }, stranger.developer)).body.error.message, (await post({ ...good, endpoint: 'nowhere' }, stranger.developer)).body.error.message.replace('nowhere', 'loans-live'));
    assert.equal((await post({ ...good, metric: 'errorRate', threshold: 5 })).body.error.code, 'invalid_threshold');
    assert.equal((await post(good, owner.viewer)).status, 403);
  });

  test('a drift alert fires on shifted rows, is delivered signed (a 500 retried after the backoff) and resolves', async () => {
    const created = await s.call('POST', '/v1/alerts', { key: owner.developer, json: { name: 'loans-drift', endpoint: 'loans-live', metric: 'drift', op: '>', threshold: 0.2, windowSeconds: 600, webhook: { url: hook.url, secret: SECRET } } });
    assert.equal(created.status, 201, created.text);
    assert.ok(!created.text.includes(SECRET), 'the secret is never returned');
    assert.deepEqual(created.body.webhook, { url: hook.url, hasSecret: true });
    const id = created.body.id;
    // Nothing logged yet: no value, ok.
    let a = await step(1000, id);
    assert.equal(a.state, 'ok');
    assert.equal(a.value, null);
    assert.match(a.message, /No predictions of version 1 were logged/);
    assert.ok(!JSON.stringify((await s.call('GET', '/v1/alerts', { key: owner.viewer })).body).includes(SECRET));

    const shifted = loanRows().slice(0, 1000).map((r) => ({ ...r, income: typeof r.income === 'number' ? r.income / 4 : r.income, purpose: 'crypto' }));
    assert.equal((await s.call('POST', '/v1/endpoints/loans-live/predict', { key: owner.developer, json: { instances: shifted } })).status, 200);
    hook.statuses.push(500);
    now = Date.now() + 1000; // the rows were logged by the wall clock: the window now holds them
    a = await until('firing', async () => { const x = (await get(id)).body; return x.state === 'firing' && x; });
    assert.ok(a.value > 0.2, `largest PSI ${a.value}`);
    assert.deepEqual(a.history.map((h: any) => h.state), ['firing']);
    assert.equal(a.history[0].value, a.value);

    // The first attempt got the 500: recorded, the next one due a backoff later.
    const first = await until('the first attempt recorded', async () => { const d = (await get(id)).body.deliveries?.[0]; return d?.attempts === 1 && d; });
    assert.equal(first.lastStatus, 500);
    assert.equal(first.deliveredAt, null);
    assert.equal(Date.parse(first.nextAttemptAt) - Date.parse(first.lastAttemptAt), RETRY_MS);
    assert.equal(hook.got.length, 1, 'no retry before the backoff has passed');
    const sent = hook.got[0]!;
    assert.equal(sent.signature, 'sha256=' + createHmac('sha256', SECRET).update(sent.raw).digest('hex'));
    assert.equal(sent.delivery, first.id);
    assert.equal(sent.body.delivery, first.id);
    assert.equal(sent.body.state, 'firing');
    assert.equal(sent.body.previousState, 'ok');
    assert.equal(sent.body.alert.name, 'loans-drift');
    assert.equal(sent.body.alert.metric, 'drift');

    now += RETRY_MS;
    const done = await until('delivered on the retry', async () => { const d = (await get(id)).body.deliveries?.[0]; return d?.deliveredAt && d; });
    assert.equal(done.attempts, 2);
    assert.equal(done.lastStatus, 200);
    assert.equal(done.nextAttemptAt, null);
    assert.equal(hook.got.length, 2);
    assert.equal(hook.got[1]!.delivery, first.id, 'a retry carries the same delivery id');
    assert.equal(hook.got[1]!.raw, sent.raw);

    // The rows leave the window: back to ok, and that is delivered too.
    a = await step(600_000, id);
    assert.equal(a.state, 'ok');
    assert.deepEqual(a.history.map((h: any) => h.state), ['firing', 'ok']);
    await until('the resolution delivered', async () => hook.got.length === 3);
    assert.equal(hook.got[2]!.body.state, 'ok');
    assert.equal(hook.got[2]!.body.previousState, 'firing');
    assert.equal(hook.got[2]!.signature, 'sha256=' + createHmac('sha256', SECRET).update(hook.got[2]!.raw).digest('hex'));
    const final = (await get(id)).body;
    assert.equal(final.deliveries.length, 2);
    assert.ok(final.deliveries.every((d: any) => d.deliveredAt));
  });

  test('requests per second and p99 latency come from the endpoint counters over the window', async () => {
    const mk = async (name: string, metric: string, op: string, threshold: number) => {
      const r = await s.call('POST', '/v1/alerts', { key: owner.developer, json: { name, endpoint: 'loans-live', metric, op, threshold, windowSeconds: 60, webhook: { url: hook.url, secret: SECRET } } });
      assert.equal(r.status, 201, r.text);
      return r.body.id as string;
    };
    const rps = await mk('busy', 'requestsPerSecond', '>=', 0.5);
    const p99 = await mk('slow', 'p99LatencyMs', '>', 60_000);
    // The earlier tests' requests are long out of this minute's window.
    let a = await step(0, rps);
    assert.equal(a.state, 'ok');
    assert.equal(a.value, 0);
    const row = loanRows()[0];
    for (let i = 0; i < 30; i++) assert.equal((await s.call('POST', '/v1/endpoints/loans-live/predict', { key: owner.developer, json: { instances: [row] } })).status, 200);
    a = await step(10_000, rps);
    assert.equal(a.value, 0.5, '30 requests in the 60-second window');
    assert.equal(a.state, 'firing');
    const latency = (await get(p99)).body;
    assert.equal(latency.state, 'ok');
    assert.ok(latency.value > 0 && latency.value <= 5000, `p99 ${latency.value} ms`);
    // A quiet minute later the window holds no request.
    a = await step(61_000, rps);
    assert.equal(a.value, 0);
    assert.equal(a.state, 'ok');
    const slow = (await get(p99)).body;
    assert.equal(slow.value, null);
    assert.match(slow.message, /no requests/);
    for (const id of [rps, p99]) assert.equal((await s.call('DELETE', `/v1/alerts/${id}`, { key: owner.developer })).status, 200);
  });

  test('another tenant gets 404 for an alert, as for one that does not exist; viewers read, may not delete', async () => {
    const list = (await s.call('GET', '/v1/alerts', { key: owner.viewer })).body.data;
    const id = list.find((x: any) => x.name === 'loans-drift').id;
    const theirs = await s.call('GET', `/v1/alerts/${id}`, { key: stranger.developer });
    const nowhere = await s.call('GET', '/v1/alerts/alr_nowhere', { key: stranger.developer });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.code, nowhere.body.error.code);
    assert.equal(theirs.body.error.message.replace(id, 'X'), nowhere.body.error.message.replace('alr_nowhere', 'X'));
    assert.deepEqual((await s.call('GET', '/v1/alerts', { key: stranger.viewer })).body.data, []);
    assert.equal((await s.call('DELETE', `/v1/alerts/${id}`, { key: stranger.developer })).status, 404);
    assert.equal((await s.call('DELETE', `/v1/alerts/${id}`, { key: owner.viewer })).status, 403);
    assert.equal((await s.call('DELETE', `/v1/alerts/${id}`, { key: owner.developer })).status, 200);
    assert.equal((await get(id)).status, 404);
    assert.equal((await s.server.platform.db.selectFrom('alert_deliveries').select('id').where('alert_id', '=', id).execute()).length, 0);
  });
});
