/**
 * The training engine's public API: Keras-like specs → networks trained and run by ONNX Runtime.
 *
 *   const net = createNetwork({ kind: 'mlp', hidden: [128], dropout: 0.2 }, { inputShape: [784], outputs: 10, task: 'classification' });
 *   const history = await fit(net, { x, y }, { epochs: 5, batchSize: 32, optimizer: 'adam', validation: 0.1 });
 *   const { labels, probabilities } = await predict(net, xTest);
 *   const onnx = exportInference(net);          // standalone ONNX bytes
 *   const ckpt = saveCheckpoint(net);           // resume later with loadCheckpoint(ckpt)
 */
export { createNetwork, validateSpec, type CreateOptions, type EpochMetrics, type Network, type ParamInfo, type TrainingState } from './network.js';
export { fit, evaluate, type EarlyStopping, type Evaluation, type FitCallbacks, type FitOptions, type History } from './train-loop.js';
export { predict, Predictor, exportInference, type Predictions } from './predict.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
export type { Dataset } from './data.js';
export type { ActivationName, LayerSpec, LayerType, ModelSpec, NetworkOptions, Task } from './spec.js';
export type { LossName } from './losses.js';
export type { OptimizerSpec, ScheduleSpec } from './optimizers.js';
export type { RuntimeOptions } from './runtime.js';
export { Graph, type Tensor, type DType } from './graph.js';
export { gradients } from './autodiff.js';
export { emitGraph } from './emit.js';
export * as ops from './ops/index.js';
