/**
 * Classification metrics with API.md's names: accuracy, macro precision/recall/f1, the confusion
 * matrix (rows = true class, columns = predicted class), per-class precision/recall/f1/support,
 * log loss and (two classes) ROC AUC. Conventions follow scikit-learn: macro averages run over
 * the classes present in the truth or the predictions, 0/0 counts as 0, log loss clips
 * probabilities to [1e-15, 1 − 1e-15].
 */
import { InvalidInputError } from '../../infra/errors.js';

export interface PerClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows of this class in the truth. */
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusionMatrix: number[][];
  labels: string[];
  perClass: PerClassMetrics[];
  /** Present when probabilities were given. */
  logLoss?: number;
  /** Present for two classes when probabilities were given and both classes occur in the truth. */
  rocAuc?: number;
}

export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classCount: number): number[][] {
  checkLengths(yTrue.length, yPred.length);
  const m = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (!(t >= 0 && t < classCount && p >= 0 && p < classCount)) {
      throw new InvalidInputError('bad_data', `Row ${i}: class ${t} / prediction ${p} outside [0, ${classCount - 1}].`, { row: i });
    }
    m[t]![p]!++;
  }
  return m;
}

export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue.length, yPred.length);
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return yTrue.length ? ok / yTrue.length : 0;
}

/** Mean −log p(true class), probabilities rows × classCount row-major. */
export function logLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classCount: number, eps = 1e-15): number {
  checkLengths(yTrue.length * classCount, probabilities.length);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    // Normalise the row first (as scikit-learn), then clip.
    let z = 0;
    for (let k = 0; k < classCount; k++) z += probabilities[i * classCount + k]!;
    const p = probabilities[i * classCount + yTrue[i]!]! / (z > 0 ? z : 1);
    s -= Math.log(Math.min(Math.max(p, eps), 1 - eps));
  }
  return s / yTrue.length;
}

/**
 * Area under the ROC curve for a binary truth (1 = positive) and scores (higher = more positive):
 * the Mann–Whitney statistic with tied scores counted half. NaN when a class is absent.
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(yTrue.length, scores.length);
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  // Sum of the (average) ranks of the positives.
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (yTrue[order[k]!] === 1) rankSum += avgRank;
    i = j + 1;
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Every classification metric at once. `probabilities` (rows × classCount) adds logLoss and,
 * for two classes, rocAuc (on the probability of class 1); `labels` names the classes
 * (default '0', '1', …).
 */
export function classificationMetrics(
  yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classCount: number,
  opts: { probabilities?: ArrayLike<number>; labels?: string[] } = {},
): ClassificationMetrics {
  const cm = confusionMatrix(yTrue, yPred, classCount);
  const labels = opts.labels ?? Array.from({ length: classCount }, (_, k) => String(k));
  if (labels.length !== classCount) throw new InvalidInputError('bad_data', `${labels.length} label names for ${classCount} classes.`);
  const perClass: PerClassMetrics[] = [];
  let sumP = 0;
  let sumR = 0;
  let sumF = 0;
  let present = 0;
  for (let k = 0; k < classCount; k++) {
    const tp = cm[k]![k]!;
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < classCount; j++) { predicted += cm[j]![k]!; actual += cm[k]![j]!; }
    const precision = predicted ? tp / predicted : 0;
    const recall = actual ? tp / actual : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: labels[k]!, precision, recall, f1, support: actual });
    if (predicted || actual) {
      present++;
      sumP += precision;
      sumR += recall;
      sumF += f1;
    }
  }
  const out: ClassificationMetrics = {
    accuracy: accuracy(yTrue, yPred),
    precision: present ? sumP / present : 0,
    recall: present ? sumR / present : 0,
    f1: present ? sumF / present : 0,
    confusionMatrix: cm,
    labels,
    perClass,
  };
  if (opts.probabilities) {
    out.logLoss = logLoss(yTrue, opts.probabilities, classCount);
    if (classCount === 2) {
      const p1 = Array.from({ length: yTrue.length }, (_, i) => opts.probabilities![i * 2 + 1]!);
      const auc = rocAuc(yTrue, p1);
      if (!Number.isNaN(auc)) out.rocAuc = auc;
    }
  }
  return out;
}

function checkLengths(a: number, b: number): void {
  if (a !== b) throw new InvalidInputError('bad_data', `Metric inputs disagree in length: ${a} vs ${b}.`);
}
