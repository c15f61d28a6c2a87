/**
 * Changes of shared state that API nodes hold in memory (today: endpoints), from whichever node
 * made them. A writer records a change in the transaction of its write (`changed`): the topic's
 * row in `change_versions` grows by one and, on PostgreSQL, `pg_notify` tells every listening
 * node when the transaction commits. Readers `subscribe` and are called after changes they have
 * not seen yet, their own included.
 *
 * Two ways in, so that a lost notification only delays a change: on PostgreSQL a dedicated
 * connection LISTENs (reconnecting with back-off; after a reconnect it catches up by reading the
 * versions), and on every engine the versions are polled (one indexed read per interval). On
 * SQLite, where there is one node, polling is the only way and rarely finds anything.
 *
 * A call says only "this topic changed since you last heard": the subscriber reads what it needs
 * from the store, so bursts may be coalesced into one call and nothing is carried in the message.
 */
import pg from 'pg';
import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import { isPostgres, type Db } from './database.js';

export type ChangeTopic = 'endpoints';

const CHANNEL = 'aiaas_changes';
/** The listening connection's name in pg_stat_activity (operators see which node listens). */
export const LISTENER_APPLICATION = 'aiaas-listen';

export interface ChangeFeedOptions {
  /** PostgreSQL's URL: the feed LISTENs on a connection of its own (without it, polling only). */
  databaseUrl?: string;
  /** How often versions are read (the fallback, or the only way on SQLite). */
  pollMs: number;
  /** This node's name, in the listening connection's application_name. */
  nodeName: string;
  logger: Logger;
}

export interface ChangeFeed {
  /** Records a change of `topic` in `tx` (a transaction, or the store): seen by every node once it commits. */
  changed(tx: Db, topic: ChangeTopic): Promise<void>;
  /** Calls `fn` after each change of `topic` not seen before (by any node); returns the unsubscribe. */
  subscribe(topic: ChangeTopic, fn: () => void): () => void;
  close(): Promise<void>;
}

/** Opens the feed: what has changed so far counts as seen; listening and polling start. */
export async function openChangeFeed(db: Db, opts: ChangeFeedOptions): Promise<ChangeFeed> {
  const feed = new StoreChangeFeed(db, opts);
  await feed.start();
  return feed;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

class StoreChangeFeed implements ChangeFeed {
  private readonly seen = new Map<string, number>();
  private readonly subscribers = new Map<string, Set<() => void>>();
  private pollTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private listener?: pg.Client;
  private reconnectMs = RECONNECT_MIN_MS;
  private polling?: Promise<void>;
  private closed = false;

  constructor(private readonly db: Db, private readonly opts: ChangeFeedOptions) {}

  async start(): Promise<void> {
    for (const r of await this.versions()) this.seen.set(r.topic, r.version);
    if (this.opts.databaseUrl && isPostgres(this.db)) {
      try {
        await this.listen();
      } catch (err) {
        await this.close(); // a node that cannot listen at start-up does not start
        throw err;
      }
    }
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
  }

  async changed(tx: Db, topic: ChangeTopic): Promise<void> {
    const row = await tx.updateTable('change_versions').set((eb) => ({ version: eb('version', '+', 1) }))
      .where('topic', '=', topic).returning('version').executeTakeFirstOrThrow();
    // Delivered at commit, not before: a node that hears it reads the committed rows.
    if (isPostgres(tx)) await sql`select pg_notify(${CHANNEL}, ${`${topic}:${row.version}`})`.execute(tx);
  }

  subscribe(topic: ChangeTopic, fn: () => void): () => void {
    let set = this.subscribers.get(topic);
    if (!set) this.subscribers.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    await this.polling;
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }

  private versions(): Promise<Array<{ topic: string; version: number }>> {
    return this.db.selectFrom('change_versions').select(['topic', 'version']).execute();
  }

  /** A topic reached `version`: subscribers are called if it is news to this node. */
  private reached(topic: string, version: number): void {
    if (version <= (this.seen.get(topic) ?? -1)) return;
    this.seen.set(topic, version);
    for (const fn of this.subscribers.get(topic) ?? []) {
      try {
        fn();
      } catch (err) {
        this.opts.logger.error({ err, topic }, 'change subscriber failed');
      }
    }
  }

  /** One read of every topic's version; overlapping polls share one read. */
  private poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        if (this.closed) return;
        for (const r of await this.versions()) this.reached(r.topic, r.version);
      } catch (err) {
        if (!this.closed) this.opts.logger.warn({ err }, 'reading change versions failed; retrying at the next poll');
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: `${LISTENER_APPLICATION} ${this.opts.nodeName}`.slice(0, 63) });
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      const at = msg.payload.lastIndexOf(':');
      this.reached(msg.payload.slice(0, at), Number(msg.payload.slice(at + 1)));
    });
    // A lost connection (server restart, terminated backend, network): listen again, and catch up.
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.opts.logger.warn({ err, retryMs: this.reconnectMs }, 'change notifications lost; listening again (polling meanwhile)');
      this.reconnectTimer = setTimeout(() => void this.relisten(), this.reconnectMs);
      this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.listener = client;
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch (err) {
      lost(err as Error);
      throw err;
    }
    this.reconnectMs = RECONNECT_MIN_MS;
  }

  private async relisten(): Promise<void> {
    if (this.closed) return;
    try {
      await this.listen();
    } catch {
      return; // `lost` scheduled the next try
    }
    await this.poll(); // what was notified while nobody listened
  }
}
