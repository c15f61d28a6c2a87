/**
 * The connections of the HTTP server: how many, from whom, how fast their bodies come, and how
 * they end when the server shuts down.
 *
 * - Caps: at most `maxConnectionsPerClient` per client address and `maxConnections` in all. A
 *   connection over a cap first sheds the oldest *quiet* connection (of that client, or of
 *   anyone for the global cap): one that never sent a request (half-open, never authenticated)
 *   before one idle between keep-alive requests. Only when every connection is busy is the new
 *   one refused. So thousands of silent sockets cannot lock everybody else out: they are the
 *   first to go.
 * - Bodies: a request body must keep coming at `bodyMinBytesPerSecond`, measured per window of
 *   `bodyRateWindowMs` while the server waits for it (a handler that is behind does not count
 *   against the client). A body dripping 4 bytes every 5 s is answered 408 and cut.
 * - Shutdown (`drain`): stop accepting, close quiet connections at once, let each in-flight
 *   request finish with `Connection: close` on its answer, answer 503 (Connection: close) to
 *   requests that arrive on those connections meanwhile, and resolve once none is left (or
 *   after `shutdownGraceMs`, when what is left is cut). A connection whose last answer promised
 *   keep-alive less than a second ago is not quiet but between two requests: it gets that
 *   second for the next one (answered 503) before it closes, so no request is lost in flight.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpEdgeConfig } from '../../infra/config.js';
import { errorAnswer, rawErrorAnswer, type ErrorReply } from './errors.js';

interface Client {
  count: number;
  /** This client's quiet connections, oldest first. */
  quiet: Set<Conn>;
}

interface Conn {
  socket: Socket;
  client: Client;
  address: string;
  /** Requests on this connection still being answered (pipelining can make it more than one). */
  responses: Set<ServerResponse>;
  /** Whether a request ever came (fresh connections are shed before idle ones). */
  used: boolean;
  /** When the connection last became quiet (connected, or answered its last request). */
  quietSince: number;
}

/** A request whose body the server is still waiting for. */
interface BodyWatch {
  req: IncomingMessage;
  res: ServerResponse;
  windowStart: number;
  bytesAtStart: number;
}

const SLOW_BODY: ErrorReply = {
  status: 408, code: 'request_timeout',
  message: 'The request body arrived too slowly and was cut. Send it in one go; the server needs at least AIAAS_BODY_MIN_BYTES_PER_SECOND bytes a second.',
};

const SHUTTING_DOWN: ErrorReply = {
  status: 503, code: 'shutting_down',
  message: 'The server is shutting down and takes no new requests. Retry on a new connection (another instance, or this one once restarted).',
};

/** How long a connection whose last answer promised keep-alive may still bring a request once draining. */
const DRAIN_LINGER_MS = 1000;

export class ConnectionGuard {
  private readonly conns = new Map<Socket, Conn>();
  private readonly clients = new Map<string, Client>();
  /** Quiet connections, oldest first: never used, then idle between requests. */
  private readonly fresh = new Set<Conn>();
  private readonly idle = new Set<Conn>();
  /** Requests whose body is still coming, by their response. */
  private readonly watches = new Map<ServerResponse, BodyWatch>();
  private readonly sweeper: NodeJS.Timeout | undefined;
  private draining = false;
  private drained?: Promise<void>;

