#!/usr/bin/env bash
# `npm run test:stress [-- ROUNDS]`: runs `npm test` ROUNDS times in a row (default 3) while two
# CPU-bound processes keep two cores busy, and prints pass/fail per round. The suite must not
# depend on the machine's speed; this shows whether it does. Exits non-zero if any round failed.
#
# The busy loops are this script's children and are killed when it ends, however it ends (trap EXIT).
# Extra arguments after ROUNDS go to `npm test` unchanged. BUSY=N sets the number of busy loops.
set -uo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-3}"
shift || true
busy="${BUSY:-2}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/stress-test.sh [ROUNDS] [npm test args...]  (ROUNDS: a positive integer, default 3)" >&2
  exit 2
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${pids[@]}" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq "$busy"); do
  node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "stress: $busy busy loops (pids ${pids[*]}), $rounds rounds of npm test"

logdir="$(mktemp -d "${TMPDIR:-/tmp}/aiaas-stress-XXXXXX")"
failed=0
results=()
for round in $(seq "$rounds"); do
  log="$logdir/round-$round.log"
  start=$SECONDS
  if npm test "$@" >"$log" 2>&1; then outcome=pass; else outcome=FAIL; failed=$((failed + 1)); fi
  line="round $round/$rounds: $outcome in $((SECONDS - start)) s (log: $log)"
  results+=("$line")
  echo "$line"
  if [ "$outcome" = FAIL ]; then grep -E '^# (pass|fail|cancelled)|^not ok' "$log" | head -20 | sed 's/^/  /'; fi
done

echo "stress: $((rounds - failed)) of $rounds rounds passed"
printf '  %s\n' "${results[@]}"
[ "$failed" -eq 0 ]
