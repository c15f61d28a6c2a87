/**
 * Inverted dropout drawn inside the runtime: ONNX Dropout (opset 13) in training mode, which
 * keeps each element with probability 1 − rate, scales it by 1/(1 − rate) and also outputs the
 * boolean mask it drew. Drawing in the graph (rather than feeding noise, as the dense layers'
 * dropout does) matters for transformers: attention probabilities are [B, H, T, T] per layer and
 * step, far too much noise to generate in JavaScript and copy in. The `seed` attribute makes a
 * session's sequence of masks reproducible; every Dropout node needs its own seed, else nodes
 * of equal shape would draw equal masks. Used only in training programs: inference graphs leave
 * it out entirely.
 */
import { type Tensor, registerOp } from '../graph.js';
import { attr, type NodeDef } from '../../onnx/model.js';
import { cast, mul } from './elementwise.js';

export function dropout(x: Tensor, rate: number, seed: number): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`engine: dropout rate ${rate} is not in [0, 1)`);
  if (rate === 0) return x;
  const [y] = x.graph.apply('Dropout', [x], { rate, seed }, [{ dtype: x.dtype, shape: x.shape }, { dtype: 'bool', shape: x.shape }]);
  return y!;
}

registerOp('Dropout', {
  emit: (n, [x], outputs, ctx): NodeDef[] => {
    const one = ctx.float([1], [], 'float32');
    const training = ctx.fresh('dropout_training');
    return [
      // training_mode is a bool scalar; the emit context makes int64 and float constants, so cast one.
      { opType: 'Cast', inputs: [one], outputs: [training], attributes: { to: attr.int(9) } },
      {
        opType: 'Dropout', inputs: [x!, ctx.float([n.attrs.rate as number], [], n.inputs[0]!.dtype), training], outputs,
        attributes: { seed: attr.int(n.attrs.seed as number) },
      },
    ];
  },
  // y = x ⊙ mask / (1 − rate), so dx = g ⊙ mask / (1 − rate), with the mask the forward pass drew.
  grad: (n, [g]) => [mul(g!, mul(cast(n.outputs[1]!, n.inputs[0]!.dtype), 1 / (1 - (n.attrs.rate as number))))],
});