  constructor(private readonly server: Server, private readonly limits: HttpEdgeConfig, private readonly now: () => number = () => performance.now()) {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // server.close() (ours, and Fastify's in app.close()) would also destroy every connection
    // Node deems idle, including those whose client is between two requests: the guard closes
    // connections itself (see `drain`). Without a drain (a bare app.close()) Node's stays.
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => { if (!this.draining) closeIdle(); };
    if (limits.bodyMinBytesPerSecond > 0) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(1000, limits.bodyRateWindowMs / 4)));
      this.sweeper.unref();
    }
  }

  /** Open connections (for tests and metrics). */
  get size(): number {
    return this.conns.size;
  }

  /** Open connections without a request in progress. */
  get quietCount(): number {
    return this.fresh.size + this.idle.size;
  }

  private onConnection(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    const address = clientAddress(socket);
    let client = this.clients.get(address);
    if (!client) this.clients.set(address, (client = { count: 0, quiet: new Set() }));
    const perClient = this.limits.maxConnectionsPerClient;
    if ((perClient > 0 && client.count >= perClient && !this.shed(first(client.quiet)))
      || (this.conns.size >= this.limits.maxConnections && !this.shed(first(this.fresh) ?? first(this.idle)))) {
      if (client.count === 0) this.clients.delete(address);
      socket.destroy();
      return;
    }
    // Shedding may have closed this client's last connection, which forgets the client.
    this.clients.set(address, client);
    const conn: Conn = { socket, client, address, responses: new Set(), used: false, quietSince: 0 };
    this.conns.set(socket, conn);
    client.count++;
    this.setQuiet(conn, true);
    socket.once('close', () => this.forget(conn));
  }

  /**
   * Called for every request before it is routed. Answers it itself (true) when the server is
   * draining; otherwise notes the connection busy and watches the body's pace.
   */
  onRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const conn = this.conns.get(req.socket);
    if (conn) {
      conn.used = true;
      this.setQuiet(conn, false);
      conn.responses.add(res);
      res.once('close', () => this.settle(conn, res));
    }
    if (this.limits.bodyMinBytesPerSecond > 0 && hasBody(req)) {
      this.watches.set(res, { req, res, windowStart: this.now(), bytesAtStart: req.socket.bytesRead });
    }
    if (!this.draining) return false;
    refuseWhileDraining(req, res);
    return true;
  }

  /**
   * Stops accepting and resolves once every connection is gone: quiet ones are closed at once
   * (those answered moments ago after a short linger), busy ones after their answer (sent with
   * Connection: close). After `graceMs` the rest is cut.
   */
  drain(graceMs: number): Promise<void> {
    if (this.drained) return this.drained;
    this.draining = true;
    const closed = new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
    });
    // Quiet connections close at once (after one more turn of the event loop, so that a request
    // whose bytes already arrived is read and answered 503 instead of lost), except those that
    // became quiet just now: their client is between two requests (see `linger`).
    const t = this.now();
    const quiet = [...this.fresh, ...this.idle];
    setImmediate(() => setImmediate(() => {
      for (const conn of quiet) {
        if (conn.responses.size > 0) continue;
        if (t - conn.quietSince >= this.lingerMs) this.close(conn);
        else this.linger(conn, this.lingerMs - (t - conn.quietSince));
      }
    }));
    for (const conn of this.conns.values()) {
      for (const res of conn.responses) if (!res.headersSent) res.setHeader('connection', 'close');
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const conn of this.conns.values()) conn.socket.destroy();
        resolve();
      }, graceMs);
    });
    this.drained = Promise.race([closed, deadline]).finally(() => {
      clearTimeout(timer);
      if (this.sweeper) clearInterval(this.sweeper);
    });
    return this.drained;
  }

  /** A request answered: its connection is quiet again, or closed when draining. */
  private settle(conn: Conn, res: ServerResponse): void {
    conn.responses.delete(res);
    this.watches.delete(res);
    if (conn.responses.size > 0 || conn.socket.destroyed) return;
    if (!this.draining) {
      this.setQuiet(conn, true);
    } else if (String(res.getHeader('connection')).toLowerCase() === 'close') {
      this.close(conn);
    } else {
      // This answer left before the drain, promising keep-alive.
      this.setQuiet(conn, true);
      this.linger(conn, this.lingerMs);
    }
  }

  /**
   * A connection whose last answer promised keep-alive, moments ago: its client may be sending
   * the next request right now, and closing under it would lose that request. It gets a moment
   * for the request to arrive (answered 503, Connection: close), then closes.
   */
  private linger(conn: Conn, ms: number): void {
    setTimeout(() => { if (conn.responses.size === 0) this.close(conn); }, ms).unref();
  }

  private get lingerMs(): number {
    return Math.min(DRAIN_LINGER_MS, this.limits.keepAliveTimeoutMs);
  }

  private setQuiet(conn: Conn, quiet: boolean): void {
    this.fresh.delete(conn);
    this.idle.delete(conn);
    conn.client.quiet.delete(conn);
    if (!quiet) return;
    conn.quietSince = this.now();
    (conn.used ? this.idle : this.fresh).add(conn);
    conn.client.quiet.add(conn);
  }

  /** Closes a quiet connection to make room; false when there is none. */
  private shed(conn: Conn | undefined): boolean {
    if (!conn) return false;
    conn.socket.destroy();
    this.forget(conn);
    return true;
  }

  /** Ends a connection once what was written is out (FIN, not a reset). */
  private close(conn: Conn): void {
    this.setQuiet(conn, false);
    const socket = conn.socket;
    if (socket.destroyed) return;
    socket.end();
    socket.once('finish', () => socket.destroy());
  }

  private forget(conn: Conn): void {
    if (this.conns.get(conn.socket) !== conn) return;
    this.conns.delete(conn.socket);
    this.setQuiet(conn, false);
    for (const res of conn.responses) this.watches.delete(res);
    if (--conn.client.count === 0) this.clients.delete(conn.address);
  }

  /** Cuts bodies that came slower than the minimum rate over a whole window. */
  private sweep(): void {
    const t = this.now();
    const window = this.limits.bodyRateWindowMs;
    for (const [res, w] of this.watches) {
      const socket = w.req.socket;
      if (w.req.complete || socket.destroyed) {
        this.watches.delete(res);
        continue;
      }
      // Bytes waiting in the request stream mean the handler is behind, not the client.
      if (w.req.readableLength > 0) {
        w.windowStart = t;
        w.bytesAtStart = socket.bytesRead;
        continue;
      }
      if (t - w.windowStart < window) continue;
      if (socket.bytesRead - w.bytesAtStart < (this.limits.bodyMinBytesPerSecond * window) / 1000) {
        this.watches.delete(res);
        cutSlowBody(w);
        continue;
      }
      w.windowStart = t;
      w.bytesAtStart = socket.bytesRead;
    }
  }
}

function cutSlowBody(w: BodyWatch): void {
  const socket = w.req.socket;
  if (w.res.headersSent || !socket.writable) {
    socket.destroy();
    return;
  }
  // Written to the socket, not through `res`: the route may still answer later, into nothing.
  socket.end(rawErrorAnswer(SLOW_BODY));
  socket.once('finish', () => socket.destroy());
}

/** 503 once the request's body is in (closing with unread bytes would reset the connection and lose the answer). */
function refuseWhileDraining(req: IncomingMessage, res: ServerResponse): void {
  const answer = () => {
    if (res.headersSent || res.destroyed) return;
    const { body, headers } = errorAnswer(SHUTTING_DOWN);
    const text = JSON.stringify(body);
    res.writeHead(SHUTTING_DOWN.status, {
      ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
      connection: 'close', 'x-content-type-options': 'nosniff',
    });
    res.end(text);
  };
  if (req.complete) return answer();
  req.on('error', () => undefined);
  req.once('end', answer);
  req.resume();
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The client's address; IPv4 clients of a dual-stack server count as their IPv4 address. */
function clientAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function first<T>(set: Set<T>): T | undefined {
  return set.values().next().value;
}
