#!/bin/sh
# bench/lm-ab.sh DIST_A DIST_B ROUNDS THREADS: interleaved A/B of the causal_lm training step (bench/lm-step-time.mjs),
# A, B and PyTorch (bench/peers/torch_lm.py, 20 steps) in turn, ROUNDS times, same thread count; prints every
# run as JSON, then the medians. Under a loaded machine only the medians of many alternations mean anything.
A=$1; B=$2; ROUNDS=${3:-5}; THREADS=${4:-1}
DIR=$(dirname "$0")
OUT=$(mktemp)
for i in $(seq "$ROUNDS"); do
  node "$DIR/lm-step-time.mjs" "$A" "$THREADS" 2 | sed 's/^/A /' | tee -a "$OUT"
  node "$DIR/lm-step-time.mjs" "$B" "$THREADS" 2 | sed 's/^/B /' | tee -a "$OUT"
  ${PYTHON:-/usr/bin/python3} "$DIR/peers/torch_lm.py" "$DIR/../examples/data/kjv.txt.gz" "$THREADS" 20 4 4 128 128 32 | sed 's/^/T /' | tee -a "$OUT"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const med = (tag) => { const v = lines.filter((l) => l.startsWith(tag + " ")).map((l) => JSON.parse(l.slice(2)).tokensPerSecond).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
const [a, b, t] = ["A", "B", "T"].map(med);
console.log(`medians (tokens/s): A ${a.toFixed(0)}, B ${b.toFixed(0)} (B/A ${(b / a).toFixed(3)}), torch ${t.toFixed(0)}; A/torch ${(a / t).toFixed(3)}, B/torch ${(b / t).toFixed(3)}`);
' "$OUT"
rm -f "$OUT"
