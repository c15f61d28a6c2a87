import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayFieldElements } from './json-elements.js';

/** What splitting must give: each element re-parsed equals the parsed field's element. */
function agrees(body: unknown, keys: string[]) {
  const text = JSON.stringify(body, null, Math.random() < 0.5 ? 0 : 2);
  const parsed = body as Record<string, unknown>;
  const want = keys.map((k) => parsed[k]).find((v) => Array.isArray(v)) as unknown[] | undefined;
  const got = arrayFieldElements(text, keys);
  assert.deepEqual(got?.map((e) => JSON.parse(e)), want);
}

test('the elements of a top-level array field, as text, strings with brackets and escapes included', () => {
  agrees({ instances: [[1, 2.5, -3e-7], [4, 5, 6]] }, ['instances', 'inputs']);
  agrees({ impute: true, instances: [{ a: 'x,]}', b: null, c: [1, [2]] }, { a: 'q\\"[', b: 2 }] }, ['instances', 'inputs']);
  agrees({ meta: { instances: [9] }, inputs: [{ k: '{' }] }, ['instances', 'inputs']);
  agrees({ inputs: [1], instances: [2, 3] }, ['instances', 'inputs']);
  agrees({ predictions: [{ label: 'a', probabilities: [0.1, 0.9] }], model: 'm', version: 1 }, ['predictions']);
  agrees({ other: 1 }, ['instances']);
  assert.deepEqual(arrayFieldElements('{"instances": [ ]}', ['instances']), []);
  assert.deepEqual(arrayFieldElements('{ "instances" : [ 1 , "a" ] }', ['instances']), ['1', '"a"']);
});
