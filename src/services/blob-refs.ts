/**
 * Blob ownership. Objects record which blobs they hold; a blob nobody holds any more is deleted.
 * Content addressing means two objects may hold the same blob, so deletion always asks first.
 */
import type { Db } from '../infra/store/database.js';
import type { BlobStore } from '../infra/blob-store.js';
import { nowIso } from '../infra/ids.js';

/** Owners per multi-row statement (a bound on its parameters: SQLite takes 32,766). */
const ROWS_PER_INSERT = 1000;

export class BlobRefs {
  constructor(private readonly db: Db, private readonly blobs: BlobStore) {}

  async hold(db: Db, hashes: string[], ownerType: string, ownerId: string): Promise<void> {
    const at = nowIso();
    for (const hash of new Set(hashes)) {
      await db.insertInto('blob_refs').values({ hash, owner_type: ownerType, owner_id: ownerId, created_at: at }).execute();
    }
  }

  /** One blob held by many objects of a type (one insert). */
  async holdBy(db: Db, hash: string, ownerType: string, ownerIds: string[]): Promise<void> {
    const at = nowIso();
    for (let i = 0; i < ownerIds.length; i += ROWS_PER_INSERT) {
      const rows = ownerIds.slice(i, i + ROWS_PER_INSERT).map((ownerId) => ({ hash, owner_type: ownerType, owner_id: ownerId, created_at: at }));
      await db.insertInto('blob_refs').values(rows).execute();
    }
  }

  async release(db: Db, ownerType: string, ownerId: string): Promise<string[]> {
    const rows = await db.selectFrom('blob_refs').select('hash').where('owner_type', '=', ownerType).where('owner_id', '=', ownerId).execute();
    await db.deleteFrom('blob_refs').where('owner_type', '=', ownerType).where('owner_id', '=', ownerId).execute();
    return rows.map((r) => r.hash);
  }

  /** What many objects of a type held, released (one delete per ROWS_PER_INSERT of them): the hashes to collect. */
  async releaseBy(db: Db, ownerType: string, ownerIds: string[]): Promise<string[]> {
    const hashes = new Set<string>();
    for (let i = 0; i < ownerIds.length; i += ROWS_PER_INSERT) {
      const ids = ownerIds.slice(i, i + ROWS_PER_INSERT);
      const rows = await db.selectFrom('blob_refs').select('hash').where('owner_type', '=', ownerType).where('owner_id', 'in', ids).execute();
      for (const r of rows) hashes.add(r.hash);
      await db.deleteFrom('blob_refs').where('owner_type', '=', ownerType).where('owner_id', 'in', ids).execute();
    }
    return [...hashes];
  }

  /** Deletes those of `hashes` that no object holds. Call after the releasing transaction commits. */
  async collect(hashes: Iterable<string>): Promise<void> {
    for (const hash of new Set(hashes)) {
      const held = await this.db.selectFrom('blob_refs').select('hash').where('hash', '=', hash).executeTakeFirst();
      if (!held) await this.blobs.delete(hash);
    }
  }
}
