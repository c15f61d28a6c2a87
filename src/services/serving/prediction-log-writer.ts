/**
 * The prediction log's writer thread: batches of logged requests from the main thread, packed
 * into records and written into a segment file (./prediction-log-records.ts), so that none of
 * that work (printing the rows of tensor calls, indexing, the file's writes and its SHA-256) runs
 * on the thread that answers HTTP for every endpoint. The main thread then stores the few records
 * and hands the segment to the blob store (a rename, or an upload).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { packBatch, type LogBatch, type PackedBatch } from './prediction-log-records.js';

export type ToWriter = { type: 'write'; id: number; batch: LogBatch; segmentFile: string } | { type: 'close' };
export interface FromWriter {
  id: number;
  packed: PackedBatch;
  /** The batch's buffers, moved back for the queue to fill again. */
  buffers: ArrayBuffer[];
}

const port = parentPort!;
lowerPriority();

/**
 * This thread at the lowest scheduling priority (Linux: a thread id is a target of
 * setpriority): it takes the CPU that predictions leave, never theirs. If they leave none, its
 * batches wait, the queue fills and further rows are dropped and counted, as the queue's bound
 * says; predictions are never slowed to log them. Elsewhere it runs at the process's priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(path.basename(fs.readlinkSync('/proc/thread-self')));
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, os.constants.priority.PRIORITY_LOW);
  } catch {
    /* not Linux, or not allowed: the process's priority */
  }
}

port.on('message', (msg: ToWriter) => {
  if (msg.type === 'close') {
    port.close();
    return;
  }
  const packed = packBatch(msg.batch, msg.segmentFile);
  const { bodies, answers, requestIds } = msg.batch;
  const buffers = [bodies, answers, requestIds];
  port.postMessage({ id: msg.id, packed, buffers } satisfies FromWriter, buffers);
});
