/**
 * The web console (React SPA, built by Vite into console/dist) served at `/`: its hashed assets
 * under /assets/ with long caching, and index.html for `/` and every client route (SPA fallback).
 * All public: the console signs in with an API key in the browser. When the console has not been
 * built, these routes answer a 503 page saying how to build it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/** console/dist at the repository root (this file runs from dist/src/interfaces/http/). */
export const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../console/dist');

/** The console's client-side routes: the server answers index.html for them. */
const CLIENT_ROUTES = ['/', '/login', '/datasets', '/jobs', '/models', '/endpoints', '/alerts', '/cluster', '/access'];

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>aiaas: console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web console is not built</h1>
<p>The API is running (see <a href="/docs">/docs</a>), but <code>console/dist</code> is missing.
Build the console with <code>npm run build:console</code> (it runs by itself in <code>npm ci</code> / <code>npm install</code>,
which install its build tools), then reload this page.</p></body></html>`;

/**
 * The console loads only its own bundle: no inline script or style, no other origin, and it may
 * not be framed (clickjacking: the page holds an API key). The `data:` image is its empty
 * favicon; React's style props go through the CSSOM, which style-src does not restrict.
 */
export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');
/** The not-built page: static text with inline style, nothing else. */
const NOT_BUILT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}) {
  const dir = opts.dir ?? CONSOLE_DIR;
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'public' };
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  app.addHook('onSend', (_req, reply, _payload, done) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-frame-options', 'DENY');
    done();
  });
  const assets = path.join(dir, 'assets');
  if (fs.existsSync(assets)) {
    await app.register(fastifyStatic, {
      root: assets, prefix: '/assets/', decorateReply: false, index: false, wildcard: true,
      immutable: true, maxAge: '365d', cacheControl: true,
    });
  }
  const page = (status: number) => async (_req: unknown, reply: FastifyReply) => {
    let html: string;
    try {
      html = await fs.promises.readFile(path.join(dir, 'index.html'), 'utf8');
    } catch {
      return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', NOT_BUILT_CSP).send(NOT_BUILT);
    }
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  };
  const index = page(200);
  for (const route of CLIENT_ROUTES) {
    app.get(route, index);
    if (route !== '/') app.get(`${route}/*`, index);
  }
  // Any other GET path a browser asks for is the console's own 404 page (index.html with status
  // 404: the app renders "Not found"); API paths keep the API's JSON 404.
  const notFound = page(404);
  app.get('/*', async (req, reply) => {
    const p = req.url.split('?')[0]!;
    const api = API_PREFIXES.some((a) => p === a || p.startsWith(`${a}/`) || p.startsWith(`${a}.`));
    if (api || !(req.headers.accept ?? '').includes('text/html')) return reply.callNotFound();
    return notFound(req, reply);
  });
}

/** Paths that belong to the API (JSON errors), never to the console's 404 page. */
const API_PREFIXES = ['/v1', '/v2', '/openai', '/metrics', '/docs', '/openapi', '/healthz', '/readyz', '/assets'];
