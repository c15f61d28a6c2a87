/**
 * An endpoint's shadow (a candidate version that gets a copy of a share of its requests; their
 * answers are compared, never returned): JSON `{version, percent}`, or null for none. It is part
 * of the endpoint's desired state, so every API node follows a change of it as of its traffic.
 */
import type { Kysely, Migration } from 'kysely';

export const endpointShadow: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('endpoints').addColumn('shadow', 'text').execute();
  },
};
