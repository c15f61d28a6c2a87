/**
 * A network whose layers and weights are read back from its exported inference graph, such as a
 * structurally pruned one: each dense or conv2d layer takes the width its kernel has in the graph,
 * and every parameter (and batch-norm statistic) its values. This is what lets `fit` fine-tune a
 * pruned graph with the engine's own training loop.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { ModelDef, TensorValue } from '../../onnx/model.js';
import { createNetwork, layerPrefix, type Network } from '../network.js';
import type { LayerSpec } from '../spec.js';

/** `like` gives the layer list, loss and options; `prefix` is what the graph's names carry before the network's own. */
export function networkFromGraph(like: Network, graph: ModelDef, prefix = ''): Network {
  const byName = new Map((graph.graph.initializers ?? []).map((t) => [t.name, t]));
  const layers: LayerSpec[] = like.layers.map((l, i) => {
    const kernel = byName.get(`${prefix}${layerPrefix(l, i)}/kernel`);
    if (!kernel) return l;
    if (l.type === 'dense') return { ...l, units: kernel.dims[1]! };
    if (l.type === 'conv2d') return { ...l, filters: kernel.dims[0]! };
    return l;
  });
  const net = createNetwork({ layers }, like.options);
  for (const [list, values] of [[net.params, net.weights], [net.states, net.stateValues]] as const) {
    for (const p of list) values.set(floats(byName.get(prefix + p.name), p.name, p.shape, prefix), p.offset);
  }
  return net;
}

function floats(t: TensorValue | undefined, name: string, shape: number[], prefix: string): Float32Array {
  if (!t || t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
    throw new InvalidInputError('unsupported_model', `The graph's weights do not match its network: '${prefix}${name}' should be [${shape}], the graph has ${t ? `[${t.dims}]` : 'none'}.`);
  }
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}
