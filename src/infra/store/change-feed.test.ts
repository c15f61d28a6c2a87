/**
 * The change feed between nodes sharing one store, on SQLite and PostgreSQL: a change recorded
 * through one node's feed is heard by the other's (on PostgreSQL by notification alone: polling
 * off), a change whose notification never came is found by polling, and a node whose listening
 * connection is cut listens again and catches up. Waits are for the subscriber's call.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { createLogger } from '../logger.js';
import { storeTest } from '../testing/store-engines.js';
import { LISTENER_APPLICATION, openChangeFeed, type ChangeFeed } from './change-feed.js';
import type { Db } from './database.js';

const logger = createLogger('silent');
/** Polling that never comes within a test: only notifications can deliver. */
const NEVER = 3_600_000;

/** Resolves at the subscriber's next call. */
function heard(feed: ChangeFeed): Promise<void> {
  return new Promise((resolve) => {
    const off = feed.subscribe('endpoints', () => {
      off();
      resolve();
    });
  });
}

async function feeds(open: () => Promise<Db>, url: string | undefined, pollMs: number) {
  const [db1, db2] = [await open(), await open()];
  const one = await openChangeFeed(db1, { databaseUrl: url, pollMs, nodeName: 'one', logger });
  const two = await openChangeFeed(db2, { databaseUrl: url, pollMs, nodeName: 'two', logger });
  return { db1, db2, one, two, close: () => Promise.all([one.close(), two.close()]) };
}

storeTest('a change recorded through one node is heard by both (PostgreSQL: by notification, polling off)', async (engine) => {
  const { databaseUrl } = await engine.options();
  const f = await feeds(() => engine.open(), databaseUrl, databaseUrl ? NEVER : 50);
  try {
    const both = Promise.all([heard(f.one), heard(f.two)]);
    await f.db1.transaction().execute((tx) => f.one.changed(tx, 'endpoints'));
    await both;
    const v = await f.db2.selectFrom('change_versions').select('version').where('topic', '=', 'endpoints').executeTakeFirstOrThrow();
    assert.equal(v.version, 1);
  } finally {
    await f.close();
  }
});

storeTest('a change whose notification was lost is found by polling', async (engine) => {
  const { databaseUrl } = await engine.options();
  const f = await feeds(() => engine.open(), databaseUrl, 50);
  try {
    const later = heard(f.two);
    // The version moves without pg_notify, as when a notification is lost.
    await f.db1.updateTable('change_versions').set((eb) => ({ version: eb('version', '+', 1) })).where('topic', '=', 'endpoints').execute();
    await later;
  } finally {
    await f.close();
  }
});

storeTest('a node whose listening connection is cut listens again and catches up', async (engine, t) => {
  const { databaseUrl } = await engine.options();
  if (!databaseUrl) return t.skip('SQLite has no notifications: one node, polling only');
  const f = await feeds(() => engine.open(), databaseUrl, NEVER);
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const cut = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`${LISTENER_APPLICATION} two`]);
    assert.equal(cut.rowCount, 1);
    const later = heard(f.two);
    await f.db1.transaction().execute((tx) => f.one.changed(tx, 'endpoints'));
    await later; // no polling: only the reconnect's catch-up (or its new LISTEN) can deliver
  } finally {
    await admin.end();
    await f.close();
  }
});
