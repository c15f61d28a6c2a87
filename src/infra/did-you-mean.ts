/**
 * "Did you mean …?" for names a caller misspelled (columns, inputs, spec fields, paths, options):
 * the closest known name by edit distance, ignoring case, offered only when it is close enough to
 * be a likely typo (so `colour` does not suggest `cv`). Shared by every check that names an
 * unknown word, so the wording is the same everywhere.
 */

/**
 * Edit distance counting a swap of two neighbours as one edit (`tset` → `test`), stopping early
 * once every path exceeds `limit` (it returns limit + 1 then).
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, before[j - 2]! + 1);
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known name closest to `word` (case-insensitive) within a typo's distance (a third of its
 * length: at least 1, at most 3 edits); failing that, the one known name that contains it
 * (`depth` → `maxDepth`).
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  const names = [...known];
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of names) {
    const d = editDistance(w, k.toLowerCase(), limit);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best !== undefined) return best;
  const containing = w.length >= 3 ? names.filter((k) => k.toLowerCase().includes(w)) : [];
  return containing.length === 1 ? containing[0] : undefined;
}

/** ` Did you mean 'x'?` (with its leading space), or '' when no known name is close. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const c = closest(word, known);
  return c === undefined ? '' : ` Did you mean '${c}'?`;
}
