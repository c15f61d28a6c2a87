import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, didYouMean, editDistance } from './suggest.js';

test('edit distance counts a swap of neighbours as one edit, ignoring case', () => {
  assert.equal(editDistance('tset', 'test'), 1);
  assert.equal(editDistance('hiden', 'hidden'), 1);
  assert.equal(editDistance('learningrate', 'learningRate'), 0);
  assert.equal(editDistance('', 'abc'), 3);
});

test('closest suggests plausible typos only, or the one known word containing the input', () => {
  const known = ['test', 'validation', 'seed'];
  assert.equal(closest('tset', known), 'test');
  assert.equal(closest('colour', known), undefined);
  assert.equal(closest('cv', ['cv', 'name']), 'cv');
  assert.equal(closest('depth', ['maxDepth', 'maxIter']), 'maxDepth');
  assert.equal(closest('max', ['maxDepth', 'maxIter']), undefined, 'two words contain it: no guess');
  assert.equal(didYouMean('hiden', ['hidden', 'dropout']), " Did you mean 'hidden'?");
  assert.equal(didYouMean('zzz', ['hidden']), '');
});
