/**
 * "Did you mean …?" for misspelt field names, paths and options: the nearest known word by edit
 * distance, offered only when it is close enough to be a plausible typo (so `colour` does not
 * suggest `cv`). Shared by every strict spec check so the wording is the same everywhere.
 */

/** Edit distance counting a swap of two neighbours as one edit (`tset` → `test`), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[s.length]![t.length]!;
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
