/**
 * Runs a store test on every engine the platform supports: embedded SQLite (a temporary
 * AIAAS_HOME) and PostgreSQL (a fresh database in this process's throwaway cluster). Each
 * engine's test is named `… [sqlite]` / `… [postgres]`; stores opened through the engine are
 * closed and their folders removed when the test ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { openStore, type Db, type StoreOptions } from '../store/database.js';
import { enginesRequired, postgresCluster, postgresMissing } from './postgres-cluster.js';

export type EngineName = 'sqlite' | 'postgres';

export interface StoreEngine {
  name: EngineName;
  /** Settings of a new, empty store (the same database for every call within one test). */
  options(): Promise<StoreOptions>;
  /** Opens (and migrates) the test's store; another call opens another connection to the same one, like a second node. */
  open(): Promise<Db>;
}

export const ENGINES: EngineName[] = ['sqlite', 'postgres'];

/** When this engine cannot run here: the skip reason (undefined: it runs, or must run and fail). */
export function engineSkip(name: EngineName): string | undefined {
  if (name !== 'postgres' || enginesRequired()) return undefined;
  return postgresMissing();
}

/** Registers `fn` once per engine. */
export function storeTest(name: string, fn: (engine: StoreEngine, t: TestContext) => Promise<void>): void {
  for (const engine of ENGINES) {
    test(`${name} [${engine}]`, { skip: engineSkip(engine) }, async (t) => {
      const e = engineFor(engine);
      try {
        await fn(e, t);
      } finally {
        await e.close();
      }
    });
  }
}

function engineFor(name: EngineName): StoreEngine & { close(): Promise<void> } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `aiaas-store-${name}-`));
  const opened: Db[] = [];
  let url: Promise<string> | undefined;
  const options = async (): Promise<StoreOptions> => {
    if (name === 'sqlite') return { home };
    url ??= postgresCluster().then((c) => c.createDatabase());
    return { home, databaseUrl: await url };
  };
  return {
    name, options,
    async open() {
      const db = await openStore(await options());
      opened.push(db);
      return db;
    },
    async close() {
      await Promise.all(opened.map((db) => db.destroy()));
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
