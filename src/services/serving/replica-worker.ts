/**
 * One serving replica: a worker thread that owns one ONNX Runtime session (one intra-op thread)
 * and runs batches sent by the main thread. A batch is several requests; their feeds are
 * stacked along the first axis into one run and the outputs split back by rows. If the stacked
 * run fails, each request is run alone, so one bad request never fails its neighbours.
 *
 * Predict calls arrive as their raw JSON body: the replica parses and checks them (a bad one is
 * refused alone, with its 4xx), stacks the good ones in runs of at most `maxRows` rows, and
 * writes each answer as JSON text, so the main thread (HTTP for every endpoint) only routes.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { DomainError, domainErrorData } from '../../infra/errors.js';
import type { FeedTensor, Feeds, TensorData } from './codec/instances.js';
import { numberRowsInput, predictAnswer, predictJsonFeeds, type NumberRowsInput, type PredictSpec } from './codec/predict-body.js';
import { ContinuousBatcher } from '../../engine/lm/continuous-batch.js';
import { exposeAppendedKeyValues } from '../../engine/lm/decoder.js';
import type { ExternalDataFile, ToReplica, FromReplica, ReplicaError, ReplicaRequest, RunResult } from './replica-messages.js';

let session: ort.InferenceSession | undefined;
let fetches: string[] = [];
let split = false;
let predict: PredictSpec | undefined;
/** The model's one float input of fixed width, if so: bodies of number rows are read without JSON.parse. */
let numberRows: NumberRowsInput | undefined;
/** A language model's replica: its continuous batch (./replica-messages.ts GenerationLoad). */
let batcher: ContinuousBatcher | undefined;

const port = parentPort!;

/**
 * What a close waits for: the load and the batches being run. The thread only exits once none
 * is inside ONNX Runtime: a thread stopped inside a native call aborts the whole process (the
 * call returns into a stopped N-API environment: "terminate called after throwing Napi::Error").
 */
let loading: Promise<void> | undefined;
const running = new Set<Promise<void>>();
/** Set by a close with `stop`: runs end after their current piece. */
let stopping = false;
let closing: Promise<void> | undefined;

port.on('message', (msg: ToReplica) => {
  if (msg.type === 'run') {
    if (closing) {
      // Not sent by the pool (it stops dispatching before it closes); answered, never run.
      send({ type: 'result', id: msg.id, results: msg.requests.map(() => stopped()), runMs: 0, runs: [] });
      return;
    }
    const p = handle(msg);
    running.add(p);
    void p.finally(() => running.delete(p));
  } else if (msg.type === 'close') {
    if (msg.stop) stopping = true;
    closing ??= close();
  } else if (msg.type === 'generate') {
    if (closing || !batcher) send({ type: 'tokens', events: [{ id: msg.request.id, finish: 'length' }], stats: { running: 0, prefilling: 0, cachedTokens: 0 } });
    else batcher.add(msg.request);
  } else if (msg.type === 'cancel') {
    batcher?.cancel(msg.id);
  } else {
    loading = handle(msg);
  }
});

async function close(): Promise<void> {
  try {
    await loading;
    await Promise.all(running);
    // A drain lets the sequences under way finish; a close (stop) ends them after the current step.
    if (batcher && stopping) await batcher.close();
    else await batcher?.idle();
    await session?.release();
  } catch {
    /* the thread exits all the same */
  } finally {
    session = undefined;
    port.close();
  }
}

/**
 * A graph whose weights are in external files is loaded from a folder: the graph written there
 * and its data files linked in beside it under the names the graph gives, so ONNX Runtime maps
 * them from the blob store instead of this thread holding a copy (Node's binding takes only
 * buffers for `externalData`). The folder goes once the session holds what it needs.
 */
