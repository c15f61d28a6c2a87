/**
 * Opens the metadata store: embedded SQLite (better-sqlite3, WAL) under AIAAS_HOME by default,
 * PostgreSQL when AIAAS_DATABASE_URL is set. Everything above this file sees one Kysely<Database>.
 */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type Driver } from 'kysely';
import type { Database } from './schema.js';
import { migrateToLatest } from './migrations.js';

export type Db = Kysely<Database>;

export interface StoreOptions {
  home: string;
  databaseUrl?: string;
}

export async function openStore(opts: StoreOptions): Promise<Db> {
  if (!opts.databaseUrl) return openSqlite(opts.home);
  const db = openPostgres(opts.databaseUrl);
  await migrateToLatest(db); // Kysely's migrator locks its own table on PostgreSQL: concurrent starts run each migration once
  return db;
}

async function openSqlite(home: string): Promise<Db> {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const dbFile = path.join(home, 'aiaas.db');
  ownerOnly(dbFile);
  const file = new SqliteDatabase(dbFile);
  // busy_timeout waits out a competing writer (a worker process) instead of failing at once. WAL
  // lets readers proceed while a writer commits; switching a new file to it needs the file to
  // itself, and SQLite answers "database is locked" at once, without waiting, when another
  // process (a second node opening the same fresh home) holds it meanwhile: retried.
  file.pragma('busy_timeout = 5000');
  await whileBusy(() => file.pragma('journal_mode = WAL'), 5000);
  file.pragma('synchronous = NORMAL');
  file.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(file) }) });
  // Kysely takes no migration lock on SQLite: two processes opening a fresh home at once (a server
  // and a worker) would both create the tables. The write lock, held for all of it, serialises them.
  file.exec('begin immediate');
  try {
    await migrateToLatest(db);
    file.exec('commit');
  } catch (err) {
    if (file.inTransaction) file.exec('rollback');
    await db.destroy();
    throw err;
  }
  return db;
}

/** Runs `fn` again while SQLite reports the database busy or locked, for up to `ms`. */
async function whileBusy<T>(fn: () => T, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
}

/**
 * The database file readable by its owner only (it holds key hashes and the audit log), created
 * so before SQLite opens it; SQLite gives its -wal and -shm files the same mode. Files of an
 * older home are tightened too.
 */
function ownerOnly(dbFile: string): void {
  fs.closeSync(fs.openSync(dbFile, 'a', 0o600));
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) {
    if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
  }
}

/**
 * Transactions begin IMMEDIATE (take the write lock at once, waiting up to busy_timeout). A plain
 * BEGIN reads first and upgrades to writing later, and in WAL mode that upgrade fails at once with
 * "database is locked" (no waiting) whenever another process (a job's worker) committed in between.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

/**
 * Kysely prepares every query anew; preparing costs more than running a small query (it was a
 * fifth of the time of an authenticated prediction). Statements are kept by SQL text: queries
 * run one at a time on SQLite's single connection, so a cached statement is never busy twice.
 */
function withStatementCache(file: SqliteDatabase.Database, max = 500) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        stmt = file.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sqlText, stmt);
      }
      return stmt;
    },
    close() {
      cache.clear();
      file.close();
    },
  };
}

function openPostgres(url: string): Db {
  // int8 (COUNT, bigint columns) as JS numbers: our counts and byte sizes stay below 2^53.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) }) });
}

/** The store (or a transaction of it) runs on PostgreSQL (several writers at once), not embedded SQLite. */
export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function pingStore(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

/** Unique-constraint violation, in the words of either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
