/**
 * `node dist/bench/lm-profile.js [threads] [steps]`: where a causal_lm training step spends its time.
 * Builds the bench:lm training step (4 layers, 4 heads, dim 128, context 128, batch 32, vocabulary
 * 75 as kjv's characters), runs it with ONNX Runtime's profiler (`enableProfiling`) and prints the
 * time per operator type and the slowest nodes, summed over the profiled steps (the first is warm-up).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createGpt } from '../src/engine/lm/index.js';
import { buildLmTrainProgram } from '../src/engine/lm/program.js';
import { stepModel } from '../src/engine/program.js';
import { encodeModel } from '../src/onnx/model.js';
import { f32, i64, sessionOptions } from '../src/engine/runtime.js';

const threads = Number(process.argv[2] ?? 1);
const steps = Number(process.argv[3] ?? 6);
const [B, T, V] = [32, 128, 75];
const gpt = createGpt({ vocabSize: V, context: T, layers: 4, heads: 4, dim: 128 }, 0);
const program = buildLmTrainProgram(gpt, { type: 'adamw', learningRate: 1e-3, weightDecay: 0.1, clipNorm: 1 }, T);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-profile-'));
const session = await ort.InferenceSession.create(encodeModel(stepModel(program)), {
  ...sessionOptions({ intraOpThreads: threads }), enableProfiling: true, profileFilePrefix: path.join(dir, 'step'),
});
const x = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7) % V));
const y = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7 + 1) % V));
const slots = [new Float32Array(gpt.weights.length), new Float32Array(gpt.weights.length)];
for (let s = 0; s < steps; s++) {
  await session.run({ W: f32(gpt.weights, [gpt.weights.length]), slot0: f32(slots[0]!, [slots[0]!.length]), slot1: f32(slots[1]!, [slots[1]!.length]),
    step: f32(Float32Array.of(s), []), x: i64(x, [B, T]), y: i64(y, [B, T]), lr: f32(Float32Array.of(1e-3), []) });
}
session.endProfiling();
await session.release();
// The node binding's endProfiling returns nothing: the file is the one in `dir`.
const file = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.json'))!);
const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
for (const e of nodes.slice(Math.floor(nodes.length / steps))) {
  byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
  byNode.set(`${e.args?.op_name} ${e.name.replace('_kernel_time', '')}`, (byNode.get(`${e.args?.op_name} ${e.name.replace('_kernel_time', '')}`) ?? 0) + e.dur);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const perStep = (us: number) => (us / (steps - 1) / 1000).toFixed(2);
console.log(`threads ${threads}; model_run per step (ms): ${runs.slice(1).map((r) => (r.dur / 1000).toFixed(1)).join(' ')}; kernels ${perStep(total)} ms/step`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${op.padEnd(28)} ${perStep(us).padStart(8)} ms  ${((100 * us) / total).toFixed(1)}%`);
console.log('\nslowest nodes:');
for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${perStep(us).padStart(8)} ms  ${n}`);
if (process.env.KEEP_PROFILE) console.log(file); else fs.rmSync(dir, { recursive: true, force: true });
