/** The answer of `POST /v1/endpoints/{name}/explain` (API.md "Explanations"), shared by the server and the SDK. */

/** One row's explanation: `baseValue + Σ values = prediction`, in the `output` space. */
export interface Explanation {
  baseValue: number;
  /** Shapley value per raw column. */
  values: Record<string, number>;
  output: 'probability' | 'margin' | 'value';
  class?: string;
  /** The explained output for the row: baseValue + Σ values. */
  prediction: number;
}

export interface ExplainAnswer {
  method: 'tree_shap_interventional' | 'kernel_shap_exact' | 'kernel_shap_sampled';
  model: string;
  version: number;
  backgroundRows: number;
  samples?: number;
  explanations: Explanation[];
}
