/**
 * From request bodies to graph feeds, and from graph outputs to answers, following the
 * signature convention of ./signature.ts. Pure functions (no ONNX Runtime), shared by the
 * predict route, the Open Inference Protocol route and their tests.
 *
 * `instances` (POST /v1/endpoints/{name}/predict):
 * - objects keyed by raw column (a model with a raw-column signature): each signature input is
 *   read from its column and written at `[row, index]` of its tensor (`features` float32 [N, F],
 *   `categories` string [N, K]). Numbers for number/integer columns, true/false (or 0/1) for
 *   boolean ones (as 1/0), strings for category/text ones (numbers and booleans are turned into
 *   their text). null marks a missing value: NaN (numbers) or '' (categories), which the graph
 *   imputes, when the column is nullable; refused otherwise. An absent column is refused unless
 *   the request asks for imputation (`impute`), and then goes in as missing; a key that is no
 *   column is always refused (with the closest column's name), so a typo never passes as a
 *   missing value.
 * - objects keyed by graph input (an imported model, whose signature has no raw columns): each
 *   key is an input tensor, each value that row's slice of it.
 * - arrays (of numbers, nested for images): the row of the model's single non-string input.
 * Numbers must fit the tensor's type (a float32 holds at most ±3.4028235e38). Every refusal is
 * a 422 whose details name the row (0-based) and the column. Nested arrays are walked to the
 * depth the tensor's shape allows and no further, so no body can exhaust the stack.
 */
import { InvalidInputError } from '../../../infra/errors.js';
import { closest } from '../../../infra/did-you-mean.js';
import {
  allocate, bad, describe, flatten, list, MAX_NESTING, mismatch, put, sameShape, shapeText,
  type FeedTensor, type Feeds, type Nesting, type TensorData,
} from '../../../ml/tensor-values.js';
import type { Signature, SignatureInput, SignatureTensor, TensorDtype } from '../../../ml/signature.js';

export { allocate, type FeedTensor, type Feeds, type TensorData } from '../../../ml/tensor-values.js';

export interface Prediction {
  label?: string | number | boolean;
  probabilities?: number[];
  value?: number | number[];
}

/** Rows per request, at most. */
export const MAX_ROWS = 100_000;

function checkRows(instances: unknown): unknown[] {
  if (!Array.isArray(instances) || instances.length === 0) {
    bad('invalid_instances', '`instances` must be a non-empty array of rows: objects keyed by column, or arrays of numbers.', { field: 'instances' });
  }
  if (instances.length > MAX_ROWS) {
    bad('too_many_rows', `At most ${MAX_ROWS} rows per request; split the request.`, { rows: instances.length, limit: MAX_ROWS });
  }
  return instances;
}

/** How a request's rows are read. */
export interface ReadOptions {
  /**
   * Absent columns go to the model's fitted imputation (as missing values: NaN for numbers, ''
   * for categories) instead of being refused. Only for columns the model can impute (nullable).
   */
  impute?: boolean;
}

/**
 * The rows of a predict body (`instances`, or its alias `inputs`) and its options (`impute`).
 * Checked as the route's schema would (an invalid input `invalid_request`, 422, naming the field), since the
 * body may be parsed off the HTTP path (in a replica thread).
 */
export function readPredictBody(body: unknown): { instances: unknown; options: ReadOptions } {
  const invalid = (path: string, message: string): never => {
    throw new InvalidInputError('invalid_request', `${path}: ${message}. See /docs for this route's schema.`, { errors: [{ path, message }] });
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) invalid('body', 'must be object');
  const b = body as { instances?: unknown; inputs?: unknown; impute?: unknown };
  if (b.instances !== undefined && !Array.isArray(b.instances)) invalid('body.instances', 'must be array');
  if (b.inputs !== undefined && !Array.isArray(b.inputs)) invalid('body.inputs', 'must be array');
  if (b.impute !== undefined && typeof b.impute !== 'boolean') invalid('body.impute', 'must be boolean');
  const instances = b.instances === undefined && Array.isArray(b.inputs) ? b.inputs : b.instances;
  return { instances, options: { impute: b.impute === true } };
}

