/**
 * Serving benchmark (`npm run bench:serve`): the platform's endpoint against the seed document's
 * deployment (Flask + PyTorch under gunicorn with 2 workers), side by side in one run, on the same
 * 784-128-10 MLP with the same weights, single-row requests, 32 connections, load from wrk on
 * loopback. Also: raw ONNX Runtime calls in one process (the ceiling), and dynamic batching off.
 *
 * Goal: at least 5× the peer's requests/s, with our p99 latency under the peer's p50.
 * Needs Debian's wrk, python3-flask, gunicorn and python3-torch (run with /usr/bin/python3).
 * BENCH_SECONDS (default 10) sets the length of each measured run; the peer and our endpoint take
 * turns in BENCH_ROUNDS (default 5) slices of it, so that load from elsewhere on a shared machine
 * weighs on both alike (latency percentiles pool the slices' quantiles). For profiling:
 * BENCH_NODE_ARGS adds node flags to the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), and
 * BENCH_ONLY=ours measures our endpoint alone (no peer, no ceiling; the goals are not judged).
 * BENCH_ONLY=logging measures prediction logging alone: the same model behind two endpoints of
 * one server, one logging every request (`logging.sampleRate` 1) and one not, in alternating
 * rounds; goal: the logged endpoint within 10% of the other's requests/s.
 * BENCH_ONLY=shadow measures shadow traffic alone: `mnist` against `mnist-shadowed`, whose shadow
 * (the same version, on a replica of its own) gets a copy of BENCH_SHADOW_PERCENT (default 100) % of
 * the requests, in alternating rounds, at 32 connections (throughput) and at 1 (latency of a lone
 * request: the copy runs after the answer, so it should not show); copies, drops and agreement too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { mlpModel, mlpWeights } from '../src/ml/testing/onnx-fixtures.js';
import { pool, wrk, type WrkResult } from './wrk.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32; // wrk's default in ./wrk.ts
const PYTHON = '/usr/bin/python3';
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const ONLY_OURS = process.env.BENCH_ONLY === 'ours';
const ONLY_LOGGING = process.env.BENCH_ONLY === 'logging';
const ONLY_SHADOW = process.env.BENCH_ONLY === 'shadow';
/** BENCH_THREADS=1: the logging comparison also prints each server thread's CPU per request. */
const THREADS = process.env.BENCH_THREADS === '1';
const SHADOW_PERCENT = Number(process.env.BENCH_SHADOW_PERCENT ?? 100);
/** The peer and our endpoint take turns in this many slices of BENCH_SECONDS / ROUNDS each. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));

const children: ChildProcess[] = [];

/** Stops everything started, waiting for our server (the first child) to exit: it writes its profile (BENCH_NODE_ARGS=--cpu-prof) as it exits. */
async function stopServer(): Promise<void> {
  const server = children[0]!;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  stopAll();
  await exited;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string }): ChildProcess {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && !stopping) process.stderr.write(`${cmd} exited with ${code}:\n${err}\n`);
  });
  children.push(child);
  return child;
}

let stopping = false;
function stopAll(): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
}

async function api(base: string, key: string, method: string, route: string, body?: unknown, raw?: Uint8Array, contentType?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  let payload: RequestInit['body'];
  if (raw) {
    headers['content-type'] = contentType ?? 'application/octet-stream';
    payload = raw as unknown as RequestInit['body'];
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(base + route, { method, headers, body: payload });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Raw ONNX Runtime in this process, one session, one thread: the ceiling of single-row serving. */
async function ortCeiling(model: Uint8Array, row: Float32Array, seconds: number, batch = 1): Promise<{ runsPerSecond: number; rowsPerSecond: number; meanMs: number }> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const data = new Float32Array(784 * batch);
  for (let i = 0; i < batch; i++) data.set(row, i * 784);
  const run = () => session.run({ x: new ort.Tensor('float32', data, [batch, 784]) });
  for (let i = 0; i < 500; i++) await run();
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await run();
    n += 100;
  }
  const dt = (performance.now() - t0) / 1000;
  await session.release();
  return { runsPerSecond: n / dt, rowsPerSecond: (n * batch) / dt, meanMs: (dt * 1000) / n };
}

