/** Activation functions, by Keras name, applied on the internal layout. */
import type { Tensor } from '../graph.js';
import { add, erf, leakyRelu, mul, relu, sigmoid, softmax, tanh } from '../ops/index.js';
import type { Initializer } from '../init.js';
import type { ActivationName, LayerSpec } from '../spec.js';

export function activate(x: Tensor, name: ActivationName | undefined, alpha = 0.2): Tensor {
  switch (name ?? 'linear') {
    case 'linear': return x;
    case 'relu': return relu(x);
    case 'leaky_relu': return leakyRelu(x, alpha);
    case 'sigmoid': return sigmoid(x);
    case 'tanh': return tanh(x);
    // Exact GELU (Keras' default approximate=False): x·Φ(x) = ½x(1 + erf(x/√2)).
    case 'gelu': return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
    // Softmax over features: the last axis, or channels for images (axis 1 inside).
    case 'softmax': return softmax(x, x.shape.length === 4 ? 1 : -1);
    default: throw new Error(`engine: unknown activation '${String(name)}'`);
  }
}

/**
 * Kernel initialiser when the spec names none: He (uniform) before ReLU-family activations, which
 * it was derived for (it kept the CNN recipe's accuracy on par with PyTorch), else Glorot (uniform),
 * Keras' default.
 */
export function defaultInitializer(l: LayerSpec): Initializer {
  return l.activation === 'relu' || l.activation === 'leaky_relu' || l.activation === 'gelu' ? 'he_uniform' : 'glorot_uniform';
}
