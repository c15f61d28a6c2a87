/**
 * Hyper-parameter search spaces (API.md's tune `space`): dotted paths into a train spec, each a
 * list of choices or a numeric range. Grid, random and successive-halving candidates are drawn
 * here, deterministically from a seed, so a resumed tune job draws the same ones.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { closest } from '../../infra/did-you-mean.js';
import { Rng } from '../../ml/core/random.js';

export type Dimension =
  | { kind: 'choice'; values: unknown[] }
  | { kind: 'range'; min: number; max: number; log: boolean; integer: boolean; gridPoints: number; step?: number };

export type Space = Record<string, Dimension>;
export type Params = Record<string, unknown>;

/** Dimensions of one space, and choices of one dimension: a space is a handful of knobs, not a data set. */
export const SPACE_LIMITS = { dimensions: 20, choices: 1_000 } as const;
const RANGE_FIELDS = ['min', 'max', 'log', 'integer', 'gridPoints', 'step'];

const fail = (path: string, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('invalid_search_space', `space['${path}']: ${message}`, { field: `space.${path}`, ...details });

/**
 * Parses a space; `known` lists the train-spec paths a key may name (see tunablePaths), so a typo
 * is a 422 with the nearest path rather than a trial that silently tunes nothing.
 */
export function parseSpace(raw: unknown, known: (space: Record<string, unknown>) => string[]): Space {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) {
    throw new InvalidInputError('invalid_search_space', `'space' must map spec paths to choices or ranges, e.g. {"training.learningRate": {"min": 1e-4, "max": 1e-1, "log": true}, "model.kind": ["mlp", "random_forest"]}.`, { field: 'space' });
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > SPACE_LIMITS.dimensions) {
    throw new InvalidInputError('invalid_search_space', `'space' has ${entries.length} keys; the limit is ${SPACE_LIMITS.dimensions}. Tune fewer parameters at once.`, { field: 'space', limit: SPACE_LIMITS.dimensions });
  }
  const paths = known(raw as Record<string, unknown>);
  const space: Space = {};
  for (const [path, d] of entries) {
    if (!paths.includes(path)) {
      const suggestion = closest(path, paths);
      throw fail(path, `not a path of the train spec${suggestion ? `; did you mean '${suggestion}'?` : '.'} Tunable paths here: ${paths.join(', ')}.`, suggestion ? { suggestion } : {});
    }
    space[path] = parseDimension(path, d);
  }
  return space;
}

function parseDimension(path: string, d: unknown): Dimension {
  if (Array.isArray(d)) {
    if (d.length === 0) throw fail(path, 'a list of choices needs at least one value.');
    if (d.length > SPACE_LIMITS.choices) throw fail(path, `has ${d.length} choices; the limit is ${SPACE_LIMITS.choices}.`, { limit: SPACE_LIMITS.choices });
    return { kind: 'choice', values: d };
  }
  const shape = 'give a list of choices, or {"min": a, "max": b} with a < b ("log": true for a log scale, "integer": true for whole numbers, "step" or "gridPoints" for the grid).';
  if (typeof d !== 'object' || d === null) throw fail(path, shape);
  const r = d as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!RANGE_FIELDS.includes(k)) {
      const suggestion = closest(k, RANGE_FIELDS);
      throw fail(path, `unknown range field '${k}'${suggestion ? `; did you mean '${suggestion}'?` : ';'} a range takes ${RANGE_FIELDS.join(', ')}.`);
    }
  }
  const { min, max } = r;
  if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max)) throw fail(path, shape);
  if (!(min < max)) throw fail(path, `min (${min}) must be less than max (${max}).`);
  for (const k of ['log', 'integer'] as const) if (r[k] !== undefined && typeof r[k] !== 'boolean') throw fail(path, `'${k}' must be true or false.`);
  const log = r.log === true;
  const integer = r.integer === true;
  if (log && min <= 0) throw fail(path, `a log-scale range needs min > 0; got min ${min}.`);
  if (integer && (!Number.isInteger(min) || !Number.isInteger(max))) throw fail(path, `an integer range needs integer bounds; got ${min} to ${max}.`);
  const points = r.gridPoints === undefined ? 3 : r.gridPoints;
  if (!Number.isInteger(points) || (points as number) < 2 || (points as number) > 20) throw fail(path, 'gridPoints must be an integer from 2 to 20.');
  if (r.step === undefined) return { kind: 'range', min, max, log, integer, gridPoints: points as number };
  if (log) throw fail(path, "'step' is for linear ranges; a log-scale range takes gridPoints.");
  if (r.gridPoints !== undefined) throw fail(path, "give either 'step' or 'gridPoints', not both.");
  const step = r.step;
  if (typeof step !== 'number' || !Number.isFinite(step) || step <= 0 || step > max - min || (integer && !Number.isInteger(step))) {
    throw fail(path, `step must be a${integer ? 'n integer' : ' number'} > 0 and at most max - min (${max - min}); got ${JSON.stringify(step)}.`);
  }
  return { kind: 'range', min, max, log, integer, gridPoints: stepCount(min, max, step), step };
}

