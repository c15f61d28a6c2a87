/** Helpers for tests that run jobs through the API. */
import type { TestServer } from './test-server.js';

export const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/**
 * How long `until` polls before giving up: the test runner's own per-test timeout
 * (`--test-timeout` in package.json), so a wait has no deadline of its own that a slow or busy
 * machine could miss; this bound only ends a poll left behind by a test that already timed out.
 */
export const WAIT_LIMIT_MS = 20 * 60_000;

/** Polls `probe` until it returns something truthy (the awaited event happened); returns it. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, everyMs = 50): Promise<T> {
  const giveUp = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > giveUp) throw new Error(`still waiting for ${what} after ${WAIT_LIMIT_MS / 60_000} minutes`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls a job until `pred` holds (default: it has ended); returns the job. */
export async function waitJob(s: TestServer, id: string, opts: { key?: string; pred?: (j: any) => boolean } = {}): Promise<any> {
  const pred = opts.pred ?? ((j: any) => TERMINAL.includes(j.status));
  return until(`job ${id}`, async () => {
    const r = await s.call('GET', `/v1/jobs/${id}`, { key: opts.key });
    if (r.status !== 200) throw new Error(`GET job ${id}: ${r.status} ${r.text}`);
    return pred(r.body) ? r.body : undefined;
  });
}

export async function submit(s: TestServer, job: Record<string, unknown>, key?: string): Promise<any> {
  const r = await s.call('POST', '/v1/jobs', { json: job, key });
  if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
  return r.body;
}

export interface SseEvent {
  id: number;
  event: string;
  data: any;
}

/** Reads a job's event stream until the server ends it (or `stopWhen` holds). */
export async function readEvents(url: string, key: string, headers: Record<string, string> = {}, stopWhen?: (e: SseEvent) => boolean): Promise<{ events: SseEvent[]; status: number; contentType: string | null }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  if (!res.ok || !res.body) return { events, status: res.status, contentType: res.headers.get('content-type') };
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const c = line.indexOf(':');
          fields[line.slice(0, c)] = line.slice(c + 1).trimStart();
        }
        if (fields.id === undefined) continue;
        const e = { id: Number(fields.id), event: fields.event ?? 'message', data: JSON.parse(fields.data ?? 'null') };
        events.push(e);
        if (stopWhen?.(e)) {
          controller.abort();
          return { events, status: res.status, contentType: res.headers.get('content-type') };
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return { events, status: res.status, contentType: res.headers.get('content-type') };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
