/**
 * The prediction log's writer thread: batches of logged requests from the main thread, inserted
 * (one record per request) with a store connection of its own, so that none of that work (the
 * inserts, SQLite's synchronous writes, printing the rows of tensor calls) runs on the thread that
 * answers HTTP for every endpoint.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type StoreOptions } from '../../infra/store/database.js';
import { writeBatch, type LogBatch, type WriteResult } from './prediction-log-records.js';

export type ToWriter = { type: 'write'; id: number; batch: LogBatch } | { type: 'close' };
export interface FromWriter {
  id: number;
  result: WriteResult;
}

const port = parentPort!;
const store = openStore(workerData as StoreOptions);
store.catch(() => undefined); // reported with each batch below
let chain: Promise<unknown> = Promise.resolve();

port.on('message', (msg: ToWriter) => {
  chain = chain.then(async () => {
    if (msg.type === 'close') {
      await store.then((db) => db.destroy(), () => undefined);
      port.close();
      return;
    }
    let result: WriteResult;
    try {
      result = await writeBatch(await store, msg.batch);
    } catch (err) {
      const failed: Record<string, number> = {};
      const { endpoints, endpoint, rows } = msg.batch;
      for (let i = 0; i < endpoint.length; i++) {
        const ep = endpoints[endpoint[i]!];
        if (ep) failed[ep.endpointId] = (failed[ep.endpointId] ?? 0) + rows[i]!;
      }
      result = { written: {}, failed, errors: [`the prediction log's store could not be opened: ${(err as Error).message}`] };
    }
    port.postMessage({ id: msg.id, result } satisfies FromWriter);
  });
});
