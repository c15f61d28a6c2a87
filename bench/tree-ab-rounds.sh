#!/usr/bin/env bash
# Interleaved warm-fit A/B of the tree estimators: a base build (BASE, default ../base-a19: `git worktree add ../base-a19 a19d940`, built with tsc) against this checkout (HEAD_TREE).
# Summarise: medians of times[3:] per (data, kind, worktree) from the JSON lines it prints.
cd "$(dirname "$0")/.."
for r in 1 2 3 4 5 6; do
  for c in "loans random_forest" "loans gradient_boosting" "diabetes random_forest" "diabetes gradient_boosting"; do
    for w in ${BASE:-../base-a19} ${HEAD_TREE:-.}; do
      echo "$w $c $(node bench/tree-ab.mjs $w $c 1 12 2>/dev/null | tail -1)"
    done
  done
done
