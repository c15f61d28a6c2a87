/**
 * A "node" starting: opens (and so migrates) the store given as JSON in argv[2], then exits.
 * Tests start several at once in separate processes, as real nodes are.
 */
import { openStore, type StoreOptions } from '../store/database.js';

const db = await openStore(JSON.parse(process.argv[2]) as StoreOptions);
await db.destroy();
