/** What a layer is: its output shape (for validation, Keras convention) and its graph builder. */
import type { Dim, Graph, Tensor } from '../graph.js';
import type { Initializer } from '../init.js';
import type { LayerSpec } from '../spec.js';

export interface LayerContext {
  readonly graph: Graph;
  readonly training: boolean;
  /** A trainable parameter, created (and initialised) on first use. */
  param(name: string, shape: number[], init: Initializer | { uniform: number }, fanIn?: number, fanOut?: number): Tensor;
  /** Non-trainable state carried across steps (batch-norm running statistics). */
  state(name: string, shape: number[], initial: number): Tensor;
  setState(name: string, value: Tensor): void;
  /** Uniform [0, 1) noise of the given shape, fresh every training step (dropout). */
  noise(name: string, shape: readonly Dim[]): Tensor;
}

export interface LayerImpl {
  /** Output shape without the batch, Keras convention; throws a 422 naming the layer. */
  outputShape(l: LayerSpec, input: number[], index: number): number[];
  /** x and the result use the internal layout: NCHW for images ([H, W, C] in Keras terms). */
  build(ctx: LayerContext, x: Tensor, l: LayerSpec, prefix: string): Tensor;
}

/** Internal tensor shape for a Keras example shape: images become [N, C, H, W]. */
export function internalShape(keras: number[]): Dim[] {
  return keras.length === 3 ? ['N', keras[2]!, keras[0]!, keras[1]!] : ['N', ...keras];
}
