/**
 * The character tokenizer inside an ONNX graph, so that a text model's endpoint takes raw strings
 * and every runtime that loads the artifact tokenizes exactly as training did: one token per code
 * point (com.microsoft.Tokenizer with the RE2 expression `(?s).`, which matches one UTF-8 code
 * point, newlines included), ids by ai.onnx.ml LabelEncoder (unseen characters → `<unk>`), then
 * right-padding with `padId` and truncation to `context` tokens, as `encodeWindows` does in
 * JavaScript for training.
 */
import { attr, tensor, type NodeDef, type TensorValue } from '../../onnx/model.js';
import type { CharTokenizer } from './char.js';

/** What the graph's Tokenizer pads short rows with: longer than one code point, so never a real token. */
const PAD_STRING = '<pad>';

export interface CharGraphOptions {
  /** A string tensor [N] of texts. */
  input: string;
  /** The int64 [N, context] ids it writes. */
  output: string;
  context: number;
  /** The id of padding (one past the tokenizer's vocabulary). */
  padId: number;
  prefix: string;
}

export function charTokenizerNodes(tok: CharTokenizer, o: CharGraphOptions): { nodes: NodeDef[]; initializers: TensorValue[] } {
  const name = (s: string) => `${o.prefix}${s}`;
  const nodes: NodeDef[] = [
    {
      opType: 'Tokenizer', domain: 'com.microsoft', inputs: [o.input], outputs: [name('chars')],
      attributes: { mark: attr.int(0), mincharnum: attr.int(1), pad_value: attr.string(PAD_STRING), tokenexp: attr.string('(?s).') },
    },
    {
      opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: [name('chars')], outputs: [name('ids_ragged')],
      attributes: {
        keys_strings: attr.strings([...tok.chars, PAD_STRING]),
        values_int64s: attr.ints([...tok.chars.map((_, i) => i), o.padId]),
        default_int64: attr.int(tok.unk),
      },
    },
    // Every row gets `context` pads on the right, then the first `context` ids are kept: short rows padded, long ones truncated.
    { opType: 'Pad', inputs: [name('ids_ragged'), name('pads'), name('pad_id')], outputs: [name('ids_padded')], attributes: { mode: attr.string('constant') } },
    { opType: 'Slice', inputs: [name('ids_padded'), name('zero'), name('context'), name('axis')], outputs: [o.output] },
  ];
  const initializers = [
    tensor.int64(name('pads'), [4], [0, 0, 0, o.context]),
    tensor.int64(name('pad_id'), [], [o.padId]),
    tensor.int64(name('zero'), [1], [0]),
    tensor.int64(name('context'), [1], [o.context]),
    tensor.int64(name('axis'), [1], [1]),
  ];
  return { nodes, initializers };
}

/** The ids the graph computes, in JavaScript (for training): rows × context, right-padded with `padId`, truncated. */
export function encodeWindows(tok: CharTokenizer, texts: readonly string[], context: number, padId: number): BigInt64Array {
  const out = new BigInt64Array(texts.length * context).fill(BigInt(padId));
  texts.forEach((text, r) => {
    const ids = tok.encode(text);
    for (let j = 0; j < Math.min(context, ids.length); j++) out[r * context + j] = BigInt(ids[j]!);
  });
  return out;
}
