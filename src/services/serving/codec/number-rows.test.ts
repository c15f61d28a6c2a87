import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readNumberRows } from './number-rows.js';

const enc = (s: string) => new TextEncoder().encode(s);
const read = (s: string, width: number, dtype: 'float32' | 'float64' = 'float64', maxRows = 100) => {
  const b = enc(s);
  return readNumberRows(b, 0, b.length, width, dtype, maxRows);
};

/** What JSON.parse and a typed array make of the same body: the values to match, bit for bit. */
function reference(s: string, dtype: 'float32' | 'float64'): number[] {
  const rows = (JSON.parse(s) as { instances: number[][] }).instances;
  return Array.from(dtype === 'float32' ? new Float32Array(rows.flat()) : new Float64Array(rows.flat()));
}

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Number texts of every JSON form: integers, decimals, exponents, signs, long mantissas, tiny and huge. */
function numberText(r: () => number): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  const sign = r() < 0.3 ? '-' : '';
  const int = r() < 0.3 ? '0' : String(1 + Math.floor(r() * 9)) + digits(Math.floor(r() * 12));
  const frac = r() < 0.6 ? '.' + digits(1 + Math.floor(r() * 20)) : '';
  const exp = r() < 0.3 ? (r() < 0.5 ? 'e' : 'E') + (['', '+', '-'][Math.floor(r() * 3)]) + String(Math.floor(r() * 40)) : '';
  return sign + int + frac + exp;
}

test('numbers of every form read exactly as JSON.parse reads them (float64 and float32)', () => {
  const r = rng(7);
  for (let trial = 0; trial < 200; trial++) {
    const width = 1 + Math.floor(r() * 20);
    const rows = 1 + Math.floor(r() * 4);
    const body = JSON.stringify({ instances: [] }).replace('[]', '[' + Array.from({ length: rows }, () => '[' + Array.from({ length: width }, () => numberText(r)).join(',') + ']').join(',') + ']');
    for (const dtype of ['float64', 'float32'] as const) {
      const got = read(body, width, dtype);
      const want = reference(body, dtype);
      // A value beyond the type's range is left to the general path, which refuses it naming row and column.
      if (want.some((v) => !Number.isFinite(v))) {
        assert.equal(got, undefined, `read although out of ${dtype} range: ${body}`);
        continue;
      }
      assert.ok(got, `not read: ${body}`);
      assert.equal(got.rows, rows);
      assert.ok(got.data instanceof (dtype === 'float32' ? Float32Array : Float64Array));
      assert.equal(got.data.length, want.length);
      want.forEach((v, i) => assert.ok(Object.is(got.data[i], v), `${body}: value ${i} is ${got.data[i]}, JSON.parse says ${v}`));
    }
  }
});

test('a number a float32 cannot hold is left to the general path; a float64 holds it', () => {
  for (const t of ['1e39', '-1e39', '3.5e38', '340282356779733661637539395458142568448']) {
    assert.equal(read(`{"instances": [[1, ${t}]]}`, 2, 'float32'), undefined, t);
    assert.equal(read(`{"instances": [[1, ${t}]]}`, 2, 'float64')!.data[1], Number(t), t);
  }
  assert.equal(read('{"instances": [[1, 3.4028234e38]]}', 2, 'float32')!.data[1], Math.fround(3.4028234e38));
  assert.equal(read('{"instances": [[1, 1e999]]}', 2, 'float64'), undefined);
});

test('edge numbers: -0, 0.000…, 15 and 16 significant digits, exponents near the limits', () => {
  const texts = ['-0', '0', '0.0', '0.000000000000000000001234', '123456789012345', '1234567890123456', '12345678901234567890',
    '9007199254740993', '1e22', '1e23', '1e-22', '1e-23', '4.9e-324', '1e-400', '1.7976931348623157e308', '0.1', '0.3', '2.5e-3', '-7.25E+2'];
  const body = `{"instances": [[${texts.join(', ')}]]}`;
  const got = read(body, texts.length);
  assert.ok(got);
  texts.forEach((t, i) => assert.ok(Object.is(got.data[i], JSON.parse(t)), `${t}: got ${got.data[i]}`));
});

test('whitespace anywhere JSON allows it, several rows, and the "inputs" key', () => {
  const got = read(' \n{ "inputs" :\t[ [ 1 , 2 ] ,\r\n[3,4] ] }\n', 2);
  assert.deepEqual(got && { rows: got.rows, data: Array.from(got.data) }, { rows: 2, data: [1, 2, 3, 4] });
  const many = read(JSON.stringify({ instances: Array.from({ length: 9 }, (_, i) => [i, -i, i / 4]) }), 3);
  assert.equal(many?.rows, 9);
  assert.deepEqual(Array.from(many!.data).slice(-3), [8, -8, 2]);
});

test('anything else is left to the general path (undefined), never guessed', () => {
  const refused = [
    '{"instances": [[1, 2, 3]]}', // width 2 expected
    '{"instances": [[1]]}',
    '{"instances": [[1, 2], [3]]}', // ragged
    '{"instances": [[1, null]]}',
    '{"instances": [[1, "2"]]}',
    '{"instances": [[1, true]]}',
    '{"instances": [[[1, 2]]]}', // nested
    '{"instances": [{"a": 1, "b": 2}]}',
    '{"instances": []}',
    '{"instances": [[1, 2]], "extra": 1}',
    '{"rows": [[1, 2]]}',
    '{"instan\\u0063es": [[1, 2]]}',
    '{"instances": [[1, 2]]} x',
    '{"instances": [[1, 2]]',
    '{"instances": [[01, 2]]}',
    '{"instances": [[1., 2]]}',
    '{"instances": [[.5, 2]]}',
    '{"instances": [[+1, 2]]}',
    '{"instances": [[1e, 2]]}',
    '{"instances": [[-, 2]]}',
    '{"instances": [[1e400, 2]]}', // not finite: the general path refuses it with its 422
    '{"instances": [[NaN, 2]]}',
    '[[1, 2]]',
    '',
  ];
  for (const body of refused) assert.equal(read(body, 2), undefined, body);
});

test('more than maxRows rows is left to the general path (which refuses it with its own error)', () => {
  assert.equal(read('{"instances": [[1, 2], [3, 4], [5, 6]]}', 2, 'float64', 2), undefined);
  assert.equal(read('{"instances": [[1, 2], [3, 4]]}', 2, 'float64', 2)?.rows, 2);
});

test('reads only its own bytes of a shared buffer', () => {
  const a = '{"instances": [[1, 2]]}';
  const b = enc(a + '5{"instances": [[3, 4]]}');
  const got = readNumberRows(b, 0, a.length, 2, 'float32', 10);
  assert.deepEqual(got && Array.from(got.data), [1, 2]);
  // A body cut right after a number must not borrow the digit that follows in the buffer.
  const cut = '{"instances": [[1, 2';
  assert.equal(readNumberRows(enc(cut + '5]]}'), 0, cut.length, 2, 'float32', 10), undefined);
  const second = readNumberRows(b, a.length + 1, b.length, 2, 'float32', 10);
  assert.deepEqual(second && Array.from(second.data), [3, 4]);
});
