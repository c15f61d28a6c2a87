/**
 * The inference graph of a trained GPT as decoders are served: Hugging Face / optimum's layout for
 * GPT-2 with a key/value cache, so transformers.js, ONNX Runtime alone, or our own serving decode
 * one token per call after the prompt.
 *
 *   inputs   input_ids [batch, seq] · attention_mask [batch, past + seq] · position_ids [batch, seq]
 *            past_key_values.N.key / .value [batch, heads, past, dim / heads]   (past may be 0)
 *   outputs  logits [batch, seq, vocab] · present.N.key / .value [batch, heads, past + seq, dim / heads]
 *
 * Weights are initializers named as in the parameter vector (GPT-2's names).
 */
import { graphNodes, UnsupportedModelError } from '../../onnx/decode.js';
import { scanGraph } from '../../onnx/graph-io-scan.js';
import { DataType, withGraphOutputs, type ModelDef } from '../../onnx/model.js';
import { emitGraph, tensorValue } from '../emit.js';
import { Graph, type Tensor } from '../graph.js';
import { layerNormalization, matmul, transpose } from '../ops/index.js';
import { modelOf } from '../runtime.js';
import { cachedTransformerBlock, embed } from '../transformer/index.js';
import { createGpt, GPT_EPSILON, type Gpt, type GptConfig } from './gpt.js';

export const pastName = (layer: number, kind: 'key' | 'value') => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value') => `present.${layer}.${kind}`;

/**
 * A decoder graph made to also give each step's new keys and values alone, beside `present`:
 * when every present.N.key/value is Concat(past_key_values.N.key/value, new, axis 2), as in
 * Optimum's GPT-2 export and in `gptDecoderModel`, the `new` tensors (each [batch, heads,
 * sequence, head dim]) become graph outputs too, first after `logits`. A decode step fetches
 * only those and the logits: ONNX Runtime's Node binding copies every fetched output into a
 * fresh JavaScript buffer, and `present` is the whole cache. `appended` maps each past input's name to the output giving
 * its new positions. Undefined when a graph computes its cache otherwise (fused attention
 * operators); the caller then reads the new positions out of `present`.
 */
export function exposeAppendedKeyValues(model: Uint8Array, layers: number): { model: Uint8Array; appended: Record<string, string> } | undefined {
  let nodes: ReturnType<typeof graphNodes>;
  try {
    nodes = graphNodes(model);
  } catch (err) {
    if (err instanceof UnsupportedModelError) return undefined; // a node this reader does not represent: run the graph as it is
    throw err;
  }
  const producer = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const through = (name: string): string => {
    for (let n = producer.get(name); n?.opType === 'Identity'; n = producer.get(name)) name = n.inputs[0]!;
    return name;
  };
  const appended: Record<string, string> = {};
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value'] as const) {
      const concat = producer.get(through(presentName(i, kind)));
      const axis = concat?.attributes?.axis;
      if (concat?.opType !== 'Concat' || (concat.domain ?? '') !== '' || concat.inputs.length !== 2 || axis?.kind !== 'int' || (axis.value !== 2 && axis.value !== -2)) return undefined;
      if (through(concat.inputs[0]!) !== pastName(i, kind)) return undefined;
      appended[pastName(i, kind)] = concat.inputs[1]!;
    }
  }
  // First the outputs a decode step fetches (logits, then the new positions in past-input order):
  // ONNX Runtime's Node binding (1.23) names the outputs of a run that fetches some of them after
  // the graph's first ones, so only a leading run of outputs can be fetched alone.
  const declared = scanGraph(model).outputs.map((o) => o.name);
  if (!declared.includes('logits')) return undefined;
  const outputs = declared.filter((n) => n !== 'logits' && !Object.values(appended).includes(n));
  const added = [...new Set(Object.values(appended))].map((name) => ({ name, type: { elemType: DataType.FLOAT } }));
  if (added.length !== 2 * layers) return undefined;
  return { model: withGraphOutputs(model, ['logits', ...added, ...outputs]), appended };
}

