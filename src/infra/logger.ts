/** Structured JSON logs (pino), one logger per process; children carry request and job ids. */
import { pino, type Logger } from 'pino';
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

export function createLogger(level: string, name = 'aiaas'): Logger {
  return pino({
    name, level, base: { pid: process.pid },
    // Fastify logs every request with this serializer (its own, but with the URL redacted).
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method, url: req.url === undefined ? undefined : redactUrl(req.url),
        host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
      }),
    },
  });
}
