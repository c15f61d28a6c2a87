/**
 * Hyper-parameter search spaces (API.md's tune `space`): dotted paths into a train spec, each a
 * list of choices or a numeric range. Grid, random and successive-halving candidates are drawn
 * here, deterministically from a seed, so a resumed tune job draws the same ones.
 */
import { unprocessable } from '../../infra/errors.js';
import { Rng } from '../../ml/estimators/random.js';

export type Dimension =
  | { kind: 'choice'; values: unknown[] }
  | { kind: 'range'; min: number; max: number; log: boolean; integer: boolean; gridPoints: number };

export type Space = Record<string, Dimension>;
export type Params = Record<string, unknown>;

const fail = (path: string, message: string) => unprocessable('invalid_search_space', `space['${path}']: ${message}`, { field: `space.${path}` });

export function parseSpace(raw: unknown): Space {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) {
    throw unprocessable('invalid_search_space', `'space' must map spec paths to choices or ranges, e.g. {"training.learningRate": {"min": 1e-4, "max": 1e-1, "log": true}, "model.kind": ["mlp", "random_forest"]}.`, { field: 'space' });
  }
  const space: Space = {};
  for (const [path, d] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^(model|training|preprocessing|split)\.[A-Za-z0-9_.]+$/.test(path)) throw fail(path, `paths start with model., training. or split. (e.g. "model.maxDepth").`);
    if (Array.isArray(d)) {
      if (d.length === 0) throw fail(path, 'a list of choices needs at least one value.');
      space[path] = { kind: 'choice', values: d };
      continue;
    }
    const r = d as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || typeof r.min !== 'number' || typeof r.max !== 'number' || !(r.min < r.max)) {
      throw fail(path, 'give a list of choices, or {"min": a, "max": b} with a < b (and "log": true for a log scale, "integer": true for whole numbers).');
    }
    if (r.log && r.min <= 0) throw fail(path, 'a log-scale range needs min > 0.');
    const points = r.gridPoints === undefined ? 3 : r.gridPoints;
    if (!Number.isInteger(points) || (points as number) < 2 || (points as number) > 20) throw fail(path, 'gridPoints must be an integer from 2 to 20.');
    space[path] = { kind: 'range', min: r.min, max: r.max, log: r.log === true, integer: r.integer === true, gridPoints: points as number };
  }
  return space;
}

function rangeValue(d: Extract<Dimension, { kind: 'range' }>, u: number): number {
  const v = d.log ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min);
  return d.integer ? Math.round(v) : v;
}

/** Every combination; a range contributes `gridPoints` evenly spaced values (on its scale). */
export function gridCandidates(space: Space): Params[] {
  let out: Params[] = [{}];
  for (const [path, d] of Object.entries(space)) {
    const values = d.kind === 'choice' ? d.values : Array.from({ length: d.gridPoints }, (_, i) => rangeValue(d, i / (d.gridPoints - 1)));
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
