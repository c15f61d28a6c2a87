/**
 * API tests on every store engine: a suite declared once runs as `… [sqlite]` (the embedded
 * default) and `… [postgres]` (a fresh database in this process's throwaway cluster, handed to
 * the test server as AIAAS_DATABASE_URL). The PostgreSQL suite skips with one line on how to run
 * it where PostgreSQL is missing, and fails there instead when AIAAS_REQUIRE_ENGINES=1.
 */
import { describe } from 'node:test';
import { ENGINES, engineSkip, type EngineName } from '../../infra/testing/store-engines.js';
import { postgresCluster } from '../../infra/testing/postgres-cluster.js';

export interface ServerEngine {
  name: EngineName;
  /** Environment for startTestServer: a new, empty store on this engine (merge your own settings in). */
  env(extra?: Record<string, string>): Promise<Record<string, string>>;
}

export function describeEachEngine(name: string, fn: (engine: ServerEngine) => void): void {
  for (const engine of ENGINES) {
    describe(`${name} [${engine}]`, { skip: engineSkip(engine) }, () => fn({
      name: engine,
      async env(extra = {}) {
        if (engine === 'sqlite') return extra;
        return { ...extra, AIAAS_DATABASE_URL: await (await postgresCluster()).createDatabase() };
      },
    }));
  }
}