/** Turns `instances` into feeds for a model with this signature. */
export function instancesToFeeds(sig: Signature, instances: unknown, options: ReadOptions = {}): { feeds: Feeds; rows: number } {
  const rows = checkRows(instances);
  const first = rows[0];
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    return sig.inputs.length > 0 ? columnsToFeeds(sig, rows, options) : namedTensorsToFeeds(sig, rows);
  }
  return arraysToFeeds(sig, rows);
}

/** Width (values per row) of the tensor a group of raw columns feeds. */
function columnWidth(t: SignatureTensor | undefined, cols: SignatureInput[]): number {
  const fromShape = t && t.shape.length === 2 && t.shape[1]! > 0 ? t.shape[1]! : 0;
  return Math.max(fromShape, ...cols.map((c) => c.index + 1));
}

/**
 * Every row is an object whose keys are columns of the model, and has every column unless
 * absent ones are to be imputed: a misspelled or forgotten column is refused (422 naming the
 * row and the column, with the closest column name), never silently imputed or ignored.
 */
function checkColumnRows(sig: Signature, rows: unknown[], options: ReadOptions): void {
  const names = new Set(sig.inputs.map((c) => c.name));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      bad('invalid_row', `Row ${r} is ${describe(row)}; every row must be an object keyed by column, like row 0.`, { row: r });
    }
    const obj = row as Record<string, unknown>;
    for (const k in obj) {
      if (names.has(k)) continue;
      const near = closest(k, names);
      bad('unknown_column', `Row ${r} has column '${k}', which this model does not take.${near ? ` Did you mean '${near}'?` : ''} Its columns: ${list([...names])}.`, {
        row: r, column: k, ...(near ? { suggestion: near } : {}),
      });
    }
    if (options.impute) continue;
    for (const c of sig.inputs) {
      if (obj[c.name] !== undefined) continue;
      const how = c.nullable
        ? `Send it (null marks a value as missing), or add "impute": true to the body to have the model impute absent columns.`
        : 'The model cannot impute it: send a value.';
      bad('missing_column', `Row ${r} has no column '${c.name}' (${c.type}). ${how}`, { row: r, column: c.name });
    }
  }
}

function columnsToFeeds(sig: Signature, rows: unknown[], options: ReadOptions): { feeds: Feeds; rows: number } {
  checkColumnRows(sig, rows, options);
  const n = rows.length;
  const groups = new Map<string, SignatureInput[]>();
  for (const c of sig.inputs) {
    const g = groups.get(c.tensor);
    if (g) g.push(c);
    else groups.set(c.tensor, [c]);
  }
  const feeds: Feeds = {};
  for (const [name, cols] of groups) {
    const t = sig.tensors.find((x) => x.name === name);
    const dtype: TensorDtype = t?.dtype ?? (cols.every((c) => c.type === 'category' || c.type === 'text') ? 'string' : 'float32');
    const width = columnWidth(t, cols);
    const data = allocate(dtype, n * width);
    for (let r = 0; r < n; r++) {
      const obj = rows[r] as Record<string, unknown>;
      for (const c of cols) {
        let v = obj[c.name];
        const at = r * width + c.index;
        if (v === undefined || v === null) {
          if (!c.nullable) {
            bad('missing_column', `Row ${r} has no value for column '${c.name}', which this model needs (${c.type}) and cannot impute.`, { row: r, column: c.name });
          }
          if (dtype === 'string') (data as string[])[at] = '';
          else if (dtype === 'float32' || dtype === 'float64') (data as Float32Array)[at] = NaN;
          else bad('missing_column', `Row ${r} has no value for column '${c.name}'.`, { row: r, column: c.name });
          continue;
        }
        if (dtype === 'string' && (typeof v === 'number' || typeof v === 'boolean')) v = String(v);
        const ok = (c.type === 'number' || c.type === 'integer') && typeof v === 'boolean' ? false : put(data, dtype, at, v);
        if (!ok) {
          const want = c.type === 'boolean' ? 'true or false' : c.type === 'category' || c.type === 'text' ? 'a string' : 'a number';
          bad('invalid_value', `Row ${r}, column '${c.name}': ${mismatch(dtype, v, want)}.`, { row: r, column: c.name, expected: c.type });
        }
      }
    }
    feeds[name] = { dtype, dims: [n, width], data };
  }
  return { feeds, rows: n };
}

