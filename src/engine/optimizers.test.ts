/** The in-graph optimizers against straightforward JS references (PyTorch's update rules). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { emitGraph } from './emit.js';
import { Graph } from './graph.js';
import { applyUpdate, type OptimizerSpec, scheduledRate, slotCount } from './optimizers.js';
import { modelOf, withSession } from './runtime.js';

type Vec = number[];

/** Reference: one step of `o` on w with gradient g; returns new w and slots. */
function reference(o: OptimizerSpec, w: Vec, g0: Vec, slots: Vec[], t: number, lr: number): { w: Vec; slots: Vec[] } {
  let g = g0.map((v) => (o.clipValue ? Math.max(-o.clipValue, Math.min(o.clipValue, v)) : v));
  if (o.clipNorm) {
    const norm = Math.sqrt(g.reduce((p, v) => p + v * v, 0));
    if (norm > o.clipNorm) g = g.map((v) => (v * o.clipNorm!) / norm);
  }
  if (o.weightDecay && o.type !== 'adamw') g = g.map((v, i) => v + o.weightDecay! * w[i]!);
  if (o.type === 'sgd') {
    if (!o.momentum) return { w: w.map((v, i) => v - lr * g[i]!), slots: [] };
    const vel = slots[0]!.map((v, i) => o.momentum! * v + g[i]!);
    const dir = o.nesterov ? g.map((v, i) => v + o.momentum! * vel[i]!) : vel;
    return { w: w.map((v, i) => v - lr * dir[i]!), slots: [vel] };
  }
  const [b1, b2, eps] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.epsilon ?? 1e-8];
  const m = slots[0]!.map((v, i) => b1 * v + (1 - b1) * g[i]!);
  const s = slots[1]!.map((v, i) => b2 * v + (1 - b2) * g[i]! ** 2);
  const base = o.type === 'adamw' ? w.map((v) => v * (1 - lr * (o.weightDecay ?? 0.01))) : w;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  return { w: base.map((v, i) => v - (lr / bc1) * (m[i]! / (Math.sqrt(s[i]!) / Math.sqrt(bc2) + eps))), slots: [m, s] };
}

async function check(o: OptimizerSpec) {
  const n = 5;
  const g = new Graph('float64');
  const w = g.placeholder('w', [n]);
  const grad = g.placeholder('g', [n]);
  const step = g.placeholder('t', []);
  const lr = g.placeholder('lr', []);
  const slots = Array.from({ length: slotCount(o) }, (_, i) => g.placeholder(`s${i}`, [n]));
  const r = applyUpdate(o, w, grad, slots, step, lr);
  const model = modelOf(emitGraph(g, {
    name: 'opt', inputs: [w, grad, step, lr, ...slots],
    outputs: [{ tensor: r.w, name: 'w_out' }, ...r.slots.map((t, i) => ({ tensor: t, name: `s${i}_out` }))],
  }));
  await withSession(model, { optimization: 'basic' }, async (s) => {
    let ours = { w: [0.5, -1, 2, 0.1, -0.3], slots: slots.map(() => new Array<number>(n).fill(0)) };
    let ref = { w: [...ours.w], slots: ours.slots.map((v) => [...v]) };
    for (let t = 1; t <= 4; t++) {
      const gv = ours.w.map((v, i) => Math.sin(3 * v + i) * 3);
      const feeds: Record<string, ort.Tensor> = {
        w: new ort.Tensor('float64', Float64Array.from(ours.w), [n]), g: new ort.Tensor('float64', Float64Array.from(gv), [n]),
        t: new ort.Tensor('float64', Float64Array.of(t), []), lr: new ort.Tensor('float64', Float64Array.of(0.05), []),
      };
      ours.slots.forEach((v, i) => { feeds[`s${i}`] = new ort.Tensor('float64', Float64Array.from(v), [n]); });
      const out = await s.run(feeds);
      ref = reference(o, ref.w, gv, ref.slots, t, 0.05);
      ours = { w: Array.from(out.w_out!.data as Float64Array), slots: ours.slots.map((_, i) => Array.from(out[`s${i}_out`]!.data as Float64Array)) };
      ours.w.forEach((v, i) => assert.ok(Math.abs(v - ref.w[i]!) < 1e-12, `${JSON.stringify(o)} step ${t}: w[${i}] ${v} vs ${ref.w[i]}`));
    }
  });
}

test('SGD (plain, momentum, Nesterov, L2) matches the reference', async () => {
  await check({ type: 'sgd' });
  await check({ type: 'sgd', momentum: 0.9 });
  await check({ type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 });
});

test('Adam, Adam + L2, AdamW match the reference', async () => {
  await check({ type: 'adam' });
  await check({ type: 'adam', weightDecay: 0.1, beta1: 0.8 });
  await check({ type: 'adamw', weightDecay: 0.1 });
});

test('gradient clipping by global norm and by value', async () => {
  await check({ type: 'sgd', clipNorm: 1 });
  await check({ type: 'adam', clipValue: 0.5 });
});

test('learning-rate schedules: step and cosine (with warm-up)', () => {
  assert.equal(scheduledRate(0.1, { type: 'step', stepSize: 2, gamma: 0.5 }, 0, 10, 6), 0.1);
  assert.equal(scheduledRate(0.1, { type: 'step', stepSize: 2, gamma: 0.5 }, 25, 10, 6), 0.05);
  assert.equal(scheduledRate(0.1, { type: 'step', stepSize: 2, gamma: 0.5 }, 59, 10, 6), 0.025);
  assert.equal(scheduledRate(0.1, { type: 'cosine' }, 0, 10, 4), 0.1);
  assert.ok(Math.abs(scheduledRate(0.1, { type: 'cosine' }, 20, 10, 4) - 0.05) < 1e-12);
  assert.ok(scheduledRate(0.1, { type: 'cosine', minLearningRate: 0.01 }, 40, 10, 4) - 0.01 < 1e-12);
  assert.ok(Math.abs(scheduledRate(0.1, { type: 'cosine', warmupEpochs: 1 }, 4, 10, 4) - 0.05) < 1e-12);
});
