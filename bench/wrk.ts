/**
 * Load from wrk (Debian's `wrk`) for the serving benchmarks: a POST body from a file, the
 * latency quantiles read back through a Lua `done` hook, and several runs pooled into one.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** Latency quantiles (ms) at 0.05%, 0.15%, … 99.95%: to pool several runs. */
  quantiles: number[];
}

/** `seconds` of POSTs of `bodyFile` to `url` from wrk over `connections` connections (one thread). */
export async function wrk(url: string, bodyFile: string, headers: Record<string, string>, seconds: number, dir: string, connections = 32): Promise<WrkResult> {
  const script = path.join(dir, `post-${Math.random().toString(36).slice(2)}.lua`);
  const lines = [
    'wrk.method = "POST"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
    `local f = io.open("${bodyFile}", "r")`,
    'wrk.body = f:read("*a")',
    'f:close()',
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("RESULT %d %d %d %d %d %d %d %f\\n", summary.requests, summary.duration,',
    '    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), 0, latency.mean))',
    '  local q = {}',
    '  for i = 0, 999 do q[#q + 1] = latency:percentile(i / 10 + 0.05) end',
    '  io.write("QUANTILES " .. table.concat(q, " ") .. "\\n")',
    'end',
  ];
  fs.writeFileSync(script, lines.join('\n'));
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d.toString()));
    p.stderr.on('data', (d: Buffer) => (s += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`wrk failed (${code}): ${s}`))));
  });
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+)/.exec(out);
  if (!m) throw new Error(`could not read wrk output:\n${out}`);
  const requests = Number(m[1]);
  const secs = Number(m[2]) / 1e6;
  const q = /QUANTILES ([\d. ]+)/.exec(out);
  return {
    requests, seconds: secs, rps: requests / secs, errors: Number(m[3]),
    p50: Number(m[4]) / 1000, p90: Number(m[5]) / 1000, p99: Number(m[6]) / 1000, mean: Number(m[8]) / 1000,
    quantiles: q ? q[1]!.trim().split(/\s+/).map((x) => Number(x) / 1000) : [],
  };
}

/**
 * Several runs as one: requests and time add up; latency percentiles come from the runs'
 * quantiles pooled, each run weighted by its requests.
 */
export function pool(runs: WrkResult[]): WrkResult {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const points = runs.flatMap((r) => r.quantiles.map((v) => ({ v, w: r.requests / Math.max(1, r.quantiles.length) }))).sort((a, b) => a.v - b.v);
  const total = points.reduce((n, p) => n + p.w, 0);
  const at = (q: number) => {
    let acc = 0;
    for (const p of points) if ((acc += p.w) >= q * total) return p.v;
    return points.at(-1)?.v ?? 0;
  };
  return {
    requests, seconds, rps: requests / seconds, errors: runs.reduce((n, r) => n + r.errors, 0),
    p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: runs.reduce((n, r) => n + r.mean * r.requests, 0) / Math.max(1, requests),
    quantiles: [],
  };
}