/**
 * Rows of one tensor: each row a (nested) array of the tensor's row shape. A fully known row
 * shape also accepts the row's values flat; otherwise every row must have the shape of the
 * first. Any other nesting (deeper, shallower, a number for a row) is refused.
 */
function rowsToTensor(t: SignatureTensor, values: unknown[], columnOf: (r: number, j: number) => string, nullable?: (j: number) => boolean): FeedTensor {
  const n = values.length;
  const inner = t.shape.slice(1);
  const known = inner.every((d) => d > 0);
  const size = known ? inner.reduce((a, b) => a * b, 1) : -1;
  // The common case, a flat row of numbers into a float tensor of known width, skips flattening.
  if (known && inner.length === 1 && (t.dtype === 'float32' || t.dtype === 'float64')) {
    const out = fastFloatRows(t.dtype, values, size);
    if (out) return { dtype: t.dtype, dims: [n, size], data: out };
  }
  let rowShape: number[] | undefined = known ? inner : undefined;
  let data: TensorData | undefined;
  let width = size;
  const flat: unknown[] = [];
  for (let r = 0; r < n; r++) {
    flat.length = 0;
    const nesting: Nesting = { shape: [], leaf: -1 };
    const problem = flatten(values[r], flat, nesting, 0, Math.min(Math.max(inner.length, 1), MAX_NESTING));
    const shape = nesting.shape;
    const want = rowShape ? `rows of shape [${rowShape.join(', ')}]${known && inner.length > 1 ? ` (or ${width} values flat)` : ''}` : `rows of shape ${shapeText(inner)}`;
    if (problem === 'ragged') {
      bad('invalid_shape', `Row ${r} of '${t.name}' is a ragged array; every row must have the same shape.`, { row: r, column: t.name });
    }
    if (problem === 'deep' || shape.length === 0) {
      const what = problem === 'deep' ? 'is nested deeper than that' : `is ${describe(values[r])}`;
      bad('invalid_shape', `Row ${r} of '${t.name}' ${what}; this model takes ${want}.`, { row: r, column: t.name, expected: rowShape ?? inner });
    }
    if (rowShape === undefined) {
      if (shape.length !== inner.length || shape.some((d, i) => inner[i]! > 0 && inner[i] !== d)) {
        bad('invalid_shape', `Row ${r} of '${t.name}' has shape [${shape.join(', ')}]; this model takes ${want}.`, { row: r, column: t.name, expected: inner, got: shape });
      }
      rowShape = shape;
      width = shape.reduce((a, b) => a * b, 1);
    } else if (!sameShape(shape, rowShape) && !(known && shape.length === 1 && shape[0] === width)) {
      bad('invalid_shape', `Row ${r} of '${t.name}' has shape [${shape.join(', ')}]; this model takes ${known ? want : `shape [${rowShape.join(', ')}] like row 0`}.`, { row: r, column: t.name, expected: rowShape, got: shape });
    }
    data ??= allocate(t.dtype, n * width);
    for (let j = 0; j < flat.length; j++) {
      const v = flat[j];
      if ((v === null || v === undefined) && nullable?.(j) && (t.dtype === 'float32' || t.dtype === 'float64')) {
        (data as Float32Array)[r * width + j] = NaN;
        continue;
      }
      if (!put(data, t.dtype, r * width + j, v)) {
        bad('invalid_value', `Row ${r}, column '${columnOf(r, j)}': ${mismatch(t.dtype, v)}.`, { row: r, column: columnOf(r, j), expected: t.dtype });
      }
    }
  }
  return { dtype: t.dtype, dims: [n, ...(rowShape ?? [])], data: data ?? allocate(t.dtype, 0) };
}

/**
 * Flat rows of `width` finite numbers into a float tensor, or undefined at the first thing
 * that is not (the general reader then names it). A value stored as ±Infinity (beyond float32)
 * counts as not.
 */
