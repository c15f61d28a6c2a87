/**
 * Starts the real platform for a test: a fresh temporary AIAAS_HOME, an ephemeral port, real
 * HTTP. Nothing of ours is mocked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../infra/config.js';
import { startServer, type RunningServer } from '../server.js';

export interface TestServer {
  url: string;
  home: string;
  adminKey: string;
  server: RunningServer;
  /** fetch against the server with a key; `json` bodies are encoded. */
  call(method: string, route: string, opts?: CallOptions): Promise<Reply>;
  /** A tenant with a developer key and a viewer key. */
  tenant(name: string): Promise<{ id: string; developer: string; viewer: string }>;
  stop(): Promise<void>;
}

export interface CallOptions {
  key?: string | null;
  json?: unknown;
  body?: string | Uint8Array | FormData | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** `overrides`: configuration that is not an environment variable (an injected clock). */
export async function startTestServer(env: Record<string, string> = {}, overrides: Partial<Config> = {}): Promise<TestServer> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-test-'));
  const adminKey = 'aiaas_test_admin_' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  const config: Config = { ...loadConfig({ AIAAS_HOME: home, AIAAS_ADMIN_KEY: adminKey, PORT: '0', AIAAS_LOG_LEVEL: 'silent', ...env }), ...overrides };
  const server = await startServer(config);
  const call = caller(server.url, adminKey);
  return {
    url: server.url, home, adminKey, server, call,
    tenant: (name) => createTenant(call, name),
    async stop() {
      await server.stop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A tenant with a developer key and a viewer key, made through `call` (an admin's). */
export async function createTenant(call: TestServer['call'], name: string): Promise<{ id: string; developer: string; viewer: string }> {
  const t = await call('POST', '/v1/tenants', { json: { name } });
  if (t.status !== 201) throw new Error(`tenant: ${t.text}`);
  const dev = await call('POST', '/v1/keys', { json: { name: `${name}-dev`, role: 'developer', tenant: t.body.id } });
  const viewer = await call('POST', '/v1/keys', { json: { name: `${name}-viewer`, role: 'viewer', tenant: t.body.id } });
  return { id: t.body.id, developer: dev.body.key, viewer: viewer.body.key };
}

/** `TestServer.call` for any server at `url` (another process, too); `adminKey` is the key when none is given. */
export function caller(url: string, adminKey: string): TestServer['call'] {
  return async (method, route, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? adminKey : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(url + route, { method, headers, body, duplex: 'half' } as RequestInit);
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
}

/** The project's example data (copied from the shared datasets, shipped with the repo). */
export const EXAMPLES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../examples/data');
