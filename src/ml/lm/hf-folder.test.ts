/**
 * The Hugging Face folder of a GPT trained here: every file parses, the tokenizer loads in
 * tokenizers.js with our ids, and the ONNX model, driven only by what config.json and the
 * tokenizer files say (as transformers.js does), greedily continues a prompt exactly as our own
 * sampler does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { createGpt, lmLogitsModel, sample, trainLm } from '../../engine/lm/index.js';
import { Rng } from '../../engine/init.js';
import { openSession } from '../../engine/runtime.js';
import { CharTokenizer, trainBpe, type TextTokenizer } from '../text/index.js';
import { HF_FILES, hfFolder } from './hf-folder.js';

const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(20);

test('config, tokenizer and model of the folder work together, as a GPT-2 loader reads them', async () => {
  for (const tokenizer of [CharTokenizer.train([text]), trainBpe([text], 270)] as TextTokenizer[]) {
    const gpt = createGpt({ vocabSize: tokenizer.vocabSize, context: 16, layers: 1, heads: 2, dim: 16 }, 0);
    await trainLm(gpt, Int32Array.from(tokenizer.encode(text)), undefined, {
      steps: 40, batchSize: 8, seed: 0, stepsPerCall: 20, optimizer: { type: 'adamw', learningRate: 1e-2, weightDecay: 0.1 },
    });
    const files = hfFolder(gpt, tokenizer);
    assert.deepEqual([...files.keys()], [...HF_FILES]);
    const read = (name: string) => JSON.parse(Buffer.from(files.get(name)!).toString('utf8'));
    const config = read('config.json');
    assert.equal(config.model_type, 'gpt2');
    assert.equal(config.vocab_size, tokenizer.vocabSize);
    assert.equal(read('generation_config.json').eos_token_id, tokenizer.endOfText ?? null);

    const hf = new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    const prompt = 'the dog';
    const ids = hf.encode(prompt).ids;
    assert.deepEqual(ids, tokenizer.encode(prompt));

    // Greedy decoding with the cache, shapes taken from config.json as transformers.js does.
    const s = await ort.InferenceSession.create(files.get('onnx/model.onnx')!);
    const headDim = config.n_embd / config.n_head;
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < config.n_layer; i++) for (const k of ['key', 'value']) feeds[`past_key_values.${i}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [1, config.n_head, 0, headDim]);
    const tokens = [...ids];
    let step = tokens;
    for (let n = 0; n < 6; n++) {
      const at = tokens.length - step.length;
      const out = await s.run({
        ...feeds,
        input_ids: new ort.Tensor('int64', BigInt64Array.from(step, BigInt), [1, step.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(tokens.length).fill(1n), [1, tokens.length]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(step, (_, i) => BigInt(at + i)), [1, step.length]),
      });
      const logits = out.logits!.data as Float32Array;
      const last = logits.subarray((step.length - 1) * config.vocab_size, step.length * config.vocab_size);
      const next = last.indexOf(Math.max(...last));
      for (let i = 0; i < config.n_layer; i++) for (const k of ['key', 'value']) feeds[`past_key_values.${i}.${k}`] = out[`present.${i}.${k}`]!;
      tokens.push(next);
      step = [next];
    }
    await s.release();
    const ours = await openSession(lmLogitsModel(gpt, gpt.config.context));
    const expected = await sample(ours, gpt, ids, 6, gpt.config.context, 0, new Rng(0));
    await ours.release();
    assert.deepEqual(tokens.slice(ids.length), expected, 'the exported decoder continues the prompt as the engine does');
    assert.equal(hf.decode(tokens), tokenizer.decode(tokens));
  }
});
