/** Preprocessing: steps validated, fitted on training rows only, applied by the ONNX graph alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { assemble } from '../../onnx/compose.js';
import { encodeModel } from '../../onnx/model.js';
import { InvalidInputError } from '../../infra/errors.js';
import { buildFeeds, type RawTable } from '../training-table.js';
import { fitPreprocessing } from './fit.js';
import { preprocessingInputs, preprocessingPart } from './onnx.js';
import { autoSteps, planSteps, type ColumnInfo } from './steps.js';

const table: RawTable = {
  rows: 6,
  columns: [
    { name: 'age', type: 'integer', values: Float64Array.from([20, 30, NaN, 40, 1000, 50]) },
    { name: 'income', type: 'number', values: Float64Array.from([1, 2, 3, 4, 5, 6]) },
    { name: 'city', type: 'category', codes: Int32Array.from([0, 1, 0, -1, 2, 0]), dictionary: ['paris', 'rome', 'oslo'] },
  ],
};
const info: ColumnInfo[] = [
  { name: 'age', type: 'integer', missing: 1 }, { name: 'income', type: 'number', missing: 0 }, { name: 'city', type: 'category', missing: 1 },
];

async function runGraph(fitted: ReturnType<typeof fitPreprocessing>, rows: number[]): Promise<Float32Array> {
  const part = preprocessingPart(fitted);
  const model = encodeModel(assemble({ name: 'pre', inputs: preprocessingInputs(fitted), parts: [part], outputs: part.outputs }));
  const session = await ort.InferenceSession.create(model);
  try {
    const { features, categories } = buildFeeds(table, fitted.numeric.map((c) => c.name), fitted.categorical.map((c) => c.name), rows);
    const out = await session.run({
      features: new ort.Tensor('float32', features, [rows.length, fitted.numeric.length]),
      categories: new ort.Tensor('string', categories, [rows.length, fitted.categorical.length]),
    });
    return out.preprocessed!.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('impute, clip, standardize and one-hot are fitted on training rows and run as ONNX', async () => {
  const steps = planSteps([
    { op: 'impute', strategy: 'median' },
    { op: 'clip_outliers', method: 'iqr', columns: ['age'] },
    { op: 'standardize', columns: ['income'] },
    { op: 'one_hot' },
  ], info);
  const train = Int32Array.from([0, 1, 2, 3, 4]); // row 5 is held out: its values must not be seen
  const fitted = fitPreprocessing(table, ['age', 'income', 'city'], train, steps, { modelHandlesMissing: false });
  assert.deepEqual(fitted.featureNames, ['age', 'income', 'city=paris', 'city=oslo', 'city=rome']);
  // age median over train [20, 30, 40, 1000] = 35; IQR bounds of [20, 30, 35, 40, 1000]: q1 30, q3 40 → [15, 55]
  const fill = fitted.numericOps[0]!;
  assert.deepEqual(fill, { op: 'fill', values: [35, 3] });
  const clip = fitted.numericOps[1]!;
  assert.ok(clip.op === 'clip' && clip.lo[0] === 15 && clip.hi[0] === 55 && clip.lo[1] === -Infinity);
  const out = await runGraph(fitted, [2, 3, 4, 5]);
  const std = Math.sqrt([1, 2, 3, 4, 5].reduce((a, x) => a + (x - 3) ** 2, 0) / 5);
  const expected = [
    [35, (3 - 3) / std, 1, 0, 0], // age imputed; paris
    [40, (4 - 3) / std, 1, 0, 0], // city missing → imputed as most frequent (paris)
    [55, (5 - 3) / std, 0, 1, 0], // age 1000 clipped to 55; oslo
    [50, (6 - 3) / std, 1, 0, 0],
  ].flat();
  expected.forEach((v, i) => assert.ok(Math.abs(out[i]! - v) < 1e-5, `out[${i}] = ${out[i]}, expected ${v}`));
});

test('a column first read by a later step sees the earlier steps applied; an unread one still has its missing values counted', () => {
  // scale reads no values, so 'income' is first read by clip_outliers: on [2, 4, 6, 8, 10] (scaled), q1 4, q3 8 → [−2, 14].
  const steps = planSteps([{ op: 'scale', factor: 2 }, { op: 'clip_outliers', method: 'iqr', columns: ['income'] }], info);
  const fitted = fitPreprocessing(table, ['income'], Int32Array.from([0, 1, 2, 3, 4]), steps, { modelHandlesMissing: false });
  const clip = fitted.numericOps[1]!;
  assert.ok(clip.op === 'clip' && clip.lo[0] === -2 && clip.hi[0] === 14, JSON.stringify(clip));
  // 'age' is never read by a step, and its missing training value is still found.
  assert.throws(() => fitPreprocessing(table, ['age', 'income'], Int32Array.from([0, 1, 2, 3, 4]), steps, { modelHandlesMissing: false }),
    /Column 'age' has 1 missing values/);
  assert.doesNotThrow(() => fitPreprocessing(table, ['age', 'income'], Int32Array.from([0, 1, 3, 4]), steps, { modelHandlesMissing: false }));
});

test('unknown categories at serving time become all zeros', async () => {
  const fitted = fitPreprocessing(table, ['income', 'city'], Int32Array.from([0, 1, 2]), planSteps([{ op: 'one_hot' }, { op: 'minmax' }], info), { modelHandlesMissing: false });
  assert.deepEqual(fitted.featureNames, ['income', 'city=paris', 'city=rome']);
  const out = await runGraph(fitted, [4, 3]); // oslo unseen in training, row 3 missing and not imputed
  assert.deepEqual(Array.from(out), [2, 0, 0, 1.5, 0, 0]);
});

test('bad steps are refused with what to fix', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof InvalidInputError);
      return `${e.code}: ${e.message}`;
    }
    return 'no error';
  };
  assert.match(code(() => planSteps([{ op: 'normalise' }], info)), /unknown op 'normalise'/);
  assert.match(code(() => planSteps([{ op: 'standardize', columns: ['city'] }], info)), /works on numbers.*'city'/);
  assert.match(code(() => planSteps([{ op: 'drop', columns: ['zip'] }], info)), /'zip' is not a feature column/);
  assert.match(code(() => planSteps([{ op: 'scale', factor: 2, colour: 1 }], info)), /unknown field 'colour'/);
  assert.match(code(() => planSteps([{ op: 'drop', columns: ['age'] }, { op: 'minmax', columns: ['age'] }], info)), /dropped by an earlier step/);
  assert.match(code(() => fitPreprocessing(table, ['age', 'city'], Int32Array.from([0, 1, 2]), planSteps([{ op: 'one_hot' }], info), { modelHandlesMissing: false })), /missing_values: Column 'age' has 1 missing/);
  assert.match(code(() => fitPreprocessing(table, ['income', 'city'], Int32Array.from([0, 1]), planSteps([{ op: 'standardize' }], info), { modelHandlesMissing: false })), /unencoded_column: Column 'city'/);
});

test('"auto" imputes, standardizes and one-hots; pixel data is scaled by its own range, whatever it is', () => {
  const steps = autoSteps(info, new Map());
  assert.deepEqual(steps.map((s) => s.op), ['drop_duplicates', 'impute', 'standardize', 'one_hot']);
  const columns = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, type: 'integer' as const, missing: 0 }));
  // Several shapes: 8×8 digits in 0..16, 28×28 MNIST in 0..255 (borders never lit), counts of very different ranges.
  const digits = columns(64);
  const digitRanges = new Map(digits.map((p, i) => [p.name, { min: 0, max: i % 8 === 0 ? 0 : 16 }]));
  const mnist = columns(784);
  const mnistRanges = new Map(mnist.map((p, i) => [p.name, { min: 0, max: i < 100 ? 0 : 255 }]));
  const counts = columns(80);
  const countRanges = new Map(counts.map((p, i) => [p.name, { min: 0, max: i < 60 ? 5 : 100_000 }]));
  assert.deepEqual(autoSteps(digits, digitRanges)[2], { op: 'minmax', shared: true });
  assert.deepEqual(autoSteps(mnist, mnistRanges)[2], { op: 'minmax', shared: true });
  assert.deepEqual(autoSteps(counts, countRanges)[2], { op: 'standardize' }, 'count-like columns with ranges far apart are standardized');
  assert.deepEqual(autoSteps(columns(63), digitRanges)[2], { op: 'standardize' }, 'too few columns for an image');
  const signed = new Map(digits.map((p) => [p.name, { min: -3, max: 16 }]));
  assert.deepEqual(autoSteps(digits, signed)[2], { op: 'standardize' });

  // The shared range is the one observed on the training rows: 0..16 digits become 0..1, not 0..0.06.
  for (const top of [16, 255]) {
    const table = { rows: 3, columns: [
      { name: 'a', type: 'integer' as const, values: Float64Array.from([0, top / 2, 1000]) },
      { name: 'b', type: 'integer' as const, values: Float64Array.from([top, 0, 0]) },
    ] } as never;
    const fitted = fitPreprocessing(table, ['a', 'b'], Int32Array.from([0, 1]), planSteps([{ op: 'minmax', shared: true }], [
      { name: 'a', type: 'integer', missing: 0 }, { name: 'b', type: 'integer', missing: 0 },
    ]), { modelHandlesMissing: false });
    assert.deepEqual(fitted.numericOps, [{ op: 'affine', sub: [0, 0], mul: [1 / top, 1 / top] }], 'row 2 (not a training row) does not count');
  }
});
