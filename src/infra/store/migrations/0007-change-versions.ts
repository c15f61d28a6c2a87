/**
 * A version number per kind of shared state that API nodes keep in memory (endpoints): every
 * change of it adds one in the same transaction, so a node that polls sees that something changed
 * with one indexed read (the fallback to PostgreSQL's NOTIFY, and the only way on SQLite).
 */
import type { Kysely, Migration } from 'kysely';

export const changeVersions: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('change_versions')
      .addColumn('topic', 'text', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    await db.insertInto('change_versions').values({ topic: 'endpoints', version: 0 }).execute();
  },
};
