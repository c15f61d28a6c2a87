/**
 * "Did you mean …?" for misspelt field names, paths and options: the nearest known word by edit
 * distance, offered only when it is close enough to be a plausible typo (so `colour` does not
 * suggest `cv`). Shared by every strict spec check so the wording is the same everywhere.
 */

/** Levenshtein distance, case-insensitive (a field typed `learningrate` is still a typo). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/**
 * The known word nearest to `word`, if it is within a third of the word's length (at least 1, at
 * most 3 edits); failing that, the one known word that contains it (`depth` → `maxDepth`).
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const budget = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (bestDistance <= budget) return best;
  const containing = word.length >= 3 ? known.filter((k) => k.toLowerCase().includes(word.toLowerCase())) : [];
  return containing.length === 1 ? containing[0] : undefined;
}

/** " Did you mean 'x'?" or "" — to append to a message about an unknown word. */
export function didYouMean(word: string, known: readonly string[]): string {
  const c = closest(word, known);
  return c === undefined ? '' : ` Did you mean '${c}'?`;
}
