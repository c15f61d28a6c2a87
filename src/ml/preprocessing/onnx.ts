/**
 * The fitted preprocessing as ONNX nodes: raw `features` (float32 [N, F], NaN for missing) and
 * `categories` (string [N, K], '' for missing) in, one float32 matrix [N, D] out. Numeric ops
 * are vectorised over all numeric columns at once (identity for the columns a step skips).
 */
import { attr, DataType, DEFAULT_OPSETS, tensor, type NodeDef, type TensorValue, type ValueInfo } from '../../onnx/model.js';
import type { GraphPart } from '../../onnx/compose.js';
import type { FittedPreprocessing } from './fit.js';
import { tfidfNodes } from './tfidf.js';

export const FEATURES = 'features';
export const CATEGORIES = 'categories';

export function preprocessingInputs(p: FittedPreprocessing): ValueInfo[] {
  const inputs: ValueInfo[] = [];
  if (p.numeric.length) inputs.push({ name: FEATURES, type: { elemType: DataType.FLOAT, shape: ['N', p.numeric.length] } });
  if (p.categorical.length) inputs.push({ name: CATEGORIES, type: { elemType: DataType.STRING, shape: ['N', p.categorical.length] } });
  return inputs;
}

export function preprocessingPart(p: FittedPreprocessing, output = 'preprocessed'): GraphPart {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const F = p.numeric.length;
  const pieces: string[] = [];
  let x = FEATURES;
  // Without numeric columns (a text-only dataset under "auto") the numeric ops are empty: skipped.
  if (F) p.numericOps.forEach((op, k) => {
    const name = (s: string) => `pre${k}_${s}`;
    if (op.op === 'fill') {
      inits.push(tensor.float(name('fill'), [F], op.values));
      nodes.push({ opType: 'IsNaN', inputs: [x], outputs: [name('isnan')] });
      nodes.push({ opType: 'Where', inputs: [name('isnan'), name('fill'), x], outputs: [name('out')] });
    } else if (op.op === 'clip') {
      // Missing values pass through a clip untouched (Max/Min would turn NaN into a bound).
      inits.push(tensor.float(name('lo'), [F], op.lo), tensor.float(name('hi'), [F], op.hi));
      nodes.push({ opType: 'Max', inputs: [x, name('lo')], outputs: [name('max')] });
      nodes.push({ opType: 'Min', inputs: [name('max'), name('hi')], outputs: [name('clipped')] });
      nodes.push({ opType: 'IsNaN', inputs: [x], outputs: [name('isnan')] });
      nodes.push({ opType: 'Where', inputs: [name('isnan'), x, name('clipped')], outputs: [name('out')] });
    } else {
      inits.push(tensor.float(name('sub'), [F], op.sub), tensor.float(name('mul'), [F], op.mul));
      nodes.push({ opType: 'Sub', inputs: [x, name('sub')], outputs: [name('centred')] });
      nodes.push({ opType: 'Mul', inputs: [name('centred'), name('mul')], outputs: [name('out')] });
    }
    x = name('out');
  });
  if (F) pieces.push(x);

  for (const e of p.encoders) {
    const name = (s: string) => `onehot${e.input}_${s}`;
    const keys = [...e.categories];
    const values = e.categories.map((_, i) => i);
    if (e.fill !== undefined && e.categories.includes(e.fill)) {
      keys.push('');
      values.push(e.categories.indexOf(e.fill));
    }
    inits.push(tensor.int64(name('col'), [1], [e.input]), tensor.int64(name('range'), [e.categories.length], values.slice(0, e.categories.length)));
    nodes.push({ opType: 'Gather', inputs: [CATEGORIES, name('col')], outputs: [name('text')], attributes: { axis: attr.int(1) } });
    // Unknown categories (and missing, unless imputed) map to -1: a row of zeros after Equal.
    nodes.push({
      opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: [name('text')], outputs: [name('index')],
      attributes: { keys_strings: attr.strings(keys), values_int64s: attr.ints(values), default_int64: attr.int(-1) },
    });
    nodes.push({ opType: 'Equal', inputs: [name('index'), name('range')], outputs: [name('hot')] });
    nodes.push({ opType: 'Cast', inputs: [name('hot')], outputs: [name('out')], attributes: { to: attr.int(DataType.FLOAT) } });
    pieces.push(name('out'));
  }

  for (const f of p.tfidf) {
    const part = tfidfNodes(f, CATEGORIES, `tfidf${f.input}_out`, `tfidf${f.input}_`);
    nodes.push(...part.nodes);
    inits.push(...part.initializers);
    pieces.push(`tfidf${f.input}_out`);
  }

  if (pieces.length === 1) nodes.push({ opType: 'Identity', inputs: [pieces[0]!], outputs: [output] });
  else nodes.push({ opType: 'Concat', inputs: pieces, outputs: [output], attributes: { axis: attr.int(1) } });
  return {
    nodes, initializers: inits, opsets: p.tfidf.length ? [...DEFAULT_OPSETS, { domain: 'com.microsoft', version: 1 }] : DEFAULT_OPSETS,
    outputs: [{ name: output, type: { elemType: DataType.FLOAT, shape: ['N', p.featureNames.length] } }],
  };
}