function fastFloatRows(dtype: 'float32' | 'float64', values: unknown[], width: number): Float32Array | Float64Array | undefined {
  const out = allocate(dtype, values.length * width) as Float32Array;
  for (let r = 0; r < values.length; r++) {
    const row = values[r];
    if (!Array.isArray(row) || row.length !== width) return undefined;
    const at = r * width;
    for (let j = 0; j < width; j++) {
      const v = row[j];
      if (typeof v !== 'number') return undefined;
      out[at + j] = v;
      if (!Number.isFinite(out[at + j]!)) return undefined;
    }
  }
  return out;
}

/** Input tensors that take a batch: what arrays of numbers may feed. */
function numericInput(sig: Signature): SignatureTensor {
  const numeric = sig.tensors.filter((t) => t.dtype !== 'string');
  if (sig.tensors.length !== 1 || numeric.length !== 1) {
    const names = sig.tensors.map((t) => `'${t.name}' (${t.dtype})`).join(', ');
    const hint = sig.inputs.length > 0
      ? `send objects keyed by column (${sig.inputs.slice(0, 5).map((c) => c.name).join(', ')}${sig.inputs.length > 5 ? ', …' : ''})`
      : 'send objects keyed by input name, or use the Open Inference Protocol (/v2/models/{endpoint}/infer)';
    bad('invalid_instances', `Arrays of numbers feed a model with one numeric input; this one takes ${names}: ${hint}.`, { inputs: sig.tensors.map((t) => t.name) });
  }
  return numeric[0]!;
}

function arraysToFeeds(sig: Signature, rows: unknown[]): { feeds: Feeds; rows: number } {
  const t = numericInput(sig);
  const byIndex = new Map<number, SignatureInput>();
  for (const c of sig.inputs) if (c.tensor === t.name) byIndex.set(c.index, c);
  const columnOf = (_r: number, j: number) => byIndex.get(j)?.name ?? `${t.name}[${j}]`;
  if (t.shape.length === 1) {
    // A rank-1 input: each instance is one value.
    const data = allocate(t.dtype, rows.length);
    rows.forEach((v, r) => {
      if (!put(data, t.dtype, r, v)) {
        bad('invalid_value', `Row ${r}, column '${t.name}': ${mismatch(t.dtype, v)}.`, { row: r, column: t.name, expected: t.dtype });
      }
    });
    return { feeds: { [t.name]: { dtype: t.dtype, dims: [rows.length], data } }, rows: rows.length };
  }
  const feed = rowsToTensor(t, rows, columnOf, (j) => byIndex.get(j)?.nullable ?? false);
  return { feeds: { [t.name]: feed }, rows: rows.length };
}

function namedTensorsToFeeds(sig: Signature, rows: unknown[]): { feeds: Feeds; rows: number } {
  const feeds: Feeds = {};
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      bad('invalid_row', `Row ${r} is ${describe(row)}; every row must be an object keyed by input name, like row 0.`, { row: r });
    }
    for (const k in row as Record<string, unknown>) {
      if (sig.tensors.some((t) => t.name === k)) continue;
      const near = closest(k, sig.tensors.map((t) => t.name));
      bad('unknown_column', `Row ${r} has input '${k}', which this model does not take.${near ? ` Did you mean '${near}'?` : ''} Its inputs: ${list(sig.tensors.map((t) => t.name))}.`, {
        row: r, column: k, ...(near ? { suggestion: near } : {}),
      });
    }
    for (const t of sig.tensors) {
      if (!((row as Record<string, unknown>)[t.name] !== undefined)) {
        bad('missing_column', `Row ${r} has no value for input '${t.name}' (${t.dtype}, shape [${t.shape.join(', ')}]).`, { row: r, column: t.name });
      }
    }
  }
  for (const t of sig.tensors) {
    const values = rows.map((row) => (row as Record<string, unknown>)[t.name]);
    if (t.shape.length === 1) {
      const data = allocate(t.dtype, rows.length);
      values.forEach((v, r) => {
        if (!put(data, t.dtype, r, v)) bad('invalid_value', `Row ${r}, column '${t.name}': ${mismatch(t.dtype, v)}.`, { row: r, column: t.name, expected: t.dtype });
      });
      feeds[t.name] = { dtype: t.dtype, dims: [rows.length], data };
    } else {
      feeds[t.name] = rowsToTensor(t, values, () => t.name);
    }
  }
  return { feeds, rows: rows.length };
}

