/**
 * Logs (pino), one logger per process; children carry request and job ids. `json` writes pino's
 * structured lines (for a log collector); `pretty` one short line per event for a person at a
 * terminal: time, level, message, then the other fields as key=value. Either way, secrets in
 * request URLs are redacted.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { KEY_PREFIX } from './crypto.js';

export type { Logger };

/** Query parameters that carry secrets when a client sends its key the wrong way (it is refused, and never logged). */
const SECRET_PARAM = /([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|authorization|bearer|password|secret)=)[^&;#]*/gi;
const API_KEY = new RegExp(`${KEY_PREFIX}[A-Za-z0-9_-]+`, 'g');

/** A URL as it may be logged: secret query values, and anything shaped like an API key, replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAM, '$1[REDACTED]').replace(API_KEY, '[REDACTED]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function createLogger(level: string, name = 'aiaas', format: 'json' | 'pretty' = 'json'): Logger {
  const options = {
    name, level, base: { pid: process.pid },
    // Fastify logs requests with this serializer (its own, but with the URL redacted).
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method, url: req.url === undefined ? undefined : redactUrl(req.url),
        host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
      }),
    },
  };
  return format === 'pretty' ? pino(options, prettyStream()) : pino(options);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** "12:00:01 WARN replica failed  endpoint=iris err=…" on stderr for warnings and errors, stdout otherwise. */
export function formatPretty(line: string): string {
  let o: Record<string, unknown>;
  try { o = JSON.parse(line); } catch { return line; }
  const time = new Date(typeof o.time === 'number' ? o.time : Date.now()).toTimeString().slice(0, 8);
  const extra = Object.entries(o).filter(([k]) => !SKIP.has(k)).map(([k, v]) => {
    const text = v && typeof v === 'object' ? ((v as { message?: unknown }).message !== undefined ? String((v as { message: unknown }).message) : JSON.stringify(v)) : String(v);
    return `${k}=${text}`;
  });
  return `${time} ${LEVELS[o.level as number] ?? String(o.level)} ${String(o.msg ?? '')}${extra.length ? `  ${extra.join(' ')}` : ''}\n`;
}

function prettyStream(): DestinationStream {
  return {
    write(line: string) {
      const level = /"level":(\d+)/.exec(line)?.[1];
      (Number(level) >= 40 ? process.stderr : process.stdout).write(formatPretty(line));
    },
  };
}
