/**
 * Where the time of a training step goes: runs one recipe's Loop training graph with ONNX
 * Runtime's profiler on and prints kernel time per node (or per op type).
 *   node dist/src/engine/testing/profile.js [mlp|cnn] [node|op] [threads]
 */
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Rng } from '../init.js';
import { createNetwork } from '../network.js';
import { encodeModel } from '../../onnx/model.js';
import { buildTrainProgram, loopModel } from '../program.js';
import { sessionOptions } from '../runtime.js';
import type { ModelSpec } from '../spec.js';
import { loadMnist } from './mnist.js';

const kind = process.argv[2] ?? 'mlp';
const byNode = process.argv[3] === 'node';
const threads = Number(process.argv[4] ?? 1);
const spec: ModelSpec = kind === 'mlp'
  ? { layers: [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 10, activation: 'softmax' }] }
  : { kind: 'cnn' };
const net = createNetwork(spec, { inputShape: [784], outputs: 10, task: 'classification', seed: 1 });
const p = buildTrainProgram(net, { type: 'adam', learningRate: 1e-3 });
const steps = kind === 'mlp' ? 125 : 30;
const batch = 32;
const data = loadMnist('train', steps * batch);
const session = await ort.InferenceSession.create(encodeModel(loopModel(p)), {
  ...sessionOptions({ intraOpThreads: threads }), enableProfiling: true, profileFilePrefix: '/tmp/aiaas-engine-profile',
});
const feeds: Record<string, ort.Tensor> = {
  M: new ort.Tensor('int64', BigInt64Array.of(BigInt(steps)), []),
  W: new ort.Tensor('float32', net.weights, [net.weights.length]),
  step: new ort.Tensor('float32', Float32Array.of(0), []),
  x_all: new ort.Tensor('float32', data.x, [steps, batch, 784]),
  y_all: new ort.Tensor('int64', BigInt64Array.from(data.labels, (v) => BigInt(v)), [steps, batch]),
  lr_all: new ort.Tensor('float32', new Float32Array(steps).fill(1e-3), [steps]),
};
p.slots.forEach((_, i) => { feeds[`slot${i}`] = new ort.Tensor('float32', new Float32Array(net.weights.length), [net.weights.length]); });
p.noises.forEach((n) => {
  const size = (n.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  feeds[`${n.name}_all`] = new ort.Tensor('float32', new Rng(1).fillUniform(new Float32Array(steps * batch * size)), [steps, batch, ...(n.shape.slice(1) as number[])]);
});
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await session.run(feeds);
  console.log(`call ${i + 1}: ${((performance.now() - t0) * 1000 / steps).toFixed(0)} µs per step (profiler on)`);
}
(session as unknown as { endProfiling(): void }).endProfiling();
await session.release();
// ORT writes <prefix>_<timestamp>.json; take the newest.
const file = readdirSync('/tmp').filter((f) => f.startsWith('aiaas-engine-profile')).map((f) => `/tmp/${f}`)
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
unlinkSync(file);
const totals = new Map<string, number>();
let kernels = 0;
let loop = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args?.op_name ?? '?';
  if (op === 'Loop') { loop += e.dur; continue; }
  kernels += e.dur;
  const key = byNode ? `${op} ${e.name.replace(/_kernel_time$/, '')}` : op;
  totals.set(key, (totals.get(key) ?? 0) + e.dur);
}
const calls = 3 * steps;
console.log(`per step: ${(loop / calls).toFixed(0)} µs in the Loop, ${(kernels / calls).toFixed(0)} µs in kernels`);
for (const [k, v] of [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${k.slice(0, 56).padEnd(56)} ${(v / calls).toFixed(1).padStart(8)} µs/step ${((100 * v) / kernels).toFixed(1).padStart(5)}%`);
}