// ---------------------------------------------------------------------------------------------
// Open Inference Protocol (KServe v2) tensors

export const V2_DATATYPES: Record<TensorDtype, string> = {
  float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32', bool: 'BOOL', string: 'BYTES', uint8: 'UINT8', int8: 'INT8',
};
const FROM_V2: Record<string, TensorDtype> = Object.fromEntries(Object.entries(V2_DATATYPES).map(([k, v]) => [v, k as TensorDtype]));

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown;
  parameters?: Record<string, unknown>;
}

/**
 * The `inputs` of an OIP infer request. Either every input names a graph input (tensors, whose
 * datatype must be the graph's), or every input names a raw column of the signature (shape [N]
 * or [N, 1]): the columns are assembled into rows and go the way of `instances` (with the
 * request's `parameters.impute` as the predict body's `impute`). Each name comes once.
 */
export function v2InputsToFeeds(sig: Signature, inputs: V2Tensor[], options: ReadOptions = {}): { feeds: Feeds; rows: number } {
  if (!Array.isArray(inputs) || inputs.length === 0) bad('invalid_inputs', '`inputs` must be a non-empty array of {name, shape, datatype, data}.', { field: 'inputs' });
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.name)) bad('duplicate_input', `Input '${i.name}' is given more than once; send each input once.`, { column: i.name });
    seen.add(i.name);
  }
  const tensorNames = new Set(sig.tensors.map((t) => t.name));
  const columnNames = new Set(sig.inputs.map((c) => c.name));
  if (inputs.every((i) => tensorNames.has(i.name))) return v2Tensors(sig, inputs);
  if (sig.inputs.length > 0 && inputs.every((i) => columnNames.has(i.name))) return v2Columns(sig, inputs, options);
  const unknown = inputs.find((i) => !tensorNames.has(i.name) && !columnNames.has(i.name));
  if (!unknown) {
    const tensor = inputs.find((i) => tensorNames.has(i.name))!;
    bad('invalid_inputs', `Input '${tensor.name}' is a graph input but others are raw columns; send the graph inputs (${list([...tensorNames])}) or the columns (${list([...columnNames])}), not both.`, { column: tensor.name });
  }
  const near = closest(unknown.name, [...tensorNames, ...columnNames]);
  const known = sig.inputs.length > 0
    ? `graph inputs ${list([...tensorNames])} or columns ${list([...columnNames])}`
    : `graph inputs ${list([...tensorNames])}`;
  return bad('unknown_input', `Input '${unknown.name}' is not one this model takes.${near ? ` Did you mean '${near}'?` : ''} Use the ${known} (not both).`, {
    column: unknown.name, ...(near ? { suggestion: near } : {}),
  });
}

/**
 * An input's values, flat, after checking its shape: `data` is flat, or nested exactly as the
 * shape (never deeper: the walk stops there), and holds as many values as the shape says.
 */
function v2Data(i: V2Tensor): unknown[] {
  if (!Array.isArray(i.shape) || i.shape.length > MAX_NESTING || i.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    bad('invalid_shape', `Input '${i.name}': shape must be an array of at most ${MAX_NESTING} non-negative integers.`, { column: i.name });
  }
  const flat: unknown[] = [];
  const nesting: Nesting = { shape: [], leaf: -1 };
  const problem = flatten(i.data, flat, nesting, 0, Math.max(i.shape.length, 1));
  const got = nesting.shape;
  if (problem || (got.length > 1 && !sameShape(got, i.shape))) {
    const what = problem === 'deep' ? 'is nested deeper than its shape' : problem === 'ragged' ? 'is a ragged array' : `is nested as [${got.join(', ')}]`;
    bad('invalid_shape', `Input '${i.name}': data ${what}; send it flat or nested as its shape [${i.shape.join(', ')}].`, { column: i.name, shape: i.shape });
  }
  const size = i.shape.reduce((a, b) => a * b, 1);
  if (size !== flat.length) {
    bad('invalid_shape', `Input '${i.name}' has shape [${i.shape.join(', ')}] (${size} values) but ${flat.length} values in data.`, { column: i.name, shape: i.shape, values: flat.length });
  }
  return flat;
}

