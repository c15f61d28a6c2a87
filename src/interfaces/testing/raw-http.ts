/**
 * HTTP/1.1 over a plain socket, for tests that need to see what a client library hides: which
 * connection a request went on, whether the server closed it, and what came back byte for byte.
 */
import net from 'node:net';
import { once } from 'node:events';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A keep-alive connection that sends one request at a time and reads each answer. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiting?: () => void;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.waiting?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  static async open(port: number, opts: { localAddress?: string } = {}): Promise<RawConnection> {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    await Promise.race([once(socket, 'connect'), once(socket, 'error').then(([e]) => { throw e; })]);
    return new RawConnection(socket);
  }

  /** Bytes received so far that are not part of an answer read yet. */
  get pending(): number {
    return this.buffer.length;
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next answer; undefined when the connection closed first (`partial` says whether some bytes of one came). */
  async answer(): Promise<RawAnswer | { closed: true; partial: boolean }> {
    for (;;) {
      const parsed = this.parse();
      if (parsed) return parsed;
      if (this.closed) return { closed: true, partial: this.buffer.length > 0 };
      await new Promise<void>((resolve) => { this.waiting = resolve; });
      this.waiting = undefined;
    }
  }

  /** Resolves once the server has closed the connection. */
  async ended(): Promise<void> {
    while (!this.closed) {
      await new Promise<void>((resolve) => { this.waiting = resolve; });
      this.waiting = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): RawAnswer | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffer.length < end + 4 + length) return undefined;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }
}

/** A request as text: JSON bodies get their Content-Type and Content-Length. */
export function rawRequest(method: string, route: string, opts: { key?: string; json?: unknown; headers?: Record<string, string> } = {}): string {
  const body = opts.json === undefined ? '' : JSON.stringify(opts.json);
  const headers: Record<string, string> = { host: 'test', ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return `${method} ${route} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}
