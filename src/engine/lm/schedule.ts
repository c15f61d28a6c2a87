/** The language-model learning-rate schedule, by step: linear warm-up, then cosine to 0 (or constant). */
export type LmSchedule = 'cosine' | 'constant';

/** Learning rate of 0-based step t of `total`: base·(t+1)/warmup while warming up, then base·½(1 + cos(π·progress)). */
export function lmLearningRate(base: number, t: number, total: number, warmup: number, schedule: LmSchedule = 'cosine'): number {
  if (t < warmup) return (base * (t + 1)) / warmup;
  if (schedule === 'constant') return base;
  const progress = Math.min(1, (t - warmup) / Math.max(1, total - warmup));
  return 0.5 * base * (1 + Math.cos(Math.PI * progress));
}
