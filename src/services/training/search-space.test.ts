/** Random search draws distinct candidates: a small space of choices gives each point once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpace as parse, randomCandidates } from './search-space.js';

/** Every key of the space counts as a train-spec path here: this test is about drawing. */
const parseSpace = (raw: Record<string, unknown>) => parse(raw, (space) => Object.keys(space));

test('random candidates are distinct: 10 trials over 2 choices are 2 trials', () => {
  const two = randomCandidates(parseSpace({ 'model.kind': ['random_forest', 'gradient_boosting'] }), 10, 0);
  assert.deepEqual(new Set(two.map((p) => p['model.kind'])), new Set(['random_forest', 'gradient_boosting']));
  assert.equal(two.length, 2);
  const ranged = randomCandidates(parseSpace({ 'model.maxDepth': { min: 1, max: 1000, integer: true }, 'model.kind': ['a', 'b'] }), 10, 1);
  assert.equal(ranged.length, 10);
  assert.equal(new Set(ranged.map((p) => JSON.stringify(p))).size, 10);
});
