import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, didYouMean, editDistance } from './did-you-mean.js';

test('edit distance, with an early stop past the limit', () => {
  assert.equal(editDistance('petal_length', 'petal_length'), 0);
  assert.equal(editDistance('petal_lenght', 'petal_length'), 2);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('abcdef', 'uvwxyz', 2), 3, 'stops at limit + 1');
});

test('the closest known name when it is a likely typo, ignoring case; none when nothing is close', () => {
  const columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'color'];
  assert.equal(closest('petal_lenght', columns), 'petal_length');
  assert.equal(closest('Sepal_Width', columns), 'sepal_width');
  assert.equal(closest('colour', columns), 'color');
  assert.equal(closest('species', columns), undefined);
  assert.equal(closest('x', ['X', 'y']), 'X');
  assert.equal(didYouMean('colr', columns), " Did you mean 'color'?");
  assert.equal(didYouMean('zzz', columns), '');
});
