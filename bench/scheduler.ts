/**
 * Scheduler benchmark (`npm run bench:scheduler`): the real platform (HTTP API, store, scheduler,
 * one worker process per job) on a temporary AIAAS_HOME.
 *
 * 1. Throughput: 1,000 `noop` jobs submitted over HTTP while the scheduler is paused (so the
 *    measurement is not the HTTP client's), then from the scheduler's start to the last success,
 *    at resources.cpu = 1 (as many at once as the node has cores) and 0.25 (4× that). Side by side
 *    with the floor: 1,000 bare `child_process.fork`s of an empty script, as many at once, with no
 *    store, no scheduler, no API.
 * 2. Overhead per job: time spent in scheduler rounds (snapshot, plan, claim) per job started;
 *    and the latency of one `noop` job on an idle node, split into queued → running (scheduling)
 *    and running → succeeded (worker process start, run, record).
 * 3. Planning alone: one round of the pure planner over 1,000 queued jobs of 10 tenants on 4 nodes.
 *
 * BENCH_JOBS (default 1000) sets the number of jobs.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/infra/config.js';
import { startServer, type RunningServer } from '../src/interfaces/server.js';
import { plan, type QueuedInfo, type RunningInfo } from '../src/services/jobs/scheduler/plan.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const CORES = os.availableParallelism();
const KEY = 'aiaas_bench_admin_key_0123456789abcdef';

async function withServer<T>(fn: (s: RunningServer) => Promise<T>): Promise<T> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-'));
  const server = await startServer(loadConfig({
    AIAAS_HOME: home, AIAAS_ADMIN_KEY: KEY, PORT: '0', AIAAS_LOG_LEVEL: 'silent', AIAAS_CPU: String(CORES), AIAAS_HEARTBEAT_SECONDS: '1',
  }));
  try {
    return await fn(server);
  } finally {
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function post(url: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

async function countFinished(s: RunningServer): Promise<{ succeeded: number; other: number }> {
  const rows = await s.platform.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  const by = new Map(rows.map((r) => [r.status, Number(r.n)]));
  return { succeeded: by.get('succeeded') ?? 0, other: (by.get('failed') ?? 0) + (by.get('cancelled') ?? 0) };
}

async function throughput(cpu: number) {
  return withServer(async (s) => {
    const scheduler = s.platform.jobs.scheduler;
    await scheduler.stop();
    const t0 = performance.now();
    let next = 0;
    const submitter = async () => {
      while (next < JOBS) {
        next++;
        await post(`${s.url}/v1/jobs`, { type: 'noop', resources: { cpu, memoryMb: 64 } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, submitter));
    const submitted = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    scheduler.start();
    for (;;) {
      const c = await countFinished(s);
      if (c.other) {
        const bad = await s.platform.db.selectFrom('jobs').select(['id', 'status', 'error']).where('status', '!=', 'succeeded').where('status', '!=', 'queued').where('status', '!=', 'running').execute();
        throw new Error(`${c.other} jobs did not succeed: ${JSON.stringify(bad)}`);
      }
      if (c.succeeded >= JOBS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t1) / 1000;
    const st = s.platform.jobs.scheduler.stats;
    const waits = await s.platform.db.selectFrom('jobs').select(['created_at', 'started_at', 'finished_at']).execute();
    const run = waits.map((w) => Date.parse(w.finished_at!) - Date.parse(w.started_at!)).sort((a, b) => a - b);
    // Hand-off: from a run's end (recorded) to the next start, i.e. what the scheduler adds per job.
    const ends = waits.map((w) => Date.parse(w.finished_at!)).sort((a, b) => a - b);
    const starts = waits.map((w) => Date.parse(w.started_at!)).sort((a, b) => a - b);
    const gaps: number[] = [];
    let e = 0;
    for (const st0 of starts) {
      while (e + 1 < ends.length && ends[e + 1]! <= st0) e++;
      if (ends[e]! <= st0) gaps.push(st0 - ends[e]!);
    }
    gaps.sort((a, b) => a - b);
    return {
      cpu, concurrency: Math.floor(CORES / cpu), seconds, jobsPerSecond: JOBS / seconds, submitSeconds: submitted,
      schedulerMsPerJob: (st.tickSeconds * 1000) / Math.max(1, st.started), rounds: st.ticks,
      runMsP50: run[Math.floor(run.length / 2)]!,
      handoffMsP50: gaps[Math.floor(gaps.length / 2)] ?? NaN,
    };
  });
}

/** The floor: fork an empty Node script JOBS times, `concurrency` at a time. */
async function bareForks(concurrency: number) {
  const script = path.join(os.tmpdir(), `aiaas-bench-empty-${process.pid}.mjs`);
  fs.writeFileSync(script, 'process.send?.("done"); process.exit(0);\n');
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < JOBS) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const c = fork(script, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: ['--max-old-space-size=64'] });
        c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  fs.rmSync(script, { force: true });
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, seconds, jobsPerSecond: JOBS / seconds };
}

