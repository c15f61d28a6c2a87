/** PSI, KS and the training profile against values worked out by hand (and KS p-values by scipy's kstwobign). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kolmogorovQ, ksTwoSample, psi } from './drift-stats.js';
import { categoricalProfile, featureDrift, numericProfile, SKETCH_POINTS } from './drift-profile.js';

const close = (actual: number, expected: number, tol = 1e-9) => assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected}`);

describe('PSI', () => {
  test('Σ (a − e) ln(a / e) over the shares', () => {
    // (−.15)ln .4 + (−.05)ln .8 + .05 ln 1.2 + .15 ln 1.6
    close(psi([25, 25, 25, 25], [10, 20, 30, 40]), 0.22821740957339182);
    close(psi([3, 3], [30, 30]), 0, 0);
  });
  test('an empty bin is floored at 1e-4, not infinite', () => {
    // 0 + (−.1)ln .8 + (.1 − 1e-4) ln(.1 / 1e-4)
    close(psi([50, 50, 0], [50, 40, 10]), 0.7123991075017365);
  });
});

describe('Kolmogorov–Smirnov', () => {
  test('the distance between the empirical distribution functions and its asymptotic p-value', () => {
    const r = ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]);
    close(r.statistic, 0.5);
    // scipy.stats.kstwobign.sf((√2 + 0.12 + 0.11/√2) · 0.5)
    close(r.pValue, 0.5344157192165071, 1e-9);
    assert.deepEqual(ksTwoSample([1, 2, 3], [1, 2, 3]), { statistic: 0, pValue: 1 });
    close(ksTwoSample([1, 2], [3, 4]).statistic, 1);
  });
  test('ties count on both sides at once', () => {
    close(ksTwoSample([1, 1, 2, 2], [1, 2, 2, 2]).statistic, 0.25);
  });
  test("Kolmogorov's Q", () => {
    close(kolmogorovQ(1), 0.26999967167735456, 1e-12);
    close(kolmogorovQ(0.5), 0.9639452436648751, 1e-12);
    assert.equal(kolmogorovQ(0), 1);
  });
  test('a sketch stands for its full sample in the p-value', () => {
    // scipy: kstwobign.sf((en + 0.12 + 0.11/en) · 0.12), en = √(1000·200/1200)
    const sketch = Array.from({ length: 100 }, (_, i) => i);
    const live = Array.from({ length: 200 }, (_, i) => (i < 176 ? i / 2 : 100 + i));
    const r = ksTwoSample(sketch, live, 1000);
    close(r.statistic, 0.12, 1e-12);
    close(r.pValue, 0.014952175391352676, 1e-9);
  });
});

describe('training profile', () => {
  const oneToHundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  test('numbers: decile edges, rows per bin, missing; shifted values drift, the same values do not', () => {
    const p = numericProfile('x', [...oneToHundred, NaN, NaN]);
    assert.deepEqual(p.edges.map((e) => Math.round(e * 10) / 10), [10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1]);
    assert.deepEqual(p.counts, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    assert.equal(p.missing, 2);
    assert.equal(p.present, 100);
    const same = featureDrift(p, { kind: 'numeric', values: [...oneToHundred, NaN, NaN] });
    close(same.psi, 0);
    assert.equal(same.ks!.statistic, 0);
    close(same.missingShare, 2 / 102);
    // Every live value in the last bin, none missing: Σ over 9 bins of (1e-4 − 10/102) ln(1e-4 / (10/102)) + (1 − 10/102) ln(1 / (10/102)) + (1e-4 − 2/102) ln(1e-4 / (2/102)).
    const shifted = featureDrift(p, { kind: 'numeric', values: new Array(50).fill(1000) });
    const e = 10 / 102;
    const m = 2 / 102;
    close(shifted.psi, 9 * (1e-4 - e) * Math.log(1e-4 / e) + (1 - e) * Math.log(1 / e) + (1e-4 - m) * Math.log(1e-4 / m), 1e-12);
    assert.equal(shifted.ks!.statistic, 1);
    assert.ok(shifted.ks!.pValue < 1e-10);
  });

  test('ties merge bins', () => {
    const p = numericProfile('flag', [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    // Deciles 0 (six times), 0.3, 1, 1: three distinct edges, four bins.
    assert.deepEqual(p.edges.map((e) => Math.round(e * 10) / 10), [0, 0.3, 1]);
    assert.deepEqual(p.counts, [7, 0, 3, 0]);
  });

  test('a large sample keeps a sketch of SKETCH_POINTS quantiles', () => {
    const p = numericProfile('big', Float64Array.from({ length: 10_000 }, (_, i) => i));
    assert.equal(p.sketch.length, SKETCH_POINTS);
    close(p.sketch[0]!, 0.0005 * 9999);
    close(featureDrift(p, { kind: 'numeric', values: Float64Array.from({ length: 10_000 }, (_, i) => i) }).ks!.statistic, 0, 1e-3);
  });

  test('integer columns (counted, not sorted by comparison) profile as the same values a quarter off', () => {
    // Pixel-like values with missing ones, a narrow range and a negative one: the counting path;
    // + 0.25 makes them non-integers, the comparison sort's path. Their profiles differ by the shift.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ints = Float64Array.from({ length: 5_000 }, () => (next() < 0.05 ? NaN : next() < 0.6 ? 0 : Math.floor(next() * 300) - 20));
    const a = numericProfile('pixel', ints);
    const b = numericProfile('pixel', ints.map((v) => v + 0.25));
    assert.deepEqual(a.counts, b.counts);
    assert.equal(a.missing, b.missing);
    assert.equal(a.sketch.length, SKETCH_POINTS);
    a.edges.forEach((e, i) => close(e + 0.25, b.edges[i]!));
    a.sketch.forEach((v, i) => close(v + 0.25, b.sketch[i]!));
    assert.ok(a.sketch.every((v, i) => i === 0 || v >= a.sketch[i - 1]!), 'the sketch is sorted');
  });

  test('categories: rows per category, missing, the share of unseen ones and PSI with a bin for them', () => {
    const p = categoricalProfile('c', ['a', 'a', 'b', null]);
    assert.deepEqual({ categories: p.categories, counts: p.counts, missing: p.missing, other: p.other }, { categories: ['a', 'b'], counts: [2, 1], missing: 1, other: 0 });
    const d = featureDrift(p, { kind: 'categorical', values: ['a', 'c', 'c', ''] });
    assert.equal(d.unseenShare, 0.5);
    assert.equal(d.missingShare, 0.25);
    // Bins a, b, other, unseen, missing: e = [.5, .25, 1e-4, 1e-4, .25], a = [.25, 1e-4, 1e-4, .5, .25].
    close(d.psi, 6.38626076964195, 1e-9);
    assert.equal(d.ks, undefined);
  });
});
