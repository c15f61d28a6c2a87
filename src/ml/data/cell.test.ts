import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOOLEAN, cell, classifyBytes, classifyValue, MISSING, NUMBER, parseNumberBytes, STRING } from './cell.js';

const classify = (s: string) => {
  const b = Buffer.from(s);
  return classifyBytes(b, 0, b.length);
};

const parse = (s: string): number | undefined => {
  const b = Buffer.from(s);
  return parseNumberBytes(b, 0, b.length) ? cell.num : undefined;
};

test('missing tokens', () => {
  for (const s of ['', '   ', 'NA', 'N/A', 'null', 'NULL', 'NaN', 'nan', ' NA ']) assert.equal(classify(s), MISSING, JSON.stringify(s));
  for (const s of ['na', 'Null', 'None', 'n/a', '-', 'NAN']) assert.equal(classify(s), STRING, JSON.stringify(s));
});

test('booleans are true/false in any case; yes/no stay strings', () => {
  for (const [s, v] of [
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['false', false],
    [' FALSE ', false],
  ] as const) {
    assert.equal(classify(s), BOOLEAN, s);
    assert.equal(cell.bool, v);
  }
  for (const s of ['yes', 'no', 'Y', 't', 'f', 'truth', 'falsey']) assert.equal(classify(s), STRING, s);
});

test('numbers parse exactly like Number()', () => {
  const samples = ['0', '-0', '+7', '12', '007', '3.14', '-0.5', '.5', '5.', '1e3', '1E-3', '-2.5e+10', '123456789012345', '1234567890123456789',
    '0.1', '0.30000000000000004', '4.35', '9007199254740993', '1e22', '1e23', '1.7976931348623157e308', '5e-324', '0.000001234', '121923517.41'];
  for (const s of samples) assert.equal(parse(s), Number(s), s);
  // random decimals in several notations, compared bit for bit with Number()
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 20000; i++) {
    const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
    for (const s of [String(x), x.toFixed(Math.floor(rand() * 12)), x.toExponential(Math.floor(rand() * 17)), x.toPrecision(1 + Math.floor(rand() * 20))]) {
      assert.ok(Object.is(parse(s), Number(s)), s);
    }
  }
});

test('non-numbers are rejected', () => {
  for (const s of ['1e', '--1', '1.2.3', '0x10', 'Infinity', '-Infinity', '1,000', '+', '-', '.', 'e5', '1e400', '12abc', '1 2', '١٢']) {
    assert.equal(parse(s), undefined, s);
  }
  assert.equal(classify('1e400'), STRING); // not finite: the column becomes text
  assert.equal(classify(' 42 '), NUMBER);
  assert.equal(cell.num, 42);
});

test('JSON values follow the same rules', () => {
  assert.equal(classifyValue(undefined), MISSING);
  assert.equal(classifyValue(null), MISSING);
  assert.equal(classifyValue('NA'), MISSING);
  assert.equal(classifyValue(3.5), NUMBER);
  assert.equal(cell.num, 3.5);
  assert.equal(classifyValue('12'), NUMBER);
  assert.equal(cell.num, 12);
  assert.equal(classifyValue(false), BOOLEAN);
  assert.equal(cell.bool, false);
  assert.equal(classifyValue('hello'), STRING);
  assert.equal(cell.str, 'hello');
  assert.equal(classifyValue({ a: [1] }), STRING);
  assert.equal(cell.str, '{"a":[1]}');
});
