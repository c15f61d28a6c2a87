/**
 * Hugging Face model folders for the import, embeddings and rate-limit tests: a tiny GPT as the
 * platform exports it (hf-folder.ts), the same without its key/value cache, an encoder whose
 * `last_hidden_state` is an embedding lookup (so mean pooling has a known answer), a decoder
 * whose weights live in an external data file, and a zip writer (stored entries) to pack them.
 */
import { crc32 } from 'node:zlib';
import { createGpt, lmLogitsModel } from '../../engine/lm/index.js';
import { DataType, DEFAULT_OPSETS, encodeModel, tensor, type ValueInfo } from '../../onnx/model.js';
import { hfFolder } from '../lm/hf-folder.js';
import { CharTokenizer, tokenizerConfig } from '../text/index.js';

export const FOLDER_TEXT = 'the cat sat on the mat. the dog sat on the log.';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A 1-layer GPT (random weights) with its char tokenizer: the folder a trained causal_lm downloads as. */
export function tinyGptFolder(seed = 0): Map<string, Uint8Array> {
  const tokenizer = CharTokenizer.train([FOLDER_TEXT]);
  const gpt = createGpt({ vocabSize: tokenizer.vocabSize, context: 16, layers: 1, heads: 2, dim: 8 }, seed);
  return hfFolder(gpt, tokenizer);
}

/** The tiny GPT's folder with a graph that has no key/value cache (logits over a fixed window). */
export function decoderWithoutCacheFolder(): Map<string, Uint8Array> {
  const files = tinyGptFolder();
  const tokenizer = CharTokenizer.train([FOLDER_TEXT]);
  const gpt = createGpt({ vocabSize: tokenizer.vocabSize, context: 16, layers: 1, heads: 2, dim: 8 }, 0);
  files.set('onnx/model.onnx', encodeModel(lmLogitsModel(gpt, 16)));
  return files;
}

/**
 * An encoder: last_hidden_state[b, t] = table[input_ids[b, t]] (a Gather), table[i][d] = i + d / 10,
 * so the mean-pooled embedding of a text is known from its token ids. Char tokenizer of FOLDER_TEXT.
 * `externalData`: the table is kept in onnx/model.onnx_data, as large exports keep their weights.
 */
export function lookupEncoderFolder(dim = 4, o: { externalData?: boolean } = {}): { files: Map<string, Uint8Array>; table: (id: number) => number[]; encode: (text: string) => number[] } {
  const tokenizer = CharTokenizer.train([FOLDER_TEXT]);
  const vocab = tokenizer.vocabSize;
  const row = (i: number) => Array.from({ length: dim }, (_, d) => i + d / 10);
  const table = Float32Array.from(Array.from({ length: vocab }, (_, i) => row(i)).flat());
  const graph = encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'lookup_encoder',
      inputs: [
        { name: 'input_ids', type: { elemType: DataType.INT64, shape: ['batch', 'sequence'] } },
        { name: 'attention_mask', type: { elemType: DataType.INT64, shape: ['batch', 'sequence'] } },
      ],
      outputs: [{ name: 'last_hidden_state', type: { elemType: DataType.FLOAT, shape: ['batch', 'sequence', dim] } }],
      initializers: [o.externalData
        ? { ...tensor.float('table', [vocab, dim], []), external: { location: 'model.onnx_data', offset: 0, length: table.byteLength } }
        : tensor.float('table', [vocab, dim], table)],
      nodes: [
        { opType: 'Gather', inputs: ['table', 'input_ids'], outputs: ['gathered'] },
        // attention_mask is an input of every Hugging Face encoder; this one's output does not depend on it.
        { opType: 'Identity', inputs: ['gathered'], outputs: ['last_hidden_state'] },
        { opType: 'Shape', inputs: ['attention_mask'], outputs: ['mask_shape'] },
      ],
    },
  });
  const files = new Map<string, Uint8Array>([
    ['config.json', json({ architectures: ['BertModel'], model_type: 'bert', hidden_size: dim, num_hidden_layers: 1, vocab_size: vocab })],
    ['tokenizer.json', json(tokenizer.toJSON())],
    ['tokenizer_config.json', json(tokenizerConfig(tokenizer))],
    ['onnx/model.onnx', graph],
  ]);
  if (o.externalData) files.set('onnx/model.onnx_data', new Uint8Array(table.buffer));
  return { files, table: row, encode: (text) => tokenizer.encode(text) };
}

/**
 * The graph of a decoder (the contract's inputs and outputs, no nodes) whose one weight of
 * `bytes` bytes is in the external file `onnx/model.onnx_data`: for the streaming tests, which
 * never load it. `withCache: false` leaves out the cache tensors of layer 1 (of 2).
 */
export function externalDataDecoderGraph(bytes: number, o: { withCache?: boolean } = {}): Uint8Array {
  const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, type: { elemType: DataType.FLOAT, shape } });
  const i64 = (name: string): ValueInfo => ({ name, type: { elemType: DataType.INT64, shape: ['batch', 'sequence'] } });
  const layers = o.withCache === false ? [0] : [0, 1];
  return encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'external_decoder',
      inputs: [i64('input_ids'), i64('attention_mask'), ...layers.flatMap((l) => [f(`past_key_values.${l}.key`, ['batch', 2, 'past', 4]), f(`past_key_values.${l}.value`, ['batch', 2, 'past', 4])])],
      outputs: [f('logits', ['batch', 'sequence', 32]), ...layers.flatMap((l) => [f(`present.${l}.key`, ['batch', 2, 'total', 4]), f(`present.${l}.value`, ['batch', 2, 'total', 4])])],
      initializers: [{ ...tensor.float('wte', [bytes / 4], []), external: { location: 'model.onnx_data', offset: 0, length: bytes } }],
      nodes: [],
    },
  });
}

/** The files of a folder as a .zip with stored (uncompressed) entries, as `zip -0` writes them. */
export function zipStored(files: ReadonlyMap<string, Uint8Array>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, n, Buffer.from(data));
    central.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.size, 8); end.writeUInt16LE(files.size, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
