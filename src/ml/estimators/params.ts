/**
 * Parameter validation shared by the estimators: every invalid value becomes an InvalidInputError
 * `bad_params` naming the parameter, the allowed range and the value received.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { closest } from '../../infra/did-you-mean.js';
import type { Matrix, Target } from './types.js';

export function badParam(param: string, allowed: string, value: unknown) {
  return new InvalidInputError('bad_params', `Parameter '${param}' must be ${allowed}; got ${JSON.stringify(value)}.`, {
    param, allowed, value,
  });
}

/** An integer in [min, max]; `undefined` gives the default. */
export function intParam(params: Record<string, unknown>, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = params[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badParam(name, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`, v);
  }
  return v;
}

/** An integer in [min, max] or null (meaning "no limit"); `undefined` gives the default. */
export function optionalIntParam(params: Record<string, unknown>, name: string, def: number | null, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  const v = params[name];
  if (v === undefined) return def;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badParam(name, max === Number.MAX_SAFE_INTEGER ? `null or an integer ≥ ${min}` : `null or an integer in [${min}, ${max}]`, v);
  }
  return v;
}

/** A finite number in the interval; `open` excludes the bounds. */
export function numParam(
  params: Record<string, unknown>, name: string, def: number, min: number, max: number,
  open: { min?: boolean; max?: boolean } = {},
): number {
  const v = params[name];
  if (v === undefined) return def;
  const ok = typeof v === 'number' && Number.isFinite(v)
    && (open.min ? v > min : v >= min) && (open.max ? v < max : v <= max);
  if (!ok) {
    const lo = `${open.min ? '(' : '['}${min}`;
    const hi = `${max === Infinity ? '∞)' : `${max}${open.max ? ')' : ']'}`}`;
    throw badParam(name, `a number in ${lo}, ${hi}`, v);
  }
  return v as number;
}

export function boolParam(params: Record<string, unknown>, name: string, def: boolean): boolean {
  const v = params[name];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw badParam(name, 'true or false', v);
  return v;
}

export function enumParam<T extends string>(params: Record<string, unknown>, name: string, def: T, allowed: readonly T[]): T {
  const v = params[name];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw badParam(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  return v as T;
}

/** Rejects parameters the estimator does not know (a typo should not silently fall back to a default). */
export function checkKnown(params: Record<string, unknown>, known: readonly string[], model: string): void {
  for (const k of Object.keys(params)) {
    if (k === 'kind') continue;
    if (!known.includes(k)) {
      const suggestion = closest(k, known);
      throw new InvalidInputError('bad_params', `Unknown parameter '${k}' for ${model}${suggestion ? `; did you mean '${suggestion}'?` : '.'} Known parameters: ${known.join(', ')}.`, {
        param: k, known, ...(suggestion ? { suggestion } : {}),
      });
    }
  }
}

/** Checks that the matrix and the target agree and are usable. */
export function checkData(x: Matrix, target: Target, opts: { allowNaN: boolean; model: string }): void {
  if (x.rows < 1 || x.cols < 1 || x.data.length !== x.rows * x.cols) {
    throw new InvalidInputError('bad_data', `${opts.model}: the feature matrix must be rows × cols with rows, cols ≥ 1 (got ${x.rows} × ${x.cols}, ${x.data.length} values).`);
  }
  if (target.y.length !== x.rows) {
    throw new InvalidInputError('bad_data', `${opts.model}: ${target.y.length} targets for ${x.rows} rows.`);
  }
  if (!opts.allowNaN) {
    for (let i = 0; i < x.data.length; i++) {
      if (!Number.isFinite(x.data[i]!)) {
        throw new InvalidInputError('bad_data', `${opts.model} needs finite features: row ${Math.floor(i / x.cols)}, column ${i % x.cols} is ${x.data[i]}. Impute missing values first.`, {
          row: Math.floor(i / x.cols), column: i % x.cols,
        });
      }
    }
  } else {
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i]!;
      if (v === Infinity || v === -Infinity) {
        throw new InvalidInputError('bad_data', `${opts.model}: row ${Math.floor(i / x.cols)}, column ${i % x.cols} is infinite.`, {
          row: Math.floor(i / x.cols), column: i % x.cols,
        });
      }
    }
  }
  if (target.task === 'classification') {
    if (!Number.isInteger(target.classCount) || target.classCount < 2) {
      throw new InvalidInputError('bad_data', `${opts.model}: classification needs at least 2 classes (got classCount ${target.classCount}).`);
    }
    for (let i = 0; i < target.y.length; i++) {
      const c = target.y[i]!;
      if (c < 0 || c >= target.classCount) {
        throw new InvalidInputError('bad_data', `${opts.model}: row ${i} has class ${c}, outside [0, ${target.classCount - 1}].`, { row: i });
      }
    }
  } else {
    for (let i = 0; i < target.y.length; i++) {
      if (!Number.isFinite(target.y[i]!)) {
        throw new InvalidInputError('bad_data', `${opts.model}: the target of row ${i} is ${target.y[i]}; regression needs finite targets.`, { row: i });
      }
    }
  }
}

export function checkFeatures(x: Matrix, nFeatures: number, model: string): void {
  if (x.cols !== nFeatures || x.data.length !== x.rows * x.cols) {
    throw new InvalidInputError('bad_data', `${model} was fitted on ${nFeatures} features; got a matrix with ${x.cols} columns.`, {
      expected: nFeatures, got: x.cols,
    });
  }
}