async function withExternalData(model: Uint8Array, files: ExternalDataFile[], options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'aiaas-replica-'));
  try {
    await fsp.writeFile(path.join(dir, 'model.onnx'), model);
    for (const f of files) {
      const to = path.join(dir, f.path);
      if (path.relative(dir, to).startsWith('..')) throw new Error(`external data path '${f.path}' leaves the model's folder`);
      await fsp.mkdir(path.dirname(to), { recursive: true });
      await fsp.symlink(f.data, to);
    }
    return await ort.InferenceSession.create(path.join(dir, 'model.onnx'), options);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function handle(msg: ToReplica): Promise<void> {
  try {
    if (msg.type === 'load') {
      const options: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: msg.threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all', enableCpuMemArena: true, enableMemPattern: true,
      };
      // A decoder also gives each step's new keys and values alone, so a step does not fetch the whole cache.
      const exposed = msg.generation ? exposeAppendedKeyValues(msg.model, msg.generation.shape.layers) : undefined;
      const model = exposed?.model ?? msg.model;
      session = msg.externalData?.length ? await withExternalData(model, msg.externalData, options) : await ort.InferenceSession.create(model, options);
      fetches = msg.fetches;
      split = msg.split;
      predict = msg.predict;
      numberRows = predict && numberRowsInput(predict.signature);
      if (msg.generation) {
        const s = session;
        batcher = new ContinuousBatcher(
          { run: (feeds, fetches) => (fetches ? s.run(feeds, fetches) : s.run(feeds)) as Promise<Record<string, ort.Tensor>>, appended: exposed?.appended }, msg.generation.shape,
          (events, stats) => send({ type: 'tokens', events, stats }), msg.generation.prefillChunk,
        );
      }
      // One warm-up run with the given example makes the first real request as fast as the rest.
      if (msg.warmup) await run([msg.warmup]).catch(() => undefined);
      send({ type: 'ready' });
    } else if (msg.type === 'run') {
      const started = performance.now();
      const runs: number[] = [];
      const results = await runBatch(msg.requests, msg.bodies, msg.maxRows, runs);
      const transfer: ArrayBuffer[] = [];
      for (const r of results) {
        if (r.ok && 'outputs' in r) for (const t of Object.values(r.outputs)) if (!Array.isArray(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
      }
      send({ type: 'result', id: msg.id, results, runMs: performance.now() - started, runs }, transfer);
    }
  } catch (err) {
    if (msg.type === 'run') send({ type: 'result', id: msg.id, results: msg.requests.map(() => ({ ok: false, message: (err as Error).message })), runMs: 0, runs: [] });
    else send({ type: 'error', message: (err as Error).message });
  }
}

/** The answer of a request a close stopped before (or while) it ran: retry it, another replica or version serves it. */
function stopped(): RunResult {
  const message = 'This model version stopped serving (the server is shutting down, or the version left the traffic) before the request was run to its end; retry the request.';
  return { ok: false, message, error: { kind: 'unavailable', code: 'endpoint_unavailable', message, details: { retryAfterSeconds: 1 } } };
}

/**
 * Between two pieces of a batch: lets the messages that arrived meanwhile be read (a native run
 * blocks this thread's event loop, so a close is only seen between runs), then says whether a
 * close asked runs to stop.
 */
async function mustStop(): Promise<boolean> {
  if (stopping) return true;
  await new Promise<void>((resolve) => setImmediate(resolve));
  return stopping;
}

function send(m: FromReplica, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

/** A predict body into feeds (throws the DomainError a bad body gets). */
function parseBody(bodies: Uint8Array, at: number, length: number): { feeds: Feeds; rows: number } {
  if (!predict) throw new Error('replica cannot read predict bodies');
  return predictJsonFeeds(predict.signature, bodies, at, length, numberRows);
}

function refusal(err: unknown): RunResult {
  const e = err as Error;
  const error: ReplicaError | undefined = err instanceof DomainError ? domainErrorData(err) : undefined;
  return { ok: false, message: e?.message ?? String(err), error };
}

/**
 * Runs one batch from the main thread: parses raw bodies, stacks what parsed in runs of at most
 * `maxRows` rows (a larger request runs alone, in pieces of `maxRows` rows when the model
 * allows), and answers raw bodies as JSON bytes.
 */
async function runBatch(requests: ReplicaRequest[], bodies: Uint8Array | undefined, maxRows: number, runs: number[]): Promise<RunResult[]> {
  const results: RunResult[] = new Array(requests.length);
  const ready: Array<{ at: number; feeds: Feeds; rows: number; json: boolean }> = [];
  let offset = 0;
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i]!;
    if ('feeds' in req) {
      ready.push({ at: i, feeds: req.feeds, rows: rowsOf(req.feeds), json: false });
      continue;
    }
    const at = offset;
    offset += req.json;
    try {
      const { feeds, rows } = parseBody(bodies!, at, req.json);
      ready.push({ at: i, feeds, rows, json: true });
    } catch (err) {
      results[i] = refusal(err);
    }
  }
  for (let from = 0; from < ready.length;) {
    // A close with `stop` ends the batch here: it waits for one piece, not for the whole batch.
    if (from > 0 && await mustStop()) {
      for (let j = from; j < ready.length; j++) results[ready[j]!.at] = stopped();
      break;
    }
    let to = from + 1;
    let rows = ready[from]!.rows;
    while (to < ready.length && rows + ready[to]!.rows <= maxRows) rows += ready[to++]!.rows;
    const chunk = ready.slice(from, to);
    const out = rows > maxRows && split ? [await runInPieces(chunk[0]!.feeds, rows, maxRows, runs)] : await run(chunk.map((c) => c.feeds));
    if (rows <= maxRows || !split) runs.push(rows);
    for (let j = 0; j < chunk.length; j++) {
      const c = chunk[j]!;
      const r = out[j]!;
      results[c.at] = c.json && r.ok && 'outputs' in r ? answer(r.outputs, c.rows) : r;
    }
    from = to;
  }
  return results;
}

/**
 * A request of more than `maxRows` rows, run in pieces of at most `maxRows` rows whose outputs
 * are joined: a run, and so a close, never waits for more than one piece. Stopped by a close
 * between pieces, the request is answered 503 (what ran is dropped: a partial answer would be
 * wrong). A model whose outputs do not keep the rows on their first axis (despite its
 * signature) cannot be joined: the request is then run whole, as it came.
 */
async function runInPieces(feeds: Feeds, rows: number, maxRows: number, runs: number[]): Promise<RunResult> {
  const parts = new Map<string, FeedTensor[]>();
  for (let at = 0; at < rows; at += maxRows) {
    if (at > 0 && await mustStop()) return stopped();
    const end = Math.min(rows, at + maxRows);
    const piece: Feeds = {};
    for (const [name, t] of Object.entries(feeds)) piece[name] = slice(t, at, end, rows);
    let out: Feeds;
    try {
      out = await runOne(piece);
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
    runs.push(end - at);
    for (const [name, t] of Object.entries(out)) {
      if (t.dims[0] !== end - at) {
        runs.push(rows);
        return attempt(feeds);
      }
      let list = parts.get(name);
      if (!list) parts.set(name, (list = []));
      list.push(t);
    }
  }
  const outputs: Feeds = {};
  for (const [name, list] of parts) outputs[name] = concat(list);
  return { ok: true, outputs };
}

/** A predict answer, as the JSON text the HTTP layer sends. */
function answer(outputs: Feeds, rows: number): RunResult {
  const spec = predict!;
  try {
    return { ok: true, answer: JSON.stringify(predictAnswer(spec, outputs, rows)), rows };
  } catch (err) {
    return refusal(err);
  }
}

function rowsOf(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first && first.dims.length > 0 ? first.dims[0]! : 1;
}

function toOrt(t: FeedTensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, t.dims);
}

function fromOrt(t: ort.Tensor): FeedTensor {
  return { dtype: t.type as FeedTensor['dtype'], dims: [...t.dims], data: t.data as TensorData };
}

async function runOne(feeds: Feeds): Promise<Feeds> {
  if (!session) throw new Error('replica has no model loaded');
  const input: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) input[name] = toOrt(t);
  const out = await session.run(input, fetches);
  const result: Feeds = {};
  for (const name of fetches) {
    const t = out[name];
    if (t) result[name] = fromOrt(t as ort.Tensor);
  }
  return result;
}

