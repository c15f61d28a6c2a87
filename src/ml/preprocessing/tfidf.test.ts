/** tf-idf: the graph's tokenizer and vectorizer equal the training-time ones, on tricky strings too. */
import { InvalidInputError } from '../../infra/errors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { assemble } from '../../onnx/compose.js';
import { encodeModel } from '../../onnx/model.js';
import type { RawTable } from '../training-table.js';
import { fitPreprocessing } from './fit.js';
import { preprocessingInputs, preprocessingPart } from './onnx.js';
import { autoSteps, planSteps, type ColumnInfo, type Step } from './steps.js';
import { tfidfRows, tokenize } from './tfidf.js';

const TRAIN = [
  'The cat sat on the mat. The cat!',
  'Dogs, cats & mice: a zoo?',
  'Café crème, À LA CARTE — naïve façade',
  '北京欢迎你 你好世界',
  'ΣΊΣΥΦΟΣ ΚΑΙ ΟΔΥΣΣΕΑΣ İstanbul',
  'repeat repeat repeat repeat',
  'snake_case and camelCase 42 x 3.14',
  '',
];
// Unseen strings, the train ones again, odd whitespace, emoji, only short tokens, only unknown words.
const SERVE = [...TRAIN, '  the   CAT\tsat\n', 'emoji 🙂 cat 🙂 cat', 'a b c d', 'zzz yyy', 'CAFÉ Crème', '你好世界 北京欢迎你', 'the the the cat cat'];

function textTable(texts: string[]): RawTable {
  const dictionary = [...new Set(texts)];
  return { rows: texts.length, columns: [{ name: 'text', type: 'text', codes: Int32Array.from(texts, (t) => dictionary.indexOf(t)), dictionary }] };
}

async function inGraph(steps: Step[], serve: string[]) {
  const fitted = fitPreprocessing(textTable(TRAIN), ['text'], Int32Array.from(TRAIN.keys()), steps, { modelHandlesMissing: false });
  const part = preprocessingPart(fitted);
  const session = await ort.InferenceSession.create(encodeModel(assemble({ name: 'pre', inputs: preprocessingInputs(fitted), parts: [part], outputs: part.outputs })));
  try {
    const out = await session.run({ categories: new ort.Tensor('string', serve, [serve.length, 1]) });
    return { fitted, graph: out.preprocessed!.data as Float32Array, dims: out.preprocessed!.dims };
  } finally {
    await session.release();
  }
}

test('the tokenizer lower-cases per code point and keeps runs of 2+ letters, digits, underscores (Unicode)', () => {
  assert.deepEqual(tokenize('The cat sat on the mat. The cat!', true), ['the', 'cat', 'sat', 'on', 'the', 'mat', 'the', 'cat']);
  assert.deepEqual(tokenize('Café crème, À LA CARTE — naïve', true), ['café', 'crème', 'la', 'carte', 'naïve']);
  assert.deepEqual(tokenize('北京欢迎你 你好世界', true), ['北京欢迎你', '你好世界']);
  assert.deepEqual(tokenize('ΣΊΣΥΦΟΣ İstanbul', true), ['σίσυφοσ', 'istanbul']);
  assert.deepEqual(tokenize('snake_case camelCase 3.14 x', false), ['snake_case', 'camelCase', '14']);
  assert.deepEqual(tokenize('', true), []);
});

for (const [what, step] of [
  ['unigrams and bigrams, sublinear tf', { op: 'tfidf', ngrams: [1, 2], sublinearTf: true }],
  ['unigrams to trigrams, raw tf, top 25 terms', { op: 'tfidf', ngrams: [1, 3], maxFeatures: 25 }],
  ['bigrams only, case kept', { op: 'tfidf', ngrams: [2, 2], lowercase: false }],
] as [string, Step][]) {
  test(`tf-idf in the graph equals the training-time features: ${what}`, async () => {
    const { fitted, graph, dims } = await inGraph([step], SERVE);
    const f = fitted.tfidf[0]!;
    assert.deepEqual(dims, [SERVE.length, f.terms.length]);
    assert.equal(fitted.featureNames.length, f.terms.length);
    if (step.op === 'tfidf' && step.maxFeatures) assert.equal(f.terms.length, step.maxFeatures);
    const ref = tfidfRows(f, SERVE);
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - graph[i]!));
    assert.ok(maxDiff < 1e-6, `max |graph − reference| = ${maxDiff}`);
    // Rows with known terms are unit vectors; the empty string and unknown words are zero rows.
    const norm = (i: number) => Math.hypot(...graph.subarray(i * f.terms.length, (i + 1) * f.terms.length));
    assert.ok(Math.abs(norm(0) - 1) < 1e-5);
    assert.equal(norm(TRAIN.indexOf('')), 0);
    assert.equal(norm(SERVE.indexOf('zzz yyy')), 0);
  });
}