function mnistRow(): { label: number; pixels: number[] } {
  const csv = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, 'examples/data/mnist_test.csv.gz'))).toString('utf8');
  const line = csv.split('\n')[1]!;
  const values = line.split(',').map(Number);
  return { label: values[0]!, pixels: values.slice(1).map((p) => Math.round((p / 255) * 1000) / 1000) };
}

async function batchStats(base: string, key: string): Promise<{ runs: number; rows: number }> {
  const r = await fetch(`${base}/v1/endpoints/mnist/metrics`, { headers: { authorization: `Bearer ${key}` } });
  const text = await r.text();
  const num = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { runs: num('aiaas_endpoint_batch_size_count'), rows: num('aiaas_endpoint_batch_size_sum') };
}

/** CPU seconds of a process's main thread and of all its threads (Linux /proc). */
/** CPU seconds of each of the server's threads, by tid (with its name), for BENCH_THREADS=1's breakdown. */
function threadTimes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.split(') ')[1]!.split(' ');
      out.set(`${name}#${tid}`, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

function cpuTimes(pid: number): { main: number; all: number } {
  const tick = 100; // USER_HZ
  const read = (file: string) => {
    const f = fs.readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / tick;
  };
  try {
    return { main: read(`/proc/${pid}/task/${pid}/stat`), all: read(`/proc/${pid}/stat`) };
  } catch {
    return { main: 0, all: 0 };
  }
}

interface LoggingComparison {
  plain: WrkResult;
  logged: WrkResult;
  ratio: number;
  perRound: number[];
  loggedRows: number;
  droppedRows: number;
  /** CPU per request, µs, while each ran: the HTTP thread's, and the whole server's (replicas and the log's writer thread too). */
  mainCpuUs: { plain: number; logged: number };
  serverCpuUs: { plain: number; logged: number };
}

/**
 * Prediction logging's cost: endpoint `mnist` (no logging) against `mnist-logged` (every request
 * logged) on the same server, in alternating rounds so that the machine's load weighs on both.
 */
async function loggingComparison(base: string, dev: string, admin: string, body: string, dir: string, pid: number): Promise<LoggingComparison> {
  const ep = await api(base, dev, 'POST', '/v1/endpoints?wait=true', {
    name: 'mnist-logged', model: 'mnist', version: 1, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 32, maxDelayMs: 0 }, logging: { sampleRate: 1 },
  });
  if (ep.status !== 'ready') throw new Error(`endpoint not ready: ${JSON.stringify(ep)}`);
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${dev}` };
  const url = (name: string) => `${base}/v1/endpoints/${name}/predict`;
  await wrk(url('mnist'), body, headers, 2, dir);
  await wrk(url('mnist-logged'), body, headers, 2, dir);
  const slice = Math.max(1, Math.round(SECONDS / ROUNDS));
  const plainRuns: WrkResult[] = [];
  const loggedRuns: WrkResult[] = [];
  const cpu = { plain: 0, logged: 0 };
  const all = { plain: 0, logged: 0 };
  const threads = { plain: new Map<string, number>(), logged: new Map<string, number>() };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, runs, k] of [['mnist', plainRuns, 'plain'], ['mnist-logged', loggedRuns, 'logged']] as const) {
      const c0 = cpuTimes(pid);
      const t0 = THREADS ? threadTimes(pid) : undefined;
      runs.push(await wrk(url(name), body, headers, slice, dir));
      // The rows of this run are written by the next flush (within a second): wait for it to be counted here.
      await new Promise((r) => setTimeout(r, 1500));
      const c1 = cpuTimes(pid);
      cpu[k] += c1.main - c0.main;
      all[k] += c1.all - c0.all;
      if (t0) for (const [t, v] of threadTimes(pid)) threads[k].set(t, (threads[k].get(t) ?? 0) + v - (t0.get(t) ?? 0));
    }
  }
  const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
  const sum = (name: string) => [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*endpoint="mnist-logged"[^}]*\\} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  const plain = pool(plainRuns);
  const logged = pool(loggedRuns);
  if (THREADS) {
    // Per thread, µs per request of each run (threads busy under 1 µs in both left out).
    const us = (k: 'plain' | 'logged', t: string) => ((threads[k].get(t) ?? 0) * 1e6) / (k === 'plain' ? plain.requests : logged.requests);
    for (const t of new Set([...threads.plain.keys(), ...threads.logged.keys()])) {
      if (us('plain', t) >= 1 || us('logged', t) >= 1) process.stdout.write(`    thread ${t}: ${fmt(us('logged', t), 1)} vs ${fmt(us('plain', t), 1)} µs per request\n`);
    }
  }
  return {
    plain, logged, ratio: logged.rps / plain.rps, perRound: loggedRuns.map((r, i) => r.rps / plainRuns[i]!.rps),
    loggedRows: sum('aiaas_prediction_log_rows_total'), droppedRows: sum('aiaas_prediction_log_dropped_rows_total'),
    mainCpuUs: { plain: (cpu.plain * 1e6) / plain.requests, logged: (cpu.logged * 1e6) / logged.requests },
    serverCpuUs: { plain: (all.plain * 1e6) / plain.requests, logged: (all.logged * 1e6) / logged.requests },
  };
}

function loggingLine(l: LoggingComparison): string {
  return `  prediction logging at 100%: ${fmt(l.logged.rps)} req/s vs ${fmt(l.plain.rps)} without (${fmt(100 * l.ratio, 1)}%; per round ${l.perRound.map((r) => fmt(100 * r, 0) + '%').join(' ')}; goal ≥ 90%: ${l.ratio >= 0.9 ? 'met' : 'NOT met'}), p99 ${fmt(l.logged.p99, 2)} vs ${fmt(l.plain.p99, 2)} ms, CPU per request: HTTP thread ${fmt(l.mainCpuUs.logged)} vs ${fmt(l.mainCpuUs.plain)} µs, whole server ${fmt(l.serverCpuUs.logged)} vs ${fmt(l.serverCpuUs.plain)} µs, ${fmt(l.loggedRows)} rows logged, ${fmt(l.droppedRows)} dropped\n`;
}

interface ShadowComparison {
  percent: number;
  /** 32 connections: the server saturated; 1 connection: one request at a time. */
  busy: { plain: WrkResult; shadowed: WrkResult; ratio: number; perRound: number[] };
  lone: { plain: WrkResult; shadowed: WrkResult; p50Ratio: number; p99Ratio: number };
  shadow: { requests: number; dropped: number; errors: number; rows: number; agreement: number | null; p50LatencyMs: number | null };
}

/**
 * Shadow traffic's cost to the answering version: `mnist` against `mnist-shadowed` (a shadow of the
 * same version at SHADOW_PERCENT), alternating rounds, saturated (32 connections) and one at a time.
 */
async function shadowComparison(base: string, dev: string, body: string, dir: string): Promise<ShadowComparison> {
  const ep = await api(base, dev, 'POST', '/v1/endpoints?wait=true', {
    name: 'mnist-shadowed', model: 'mnist', version: 1, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 32, maxDelayMs: 0 },
  });
  if (ep.status !== 'ready') throw new Error(`endpoint not ready: ${JSON.stringify(ep)}`);
  await api(base, dev, 'PATCH', '/v1/endpoints/mnist-shadowed', { shadow: { version: 1, percent: SHADOW_PERCENT } });
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${dev}` };
  const url = (name: string) => `${base}/v1/endpoints/${name}/predict`;
  await wrk(url('mnist'), body, headers, 2, dir);
  await wrk(url('mnist-shadowed'), body, headers, 2, dir);
  const slice = Math.max(1, Math.round(SECONDS / ROUNDS));
  const runs = { plain: [] as WrkResult[], shadowed: [] as WrkResult[], lonePlain: [] as WrkResult[], loneShadowed: [] as WrkResult[] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.plain.push(await wrk(url('mnist'), body, headers, slice, dir));
    runs.shadowed.push(await wrk(url('mnist-shadowed'), body, headers, slice, dir));
    runs.lonePlain.push(await wrk(url('mnist'), body, headers, slice, dir, 1));
    runs.loneShadowed.push(await wrk(url('mnist-shadowed'), body, headers, slice, dir, 1));
  }
  const info = await api(base, dev, 'GET', '/v1/endpoints/mnist-shadowed');
  const plain = pool(runs.plain);
  const shadowed = pool(runs.shadowed);
  const lonePlain = pool(runs.lonePlain);
  const loneShadowed = pool(runs.loneShadowed);
  return {
    percent: SHADOW_PERCENT,
    busy: { plain, shadowed, ratio: shadowed.rps / plain.rps, perRound: runs.shadowed.map((r, i) => r.rps / runs.plain[i]!.rps) },
    lone: { plain: lonePlain, shadowed: loneShadowed, p50Ratio: loneShadowed.p50 / lonePlain.p50, p99Ratio: loneShadowed.p99 / lonePlain.p99 },
    shadow: info.shadow,
  };
}