/** Grid values of a stepped range: min, min + step, … up to max (a float tolerance so 0.1 steps reach max). */
const stepCount = (min: number, max: number, step: number) => Math.floor((max - min) / step + 1e-9) + 1;

/** How many distinct grid values a dimension contributes, without listing them. */
export function gridSize(d: Dimension): number {
  if (d.kind === 'choice') return new Set(d.values.map((v) => JSON.stringify(v))).size;
  if (d.integer && d.step === undefined) return Math.min(d.gridPoints, d.max - d.min + 1);
  return d.gridPoints;
}

/**
 * Points in the full grid, counted before any is built (the product of the dimensions' sizes):
 * a grid of 20 keys with 10 choices each is 10^20 points, which must be a 422, not an allocation.
 */
export function countGrid(space: Space, cap: number): { points: number; factors: string[]; over: boolean } {
  let points = 1;
  const factors: string[] = [];
  for (const [path, d] of Object.entries(space)) {
    const n = gridSize(d);
    factors.push(`${path}: ${n}`);
    points *= n; // ≤ 20 dimensions: a double holds the product (Infinity only for absurd steps)
  }
  return { points, factors, over: points > cap };
}

function rangeValue(d: Extract<Dimension, { kind: 'range' }>, u: number): number {
  if (d.step !== undefined) return d.min + Math.min(d.gridPoints - 1, Math.floor(u * d.gridPoints)) * d.step;
  const v = d.log ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min);
  return d.integer ? Math.round(v) : v;
}

/** The i-th of a range's grid values: `step` apart, or `gridPoints` evenly spaced on its scale. */
function gridValue(d: Extract<Dimension, { kind: 'range' }>, i: number): number {
  return d.step !== undefined ? d.min + i * d.step : rangeValue(d, i / (d.gridPoints - 1));
}

/** Every combination; a range contributes its grid values. Call countGrid first: this builds them all. */
export function gridCandidates(space: Space): Params[] {
  let out: Params[] = [{}];
  for (const [path, d] of Object.entries(space)) {
    const values = d.kind === 'choice' ? d.values : Array.from({ length: d.gridPoints }, (_, i) => gridValue(d, i));
    const unique = [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
    out = out.flatMap((p) => unique.map((v) => ({ ...p, [path]: v })));
  }
  return out;
}

/**
 * n distinct random candidates: a draw already seen is drawn again, so a small space of choices
 * (2 kinds, say) gives each of its points once rather than the same trial many times.
 */
export function randomCandidates(space: Space, n: number, seed: number): Params[] {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: Params[] = [];
  for (let tries = 0; out.length < n && tries < n * 50; tries++) {
    const p: Params = {};
    for (const [path, d] of Object.entries(space)) p[path] = d.kind === 'choice' ? d.values[rng.int(d.values.length)] : rangeValue(d, rng.float());
    const key = JSON.stringify(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** A copy of `spec` with `params` set at their dotted paths; a new model kind starts from a clean model object. */
export function applyParams<T extends Record<string, unknown>>(spec: T, params: Params): T {
  const out = structuredClone(spec) as Record<string, any>;
  const kind = params['model.kind'];
  if (kind !== undefined && kind !== out.model?.kind) out.model = { kind };
  for (const [path, value] of Object.entries(params)) {
    const keys = path.split('.');
    let obj = out;
    for (const k of keys.slice(0, -1)) obj = obj[k] = typeof obj[k] === 'object' && obj[k] !== null ? obj[k] : {};
    obj[keys[keys.length - 1]!] = value;
  }
  return out as T;
}
