/**
 * Tokenizers: round trips in every script, GPT-2 ids equal to the reference (js-tiktoken), BPE
 * training equal to the textbook algorithm, and every tokenizer.json we write read by Hugging Face's
 * tokenizers.js with the same ids.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Tokenizer } from '@huggingface/tokenizers';
import { getEncoding } from 'js-tiktoken';
import { InvalidInputError } from '../../infra/errors.js';
import { EXAMPLES } from '../testing/data-testkit.js';
import { BYTE_TO_CHAR, preTokenize } from './byte-level.js';
import { buildTokenizer, CharTokenizer, END_OF_TEXT, gpt2Tokenizer, readTokenizerJson, tokenizerConfig, trainBpe, type TextTokenizer } from './index.js';

const SAMPLES = [
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  "I'm sure they'll say we've 12 apples, 3.5 pears & 1,000 $.",
  'naïve café, déjà vu, Ærøskøbing, São Paulo, Ångström',
  'emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷 ok',
  '中文没有空格，也能分词。春眠不觉晓，处处闻啼鸟。',
  '日本語のテキストとカタカナ、한국어 텍스트',
  '  leading spaces,\ttabs\tand\nnew\n\nlines  \r\n',
  'Ελληνικά και русский текст, עברית, العربية',
];

const kjv = gunzipSync(readFileSync(`${EXAMPLES}kjv.txt.gz`)).toString('utf8');
const kjvLines = kjv.split('\n');

/** tokenizers.js reading the document as it is stored: JSON text. */
const hfOf = (t: TextTokenizer) => new Tokenizer(JSON.parse(JSON.stringify(t.toJSON())), tokenizerConfig(t));

function assertSameAsHf(t: TextTokenizer, texts: string[]): void {
  const hf = hfOf(t);
  const reread = readTokenizerJson(JSON.parse(JSON.stringify(t.toJSON())), t.kind);
  for (const text of texts) {
    const ids = t.encode(text);
    assert.deepEqual(hf.encode(text).ids, ids, `tokenizers.js ids differ for ${JSON.stringify(text.slice(0, 40))}`);
    assert.deepEqual(reread.encode(text), ids, 'ids after reading our own tokenizer.json back');
    if (ids.length > 0) assert.equal(hf.decode(ids), t.decode(ids), 'tokenizers.js decodes the same');
  }
}

function assertRoundTrips(t: TextTokenizer, texts: string[]): void {
  for (const text of texts) {
    const ids = t.encode(text);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < t.vocabSize));
    assert.equal(t.decode(ids), text, `round trip of ${JSON.stringify(text)}`);
  }
}

describe('char', () => {
  const t = CharTokenizer.train(SAMPLES);

  test('one token per code point, ids in code-point order, round trips in every script', () => {
    assert.equal(t.encode('中文😀').length, 3);
    assert.equal(t.vocabSize, new Set(SAMPLES.join('')).size + 1);
    const chars = t.chars.map((c) => c.codePointAt(0)!);
    assert.deepEqual(chars, [...chars].sort((a, b) => a - b));
    assertRoundTrips(t, SAMPLES);
  });

  test('unseen characters map to <unk>; tokenizers.js agrees, ids and decoding', () => {
    assert.deepEqual(t.encode('a€'), [t.encode('a')[0], t.unk]);
    assertSameAsHf(t, [...SAMPLES, 'a€ unseen ✓']);
  });

  test('the KJV vocabulary: 62 characters', () => {
    const kj = CharTokenizer.train(kjvLines);
    assert.equal(kj.vocabSize, new Set(kjv.replace(/\n/g, '')).size + 1);
    assertSameAsHf(kj, [kjv.slice(0, 20_000)]);
  });
});

describe('gpt2', () => {
  const t = gpt2Tokenizer();
  const reference = getEncoding('gpt2');

  test("ids equal js-tiktoken's on every sample and on 200 KB of the KJV", () => {
    assert.equal(t.vocabSize, 50_257);
    for (const text of [...SAMPLES, kjv.slice(0, 200_000)]) assert.deepEqual(t.encode(text), reference.encode(text), text.slice(0, 40));
  });

  test('round trips, and <|endoftext|> is its special id (50256), as in Hugging Face', () => {
    assertRoundTrips(t, SAMPLES);
    assert.equal(t.endOfText, 50_256);
    assert.deepEqual(t.encode(`a${END_OF_TEXT}b`), [64, 50_256, 65]);
  });

  test('tokenizers.js reads our GPT-2 tokenizer.json and gives the same ids', () => {
    assertSameAsHf(t, [...SAMPLES, `one${END_OF_TEXT}two`, kjv.slice(0, 50_000)]);
  });
});