function shadowLine(c: ShadowComparison): string {
  const sh = c.shadow;
  return `  shadow at ${c.percent}% (same version, own replica): saturated ${fmt(c.busy.shadowed.rps)} req/s vs ${fmt(c.busy.plain.rps)} without (${fmt(100 * c.busy.ratio, 1)}%; per round ${c.busy.perRound.map((r) => fmt(100 * r, 0) + '%').join(' ')}), p99 ${fmt(c.busy.shadowed.p99, 2)} vs ${fmt(c.busy.plain.p99, 2)} ms; `
    + `one request at a time: p50 ${fmt(c.lone.shadowed.p50, 3)} vs ${fmt(c.lone.plain.p50, 3)} ms (${fmt(100 * c.lone.p50Ratio, 0)}%), p99 ${fmt(c.lone.shadowed.p99, 3)} vs ${fmt(c.lone.plain.p99, 3)} ms; `
    + `${fmt(sh.requests)} copies, ${fmt(sh.dropped)} dropped, ${fmt(sh.errors)} errors, agreement ${sh.agreement === null ? '–' : fmt(sh.agreement, 4)}, shadow p50 ${sh.p50LatencyMs === null ? '–' : fmt(sh.p50LatencyMs, 2)} ms\n`;
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<number> {
  for (const [what, file] of [['wrk', '/usr/bin/wrk'], ['python3 (Debian)', PYTHON]] as const) {
    if (!fs.existsSync(file)) throw new Error(`${what} is missing (${file}); install the Debian packages wrk, python3-flask, gunicorn, python3-torch.`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-serve-'));
  try {
    // The model, its weights for the peer, and one real MNIST digit as the request.
    const weights = mlpWeights([784, 128, 10], 42);
    const model = mlpModel(weights);
    const weightsFile = path.join(dir, 'mlp.json');
    fs.writeFileSync(weightsFile, JSON.stringify({ sizes: weights.sizes, layers: weights.layers.map((l) => ({ W: Array.from(l.W), b: Array.from(l.b) })) }));
    const { pixels } = mnistRow();
    const oursBody = path.join(dir, 'ours.json');
    const peerBody = path.join(dir, 'peer.json');
    fs.writeFileSync(oursBody, JSON.stringify({ instances: [pixels] }));
    fs.writeFileSync(peerBody, JSON.stringify({ input_data: [pixels] }));

    // The platform, as `npm start` runs it.
    const port = await freePort();
    const adminKey = 'bench_admin_' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    start(process.execPath, [...NODE_ARGS, path.join(ROOT, 'bin/aiaas.js'), 'server'], {
      env: { AIAAS_HOME: path.join(dir, 'home'), PORT: String(port), HOST: '127.0.0.1', AIAAS_ADMIN_KEY: adminKey, AIAAS_LOG_LEVEL: 'warn' },
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/healthz`);
    await api(base, adminKey, 'POST', '/v1/tenants', { name: 'bench' });
    const dev = (await api(base, adminKey, 'POST', '/v1/keys', { name: 'bench-dev', role: 'developer', tenant: 'bench' })).key as string;
    const inference = (await api(base, dev, 'POST', '/v1/keys', { name: 'bench-inference', role: 'inference', endpoint: 'mnist' })).key as string;
    await api(base, dev, 'POST', '/v1/models/mnist/versions?task=classification', undefined, model);
    const ep = await api(base, dev, 'POST', '/v1/endpoints?wait=true', {
      name: 'mnist', model: 'mnist', version: 1, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 32, maxDelayMs: 0 },
    });
    if (ep.status !== 'ready') throw new Error(`endpoint not ready: ${JSON.stringify(ep)}`);

    if (ONLY_LOGGING) {
      const l = await loggingComparison(base, dev, adminKey, oursBody, dir, children[0]!.pid!);
      process.stdout.write(loggingLine(l));
      fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'bench/results/serve-logging.json'), JSON.stringify({
        at: new Date().toISOString(), cores: os.availableParallelism(), loadAverage: os.loadavg(), seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS,
        ...l, plain: { ...l.plain, quantiles: undefined }, logged: { ...l.logged, quantiles: undefined },
      }, null, 2) + '\n');
      await stopServer();
      return l.ratio >= 0.9 ? 0 : 1;
    }

    if (ONLY_SHADOW) {
      const c = await shadowComparison(base, dev, oursBody, dir);
      process.stdout.write(shadowLine(c));
      fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
      const strip = (r: WrkResult) => ({ ...r, quantiles: undefined });
      fs.writeFileSync(path.join(ROOT, 'bench/results/serve-shadow.json'), JSON.stringify({
        at: new Date().toISOString(), cores: os.availableParallelism(), loadAverage: os.loadavg(), seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS,
        ...c, busy: { ...c.busy, plain: strip(c.busy.plain), shadowed: strip(c.busy.shadowed) }, lone: { ...c.lone, plain: strip(c.lone.plain), shadowed: strip(c.lone.shadowed) },
      }, null, 2) + '\n');
      stopAll();
      return c.busy.shadowed.errors === 0 && c.lone.shadowed.errors === 0 ? 0 : 1;
    }

    if (ONLY_OURS) {
      const url = `${base}/v1/endpoints/mnist/predict`;
      const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${inference}` };
      await wrk(url, oursBody, headers, 2, dir);
      const b0 = await batchStats(base, dev);
      const c0 = cpuTimes(children[0]!.pid!);
      const r = await wrk(url, oursBody, headers, SECONDS, dir);
      const c1 = cpuTimes(children[0]!.pid!);
      const b1 = await batchStats(base, dev);
      const mean = (b1.rows - b0.rows) / Math.max(1, b1.runs - b0.runs);
      // CPU per request (less sensitive to a loaded machine than requests/s).
      const us = (a: number, b: number) => fmt(((b - a) * 1e6) / r.requests, 0);
      process.stdout.write(`  aiaas (batching maxBatchSize 32): ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, errors ${r.errors}, mean batch ${fmt(mean, 1)} rows; CPU per request: main thread ${us(c0.main, c1.main)} µs, whole server ${us(c0.all, c1.all)} µs\n`);
      await stopServer();
      return 0;
    }

    // The peer.
    const peerPort = await freePort();
    start(PYTHON, ['-m', 'gunicorn', '-w', '2', '-b', `127.0.0.1:${peerPort}`, '--log-level', 'warning', 'flask_server:app'], {
      cwd: path.join(ROOT, 'bench/peers'), env: { MLP_WEIGHTS: weightsFile },
    });
    const peerBase = `http://127.0.0.1:${peerPort}`;
    await waitFor(`${peerBase}/health`);

    // Same model, same answer.
    const ours = await api(base, inference, 'POST', '/v1/endpoints/mnist/predict', JSON.parse(fs.readFileSync(oursBody, 'utf8')));
    const peerAnswer = await (await fetch(`${peerBase}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fs.readFileSync(peerBody) })).json() as { probabilities: number[][] };
    const diff = Math.max(...ours.predictions[0].probabilities.map((p: number, i: number) => Math.abs(p - peerAnswer.probabilities[0]![i]!)));
    if (!(diff < 1e-4)) throw new Error(`the two servers disagree (max |Δp| = ${diff}); they must serve the same model`);

    const oursUrl = `${base}/v1/endpoints/mnist/predict`;
    const oursHeaders = { 'Content-Type': 'application/json', Authorization: `Bearer ${inference}` };
    const peerUrl = `${peerBase}/predict`;
    const peerHeaders = { 'Content-Type': 'application/json' };
    process.stdout.write(`serving benchmark: 784-128-10 MLP, single-row requests, ${CONNECTIONS} connections, ${SECONDS} s per run (wrk, loopback), ${os.availableParallelism()} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);

    await wrk(peerUrl, peerBody, peerHeaders, 2, dir); // warm-up
    await wrk(oursUrl, oursBody, oursHeaders, 2, dir); // warm-up
    // The two servers take turns, ROUNDS slices each, so that a change in the machine's load
    // (shared machines) weighs on both alike rather than on whichever ran at the wrong moment.
    const slice = Math.max(1, Math.round(SECONDS / ROUNDS));
    const peerRuns: WrkResult[] = [];
    const oursRuns: WrkResult[] = [];
    const before = await batchStats(base, dev);
    for (let i = 0; i < ROUNDS; i++) {
      peerRuns.push(await wrk(peerUrl, peerBody, peerHeaders, slice, dir));
      oursRuns.push(await wrk(oursUrl, oursBody, oursHeaders, slice, dir));
    }
    const after = await batchStats(base, dev);
    const peer = pool(peerRuns);
    const batched = pool(oursRuns);
    const meanBatch = (after.rows - before.rows) / Math.max(1, after.runs - before.runs);
    const perRound = peerRuns.map((r, i) => fmt(oursRuns[i]!.rps / r.rps, 1) + '×').join(' ');
    process.stdout.write(`  peer (Flask + PyTorch, gunicorn -w 2): ${fmt(peer.rps)} req/s, p50 ${fmt(peer.p50, 2)} ms, p99 ${fmt(peer.p99, 2)} ms, errors ${peer.errors}\n`);
    process.stdout.write(`  aiaas (batching maxBatchSize 32): ${fmt(batched.rps)} req/s, p50 ${fmt(batched.p50, 2)} ms, p99 ${fmt(batched.p99, 2)} ms, errors ${batched.errors}, mean batch ${fmt(meanBatch, 1)} rows\n`);
    process.stdout.write(`  (${ROUNDS} alternating rounds of ${slice} s; ours/peer per round: ${perRound})\n`);

    await api(base, dev, 'PATCH', '/v1/endpoints/mnist', { batching: { maxBatchSize: 1 } });
    await wrk(oursUrl, oursBody, oursHeaders, 2, dir);
    const unbatched = await wrk(oursUrl, oursBody, oursHeaders, SECONDS, dir);
    process.stdout.write(`  aiaas (batching off, maxBatchSize 1): ${fmt(unbatched.rps)} req/s, p50 ${fmt(unbatched.p50, 2)} ms, p99 ${fmt(unbatched.p99, 2)} ms, errors ${unbatched.errors}\n`);
    await api(base, dev, 'PATCH', '/v1/endpoints/mnist', { batching: { maxBatchSize: 32 } });
    const logging = await loggingComparison(base, dev, adminKey, oursBody, dir, children[0]!.pid!);
    process.stdout.write(loggingLine(logging));
    stopAll();
    await new Promise((r) => setTimeout(r, 1000));

    const row = Float32Array.from(pixels);
    const ceiling = await ortCeiling(model, row, Math.min(SECONDS, 5));
    const ceiling32 = await ortCeiling(model, row, Math.min(SECONDS, 5), 32);
    process.stdout.write(`  raw ONNX Runtime in one process (1 thread): ${fmt(ceiling.runsPerSecond)} single-row runs/s (${fmt(ceiling.meanMs * 1000, 1)} µs each); batch 32: ${fmt(ceiling32.rowsPerSecond)} rows/s\n`);

    const speedup = batched.rps / peer.rps;
    const goals = { throughput: speedup >= 5, latency: batched.p99 < peer.p50, errors: batched.errors === 0 && unbatched.errors === 0 };
    const md = [
      '| server | requests/s | p50 ms | p99 ms | errors |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| peer: Flask + PyTorch ${'(gunicorn -w 2)'} | ${fmt(peer.rps)} | ${fmt(peer.p50, 2)} | ${fmt(peer.p99, 2)} | ${peer.errors} |`,
      `| aiaas endpoint, dynamic batching (maxBatchSize 32, mean ${fmt(meanBatch, 1)} rows/run) | ${fmt(batched.rps)} | ${fmt(batched.p50, 2)} | ${fmt(batched.p99, 2)} | ${batched.errors} |`,
      `| aiaas endpoint, batching off (maxBatchSize 1) | ${fmt(unbatched.rps)} | ${fmt(unbatched.p50, 2)} | ${fmt(unbatched.p99, 2)} | ${unbatched.errors} |`,
      `| ceiling: raw ONNX Runtime session.run, one process, single row | ${fmt(ceiling.runsPerSecond)} | ${fmt(ceiling.meanMs, 3)} (mean) | – | – |`,
      '',
      `- throughput vs peer: **${fmt(speedup, 1)}×** (goal ≥ 5×: ${goals.throughput ? 'met' : 'NOT met'}); our p99 ${fmt(batched.p99, 2)} ms vs peer p50 ${fmt(peer.p50, 2)} ms (goal p99 < peer p50: ${goals.latency ? 'met' : 'NOT met'})`,
      `- against the ceiling: ${fmt((100 * batched.rps) / ceiling.runsPerSecond, 0)}% of raw single-row ONNX Runtime calls (which do no HTTP, JSON, auth or thread hand-off); raw batch-32 runs reach ${fmt(ceiling32.rowsPerSecond)} rows/s`,
      `- dynamic batching: ${fmt(batched.rps / unbatched.rps, 2)}× the requests/s of batching off (p99 ${fmt(batched.p99, 2)} vs ${fmt(unbatched.p99, 2)} ms)`,
      `- prediction logging at 100%: ${fmt(100 * logging.ratio, 1)}% of the requests/s without it (goal ≥ 90%: ${logging.ratio >= 0.9 ? 'met' : 'NOT met'})`,
    ].join('\n');
    process.stdout.write('\n' + md + '\n');
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/serve.json'), JSON.stringify({
      at: new Date().toISOString(), cores: os.availableParallelism(), loadAverage: os.loadavg(), seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS,
      peer, batched: { ...batched, meanBatch }, unbatched: { ...unbatched, quantiles: undefined }, ceiling, ceiling32, speedup, goals,
      logging: { ...logging, plain: { ...logging.plain, quantiles: undefined }, logged: { ...logging.logged, quantiles: undefined } },
      rounds_ratio: peerRuns.map((r, i) => oursRuns[i]!.rps / r.rps),
    }, null, 2) + '\n');
    const ok = goals.throughput && goals.latency && goals.errors;
    process.stdout.write(ok ? '\nserving goals met\n' : '\nserving goals NOT met\n');
    return ok ? 0 : 1;
  } finally {
    stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => {
  process.exitCode = code;
}, (err) => {
  stopAll();
  process.stderr.write(`bench:serve failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
