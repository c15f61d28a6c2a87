/**
 * Each transform on real engine graphs (an MLP, a CNN, the GPT decoder): the result is a valid
 * model ONNX Runtime loads (after an encode/decode round trip), its outputs stay close to the
 * source's on random inputs, and it holds the ops the method promises.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createNetwork } from '../network.js';
import { inferenceModel } from '../program.js';
import { Rng } from '../init.js';
import { f32, i64, openSession } from '../runtime.js';
import { createGpt, gptDecoderModel, pastName } from '../lm/index.js';
import { decodeModel, UnsupportedModelError } from '../../onnx/decode.js';
import { DataType, encodeModel, tensor, type ModelDef } from '../../onnx/model.js';
import { quantizeDynamic } from './quantize-dynamic.js';
import { toHalf } from './fp16.js';
import { quantizeWeights } from './quantize-weights.js';
import { toFloat16 } from './graph-edit.js';
import { quantizeStatic } from './quantize-static.js';
import { prune } from './prune.js';
import { networkFromGraph } from './network-weights.js';

function mlp(seed = 1): ModelDef {
  const net = createNetwork({ kind: 'mlp', hidden: [64, 32] }, { inputShape: [400], outputs: 5, task: 'classification', seed });
  return inferenceModel(net);
}
function cnn(): ModelDef {
  const net = createNetwork({ kind: 'cnn' }, { inputShape: [28, 28, 1], outputs: 10, task: 'classification', seed: 2 });
  return inferenceModel(net);
}

const random = (n: number, seed: number) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.uniform(-1, 1)); };

async function run(model: ModelDef, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  // Round trip through the bytes: what is registered is what is decoded again by the next transform.
  const bytes = encodeModel(decodeModel(encodeModel(model)));
  const s = await openSession(bytes);
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).filter(([, t]) => t.type === 'float32').map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await s.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const ops = (m: ModelDef) => m.graph.nodes.map((n) => n.opType);

test('decodeModel inverts encodeModel', () => {
  const m = mlp();
  assert.deepEqual(encodeModel(decodeModel(encodeModel(m))), encodeModel(m));
  // A Buffer from the blob store, at an odd offset of a shared pool, decodes the same.
  const pooled = Buffer.concat([Buffer.from([0]), Buffer.from(encodeModel(m))]).subarray(1);
  assert.deepEqual(encodeModel(decodeModel(pooled)), encodeModel(m));
});

test('decodeModel reads external data from the files given, and refuses it without them', () => {
  const m = mlp();
  const inits = m.graph.initializers!;
  const w = inits[0]!;
  const data = new Uint8Array((w.data as Float32Array).slice().buffer);
  // The weight at offset 8 of a file that holds other bytes first, as exports pack several tensors into one file.
  const file = new Uint8Array(8 + data.byteLength);
  file.set(data, 8);
  const external: ModelDef = { ...m, graph: { ...m.graph, initializers: [{ ...tensor.float(w.name, w.dims, []), external: { location: 'model.onnx_data', offset: 8, length: data.byteLength } }, ...inits.slice(1)] } };
  const bytes = encodeModel(external);
  assert.deepEqual(encodeModel(decodeModel(bytes, (loc) => (loc === 'model.onnx_data' ? Buffer.from(file) : undefined))), encodeModel(m));
  assert.throws(() => decodeModel(bytes), (e: Error) => e instanceof UnsupportedModelError && /external file \('model.onnx_data'\) that was not given/.test(e.message));
  assert.throws(() => decodeModel(bytes, () => file.subarray(0, 8)), /reads bytes 8/);
});

test('float16 bits round to nearest', () => {
  assert.deepEqual(Array.from(toFloat16(Float32Array.from([0, 1, -2, 65504, 1e6, 5.96e-8, 0.1]))), [0, 0x3c00, 0xc000, 0x7bff, 0x7c00, 1, 0x2e66]);
});

for (const ops_ of ['contrib', 'standard'] as const) {
  test(`quantize_dynamic (${ops_}): int8 MatMuls, probabilities within 0.05 of the float model`, async () => {
    const source = mlp();
    const { model, report } = quantizeDynamic(source, { ops: ops_ });
    assert.equal(report.rewritten, 2, 'the two hidden layers; the five-class head stays float');
    assert.deepEqual(report.skipped.map((s) => s.reason), ['a MatMul with 5 output columns stays float (int8 is slower there)']);
    assert.equal(ops(model).filter((o) => o === 'MatMul').length, 1);
    assert.ok(ops(model).includes(ops_ === 'contrib' ? 'DynamicQuantizeMatMul' : 'MatMulInteger'));
    const feeds = { x: f32(random(16 * 400, 3), [16, 400]) };
    const [a, b] = [await run(source, feeds), await run(model, feeds)];
    assert.ok(maxDiff(a.probabilities!, b.probabilities!) < 0.05, `diff ${maxDiff(a.probabilities!, b.probabilities!)}`);
    assert.ok(encodeModel(model).length < encodeModel(source).length * 0.35);
  });
}

test('fp16: MLP and CNN compute in half with float32 outputs, close to float', async () => {
  for (const [source, feeds] of [[mlp(), { x: f32(random(8 * 400, 4), [8, 400]) }], [cnn(), { x: f32(random(4 * 784, 5), [4, 28, 28, 1]) }]] as const) {
    const { model } = toHalf(source);
    assert.ok(ops(model).includes('Cast'));
    const [a, b] = [await run(source, feeds), await run(model, feeds)];
    assert.ok(maxDiff(a.probabilities!, b.probabilities!) < 0.01, `diff ${maxDiff(a.probabilities!, b.probabilities!)}`);
    assert.ok(encodeModel(model).length < encodeModel(source).length * 0.6);
  }
});

test('fp16 leaves what precedes the first weighted op in float32', () => {
  const { model } = toHalf(cnn());
  const reshape = model.graph.nodes.find((n) => n.opType === 'Reshape')!;
  assert.equal(reshape.inputs[0], 'x');
});

test('quantize_weights 8 and 4 bits on the GPT decoder (tied head included): logits stay close', async () => {
  const config = { vocabSize: 40, context: 16, layers: 2, heads: 2, dim: 32 };
  const gpt = createGpt(config, 3);
  const source = gptDecoderModel(gpt);
  const ids = [1, 5, 7, 2, 9, 3];
  const dh = config.dim / config.heads;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(BigInt64Array.from(ids, BigInt), [1, ids.length]),
    attention_mask: i64(BigInt64Array.from(ids, () => 1n), [1, ids.length]),
    position_ids: i64(BigInt64Array.from(ids, (_, i) => BigInt(i)), [1, ids.length]),
  };
  for (let i = 0; i < config.layers; i++) for (const k of ['key', 'value'] as const) feeds[pastName(i, k)] = f32(new Float32Array(0), [1, config.heads, 0, dh]);
  const want = (await run(source, feeds)).logits!;
  const spread = Math.max(...want) - Math.min(...want);
  for (const bits of [8, 4] as const) {
    const { model, report } = quantizeWeights(source, { bits, blockSize: 16 });
    assert.equal(report.rewritten, config.layers * 4 + 1, 'four projections per block and the tied head');
    assert.ok(!ops(model).includes('MatMul') || ops(model).filter((o) => o === 'MatMul').length === config.layers * 2, 'only the attention MatMuls stay');
    const got = (await run(model, feeds)).logits!;
    const d = maxDiff(want, got);
    assert.ok(d < spread * (bits === 8 ? 0.02 : 0.15), `${bits} bits: max diff ${d} on logits spanning ${spread}`);
  }
});

/** The MLP behind a pixel-style step (x − a)·b on its input: uniform (one a, one b) or per column. */
function scaledMlp(uniform: boolean): ModelDef {
  const m = mlp();
  const x = m.graph.inputs[0]!.name;
  const vec = (f: (i: number) => number) => Float32Array.from({ length: 400 }, (_, i) => f(i));
  m.graph.initializers!.push(
    { name: 'pre_sub', dataType: DataType.FLOAT, dims: [400], data: vec(() => 100) },
    { name: 'pre_mul', dataType: DataType.FLOAT, dims: [400], data: vec((i) => (uniform ? 1 / 255 : (1 + (i % 7)) / 255)) },
  );
  for (const n of m.graph.nodes) n.inputs = n.inputs.map((i) => (i === x ? 'pre_out' : i));
  m.graph.nodes.unshift(
    { opType: 'Sub', inputs: [x, 'pre_sub'], outputs: ['pre_centred'] },
    { opType: 'Mul', inputs: ['pre_centred', 'pre_mul'], outputs: ['pre_out'] },
  );
  return m;
}

