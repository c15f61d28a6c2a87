/**
 * The Slurm settings and what the client reads from slurmrestd's answers, without a cluster
 * (src/interfaces/http/slurm.test.ts runs the executor against a real one).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from './config.js';
import { gpusIn, SlurmRest } from './slurm-rest.js';

const SHARED = { AIAAS_DATABASE_URL: 'postgres://db/aiaas', AIAAS_BLOB_URL: 's3://bucket/aiaas' };

test('AIAAS_EXECUTOR=slurm names the missing setting; local needs nothing', () => {
  assert.deepEqual(loadConfig({}).executor, { kind: 'local' });
  const missing = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as { details?: { variable?: string } }).details?.variable;
    }
    return undefined;
  };
  assert.equal(missing({ AIAAS_EXECUTOR: 'slurm', ...SHARED }), 'AIAAS_SLURM_URL');
  assert.equal(missing({ AIAAS_EXECUTOR: 'slurm', AIAAS_SLURM_URL: 'http://h:6820', AIAAS_SLURM_USER: 'u', ...SHARED }), 'AIAAS_SLURM_TOKEN');
  assert.equal(missing({ AIAAS_EXECUTOR: 'slurm', AIAAS_SLURM_URL: 'http://h:6820', AIAAS_SLURM_USER: 'u', AIAAS_SLURM_TOKEN: 't', AIAAS_DATABASE_URL: 'postgres://db' }), 'AIAAS_BLOB_URL');
  assert.equal(missing({ AIAAS_EXECUTOR: 'kubernetes' }), 'AIAAS_EXECUTOR');
  const ok = loadConfig({ AIAAS_EXECUTOR: 'slurm', AIAAS_SLURM_URL: 'http://h:6820/', AIAAS_SLURM_USER: 'u', AIAAS_SLURM_TOKEN: 't', ...SHARED });
  assert.deepEqual(ok.executor, { kind: 'slurm', slurm: { url: 'http://h:6820', user: 'u', token: 't', partition: undefined, output: '/dev/null' } });
});

test('GPUs are counted from a node\'s gres, typed or not', () => {
  assert.equal(gpusIn(''), 0);
  assert.equal(gpusIn('gpu:1'), 1);
  assert.equal(gpusIn('gpu:a100:4(S:0-1),shard:8,gpu:t4:2'), 6);
});

test('a refused token and an unreachable daemon are errors naming the setting', async () => {
  const server = http.createServer((_req, res) => { res.statusCode = 401; res.end('Authentication failure'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const refused = await new SlurmRest({ url, user: 'root', token: 'bad', output: '/dev/null' }).nodes().catch((e: Error & { code?: string; details?: { variable?: string } }) => e);
  assert.equal((refused as { code?: string }).code, 'slurm_unauthorized');
  assert.equal((refused as { details?: { variable?: string } }).details?.variable, 'AIAAS_SLURM_TOKEN');
  await new Promise((r) => server.close(r));
  const gone = await new SlurmRest({ url, user: 'root', token: 't', output: '/dev/null' }).jobs().catch((e: Error) => e);
  assert.equal((gone as { code?: string }).code, 'slurm_unreachable');
});
