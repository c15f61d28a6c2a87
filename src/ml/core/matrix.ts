/**
 * The data every learner and metric of ml/ shares: a dense feature matrix and its target. They
 * live below ml/estimators and ml/metrics so that neither has to import the other for them.
 */

export type FloatArray = Float32Array | Float64Array;

/**
 * A dense row-major matrix of already-preprocessed numeric features: element (i, j) is
 * `data[i * cols + j]`. NaN marks a missing value; the tree models route it (learned direction),
 * the linear models reject it.
 */
export interface Matrix {
  data: FloatArray;
  rows: number;
  cols: number;
}

/** Class indices 0..classCount-1, one per row. */
export interface ClassificationTarget {
  task: 'classification';
  y: Int32Array;
  classCount: number;
}

export interface RegressionTarget {
  task: 'regression';
  y: Float64Array;
}

export type Target = ClassificationTarget | RegressionTarget;
export type Task = Target['task'];