test('tf-idf: the vocabulary and idf come from the training rows only; a batch without any token works', async () => {
  const { fitted, graph, dims } = await inGraph([{ op: 'tfidf', ngrams: [1, 2], sublinearTf: true }], ['', 'a b']);
  const f = fitted.tfidf[0]!;
  assert.ok(f.terms.includes('cat sat') && f.terms.includes('北京欢迎你') && !f.terms.includes('zzz'));
  // smooth idf: ln((1 + n) / (1 + df)) + 1; 'cat' is in one of the 8 training rows.
  assert.ok(Math.abs(f.idf[f.terms.indexOf('cat')]! - (Math.log(9 / 2) + 1)) < 1e-12);
  assert.deepEqual(dims, [2, f.terms.length]);
  assert.ok(graph.every((v) => v === 0));
});

test('"auto" vectorizes text columns with tfidf instead of dropping them', () => {
  const steps = autoSteps([{ name: 'text', type: 'text', missing: 0 }, { name: 'n', type: 'number', missing: 0 }], new Map());
  assert.deepEqual(steps.find((s) => s.op === 'tfidf'), { op: 'tfidf', columns: ['text'], ngrams: [1, 2], sublinearTf: true });
  assert.equal(steps.some((s) => s.op === 'drop'), false);
});

test('tfidf steps are validated naming the field', () => {
  const cols: ColumnInfo[] = [{ name: 'text', type: 'text', missing: 0 }, { name: 'n', type: 'number', missing: 0 }];
  const fails = (steps: unknown, field: RegExp) => assert.throws(() => planSteps(steps, cols), (e: unknown) => {
    assert.ok(e instanceof InvalidInputError && e.code === 'invalid_preprocessing', String(e));
    assert.match(e.message, field);
    return true;
  });
  fails([{ op: 'tfidf', columns: ['txt'] }], /preprocessing\[0\]: column 'txt' is not a feature column.*Did you mean 'text'/);
  fails([{ op: 'tfidf', columns: ['n'] }], /preprocessing\[0\]\.columns: 'tfidf' vectorizes text columns, but 'n' is number/);
  fails([{ op: 'tfidf', ngrams: [2, 1] }], /preprocessing\[0\]\.ngrams: must be \[min, max\]/);
  fails([{ op: 'tfidf', ngrams: [0, 2] }], /preprocessing\[0\]\.ngrams/);
  fails([{ op: 'tfidf', maxFeatures: 0 }], /preprocessing\[0\]\.maxFeatures: must be an integer from 1/);
  fails([{ op: 'tfidf', sublinearTF: true }], /preprocessing\[0\]\.sublinearTF: unknown field.*[dD]id you mean 'sublinearTf'/);
  fails([{ op: 'tfidf', lowercase: 'yes' }], /preprocessing\[0\]\.lowercase: must be true or false/);
  assert.equal(planSteps([{ op: 'tfidf', columns: ['text'], ngrams: [1, 2], maxFeatures: 500, sublinearTf: true, lowercase: false }], cols).length, 1);
});

test('a text column nobody encodes is refused with the tfidf step to add', () => {
  assert.throws(() => fitPreprocessing(textTable(TRAIN), ['text'], Int32Array.from(TRAIN.keys()), [], { modelHandlesMissing: false }),
    (e: unknown) => e instanceof InvalidInputError && /"op": "tfidf", "columns": \["text"\]/.test(e.message));
});
