/**
 * What the ONNX graph of a Hugging Face language-model folder must expose to be served, in the
 * layout Optimum exports (and hf-folder.ts writes):
 * - a decoder (`causal_lm`): inputs `input_ids`, `attention_mask`, `past_key_values.N.key|value`
 *   for every layer N (`position_ids` optional), outputs `logits` and `present.N.key|value`:
 *   generation keeps the key/value cache between steps, so a graph without it cannot be served;
 * - an encoder (`text_encoder`): input `input_ids` (`attention_mask`, `token_type_ids` optional),
 *   output `last_hidden_state` (embeddings are its mean over the tokens).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { ELEM_DTYPES, type GraphScan, type ScannedTensor } from '../../onnx/graph-io-scan.js';
import type { Signature, SignatureTensor, TensorDtype } from '../signature.js';

export const LM_KINDS = ['causal_lm', 'text_encoder'] as const;
export type LmKind = (typeof LM_KINDS)[number];

/** The kind the graph serves as (`wanted` when the caller says), or a 422 naming every tensor missing. */
export function lmKindOf(scan: GraphScan, config: Record<string, unknown>, wanted?: string): LmKind {
  if (wanted !== undefined && !(LM_KINDS as readonly string[]).includes(wanted)) {
    throw new InvalidInputError('invalid_kind', `kind '${wanted}' is not a language-model kind; a Hugging Face folder imports as causal_lm (a decoder) or text_encoder (an encoder).`, { field: 'kind' });
  }
  const outputs = new Set(scan.outputs.map((t) => t.name));
  const kind: LmKind | undefined = (wanted as LmKind | undefined)
    ?? (outputs.has('logits') || scan.inputs.some((t) => t.name.startsWith('past_key_values.')) ? 'causal_lm'
      : outputs.has('last_hidden_state') ? 'text_encoder' : undefined);
  if (!kind) {
    throw new InvalidInputError('unsupported_model', `onnx/model.onnx has neither a 'logits' output (a decoder, causal_lm) nor a 'last_hidden_state' output (an encoder, text_encoder); its outputs are ${list(scan.outputs.map((t) => t.name))}. Export it with Optimum (optimum-cli export onnx --task text-generation-with-past, or feature-extraction for an encoder).`, {
      outputs: scan.outputs.map((t) => t.name),
    });
  }
  const { inputs: needIn, outputs: needOut } = kind === 'causal_lm' ? decoderContract(scan, config) : { inputs: ['input_ids'], outputs: ['last_hidden_state'] };
  const have = new Set(scan.inputs.map((t) => t.name));
  const missingInputs = needIn.filter((n) => !have.has(n));
  const missingOutputs = needOut.filter((n) => !outputs.has(n));
  if (missingInputs.length || missingOutputs.length) {
    const what = [
      missingInputs.length ? `input${missingInputs.length > 1 ? 's' : ''} ${list(missingInputs)}` : '',
      missingOutputs.length ? `output${missingOutputs.length > 1 ? 's' : ''} ${list(missingOutputs)}` : '',
    ].filter(Boolean).join(' and ');
    const how = kind === 'causal_lm'
      ? 'A decoder is served with its key/value cache kept between steps; export it with the cache (optimum-cli export onnx --task text-generation-with-past, or torch.onnx.export with past_key_values.N.key|value inputs and present.N.key|value outputs).'
      : 'Export the encoder with Optimum (optimum-cli export onnx --task feature-extraction).';
    throw new InvalidInputError('missing_graph_tensors', `onnx/model.onnx cannot be served as a ${kind}: it lacks the ${what}. ${how}`, {
      kind, missingInputs, missingOutputs,
    });
  }
  return kind;
}

/** Layers: config.json's n_layer (GPT-2) or num_hidden_layers, else as many as the graph's cache inputs. */
export function layerCount(scan: GraphScan, config: Record<string, unknown>): number {
  for (const k of ['n_layer', 'num_hidden_layers', 'num_layers']) {
    const v = config[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  let n = 0;
  while (scan.inputs.some((t) => t.name === `past_key_values.${n}.key`)) n++;
  return Math.max(n, 1);
}

function decoderContract(scan: GraphScan, config: Record<string, unknown>): { inputs: string[]; outputs: string[] } {
  const layers = layerCount(scan, config);
  const inputs = ['input_ids', 'attention_mask'];
  const outputs = ['logits'];
  for (let i = 0; i < layers; i++) {
    inputs.push(`past_key_values.${i}.key`, `past_key_values.${i}.value`);
    outputs.push(`present.${i}.key`, `present.${i}.value`);
  }
  return { inputs, outputs };
}

/** The version's signature: the graph's tensors (free dimensions as -1), no raw columns. */
export function lmSignature(scan: GraphScan, kind: LmKind): Signature {
  return {
    inputs: [],
    tensors: scan.inputs.map((t) => tensor(t, 'input')),
    outputs: scan.outputs.map((t) => tensor(t, 'output')),
    task: kind === 'causal_lm' ? 'language_modeling' : 'other',
  };
}

function tensor(t: ScannedTensor, what: string): SignatureTensor {
  const dtype = ELEM_DTYPES[t.elemType];
  if (!dtype || dtype === 'float16') {
    throw new InvalidInputError('unsupported_model', `The graph's ${what} '${t.name}' has ONNX element type ${t.elemType}${dtype ? ` (${dtype})` : ''}, which serving does not take; export the model in float32 (int8 and 4-bit weights come from an optimize job).`, { tensor: t.name, elemType: t.elemType });
  }
  return { name: t.name, dtype: dtype as TensorDtype, shape: (t.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1)) };
}

function list(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${n}'`).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown || '(none)';
}
