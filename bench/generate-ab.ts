/**
 * `node dist/bench/generate-ab.js ROUNDS DIST_A DIST_B`: interleaved A/B of bench:generate's
 * endpoint figures for two builds (each a dist/ tree, e.g. main's in a second worktree). Both
 * builds' servers run in this process, each with the bench folder (BENCH_GEN_DIR, made by
 * `npm run bench:generate`) imported and one warm-up stream; then per round and side: 1 stream,
 * then 16 at once (sides alternating A B, B A, …), measured as bench/generate.ts measures them
 * (1 stream: decode tokens/s after the first token; 16: all tokens over the wall time; p50 time
 * to first token of the 16). Every stream's text must be the first one's (greedy). Prints each
 * round, then the medians: under a loaded machine only medians of many alternations mean much.
 * BENCH_GEN_TOKENS (default 64): tokens per stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importFolder, stream } from './generate-client.js';

const DIR = process.env.BENCH_GEN_DIR ?? path.join(os.tmpdir(), 'aiaas-bench-gpt2');
const TOKENS = Number(process.env.BENCH_GEN_TOKENS ?? 64);
const [rounds, ...dists] = process.argv.slice(2);
if (!rounds || dists.length !== 2) throw new Error('usage: node dist/bench/generate-ab.js ROUNDS DIST_A DIST_B');

interface Side {
  label: string;
  url: string;
  key: string;
  stop(): Promise<void>;
  ones: number[];
  sixteens: number[];
  ratios: number[];
  ttft: number[];
}

const sides: Side[] = [];
for (const [i, dist] of dists.entries()) {
  const { startTestServer } = (await import(path.resolve(dist, 'src/interfaces/testing/test-server.js'))) as typeof import('../src/interfaces/testing/test-server.js');
  const s = await startTestServer({ AIAAS_MODEL_MAX_BYTES: String(4 * 2 ** 30) });
  const imp = await importFolder(DIR, s.url, s.adminKey);
  if (imp.status !== 201) throw new Error(`import into ${dist}: ${imp.status} ${imp.text}`);
  const ep = await s.call('POST', '/v1/endpoints?wait=true', { json: { name: 'gpt2-bench', model: 'gpt2-bench', version: (JSON.parse(imp.text) as { version: number }).version } });
  if (ep.status !== 201) throw new Error(`endpoint on ${dist}: ${ep.status} ${ep.text}`);
  await stream(s.url, s.adminKey, TOKENS);
  sides.push({ label: `${'AB'[i]} (${dist})`, url: s.url, key: s.adminKey, stop: () => s.stop(), ones: [], sixteens: [], ratios: [], ttft: [] });
}

let expected: string | undefined;
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
for (let r = 0; r < Number(rounds); r++) {
  for (const side of r % 2 ? [...sides].reverse() : sides) {
    const one = await stream(side.url, side.key, TOKENS);
    const t0 = performance.now();
    const many = await Promise.all(Array.from({ length: 16 }, () => stream(side.url, side.key, TOKENS)));
    const aggregate = many.reduce((n, x) => n + x.tokens, 0) / ((performance.now() - t0) / 1000);
    const ttft = many.map((x) => x.ttftMs).sort((a, b) => a - b)[8]!;
    expected ??= one.text;
    const same = [one, ...many].every((x) => x.text === expected);
    if (!same) process.exitCode = 1;
    side.ones.push(one.tokensPerSecond);
    side.sixteens.push(aggregate);
    side.ratios.push(aggregate / one.tokensPerSecond);
    side.ttft.push(ttft);
    console.log(`round ${r} ${side.label}: 1 stream ${one.tokensPerSecond.toFixed(1)} tokens/s, 16 streams ${aggregate.toFixed(1)} = ${(aggregate / one.tokensPerSecond).toFixed(2)}×, p50 TTFT ${ttft.toFixed(0)} ms, text ${same ? 'same' : 'DIFFERS'} (load ${load()})`);
  }
}
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const side of sides) {
  console.log(`median ${side.label}: 1 stream ${median(side.ones).toFixed(1)}, 16 streams ${median(side.sixteens).toFixed(1)}, ratio ${median(side.ratios).toFixed(2)}×, p50 TTFT ${median(side.ttft).toFixed(0)} ms`);
}
for (const side of sides) await side.stop();
