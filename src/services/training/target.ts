/**
 * The target column: which task it implies, and its values as class indices or numbers.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { ColumnProfile } from '../../ml/data/ingest.js';
import { isNumeric, type RawColumn } from '../../ml/training-table.js';

export type Task = 'classification' | 'regression';

/** Integer targets with at most this many distinct values are class labels (as scikit-learn's type_of_target does for small sets). */
const MAX_INTEGER_CLASSES = 20;
export const MAX_CLASSES = 1000;

export function inferTask(profile: ColumnProfile): Task {
  if (profile.type === 'number') return 'regression';
  if (profile.type === 'integer') return profile.distinct <= MAX_INTEGER_CLASSES ? 'classification' : 'regression';
  return 'classification';
}

/** Checks a target against the task before any job is queued; the messages say how to fix it. */
export function checkTarget(profile: ColumnProfile, task: Task, rows: number): void {
  const present = rows - profile.missing;
  if (present < 2) throw new InvalidInputError('target_unusable', `Target column '${profile.name}' has ${present} non-missing values; training needs at least two rows with a target.`, { column: profile.name });
  if (task === 'regression') {
    if (profile.type !== 'number' && profile.type !== 'integer') {
      throw new InvalidInputError('target_not_numeric', `A regression target must be numeric, but '${profile.name}' holds ${profile.type} values. Use "task": "classification", or choose a numeric target.`, { column: profile.name, type: profile.type });
    }
    return;
  }
  if (profile.distinct < 2) {
    throw new InvalidInputError('target_one_class', `Target column '${profile.name}' has a single class; classification needs at least two. Choose another target or add rows of other classes.`, { column: profile.name });
  }
  if (profile.distinct > MAX_CLASSES || profile.distinct > present / 2) {
    throw new InvalidInputError('target_too_many_classes', `Target column '${profile.name}' has ${profile.distinct} classes for ${present} rows; a classifier needs several rows per class. If it is a number to predict, use "task": "regression".`, { column: profile.name, classes: profile.distinct, rows: present });
  }
}

export interface EncodedTarget {
  task: Task;
  /** Class index (classification) or value (regression) per row; NaN / -1 where missing. */
  values: Float64Array;
  /** Class labels in index order (classification). */
  labels?: string[];
}

export function encodeTarget(c: RawColumn, task: Task): EncodedTarget {
  if (task === 'regression') {
    if (!isNumeric(c)) throw new InvalidInputError('target_not_numeric', `Regression target '${c.name}' is not numeric.`, { column: c.name });
    return { task, values: c.values };
  }
  // Labels as strings, sorted (numbers numerically), so that class indices are stable across versions.
  const raw = isNumeric(c) ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : String(v))) : Array.from(c.codes, (k) => (k < 0 ? null : c.dictionary[k]!));
  const labels = [...new Set(raw.filter((v): v is string => v !== null))];
  const numericLabels = labels.every((l) => l !== '' && !Number.isNaN(Number(l)));
  labels.sort(numericLabels ? (a, b) => Number(a) - Number(b) : undefined);
  const index = new Map(labels.map((l, i) => [l, i]));
  return { task, labels, values: Float64Array.from(raw, (v) => (v === null ? -1 : index.get(v)!)) };
}