export function gptDecoderModel(gpt: Gpt): ModelDef {
  const c = gpt.config;
  const dh = c.dim / c.heads;
  const g = new Graph('float32');
  const weights = new Map<string, Tensor>(gpt.params.map((p) => [p.name, g.placeholder(p.name, p.shape)]));
  const w = (name: string) => weights.get(name)!;
  const ids = g.placeholder('input_ids', ['batch_size', 'sequence_length'], 'int64');
  const mask = g.placeholder('attention_mask', ['batch_size', 'total_sequence_length'], 'int64');
  const positions = g.placeholder('position_ids', ['batch_size', 'sequence_length'], 'int64');
  const past = Array.from({ length: c.layers }, (_, i) => ({
    key: g.placeholder(pastName(i, 'key'), ['batch_size', c.heads, 'past_sequence_length', dh]),
    value: g.placeholder(pastName(i, 'value'), ['batch_size', c.heads, 'past_sequence_length', dh]),
  }));
  let h = embed(ids, { tokens: w('wte.weight'), positions: w('wpe.weight') }, positions);
  const present: { tensor: Tensor; name: string }[] = [];
  for (let i = 0; i < c.layers; i++) {
    const q = (name: string) => w(`h.${i}.${name}`);
    const b = cachedTransformerBlock(h, {
      ln1: { gamma: q('ln_1.weight'), beta: q('ln_1.bias') },
      attention: { wqkv: q('attn.c_attn.weight'), bqkv: q('attn.c_attn.bias'), wo: q('attn.c_proj.weight'), bo: q('attn.c_proj.bias') },
      ln2: { gamma: q('ln_2.weight'), beta: q('ln_2.bias') },
      mlp: { w1: q('mlp.c_fc.weight'), b1: q('mlp.c_fc.bias'), w2: q('mlp.c_proj.weight'), b2: q('mlp.c_proj.bias') },
    }, { heads: c.heads, past: past[i]!, attentionMask: mask, epsilon: GPT_EPSILON });
    h = b.out;
    present.push({ tensor: b.key, name: presentName(i, 'key') }, { tensor: b.value, name: presentName(i, 'value') });
  }
  h = layerNormalization(h, w('ln_f.weight'), w('ln_f.bias'), GPT_EPSILON);
  // Tied head; the Transpose of an initializer is folded by ONNX Runtime when the session loads.
  const logits = matmul(h, transpose(w('wte.weight'), [1, 0]));
  const graph = emitGraph(g, {
    name: 'gpt2_decoder',
    inputs: [ids, mask, positions, ...past.flatMap((p) => [p.key, p.value])],
    outputs: [{ tensor: logits, name: 'logits' }, ...present],
    external: [...weights.values()],
    extraInitializers: gpt.params.map((p) => tensorValue(p.name, 'float32', p.shape, gpt.weights.subarray(p.offset, p.offset + p.size))),
    initializers: true,
  });
  return modelOf(graph, { 'aiaas.kind': 'causal_lm', 'aiaas.config': JSON.stringify(c) });
}

/**
 * The GPT a decoder graph of gptDecoderModel holds: its config from the model's `aiaas.config`
 * metadata and its weights from the initializers named as the parameters. Undefined for a graph
 * laid out otherwise (an imported folder, or a version whose weights were quantized or cast), so
 * that a caller can say why it cannot use it.
 */
export function gptFromDecoder(model: ModelDef): Gpt | undefined {
  let config: GptConfig;
  try {
    config = JSON.parse(model.metadata?.['aiaas.config'] ?? '') as GptConfig;
  } catch {
    return undefined;
  }
  const gpt = createGpt(config);
  const byName = new Map((model.graph.initializers ?? []).map((t) => [t.name, t]));
  for (const p of gpt.params) {
    const t = byName.get(p.name);
    if (!t || !(t.data instanceof Float32Array) || t.data.length !== p.size || t.dims.join() !== p.shape.join()) return undefined;
    gpt.weights.set(t.data, p.offset);
  }
  return gpt;
}
