/**
 * A model's signature: how raw rows map to the tensors of its ONNX graph, and what comes out.
 * The training service writes it when it registers a version; serving reads it to turn
 * `instances` (objects keyed by column, or arrays of numbers) into feeds, and to validate them.
 *
 * Convention for tabular models we train (an imported model's signature is read from its graph):
 * - all numeric raw columns (number, integer, boolean as 0/1; missing as NaN) go, in signature
 *   order, into one float32 input tensor `features` of shape [N, F];
 * - all category/text raw columns go, in order, into one string input tensor `categories` [N, K]
 *   (missing as the empty string);
 * - classifiers output `label` (int64 class index [N], mapped to `labels[i]`) and `probabilities`
 *   (float32 [N, C]); regressors output `value` (float32 [N, 1]).
 * Preprocessing (imputation, scaling, one-hot…) is inside the graph, so raw rows go in.
 */

export type ColumnKind = 'number' | 'integer' | 'boolean' | 'category' | 'text';
export type TensorDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'string' | 'uint8' | 'int8';

export interface SignatureInput {
  /** The raw column name a caller uses in `instances`. */
  name: string;
  type: ColumnKind;
  /** The graph input tensor the column feeds, and its position along the last axis. */
  tensor: string;
  index: number;
  /** Whether a missing value (null, absent) is allowed: the graph imputes it. */
  nullable: boolean;
  /** For category columns: the categories seen in training (others map to all-zero one-hot). */
  categories?: string[];
}

export interface SignatureTensor {
  name: string;
  dtype: TensorDtype;
  /** -1 for a free dimension (the batch). */
  shape: number[];
}

export interface Signature {
  inputs: SignatureInput[];
  /** The graph's input tensors. */
  tensors: SignatureTensor[];
  outputs: SignatureTensor[];
  task: 'classification' | 'regression' | 'language_modeling' | 'other';
  /** Class labels, in the order of the `probabilities` columns. */
  labels?: string[];
}
