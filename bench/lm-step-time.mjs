// node bench/lm-step-time.mjs DIST THREADS CALLS: median milliseconds per causal_lm training step of the
// bench:lm config (4 layers, 4 heads, dim 128, context 128, batch 32, vocabulary 75), run as training
// runs it (program.ts' Loop, 10 steps per call; the first call is warm-up), using the engine compiled
// in DIST (e.g. dist, or a copy of another commit's dist, for interleaved A/B runs: bench/lm-ab.sh).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, threads = '1', calls = '5'] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(path.resolve(dist, p)).href);
const { createGpt } = await load('src/engine/lm/gpt.js');
const { buildLmTrainProgram } = await load('src/engine/lm/program.js');
const { loopModel } = await load('src/engine/program.js');
const { f32, i64, openSession } = await load('src/engine/runtime.js');
const [B, T, V, S] = [32, 128, 75, 10];
const gpt = createGpt({ vocabSize: V, context: T, layers: 4, heads: 4, dim: 128 }, 0);
const session = await openSession(loopModel(buildLmTrainProgram(gpt, { type: 'adamw', learningRate: 1e-3, weightDecay: 0.1, clipNorm: 1 }, T)), { intraOpThreads: Number(threads) });
const x = BigInt64Array.from({ length: S * B * T }, (_, i) => BigInt((i * 7) % V));
const y = BigInt64Array.from({ length: S * B * T }, (_, i) => BigInt((i * 7 + 1) % V));
let W = gpt.weights;
let slots = [new Float32Array(W.length), new Float32Array(W.length)];
const times = [];
for (let c = 0; c <= Number(calls); c++) {
  const t0 = performance.now();
  const out = await session.run({
    M: i64(BigInt64Array.of(BigInt(S)), []), W: f32(W, [W.length]), slot0: f32(slots[0], [W.length]), slot1: f32(slots[1], [W.length]),
    step: f32(Float32Array.of(c * S), []), x_all: i64(x, [S, B, T]), y_all: i64(y, [S, B, T]), lr_all: f32(new Float32Array(S).fill(1e-3), [S]),
  });
  if (c > 0) times.push((performance.now() - t0) / S);
  W = out.W_out.data;
  slots = [out.slot0_out.data, out.slot1_out.data];
}
await session.release();
times.sort((a, b) => a - b);
console.log(JSON.stringify({ dist, threads: Number(threads), msPerStep: times[Math.floor(times.length / 2)], tokensPerSecond: (B * T * 1000) / times[Math.floor(times.length / 2)] }));