function v2Tensors(sig: Signature, inputs: V2Tensor[]): { feeds: Feeds; rows: number } {
  const feeds: Feeds = {};
  let rows = -1;
  for (const t of sig.tensors) {
    const i = inputs.find((x) => x.name === t.name);
    if (!i) bad('missing_input', `Input '${t.name}' (${V2_DATATYPES[t.dtype]}, shape [${t.shape.join(', ')}]) is missing.`, { column: t.name });
    const dtype = FROM_V2[i.datatype];
    if (dtype !== t.dtype) {
      bad('invalid_datatype', `Input '${t.name}' must have datatype ${V2_DATATYPES[t.dtype]}; got ${JSON.stringify(i.datatype)}.`, { column: t.name, expected: V2_DATATYPES[t.dtype], got: i.datatype });
    }
    const flat = v2Data(i);
    if (i.shape.length !== t.shape.length || i.shape.some((d, k) => t.shape[k]! > 0 && t.shape[k] !== d)) {
      bad('invalid_shape', `Input '${t.name}' has shape [${i.shape.join(', ')}]; this model takes [${t.shape.map((d) => (d > 0 ? d : '?')).join(', ')}].`, { column: t.name, expected: t.shape, got: i.shape });
    }
    const n = i.shape.length > 0 ? i.shape[0]! : 1;
    if (rows >= 0 && n !== rows) bad('invalid_shape', `Input '${t.name}' has ${n} rows but an earlier input has ${rows}; every input needs the same first dimension.`, { column: t.name });
    rows = n;
    const width = n > 0 ? flat.length / n : 0;
    const data = allocate(t.dtype, flat.length);
    for (let k = 0; k < flat.length; k++) {
      const v = flat[k];
      if (!put(data, t.dtype, k, v)) {
        const r = width > 0 ? Math.floor(k / width) : 0;
        bad('invalid_value', `Row ${r}, input '${t.name}': ${mismatch(t.dtype, v)}.`, { row: r, column: t.name, expected: V2_DATATYPES[t.dtype] });
      }
    }
    feeds[t.name] = { dtype: t.dtype, dims: [...i.shape], data };
  }
  return { feeds, rows: Math.max(rows, 0) };
}

function v2Columns(sig: Signature, inputs: V2Tensor[], options: ReadOptions): { feeds: Feeds; rows: number } {
  let n = -1;
  const columns = new Map<string, unknown[]>();
  for (const i of inputs) {
    const flat = v2Data(i);
    if (i.shape.length === 0 || i.shape.length > 2 || (i.shape.length === 2 && i.shape[1] !== 1)) {
      bad('invalid_shape', `Column '${i.name}' must have shape [N] or [N, 1]; got [${i.shape.join(', ')}].`, { column: i.name });
    }
    const col = sig.inputs.find((c) => c.name === i.name)!;
    const want = col.type === 'category' || col.type === 'text' ? ['BYTES'] : col.type === 'boolean' ? ['BOOL', 'INT64', 'INT32', 'FP32', 'FP64'] : ['FP32', 'FP64', 'INT64', 'INT32', 'INT8', 'UINT8'];
    if (!want.includes(i.datatype)) {
      bad('invalid_datatype', `Column '${i.name}' (${col.type}) must have datatype ${want.join(' or ')}; got ${JSON.stringify(i.datatype)}.`, { column: i.name, expected: want[0], got: i.datatype });
    }
    if (n >= 0 && i.shape[0] !== n) bad('invalid_shape', `Column '${i.name}' has ${i.shape[0]} rows but an earlier one has ${n}.`, { column: i.name });
    n = i.shape[0]!;
    columns.set(i.name, flat);
  }
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < n; r++) {
    const row: Record<string, unknown> = {};
    for (const [name, values] of columns) row[name] = values[r];
    rows.push(row);
  }
  return columnsToFeeds(sig, rows, options);
}