async function latency(samples = 20) {
  return withServer(async (s) => {
    const queued: number[] = [];
    const running: number[] = [];
    for (let i = 0; i < samples; i++) {
      const { id } = await post(`${s.url}/v1/jobs`, { type: 'noop' });
      for (;;) {
        const j = await s.platform.db.selectFrom('jobs').select(['status', 'created_at', 'started_at', 'finished_at']).where('id', '=', id).executeTakeFirstOrThrow();
        if (j.status === 'succeeded') {
          queued.push(Date.parse(j.started_at!) - Date.parse(j.created_at));
          running.push(Date.parse(j.finished_at!) - Date.parse(j.started_at!));
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return { queuedToRunningMs: med(queued), runningToSucceededMs: med(running) };
  });
}

function planningOnly() {
  const now = Date.now();
  const nodes = Array.from({ length: 4 }, (_, i) => ({ id: `n${i}`, capacity: { cpu: 16, memoryMb: 65536, gpu: 2 } }));
  const running: RunningInfo[] = Array.from({ length: 40 }, (_, i) => ({
    id: `r${i}`, tenantId: `t${i % 10}`, nodeId: `n${i % 4}`, priority: i % 3, attempt: 1, resources: { cpu: 1, memoryMb: 512, gpu: 0 },
    gpuIds: [], startedAt: now - i * 1000, preemptFor: null,
  }));
  const queued: QueuedInfo[] = Array.from({ length: 1000 }, (_, i) => ({
    id: `q${i}`, tenantId: `t${i % 10}`, priority: i % 4, resources: { cpu: 1 + (i % 3), memoryMb: 1024, gpu: i % 50 === 0 ? 1 : 0 },
    createdAt: now - (1000 - i) * 100, notBefore: null,
  }));
  const input = { now, nodes, running, queued, quotas: new Map(), monthUsed: new Map(), agingSeconds: 300 };
  for (let i = 0; i < 5; i++) plan(input);
  const reps = 50;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) plan(input);
  const ms = (performance.now() - t0) / reps;
  return { queued: queued.length, msPerRound: ms, usPerQueuedJob: (ms * 1000) / queued.length };
}

async function main() {
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`Scheduler benchmark: ${JOBS} noop jobs, node with AIAAS_CPU=${CORES} (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const planned = planningOnly();
  console.log(`planning only: one round over ${planned.queued} queued jobs (10 tenants, 4 nodes) ${f(planned.msPerRound, 2)} ms = ${f(planned.usPerQueuedJob, 2)} µs per queued job`);
  const lat = await latency();
  console.log(`one noop job on an idle node (median of 20): queued → running ${lat.queuedToRunningMs} ms, running → succeeded ${lat.runningToSucceededMs} ms`);
  for (const cpu of [1, 0.25]) {
    const ours = await throughput(cpu);
    const floor = await bareForks(ours.concurrency);
    const line = `cpu=${cpu} (${ours.concurrency} at once): ${f(ours.jobsPerSecond)} jobs/s (${f(ours.seconds)} s; submitted beforehand in ${f(ours.submitSeconds)} s), hand-off p50 ${ours.handoffMsP50} ms, wall time in scheduler rounds ${f(ours.schedulerMsPerJob, 1)} ms per job (${ours.rounds} rounds), run p50 ${ours.runMsP50} ms | bare fork ${f(floor.jobsPerSecond)} /s → ours = ${f((100 * ours.jobsPerSecond) / floor.jobsPerSecond, 0)}% of the floor`;
    console.log(line);
  }
  console.log(`load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
