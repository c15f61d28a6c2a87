/**
 * The train and tune requests' shared vocabulary, as the API states it (docs/API.md): model kinds,
 * training options and a tune job's result. Part of the contract (src/api), so the SDK and the
 * console read it without reaching into services; the services' spec validation
 * (services/training/*-spec.ts) builds on it. A leaf: it imports nothing of ours.
 */

export const NEURAL_KINDS = ['mlp', 'cnn', 'sequential'] as const;
export const CLASSICAL_KINDS = ['logistic_regression', 'linear_regression', 'svm', 'random_forest', 'gradient_boosting'] as const;
/** Transformers over one text column (tokenized inside the served graph). */
export const TEXT_KINDS = ['text_classifier'] as const;
export type ModelKind = (typeof NEURAL_KINDS)[number] | (typeof CLASSICAL_KINDS)[number] | (typeof TEXT_KINDS)[number];

export interface TrainingOptions {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  clipNorm?: number;
  schedule?: { type: 'constant' } | { type: 'step'; stepSize: number; gamma?: number } | { type: 'cosine'; minLearningRate?: number; warmupEpochs?: number };
  earlyStopping?: { patience: number; monitor?: 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy'; minDelta?: number };
}

/** A candidate's hyper-parameters: spec path → value (`model.maxDepth` → 4). */
export type Params = Record<string, unknown>;

/** One trial of a tune job: a candidate at a rung's budget, run as a child train job. */
export interface Trial {
  candidate: number;
  rung: number;
  budget: number;
  job: string;
  status?: string;
  score?: number;
  error?: string;
}

/** A finished tune job's `metrics.tuning`: the trial table and the best candidate. */
export interface TuningSummary {
  metric: string;
  strategy: string;
  best: { params: Params; score?: number; job: string };
  trials: (Trial & { params: Params })[];
}