test('quantize_dynamic folds a uniform (x − a)·b step into the first layer; a per-column one stays', async () => {
  const pixels = Float32Array.from(random(16 * 400, 9), (v) => Math.round((v + 1) * 127.5));
  const feeds = { x: f32(pixels, [16, 400]) };
  for (const uniform of [true, false]) {
    const source = scaledMlp(uniform);
    const { model } = quantizeDynamic(source);
    const o = ops(model);
    assert.equal(o.includes('Sub') || o.includes('Mul'), !uniform, uniform ? 'folded into the weights' : 'kept');
    const [a, b] = [await run(source, feeds), await run(model, feeds)];
    assert.ok(maxDiff(a.probabilities!, b.probabilities!) < 0.05, `${uniform}: diff ${maxDiff(a.probabilities!, b.probabilities!)}`);
  }
});

test('quantize_static: QDQ around MatMul and Conv with per-channel int8 weights; CNN and MLP stay close', async () => {
  const cnn_ = cnn();
  for (const [source, shape] of [[cnn_, [8, 28, 28, 1]], [mlp(), [8, 400]]] as const) {
    const size = (shape as readonly number[]).reduce((a, b) => a * b, 1);
    const calibration = [0, 1, 2].map((s) => ({ x: f32(random(size, 10 + s), [...shape]) }));
    const { model, report } = await quantizeStatic(source, calibration);
    const o = ops(model);
    assert.ok(o.includes('QuantizeLinear') && o.includes('DequantizeLinear'));
    // The CNN's first conv reads one grey channel and stays float; its second (8 channels in) is int8.
    const convWeights = model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.inputs[1]!);
    if (source === cnn_) {
      assert.deepEqual(report.skipped.map((s) => s.reason), ['Conv over 1 input channel(s) stays float (int8 is slower there)']);
      assert.deepEqual(convWeights.map((w) => w.endsWith('_dequantized')), [false, true]);
    } else assert.deepEqual(report.skipped, []);
    const perChannel = model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.attributes?.axis);
    assert.ok(perChannel.length >= 2, 'weights dequantized per channel');
    const feeds = { x: f32(random(size, 20), [...shape]) };
    const [a, b] = [await run(source, feeds), await run(model, feeds)];
    assert.ok(maxDiff(a.probabilities!, b.probabilities!) < 0.05, `diff ${maxDiff(a.probabilities!, b.probabilities!)}`);
  }
});