/** Output tensors as OIP outputs (optionally only those asked for). */
export function feedsToV2(outputs: Feeds, wanted?: string[]): V2Tensor[] {
  const names = wanted && wanted.length > 0 ? wanted : Object.keys(outputs);
  return names.filter((n) => outputs[n]).map((name) => {
    const t = outputs[name]!;
    return { name, datatype: V2_DATATYPES[t.dtype], shape: t.dims, data: plainValues(t) };
  });
}

export function plainValues(t: FeedTensor): Array<number | string | boolean> {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, Number);
  if (t.dtype === 'bool') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  if (Array.isArray(t.data)) return t.data;
  return Array.from(t.data as Float32Array);
}

// ---------------------------------------------------------------------------------------------
// Answers

/** Which graph output answers what: computed once per model version. */
export interface OutputRoles {
  label?: string;
  probabilities?: string;
  value?: string;
  /** The label is the argmax of the probabilities (a classifier without a label output). */
  argmax?: boolean;
}

const isIntLike = (d: TensorDtype) => d === 'int64' || d === 'int32' || d === 'string' || d === 'bool' || d === 'uint8' || d === 'int8';
const isFloat = (d: TensorDtype) => d === 'float32' || d === 'float64';

export function outputRoles(sig: Signature): OutputRoles {
  const by = (n: string) => sig.outputs.find((o) => o.name === n);
  if (by('label') || by('probabilities') || by('value')) {
    return { label: by('label')?.name, probabilities: by('probabilities')?.name, value: by('value')?.name };
  }
  const label = sig.outputs.find((o) => isIntLike(o.dtype) && (o.shape.length <= 1 || (o.shape.length === 2 && o.shape[1] === 1)));
  const floats = sig.outputs.filter((o) => isFloat(o.dtype));
  if (sig.task === 'classification') {
    const probs = floats.find((o) => /prob/i.test(o.name)) ?? floats[0];
    return { label: label?.name, probabilities: probs?.name, argmax: !label && !!probs };
  }
  return { label: label?.name, value: floats[0]?.name };
}

function rowsOf(t: FeedTensor, rows: number): { width: number } {
  const width = rows > 0 ? t.data.length / rows : 0;
  return { width };
}

/** `predictions` of the predict route: one per row. */
export function toPredictions(sig: Signature, roles: OutputRoles, outputs: Feeds, rows: number): Prediction[] {
  const out: Prediction[] = new Array(rows);
  for (let r = 0; r < rows; r++) out[r] = {};
  const labels = sig.labels;
  const probs = roles.probabilities ? outputs[roles.probabilities] : undefined;
  if (probs) {
    const { width } = rowsOf(probs, rows);
    const d = probs.data as Float32Array;
    for (let r = 0; r < rows; r++) out[r]!.probabilities = Array.from(d.subarray(r * width, (r + 1) * width));
  }
  const label = roles.label ? outputs[roles.label] : undefined;
  if (label) {
    const values = plainValues(label);
    const { width } = rowsOf(label, rows);
    for (let r = 0; r < rows; r++) {
      const v = values[r * width]!;
      out[r]!.label = typeof v === 'number' && labels && labels[v] !== undefined ? labels[v] : v;
    }
  } else if (roles.argmax && probs) {
    for (let r = 0; r < rows; r++) {
      const p = out[r]!.probabilities!;
      let best = 0;
      for (let j = 1; j < p.length; j++) if (p[j]! > p[best]!) best = j;
      out[r]!.label = labels?.[best] ?? best;
    }
  }
  const value = roles.value ? outputs[roles.value] : undefined;
  if (value) {
    const { width } = rowsOf(value, rows);
    const d = value.data as Float32Array;
    for (let r = 0; r < rows; r++) out[r]!.value = width === 1 ? d[r]! : Array.from(d.subarray(r * width, (r + 1) * width));
  }
  return out;
}
