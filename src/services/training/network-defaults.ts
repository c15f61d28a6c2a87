/**
 * Training defaults for networks that converge on data of any size (issue #17): what a user leaves
 * out is chosen from the number of rows the network trains on, and what a user sets always wins.
 *
 * - Enough epochs: up to about EXAMPLE_PASSES examples seen in all (500 epochs of a 200-row table,
 *   14 of MNIST's 7,200, at least 10), ended by early stopping on the validation loss (patience 10, the best epoch's
 *   weights kept), as scikit-learn's MLP stops after 10 epochs without improvement.
 * - Batches of 32 rows on small tables (more updates per epoch), larger ones on large data, where
 *   they are faster per row and the epochs are many updates anyway.
 * - Adam at 0.001 (scikit-learn's and Keras' default) unless told otherwise.
 *
 * An explicit `epochs` without `earlyStopping` trains exactly that many epochs, as asked.
 */
import type { TrainingOptions } from './train-spec.js';

const EXAMPLE_PASSES = 100_000;
const MIN_EPOCHS = 10;
const MAX_EPOCHS = 500;
export const DEFAULT_PATIENCE = 10;

export interface NetworkDefaultsInput {
  /** What the user gave (undefined: not set). */
  epochs?: number;
  batchSize?: number;
  earlyStopping?: TrainingOptions['earlyStopping'];
  /** Rows the network fits on (training rows less the validation share). */
  fitRows: number;
  /** Whether a validation share is carved out (split.validation > 0 and enough rows). */
  validation: boolean;
}

export function defaultBatchSize(fitRows: number): number {
  if (fitRows < 5_000) return 32;
  if (fitRows < 50_000) return 64;
  return 128;
}

export function defaultEpochs(fitRows: number): number {
  return Math.min(MAX_EPOCHS, Math.max(MIN_EPOCHS, Math.round(EXAMPLE_PASSES / Math.max(1, fitRows))));
}

/** The epochs, batch size and early stopping a network trains with. */
export function networkDefaults(o: NetworkDefaultsInput): Pick<TrainingOptions, 'epochs' | 'batchSize' | 'earlyStopping'> {
  const batchSize = o.batchSize ?? defaultBatchSize(o.fitRows);
  if (o.epochs !== undefined) return { epochs: o.epochs, batchSize, ...(o.earlyStopping ? { earlyStopping: o.earlyStopping } : {}) };
  const earlyStopping = o.earlyStopping ?? { patience: DEFAULT_PATIENCE, monitor: o.validation ? 'val_loss' as const : 'loss' as const };
  return { epochs: defaultEpochs(o.fitRows), batchSize, earlyStopping };
}