test('prune unstructured: the share of zeros asked for, same shapes', () => {
  const source = mlp();
  const { model } = prune(source, { sparsity: 0.5, structured: false });
  for (const t of model.graph.initializers!.filter((t) => t.name.endsWith('kernel'))) {
    const zeros = (t.data as Float32Array).filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / t.data.length - 0.5) < 0.01, `${t.name}: ${zeros}/${t.data.length}`);
  }
  assert.ok((source.graph.initializers![0]!.data as Float32Array).some((v) => v !== 0), 'the source is untouched');
});

test('prune structured: hidden neurons and conv filters removed, outputs keep their width, graphs run', async () => {
  const source = mlp();
  const { model, report } = prune(source, { sparsity: 0.5, structured: true });
  assert.equal(report.rewritten, 2, 'both hidden layers');
  const dims = Object.fromEntries(model.graph.initializers!.map((t) => [t.name, t.dims.join('x')]));
  assert.deepEqual([dims['dense_0/kernel'], dims['dense_1/kernel'], dims['output/kernel']], ['400x32', '32x16', '16x5']);
  const out = await run(model, { x: f32(random(3 * 400, 7), [3, 400]) });
  assert.equal(out.probabilities!.length, 15);
  const c = prune(cnn(), { sparsity: 0.5, structured: true });
  assert.equal(c.report.rewritten, 2, 'conv → conv and conv → flatten → dense');
  const cd = Object.fromEntries(c.model.graph.initializers!.map((t) => [t.name, t.dims.join('x')]));
  assert.deepEqual([cd['conv2d_0/kernel'], cd['conv2d_2/kernel'], cd['output/kernel']], ['8x1x5x5', '16x8x5x5', '256x10']);
  assert.equal((await run(c.model, { x: f32(random(2 * 784, 8), [2, 28, 28, 1]) })).probabilities!.length, 20);
});

test('networkFromGraph: a pruned graph read back as a network exports the same graph, so fit can fine-tune it', async () => {
  for (const [make, shape] of [[() => createNetwork({ kind: 'mlp', hidden: [64, 32] }, { inputShape: [400], outputs: 5, task: 'classification', seed: 1 }), [3, 400]],
    [() => createNetwork({ kind: 'cnn' }, { inputShape: [28, 28, 1], outputs: 10, task: 'classification', seed: 2 }), [3, 28, 28, 1]]] as const) {
    const fresh = make();
    const { model } = prune(inferenceModel(fresh), { sparsity: 0.5, structured: true });
    const net = networkFromGraph(fresh, model);
    assert.ok(net.weights.length < fresh.weights.length / 2 + 1000, 'the network has the pruned widths');
    const feeds = { x: f32(random(shape.reduce((a: number, b: number) => a * b, 1), 9), [...shape]) };
    const [want, got] = [await run(model, feeds), await run(inferenceModel(net), feeds)];
    assert.deepEqual(Array.from(got.probabilities!), Array.from(want.probabilities!));
  }
  assert.throws(() => networkFromGraph(createNetwork({ kind: 'mlp', hidden: [8] }, { inputShape: [400], outputs: 5, task: 'classification' }), mlp()), /do not match its network: .output\/kernel/);
});
