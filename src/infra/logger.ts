/** Structured JSON logs (pino), one logger per process; children carry request and job ids. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'aiaas'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
