import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, didYouMean, editDistance } from './did-you-mean.js';

test('edit distance, a swap of neighbours counting as one edit, with an early stop past the limit', () => {
  assert.equal(editDistance('petal_length', 'petal_length'), 0);
  assert.equal(editDistance('petal_lenght', 'petal_length'), 1);
  assert.equal(editDistance('petal_lenhgt', 'petal_length'), 2);
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
  assert.equal(closest('depth', ['maxDepth', 'nEstimators']), 'maxDepth', 'a unique name containing the word');
  assert.equal(closest('cv', ['colour']), undefined);
  assert.equal(didYouMean('colr', columns), " Did you mean 'color'?");
  assert.equal(didYouMean('zzz', columns), '');
});

test('spec fields: swaps, case, and the one known word containing the input', () => {
  const known = ['test', 'validation', 'seed'];
  assert.equal(editDistance('tset', 'test'), 1);
  assert.equal(editDistance('hiden', 'hidden'), 1);
  assert.equal(closest('tset', known), 'test');
  assert.equal(closest('learningrate', ['learningRate', 'epochs']), 'learningRate');
  assert.equal(closest('colour', known), undefined);
  assert.equal(closest('cv', ['cv', 'name']), 'cv');
  assert.equal(closest('max', ['maxDepth', 'maxIter']), undefined, 'two words contain it: no guess');
  assert.equal(didYouMean('hiden', ['hidden', 'dropout']), " Did you mean 'hidden'?");
});
