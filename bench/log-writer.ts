/**
 * The prediction log writer's CPU per request, alone: BENCH_LOG_REQUESTS (default 5,000)
 * single-row MNIST requests (784 numbers each, as bench:serve's bodies; the first 500 rows of
 * examples/data/mnist_test.csv.gz, over and over) queued as the data plane queues them (LogQueue),
 * packed into a segment file by `packBatch` (the writer thread's part) and stored by `storePacks`
 * (the main thread's: the records into a real SQLite store, the segment into a local blob store,
 * in a temporary folder), in batches of BENCH_LOG_BATCH (default 1,000: about a second of a
 * saturated 2-core server), timed with process.cpuUsage() (user and system, this process: the
 * store's work and the I/O syscalls) around those two only, after BENCH_LOG_WARMUP (default
 * 3,000) requests written the same way off the clock; and this thread's own CPU time (threadUs,
 * from /proc/thread-self/schedstat: without the GC's and the compiler's threads, which cpuUsage
 * counts too), packThreadUs of it packing.
 * Prints one JSON line; run it a few times (figures move by a few tenths of a µs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/infra/store/database.js';
import type { PredictSpec } from '../src/services/serving/codec/predict-body.js';
import type { Endpoint } from '../src/services/serving/endpoint.js';
import { LogQueue } from '../src/services/serving/prediction-log-queue.js';
import { packBatch, storePacks } from '../src/services/serving/prediction-log-records.js';
import { BlobRefs } from '../src/services/blob-refs.js';
import { LocalBlobStore } from '../src/infra/blob-store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REQUESTS = Number(process.env.BENCH_LOG_REQUESTS ?? 5000);
const BATCH = Number(process.env.BENCH_LOG_BATCH ?? 1000);
/** Requests written first, off the clock: the code's compilation (on V8's threads, which cpuUsage counts) is not the writer's steady cost. */
const WARMUP = Number(process.env.BENCH_LOG_WARMUP ?? 3000);

/**
 * Request bodies and answers as the fast path logs them: `{"instances":[[784 numbers]]}` and the
 * replica's answer text, of the file's first POOL rows, over and over (a small heap: the script's
 * own garbage would otherwise be collected during the writes, on the clock: cpuUsage counts the
 * whole process, GC threads too).
 */
const POOL = 500;
function requests(): Array<{ json: Uint8Array; answer: string }> {
  const lines = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, 'examples/data/mnist_test.csv.gz'))).toString('utf8').split('\n').slice(1, POOL + 1);
  return lines.map((line) => {
    const values = line.split(',').map(Number);
    const pixels = values.slice(1).map((p) => Math.round((p / 255) * 1000) / 1000);
    const probabilities = Array.from({ length: 10 }, (_, k) => (k === values[0] ? 0.9 : 0.1 / 9));
    return {
      json: Buffer.from(JSON.stringify({ instances: [pixels] })),
      answer: JSON.stringify({ predictions: [{ label: String(values[0]), probabilities }], model: 'mnist', version: 1 }),
    };
  });
}

/** This thread's time on a CPU, ns (Linux's schedstat): what the writer thread costs, without V8's helper threads (GC, compiler) that cpuUsage adds. */
function threadCpuNs(): number {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-log-writer-'));
  const db = await openStore({ home });
  const blobs = new LocalBlobStore(path.join(home, 'blobs'));
  const refs = new BlobRefs(db, blobs);
  // What packBatch and the queue read of a spec and an endpoint.
  const spec = { signature: { tensors: [{ name: 'input', dtype: 'float32', shape: [-1, 784] }] }, roles: {}, model: 'mnist', version: 1 } as unknown as PredictSpec;
  const ep = { row: { id: 'ep_bench', tenant_id: 't_bench' }, deleted: false } as unknown as Endpoint;
  const pool = requests();
  const queue = new LogQueue();
  let user = 0;
  let system = 0;
  let thread = 0;
  let packThread = 0;
  let wall = 0;
  let written = 0;
  const t0 = Date.now();
  for (let at = -WARMUP; at < REQUESTS; at += BATCH) {
    for (let i = at; i < Math.min(at + BATCH, REQUESTS); i++) {
      const call = pool[(i + WARMUP) % POOL]!;
      queue.push(ep, spec, call, 1, call.json.byteLength + call.answer.length, t0 + i, 0.2 + (i % 7) / 10, `req_${i}`);
    }
    const { batch } = queue.take();
    const start = process.cpuUsage();
    const thread0 = threadCpuNs();
    const w0 = performance.now();
    const packed = packBatch(batch, blobs.scratchPath('.log'));
    const packNs = threadCpuNs() - thread0;
    const result = await storePacks(db, refs, blobs, packed);
    wall += performance.now() - w0;
    const used = process.cpuUsage(start);
    const threadNs = threadCpuNs() - thread0;
    if (at < 0) continue;
    thread += threadNs / 1000;
    packThread += packNs / 1000;
    user += used.user;
    system += used.system;
    if (result.errors.length) throw new Error(result.errors[0]);
    written += result.written[ep.row.id] ?? 0;
  }
  await db.destroy();
  const bytes = fs.readdirSync(home, { recursive: true }).reduce((n, f) => n + fs.statSync(path.join(home, f.toString())).size, 0);
  fs.rmSync(home, { recursive: true, force: true });
  const per = (us: number) => Math.round((us / written) * 10) / 10;
  process.stdout.write(JSON.stringify({
    build: ROOT, requests: written, batch: BATCH,
    cpuUsPerRequest: per(user + system), userUs: per(user), systemUs: per(system), threadUs: per(thread), packThreadUs: per(packThread), wallUsPerRequest: Math.round(((wall * 1000) / written) * 10) / 10,
    storeMB: Math.round(bytes / 1e5) / 10,
  }) + '\n');
}

await main();
