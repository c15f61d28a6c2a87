/**
 * Neural-network primitives that transformers need as single ops: GELU (tanh approximation, GPT-2's)
 * and layer normalization (ONNX LayerNormalization, opset 17). Each is one op with its own gradient
 * rule, rather than a composition, so the backward pass is a handful of nodes and the forward pass
 * is what ONNX Runtime runs fastest: LayerNormalization has its own kernel, and float32 GELU is
 * com.microsoft's FastGelu (the same tanh formula; float64, for gradient checks, is the formula).
 */
import { type Tensor, normAxis, registerOp } from '../graph.js';
import { attr, type NodeDef } from '../../onnx/model.js';
import { add, cast, mul, sigmoid, sub } from './elementwise.js';
import { reduceMean, reduceSum } from './reduce.js';
import { reshapeLike } from './shape.js';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x: Tensor): Tensor {
  return x.graph.apply1('GeluTanh', [x], {}, { dtype: x.dtype, shape: x.shape });
}

registerOp('GeluTanh', {
  emit: (_n, [x], [y], ctx) => {
    // float32: ONNX Runtime's FastGelu kernel (this very formula) in one pass, instead of nine elementwise nodes.
    if (_n.inputs[0]!.dtype === 'float32') return [{ opType: 'FastGelu', domain: 'com.microsoft', inputs: [x!], outputs: [y!] }];
    const f = (v: number) => ctx.float([v], [], _n.inputs[0]!.dtype);
    const [x2, x3, kx3, inner, u, t, t1, hx] = ['x2', 'x3', 'kx3', 'in', 'u', 't', 't1', 'hx'].map((p) => ctx.fresh(`gelu_${p}`));
    const node = (opType: string, inputs: string[], output: string): NodeDef => ({ opType, inputs, outputs: [output] });
    return [
      node('Mul', [x!, x!], x2!),
      node('Mul', [x2!, x!], x3!),
      node('Mul', [x3!, f(GELU_K)], kx3!),
      node('Add', [x!, kx3!], inner!),
      node('Mul', [inner!, f(GELU_C)], u!),
      node('Tanh', [u!], t!),
      node('Add', [t!, f(1)], t1!),
      node('Mul', [x!, f(0.5)], hx!),
      node('Mul', [hx!, t1!], y!),
    ];
  },
  // With u = √(2/π)(x + kx³): ½(1 + tanh u) = σ(2u) =: s, and ½(1 − tanh²u) = 2s(1 − s), so
  //   dy/dx = s + 2s(1 − s)·x·√(2/π)(1 + 3kx²) = s·(1 + x(1 − s)·(2c + 6ckx²)),  c = √(2/π).
  // Eight elementwise products over the activation instead of thirteen: this rule is the costliest
  // part of a GPT's backward pass (bench/lm-profile.ts).
  grad: (n, [g]) => {
    const x = n.inputs[0]!;
    const x2 = mul(x, x);
    const s = sigmoid(mul(x, add(mul(x2, 2 * GELU_C * GELU_K), 2 * GELU_C)));
    const slope = add(mul(x2, 6 * GELU_C * GELU_K), 2 * GELU_C);
    return [mul(g!, mul(s, add(mul(mul(x, sub(1, s)), slope), 1)))];
  },
});

/**
 * Layer normalization over the last axis: (x − mean) / √(var + ε) · γ + β, with γ and β of the last
 * axis' size. The node also outputs the mean and 1/√(var + ε) (as ONNX does, in float32), which the
 * gradient uses instead of recomputing them.
 */
export function layerNormalization(x: Tensor, gamma: Tensor, beta: Tensor, epsilon = 1e-5): Tensor {
  const axis = normAxis(-1, x.shape.length);
  const stats = x.shape.map((d, i) => (i === axis ? 1 : d));
  const [y] = x.graph.apply('LayerNormalization', [x, gamma, beta], { axis, epsilon }, [
    { dtype: x.dtype, shape: x.shape },
    { dtype: 'float32', shape: stats },
    { dtype: 'float32', shape: stats },
  ]);
  return y!;
}

registerOp('LayerNormalization', {
  emit: (n, inputs, outputs) => [{
    opType: 'LayerNormalization', inputs, outputs,
    attributes: { axis: attr.int(n.attrs.axis as number), epsilon: attr.float(n.attrs.epsilon as number) },
  }],
  // x̂ = (x − μ)·r with r = 1/√(σ² + ε); with h = g·γ:
  //   dx = r·(h − mean(h) − x̂·mean(h ⊙ x̂)),  dγ = Σ g ⊙ x̂,  dβ = Σ g  (sums over every axis but the last).
  grad: (n, [g], { needs }) => {
    const [x, gamma, beta] = n.inputs as [Tensor, Tensor, Tensor];
    // The statistics are float32 whatever x is (ONNX's stash_type default, the only one ORT runs).
    const [mean, invStd] = n.outputs.slice(1).map((s) => cast(s, x.dtype)) as [Tensor, Tensor];
    const axis = n.attrs.axis as number;
    const xhat = mul(sub(x, mean), invStd);
    const lead = [...Array(axis).keys()];
    const sumLead = (t: Tensor, like: Tensor) => reshapeLike(lead.length > 0 ? reduceSum(t, lead) : t, like);
    let dx: Tensor | undefined;
    if (needs[0]) {
      const h = mul(g!, gamma);
      dx = mul(invStd, sub(sub(h, reduceMean(h, [axis], true)), mul(xhat, reduceMean(mul(h, xhat), [axis], true))));
    }
    return [dx, needs[1] ? sumLead(mul(g!, xhat), gamma) : undefined, needs[2] ? sumLead(g!, beta) : undefined];
  },
});
