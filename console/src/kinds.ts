/**
 * Which model kinds suit a target column, and the form's defaults: the console infers the task the
 * way the server does (src/services/training/target.ts) so that it never offers a classifier for a
 * number to predict, and the first "Start training" with untouched defaults is accepted.
 */
import type { ColumnProfile, ModelKind } from '../../src/sdk/index.js';

export type Task = 'classification' | 'regression';

export interface KindChoice {
  kind: ModelKind;
  label: string;
  neural: boolean;
  tasks: Task[];
}

export const KINDS: KindChoice[] = [
  { kind: 'random_forest', label: 'Random forest', neural: false, tasks: ['classification', 'regression'] },
  { kind: 'gradient_boosting', label: 'Gradient boosting', neural: false, tasks: ['classification', 'regression'] },
  { kind: 'logistic_regression', label: 'Logistic regression', neural: false, tasks: ['classification'] },
  { kind: 'linear_regression', label: 'Linear regression', neural: false, tasks: ['regression'] },
  { kind: 'svm', label: 'Linear SVM', neural: false, tasks: ['classification'] },
  { kind: 'mlp', label: 'Neural network (MLP)', neural: true, tasks: ['classification', 'regression'] },
  { kind: 'cnn', label: 'Convolutional network (square images)', neural: true, tasks: ['classification', 'regression'] },
  { kind: 'text_classifier', label: 'Transformer over a text column', neural: true, tasks: ['classification'] },
];

/** As the server's inferTask: integers with at most 20 distinct values are classes, other numbers are values. */
export function inferTask(c: ColumnProfile | undefined): Task {
  if (!c) return 'classification';
  if (c.type === 'number') return 'regression';
  if (c.type === 'integer') return c.distinct <= 20 ? 'classification' : 'regression';
  return 'classification';
}

const TARGET_NAMES = ['label', 'target', 'class', 'y', 'outcome'];

/** The default target: a column named like a label (MNIST's first column), else the last column that varies. */
export function defaultTarget(columns: ColumnProfile[]): string | undefined {
  const named = columns.find((c) => TARGET_NAMES.includes(c.name.toLowerCase()));
  if (named) return named.name;
  const varying = columns.filter((c) => c.distinct > 1);
  return (varying[varying.length - 1] ?? columns[columns.length - 1])?.name;
}

/** The kinds a target allows; a CNN only where the features form a square image. */
export function kindsFor(task: Task, featureCount: number): KindChoice[] {
  const side = Math.round(Math.sqrt(featureCount));
  return KINDS.filter((k) => k.tasks.includes(task) && (k.kind !== 'cnn' || (side * side === featureCount && side >= 8)));
}

/**
 * The default kind, as the server picks when `model` is omitted (a forest for classes, boosting for
 * values); wide data (images) gets logistic regression, which trains in seconds on 784 columns.
 */
export function defaultKind(task: Task, featureCount: number): ModelKind {
  if (task === 'regression') return 'gradient_boosting';
  return featureCount > 200 ? 'logistic_regression' : 'random_forest';
}
