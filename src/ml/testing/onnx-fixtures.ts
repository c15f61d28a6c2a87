/**
 * Small ONNX models built as plain data and encoded with `encodeModel`, for the registry and
 * serving tests and the serving benchmark. Nothing here is trained: weights are fixed numbers.
 */
import { attr, DataType, DEFAULT_OPSETS, encodeModel, tensor } from '../../onnx/model.js';
import type { Signature } from '../signature.js';

export const IRIS_LABELS = ['setosa', 'versicolor', 'virginica'];
export const IRIS_COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/**
 * A tabular classifier that follows the signature convention (src/ml/signature.ts): four
 * numeric columns in `features` [N, 4] (missing as NaN, imputed with fixed means inside the
 * graph) and one category column `color` in `categories` [N, 1] (one-hot inside the graph) →
 * `label` int64 [N] and `probabilities` float32 [N, 3].
 *
 * The logits are hand-set so that petal_length decides: < 2.5 setosa, 2.5–4.9 versicolor,
 * above virginica; `bias` shifts every logit of class 2 (a "new version" that says virginica more).
 */
export function irisClassifier(opts: { bias?: number; embedSignature?: boolean; color?: boolean } = {}): { bytes: Uint8Array; signature: Signature } {
  const bias = opts.bias ?? 0;
  const color = opts.color ?? true;
  const signature = irisSignature(color);
  // logits = [features, onehot(color)] · W + b, with W zero except on petal_length (row 2).
  const width = color ? 6 : 4;
  const W = new Float32Array(width * 3);
  W[2 * 3 + 0] = -4; W[2 * 3 + 1] = 0; W[2 * 3 + 2] = 4;
  const b = Float32Array.from([10, 0, -19.6 + bias]);
  const bytes = encodeModel({
    opsets: DEFAULT_OPSETS,
    producerName: 'aiaas-tests',
    // The platform's own convention: the signature travels in the file, so an import keeps its raw columns.
    metadata: opts.embedSignature ? { 'aiaas.signature': JSON.stringify(signature) } : undefined,
    graph: {
      name: 'iris_classifier',
      inputs: [
        { name: 'features', type: { elemType: DataType.FLOAT, shape: ['N', 4] } },
        ...(color ? [{ name: 'categories', type: { elemType: DataType.STRING, shape: ['N', 1] } }] : []),
      ],
      outputs: [
        { name: 'label', type: { elemType: DataType.INT64, shape: ['N'] } },
        { name: 'probabilities', type: { elemType: DataType.FLOAT, shape: ['N', 3] } },
      ],
      initializers: [
        tensor.float('means', [4], [5.84, 3.05, 3.76, 1.2]),
        tensor.float('W', [width, 3], W),
        tensor.float('b', [3], b),
      ],
      nodes: [
        { opType: 'IsNaN', inputs: ['features'], outputs: ['missing'] },
        { opType: 'Where', inputs: ['missing', 'means', 'features'], outputs: ['imputed'] },
        ...(color ? [
          {
            opType: 'OneHotEncoder', domain: 'ai.onnx.ml', inputs: ['categories'], outputs: ['onehot3d'],
            attributes: { cats_strings: attr.strings(['red', 'blue']), zeros: attr.int(1) },
          },
          { opType: 'Flatten', inputs: ['onehot3d'], outputs: ['onehot'], attributes: { axis: attr.int(1) } },
          { opType: 'Concat', inputs: ['imputed', 'onehot'], outputs: ['x'], attributes: { axis: attr.int(1) } },
        ] : [{ opType: 'Identity', inputs: ['imputed'], outputs: ['x'] }]),
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
        { opType: 'Add', inputs: ['xw', 'b'], outputs: ['logits'] },
        { opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: attr.int(1) } },
        { opType: 'ArgMax', inputs: ['logits'], outputs: ['label'], attributes: { axis: attr.int(1), keepdims: attr.int(0) } },
      ],
    },
  });
  return { bytes, signature };
}