describe('bpe', () => {
  test('training equals the textbook algorithm (recount every pair after every merge)', () => {
    const rows = [...SAMPLES, ...kjvLines.slice(0, 300)];
    const fast = trainBpe(rows, 600);
    const slow = naiveMerges(rows, 600 - 257);
    const json = fast.toJSON();
    assert.deepEqual(json.model.merges, slow);
    assert.equal(fast.vocabSize, 600);
    assert.equal(json.added_tokens[0].content, END_OF_TEXT);
    assert.equal(json.added_tokens[0].id, 599);
  });

  test('trained on the whole KJV (4 MB): round trips anything, tokenizers.js agrees', () => {
    const t = trainBpe(kjvLines, 4096);
    assert.equal(t.vocabSize, 4096);
    assertRoundTrips(t, SAMPLES);
    const verse = kjvLines[0];
    assert.ok(t.encode(verse).length < Buffer.byteLength(verse) / 3, 'merges compress English well');
    assertSameAsHf(t, [...SAMPLES, kjv.slice(0, 100_000)]);
  });

  test('Chinese needs no spaces: a corpus of it trains merges inside the run of characters', () => {
    const rows = Array.from({ length: 50 }, () => '春眠不觉晓处处闻啼鸟夜来风雨声花落知多少');
    const t = trainBpe(rows, 300);
    assert.ok(t.encode('春眠不觉晓').length < Buffer.byteLength('春眠不觉晓'));
    assertRoundTrips(t, [...SAMPLES, rows[0]]);
    assertSameAsHf(t, [rows[0], ...SAMPLES]);
  });

  test('a vocabulary the rows cannot fill, or out of range, is a 422 naming tokenizer.vocabSize', () => {
    for (const [rows, size, code] of [[['ab ab'], 1000, 'vocabulary_too_large'], [SAMPLES, 100, 'invalid_tokenizer']] as const) {
      assert.throws(
        () => trainBpe(rows, size),
        (err: unknown) => err instanceof InvalidInputError && err.code === code && err.details?.field === 'tokenizer.vocabSize',
      );
    }
  });
});

test('buildTokenizer: the three kinds, and an unknown kind names the field', () => {
  assert.equal(buildTokenizer({ kind: 'char' }, () => ['ab']).vocabSize, 3);
  assert.equal(buildTokenizer({ kind: 'bpe', vocabSize: 258 }, () => ['abab abab']).vocabSize, 258);
  assert.equal(buildTokenizer({ kind: 'gpt2' }, () => []).kind, 'gpt2');
  assert.throws(() => buildTokenizer({ kind: 'wordpiece' }, () => []), (e: unknown) => e instanceof InvalidInputError && e.details?.field === 'tokenizer.kind');
});

/** The textbook BPE trainer: count all pairs, merge the most frequent (ties: smallest ids), repeat. */
function naiveMerges(rows: string[], n: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const row of rows) for (const p of preTokenize(row)) counts.set(p, (counts.get(p) ?? 0) + 1);
  let words = [...counts].map(([p, c]) => ({ ids: Array.from(Buffer.from(p, 'utf8')), c }));
  const tokens = [...BYTE_TO_CHAR];
  const merges: [string, string][] = [];
  for (let m = 0; m < n; m++) {
    const pairs = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; i++) pairs.set(`${w.ids[i]},${w.ids[i + 1]}`, (pairs.get(`${w.ids[i]},${w.ids[i + 1]}`) ?? 0) + w.c);
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null || bestCount < 2) break;
    const id = tokens.length;
    tokens.push(tokens[best[0]] + tokens[best[1]]);
    merges.push([tokens[best[0]], tokens[best[1]]]);
    words = words.map((w) => {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === best![0] && w.ids[i + 1] === best![1]) {
          out.push(id);
          i++;
        } else out.push(w.ids[i]);
      }
      return { ids: out, c: w.c };
    });
  }
  return merges;
}
