/** Gather rows of a table (embedding lookup); the gradient scatter-adds dY into the used rows. */
import { type Tensor, registerOp } from '../graph.js';
import { attr } from '../../onnx/model.js';
import { cast, compare } from './elementwise.js';
import { reshape, simple, zerosLike } from './shape.js';

export function gather(table: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== 'int64') throw new Error('engine: gather indices must be int64');
  return table.graph.apply1('Gather', [table, indices], {}, { dtype: table.dtype, shape: [...indices.shape, ...table.shape.slice(1)] });
}
registerOp('Gather', {
  emit: simple('Gather', () => ({ axis: attr.int(0) })),
  grad: (node, [g]) => {
    const [table, idx] = node.inputs as [Tensor, Tensor];
    const zeros = zerosLike(table);
    const where = reshape(idx, [...idx.shape.map((d) => (typeof d === 'number' ? d : 0)), 1]);
    return [table.graph.apply1('ScatterNDAdd', [zeros, where, g!], {}, { dtype: table.dtype, shape: table.shape }), undefined];
  },
});
registerOp('ScatterNDAdd', {
  emit: (_n, inputs, outputs) => [{ opType: 'ScatterND', inputs, outputs, attributes: { reduction: attr.string('add') } }],
});

/** Non-differentiable helpers: arg-max and one-hot encoding of int64 labels. */
export function argmax(x: Tensor, axis = -1): Tensor {
  const a = axis < 0 ? axis + x.shape.length : axis;
  return x.graph.apply1('ArgMax', [x], { axis: a }, { dtype: 'int64', shape: x.shape.filter((_, i) => i !== a) });
}
registerOp('ArgMax', { emit: simple('ArgMax', (n) => ({ axis: attr.int(n.attrs.axis as number), keepdims: attr.int(0) })) });

/** One-hot rows for int64 labels: (labels[..., None] == arange(depth)) cast to dtype. */
export function oneHot(labels: Tensor, depth: number, dtype: Tensor['dtype']): Tensor {
  const g = labels.graph;
  const ids = g.constant(Array.from({ length: depth }, (_, i) => i), [depth], 'int64');
  const col = reshape(labels, [...labels.shape.map((d) => (typeof d === 'number' ? d : 0)), 1]);
  return cast(compare('Equal', col, ids), dtype);
}

/** out[i][j] = x[i][indices[i][j]] along `axis` (ONNX GatherElements); the gradient scatter-adds back. */
export function gatherElements(x: Tensor, indices: Tensor, axis: number): Tensor {
  if (indices.dtype !== 'int64') throw new Error('engine: gatherElements indices must be int64');
  const a = axis < 0 ? axis + x.shape.length : axis;
  return x.graph.apply1('GatherElements', [x, indices], { axis: a }, { dtype: x.dtype, shape: indices.shape });
}
registerOp('GatherElements', {
  emit: simple('GatherElements', (n) => ({ axis: attr.int(n.attrs.axis as number) })),
  grad: (node, [g]) => {
    const [x, idx] = node.inputs as [Tensor, Tensor];
    return [x.graph.apply1('ScatterElementsAdd', [zerosLike(x), idx, g!], { axis: node.attrs.axis }, { dtype: x.dtype, shape: x.shape }), undefined];
  },
});
registerOp('ScatterElementsAdd', {
  emit: (n, inputs, outputs) => [{
    opType: 'ScatterElements', inputs, outputs, attributes: { axis: attr.int(n.attrs.axis as number), reduction: attr.string('add') },
  }],
});