function irisSignature(color: boolean): Signature {
  return {
    inputs: [
      ...IRIS_COLUMNS.map((name, index) => ({ name, type: 'number' as const, tensor: 'features', index, nullable: name === 'sepal_width' })),
      ...(color ? [{ name: 'color', type: 'category' as const, tensor: 'categories', index: 0, nullable: false, categories: ['red', 'blue'] }] : []),
    ],
    tensors: [
      { name: 'features', dtype: 'float32', shape: [-1, 4] },
      ...(color ? [{ name: 'categories', dtype: 'string' as const, shape: [-1, 1] }] : []),
    ],
    outputs: [
      { name: 'label', dtype: 'int64', shape: [-1] },
      { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
    ],
    task: 'classification',
    labels: IRIS_LABELS,
  };
}

/** What the iris classifier answers for a petal length (the reference for tests). */
export function irisExpected(petalLength: number, bias = 0): string {
  const logits = [10 - 4 * petalLength, 0, 4 * petalLength - 19.6 + bias];
  return IRIS_LABELS[logits.indexOf(Math.max(...logits))]!;
}

/**
 * A graph with one input of each Open Inference Protocol datatype the tests use:
 * x FP32 [N, 2], k INT64 [N, 1], b BOOL [N, 1], s BYTES [N, 1] →
 * total FP32 [N, 1] = x0 + x1 + k + b, code INT64 [N, 1] = {'a': 1, 'b': 2, else -1}[s],
 * negated BOOL [N, 1] = not b, echo BYTES [N, 1] = s.
 */
export function mixedTypesModel(): Uint8Array {
  return encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'mixed_types',
      inputs: [
        { name: 'x', type: { elemType: DataType.FLOAT, shape: ['N', 2] } },
        { name: 'k', type: { elemType: DataType.INT64, shape: ['N', 1] } },
        { name: 'b', type: { elemType: DataType.BOOL, shape: ['N', 1] } },
        { name: 's', type: { elemType: DataType.STRING, shape: ['N', 1] } },
      ],
      outputs: [
        { name: 'total', type: { elemType: DataType.FLOAT, shape: ['N', 1] } },
        { name: 'code', type: { elemType: DataType.INT64, shape: ['N', 1] } },
        { name: 'negated', type: { elemType: DataType.BOOL, shape: ['N', 1] } },
        { name: 'echo', type: { elemType: DataType.STRING, shape: ['N', 1] } },
      ],
      initializers: [tensor.int64('axes', [1], [1])],
      nodes: [
        { opType: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['xs'], attributes: { keepdims: attr.int(1) } },
        { opType: 'Cast', inputs: ['k'], outputs: ['kf'], attributes: { to: attr.int(DataType.FLOAT) } },
        { opType: 'Cast', inputs: ['b'], outputs: ['bf'], attributes: { to: attr.int(DataType.FLOAT) } },
        { opType: 'Add', inputs: ['xs', 'kf'], outputs: ['t1'] },
        { opType: 'Add', inputs: ['t1', 'bf'], outputs: ['total'] },
        {
          opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: ['s'], outputs: ['code'],
          attributes: { keys_strings: attr.strings(['a', 'b']), values_int64s: attr.ints([1, 2]), default_int64: attr.int(-1) },
        },
        { opType: 'Not', inputs: ['b'], outputs: ['negated'] },
        { opType: 'Identity', inputs: ['s'], outputs: ['echo'] },
      ],
    },
  });
}

/** A deterministic pseudo-random generator (mulberry32), for fixed weights. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MlpWeights {
  sizes: number[];
  /** Per layer: W [in, out] row-major and b [out]. */
  layers: Array<{ W: Float32Array; b: Float32Array }>;
}

/** Fixed random weights of an MLP (He-style scale), e.g. 784-128-10. */
export function mlpWeights(sizes: number[], seed = 1): MlpWeights {
  const next = rng(seed);
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    const scale = Math.sqrt(2 / fanIn);
    const W = new Float32Array(fanIn * fanOut).map(() => (next() * 2 - 1) * scale);
    const b = new Float32Array(fanOut).map(() => (next() * 2 - 1) * 0.1);
    layers.push({ W, b });
  }
  return { sizes, layers };
}

/** The MLP as ONNX: x [N, in] → Gemm/Relu… → Softmax → probabilities [N, out]. */
export function mlpModel(w: MlpWeights): Uint8Array {
  const nodes = [];
  const initializers = [];
  let prev = 'x';
  for (let l = 0; l < w.layers.length; l++) {
    const { W, b } = w.layers[l]!;
    initializers.push(tensor.float(`W${l}`, [w.sizes[l]!, w.sizes[l + 1]!], W), tensor.float(`b${l}`, [w.sizes[l + 1]!], b));
    nodes.push({ opType: 'Gemm', inputs: [prev, `W${l}`, `b${l}`], outputs: [`z${l}`] });
    prev = `z${l}`;
    if (l + 1 < w.layers.length) {
      nodes.push({ opType: 'Relu', inputs: [prev], outputs: [`h${l}`] });
      prev = `h${l}`;
    }
  }
  nodes.push({ opType: 'Softmax', inputs: [prev], outputs: ['probabilities'], attributes: { axis: attr.int(1) } });
  return encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'mlp',
      inputs: [{ name: 'x', type: { elemType: DataType.FLOAT, shape: ['N', w.sizes[0]!] } }],
      outputs: [{ name: 'probabilities', type: { elemType: DataType.FLOAT, shape: ['N', w.sizes[w.sizes.length - 1]!] } }],
      initializers, nodes,
    },
  });
}

/**
 * A deliberately slow model (about `layers` × 0.13 MFLOP per row): x [N, 256] through `layers`
 * tanh(x·W) steps → y [N, 1]. Used to load replicas in autoscaling tests.
 */
export function slowModel(layers = 40): Uint8Array {
  const next = rng(7);
  const W = new Float32Array(256 * 256).map(() => (next() * 2 - 1) * 0.05);
  const nodes = [];
  let prev = 'x';
  for (let l = 0; l < layers; l++) {
    nodes.push({ opType: 'MatMul', inputs: [prev, 'W'], outputs: [`m${l}`] });
    nodes.push({ opType: 'Tanh', inputs: [`m${l}`], outputs: [`t${l}`] });
    prev = `t${l}`;
  }
  nodes.push({ opType: 'ReduceSum', inputs: [prev, 'axes'], outputs: ['y'], attributes: { keepdims: attr.int(1) } });
  return encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'slow',
      inputs: [{ name: 'x', type: { elemType: DataType.FLOAT, shape: ['N', 256] } }],
      outputs: [{ name: 'y', type: { elemType: DataType.FLOAT, shape: ['N', 1] } }],
      initializers: [tensor.float('W', [256, 256], W), tensor.int64('axes', [1], [1])],
      nodes,
    },
  });
}
