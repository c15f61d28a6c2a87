/**
 * `aiaas server`: the whole platform in one process on the embedded defaults, listening on
 * HOST:PORT, shutting down gracefully on SIGTERM/SIGINT.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { buildApp, connectionGuard } from './http/app.js';
import { createPlatform, type Platform } from './platform.js';

export interface RunningServer {
  platform: Platform;
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config = loadConfig()): Promise<RunningServer> {
  const platform = await createPlatform(config, createLogger(config.logLevel, 'aiaas', config.logFormat));
  const app = await buildApp(platform);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    // Stops accepting, closes quiet connections, lets accepted requests finish (Connection: close).
    const drained = connectionGuard(app).drain(config.http.shutdownGraceMs);
    await app.close(); // preClose hooks end event streams, which would otherwise hold connections open
    await drained;
    await platform.close();
  })());
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await platform.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { platform, app, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, stop };
}

/** Runs until SIGTERM or SIGINT, then drains and exits. */
export async function runServer(): Promise<void> {
  const server = await startServer();
  const { platform, url } = server;
  const lines = [`aiaas is running: console ${url}/  ·  API docs ${url}/docs  ·  data in ${platform.config.home}`];
  if (platform.firstAdminKey && !platform.config.adminKey) {
    lines.push(`First start: admin key (shown once, also saved to ${platform.config.home}/admin.key, mode 0600):`, `  ${platform.firstAdminKey}`);
  } else if (platform.firstAdminKey) {
    lines.push('First start: the admin key is the one you set in AIAAS_ADMIN_KEY.');
  } else {
    lines.push(`Admin key: in ${platform.config.home}/admin.key (if it was generated here).`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (process.env.AIAAS_WORKERS) {
    platform.logger.warn('AIAAS_WORKERS is not used yet: concurrent jobs are bounded by AIAAS_CPU, AIAAS_MEMORY_MB and AIAAS_GPUS.');
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      platform.logger.info({ signal }, 'shutting down');
      server.stop().then(() => process.exit(0), (err) => {
        platform.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}
