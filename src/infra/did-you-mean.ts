/**
 * "Did you mean …?" for names a caller misspelled (columns, inputs, fields): the closest known
 * name by edit distance, ignoring case, when it is close enough to be a likely typo.
 */

/** Levenshtein distance, stopping early once it exceeds `limit` (returns limit + 1 then). */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name closest to `word` (case-insensitive), if within a typo's distance of it. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  // Long names tolerate more typos; a one-letter name is only "close" to a case variant.
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(w, k.toLowerCase(), limit);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** ` Did you mean 'x'?` (with its leading space), or '' when no known name is close. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const c = closest(word, known);
  return c === undefined ? '' : ` Did you mean '${c}'?`;
}