function concat(parts: FeedTensor[]): FeedTensor {
  const first = parts[0]!;
  const rows = parts.reduce((n, p) => n + p.dims[0]!, 0);
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  let data: TensorData;
  if (Array.isArray(first.data)) {
    data = ([] as string[]).concat(...(parts.map((p) => p.data) as string[][]));
  } else {
    const Ctor = first.data.constructor as new (n: number) => Exclude<TensorData, string[]>;
    const out = new Ctor(total);
    let at = 0;
    for (const p of parts) {
      (out as Float32Array).set(p.data as Float32Array, at);
      at += p.data.length;
    }
    data = out;
  }
  return { dtype: first.dtype, dims: [rows, ...first.dims.slice(1)], data };
}

function slice(t: FeedTensor, from: number, to: number, rows: number): FeedTensor {
  const width = t.data.length / rows;
  const data = t.data.slice(from * width, to * width) as TensorData;
  return { dtype: t.dtype, dims: [to - from, ...t.dims.slice(1)], data };
}

async function run(requests: Feeds[]): Promise<RunResult[]> {
  if (requests.length === 1) return [await attempt(requests[0]!)];
  const counts = requests.map(rowsOf);
  const total = counts.reduce((a, b) => a + b, 0);
  const stacked: Feeds = {};
  for (const name of Object.keys(requests[0]!)) stacked[name] = concat(requests.map((r) => r[name]!));
  let out: Feeds;
  try {
    out = await runOne(stacked);
  } catch {
    return Promise.all(requests.map(attempt));
  }
  // Outputs without the batch as their first axis cannot be split: answer each request alone.
  if (Object.values(out).some((t) => t.dims[0] !== total)) return Promise.all(requests.map(attempt));
  const results: RunResult[] = [];
  let at = 0;
  for (const n of counts) {
    const part: Feeds = {};
    for (const [name, t] of Object.entries(out)) part[name] = slice(t, at, at + n, total);
    results.push({ ok: true, outputs: part });
    at += n;
  }
  return results;
}

async function attempt(feeds: Feeds): Promise<RunResult> {
  try {
    const outputs = await runOne(feeds);
    // Own copies, so their buffers can be transferred to the main thread.
    for (const t of Object.values(outputs)) if (!Array.isArray(t.data)) t.data = t.data.slice() as TensorData;
    return { ok: true, outputs };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
