/**
 * Connection abuse, with the caps and timeouts set low for the test: silent sockets from one
 * address or from many do not lock others out (quiet ones are shed, oldest first), busy
 * connections are never shed, bodies that drip and headers that never end are cut with a 408
 * in API.md's format, idle keep-alive connections close. Every client runs on this machine:
 * 127.0.0.0/8 is all loopback, so sockets bound to 127.0.0.2, .3, … are distinct client addresses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionGuard } from '../app.js';
import { startTestServer, type TestServer } from '../../testing/test-server.js';
import { RawConnection, rawRequest } from '../../testing/raw-http.js';

const PER_CLIENT = 4;
const GLOBAL = 8;

describe('connection caps and timeouts', () => {
  let s: TestServer;
  let port: number;
  const open: RawConnection[] = [];
  const connect = async (localAddress: string) => {
    const c = await RawConnection.open(port, { localAddress });
    open.push(c);
    return c;
  };
  const healthz = async (c: RawConnection) => {
    c.write(rawRequest('GET', '/healthz'));
    return c.answer();
  };
  /** Waits until the server has registered (or forgotten) connections: an event, not a delay. */
  const serverSees = async (n: number) => {
    while (connectionGuard(s.server.app).size !== n) await new Promise((r) => setImmediate(r));
  };
  const closeAll = async () => {
    for (const c of open.splice(0)) c.close();
    await serverSees(0);
  };

  before(async () => {
    s = await startTestServer({
      AIAAS_MAX_CONNECTIONS: String(GLOBAL),
      AIAAS_MAX_CONNECTIONS_PER_CLIENT: String(PER_CLIENT),
      AIAAS_HEADERS_TIMEOUT_MS: '300',
      AIAAS_REQUEST_TIMEOUT_MS: '60000',
      AIAAS_KEEP_ALIVE_TIMEOUT_MS: '60000',
      AIAAS_BODY_MIN_BYTES_PER_SECOND: '1000',
      AIAAS_BODY_RATE_WINDOW_MS: '200',
    });
    port = Number(new URL(s.url).port);
  });
  after(async () => {
    await closeAll();
    await s.stop();
  });

  test('Node gets the configured timeouts', () => {
    const server = s.server.app.server;
    assert.deepEqual([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout], [300, 60000, 60000]);
  });

  test('one address opening more than its cap of silent sockets sheds its own oldest; others are served', async () => {
    const silent: RawConnection[] = [];
    for (let i = 0; i < PER_CLIENT + 20; i++) silent.push(await connect('127.0.0.2'));
    // The first 20 were shed, oldest first; the last PER_CLIENT are open.
    for (const c of silent.slice(0, 20)) await c.ended();
    await serverSees(PER_CLIENT);
    assert.ok(silent.slice(20).every((c) => !c.closed));
    const other = await connect('127.0.0.1');
    const a = await healthz(other);
    assert.ok(!('closed' in a) && a.status === 200);
    await closeAll();
  });

  test('past the global cap, never-used sockets go first, then the longest idle keep-alive ones', async () => {
    const fresh: RawConnection[] = [];
    for (let i = 0; i < GLOBAL / 2; i++) fresh.push(await connect(`127.0.1.${i + 1}`));
    const used: RawConnection[] = [];
    for (let i = 0; i < GLOBAL / 2; i++) {
      const c = await connect(`127.0.2.${i + 1}`);
      assert.equal((await healthz(c) as { status: number }).status, 200);
      used.push(c);
    }
    await serverSees(GLOBAL);
    for (let i = 0; i < GLOBAL / 2; i++) {
      const c = await connect(`127.0.3.${i + 1}`);
      await fresh[i]!.ended();
      assert.equal((await healthz(c) as { status: number }).status, 200);
    }
    // Only used connections are left: the one idle longest goes.
    assert.ok(used.every((c) => !c.closed));
    const late = await connect('127.0.4.1');
    await used[0]!.ended();
    assert.equal((await healthz(late) as { status: number }).status, 200);
    assert.ok(used.slice(1).every((c) => !c.closed));
    await closeAll();
  });

  test('many addresses with one silent socket each cannot lock out a new client', async () => {
    for (let i = 0; i < GLOBAL * 3; i++) await connect(`127.0.5.${i + 1}`);
    const c = await connect('127.0.0.1');
    assert.equal((await healthz(c) as { status: number }).status, 200);
    await closeAll();
  });

  test('a body that drips (4 bytes at a time) is cut with 408 request_timeout', async () => {
    const c = await connect('127.0.0.1');
    c.write(`POST /v1/datasets?name=drip HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.adminKey}\r\ncontent-type: text/csv\r\ncontent-length: 100000\r\n\r\n`);
    // Far below the minimum rate however the machine is loaded: the server must cut it.
    const drip = setInterval(() => { if (!c.closed) c.write('1,2\n'); }, 50);
    try {
      const a = await c.answer();
      assert.ok(!('closed' in a), 'closed without an answer');
      assert.equal(a.status, 408);
      assert.equal(a.headers.connection, 'close');
      assert.equal(JSON.parse(a.body).error.code, 'request_timeout');
      await c.ended();
    } finally {
      clearInterval(drip);
    }
    await closeAll();
  });

  test('headers that never end are cut with 408 in API.md format', async () => {
    const c = await connect('127.0.0.1');
    c.write('GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ');
    const a = await c.answer();
    assert.ok(!('closed' in a), 'closed without an answer');
    assert.equal(a.status, 408);
    assert.equal(JSON.parse(a.body).error.code, 'request_timeout');
    await c.ended();
    await closeAll();
  });
});

