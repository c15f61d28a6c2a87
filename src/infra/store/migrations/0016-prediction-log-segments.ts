/**
 * The prediction log keeps its packs' texts (request bodies and answers) out of the database, in
 * segments: one blob per flush, each pack's texts a range of it (`blob`, `blob_offset`,
 * `blob_bytes`), held through `blob_refs` by each pack. Writing the texts as BLOB pages, into the
 * WAL and again at its checkpoint, was the writer's main cost at 100% logging (about 5 µs of CPU
 * per 2 KB request, a third of logging's whole cost); a segment is one sequential file write.
 * Records of 0015 keep their texts in `inputs` and `outputs` and are read as before; new records
 * leave those empty.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const predictionLogSegments: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('prediction_log_packs').addColumn('blob', 'text').execute();
    await db.schema.alterTable('prediction_log_packs').addColumn('blob_offset', 'integer', (c) => c.notNull().defaultTo(sql`0`)).execute();
    await db.schema.alterTable('prediction_log_packs').addColumn('blob_bytes', 'integer', (c) => c.notNull().defaultTo(sql`0`)).execute();
  },
};
