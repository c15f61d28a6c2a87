/** The in-graph character tokenizer gives the ids the JavaScript one gives, in every script, padded and truncated alike. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openSession } from '../../engine/runtime.js';
import { DataType, DEFAULT_OPSETS, type ModelDef } from '../../onnx/model.js';
import { CharTokenizer } from './char.js';
import { charTokenizerNodes, encodeWindows } from './char-graph.js';

const TEXTS = [
  'Hello, world!', 'naïve café, déjà vu', 'emoji 😀👍🏽 family 👨‍👩‍👧 ok', '中文没有空格，也能分词。',
  'tabs\tand\nnew\n\nlines\r\n', '', ' ', 'a very long line that is longer than the context of the model, so it is cut',
];

test('graph ids equal encodeWindows (unseen characters are <unk>, short rows padded, long ones truncated)', async () => {
  const tok = CharTokenizer.train(TEXTS.slice(0, 5));
  const context = 16;
  const padId = tok.vocabSize;
  const part = charTokenizerNodes(tok, { input: 'text', output: 'ids', context, padId, prefix: 'tok_' });
  const model: ModelDef = {
    graph: {
      name: 'chars', nodes: part.nodes, initializers: part.initializers,
      inputs: [{ name: 'text', type: { elemType: DataType.STRING, shape: ['N'] } }],
      outputs: [{ name: 'ids', type: { elemType: DataType.INT64, shape: ['N', context] } }],
    },
    opsets: [...DEFAULT_OPSETS, { domain: 'com.microsoft', version: 1 }], irVersion: 8,
  };
  const session = await openSession(model);
  try {
    for (const texts of [TEXTS, ['', ''], ['zzz unseen ☃']]) {
      const out = await session.run({ text: new ort.Tensor('string', texts, [texts.length]) });
      assert.deepEqual(out.ids!.dims, [texts.length, context]);
      assert.deepEqual([...(out.ids!.data as BigInt64Array)], [...encodeWindows(tok, texts, context, padId)], JSON.stringify(texts));
    }
  } finally {
    await session.release();
  }
});