describe('busy connections', () => {
  let s: TestServer;
  before(async () => {
    // No minimum body rate here: the test holds bodies half-sent on purpose.
    s = await startTestServer({ AIAAS_MAX_CONNECTIONS_PER_CLIENT: String(PER_CLIENT), AIAAS_BODY_MIN_BYTES_PER_SECOND: '0' });
  });
  after(() => s.stop());

  test('an address whose connections are all busy gets no more; busy requests are never shed', async () => {
    const busy: RawConnection[] = [];
    for (let i = 0; i < PER_CLIENT; i++) {
      const c = await RawConnection.open(Number(new URL(s.url).port), { localAddress: '127.0.0.3' });
      // A request in progress: headers and a first row, the rest of the body still to come.
      c.write(`POST /v1/datasets?name=busy${i} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.adminKey}\r\ncontent-type: text/csv\r\ncontent-length: 12\r\n\r\nx,y\n`);
      busy.push(c);
    }
    while (connectionGuard(s.server.app).size !== PER_CLIENT || connectionGuard(s.server.app).quietCount !== 0) await new Promise((r) => setImmediate(r));
    const refused = await RawConnection.open(Number(new URL(s.url).port), { localAddress: '127.0.0.3' });
    await refused.ended();
    for (const c of busy) {
      c.write('1,2\n3,4\n');
      const a = await c.answer();
      assert.ok(!('closed' in a), 'a busy connection was shed');
      assert.equal(a.status, 201, a.body);
    }
    for (const c of busy) c.close();
    refused.close();
  });

});

describe('a cap of one connection per client', () => {
  test('each new connection sheds the previous one, and the count never drifts', { timeout: 60_000 }, async () => {
    const s = await startTestServer({ AIAAS_MAX_CONNECTIONS_PER_CLIENT: '1' });
    const port = Number(new URL(s.url).port);
    const conns: RawConnection[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        conns.push(await RawConnection.open(port, { localAddress: '127.0.0.9' }));
        if (i > 0) await conns[i - 1]!.ended();
        while (connectionGuard(s.server.app).size !== 1) await new Promise((r) => setImmediate(r));
      }
      const last = conns.at(-1)!;
      last.write(rawRequest('GET', '/healthz'));
      assert.equal((await last.answer() as { status: number }).status, 200);
    } finally {
      for (const c of conns) c.close();
      await s.stop();
    }
  });
});

describe('keep-alive timeout', () => {
  test('an idle keep-alive connection is closed after AIAAS_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const s = await startTestServer({ AIAAS_KEEP_ALIVE_TIMEOUT_MS: '200' });
    try {
      const c = await RawConnection.open(Number(new URL(s.url).port));
      c.write(rawRequest('GET', '/healthz'));
      const a = await c.answer();
      assert.ok(!('closed' in a) && a.status === 200);
      await c.ended();
    } finally {
      await s.stop();
    }
  });
});
