/** Logs: pretty one-liners at a terminal, pino's JSON otherwise; per-request lines only when asked for (or with JSON). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.js';
import { formatPretty } from './logger.js';

test('a pretty line is time, level, message and the other fields', () => {
  const line = formatPretty(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 1), pid: 1, name: 'aiaas', msg: 'replica failed', endpoint: 'iris', err: { message: 'boom', stack: 'x' } }));
  assert.match(line, /^\d\d:\d\d:\d\d WARN replica failed {2}endpoint=iris err=boom\n$/);
  assert.equal(formatPretty('not json'), 'not json');
});

test('AIAAS_LOG_FORMAT and AIAAS_LOG_REQUESTS', () => {
  const base = { AIAAS_HOME: '/tmp/x' };
  const json = loadConfig({ ...base, AIAAS_LOG_FORMAT: 'json' });
  assert.deepEqual([json.logFormat, json.logRequests], ['json', true]);
  const pretty = loadConfig({ ...base, AIAAS_LOG_FORMAT: 'pretty' });
  assert.deepEqual([pretty.logFormat, pretty.logRequests], ['pretty', false]);
  assert.equal(loadConfig({ ...base, AIAAS_LOG_FORMAT: 'pretty', AIAAS_LOG_REQUESTS: 'true' }).logRequests, true);
  assert.equal(loadConfig({ ...base, AIAAS_LOG_FORMAT: 'json', AIAAS_LOG_REQUESTS: 'false' }).logRequests, false);
  assert.throws(() => loadConfig({ ...base, AIAAS_LOG_FORMAT: 'xml' }), /AIAAS_LOG_FORMAT must be 'json' or 'pretty'/);
});
