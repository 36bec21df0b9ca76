#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 3s), one
# after the other. CI runs it briefly; for a long run:
#   FUZZTIME=10m bash .ci/fuzz.sh
# New interesting inputs are minimized for at most FUZZMINIMIZE (default 5s;
# Go's default of 60s stalls short runs on large seeds such as bundles).
# Keep it below FUZZTIME: a minimization still running when the fuzz time
# ends fails the run with "context deadline exceeded". CI passes a count
# (FUZZTIME=5000x, about 1.5 minutes for every target) and FUZZMINIMIZE=0x:
# a run bounded by a count has no deadline to trip over.
# A crasher is written to the package's testdata/fuzz/ and fails the run;
# commit it as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
# fuzzone runs one target. Go's fuzzer fails a run with "context deadline
# exceeded" when the fuzz time ends while a worker is busy (on a loaded
# machine, with short runs); that finds nothing, so such a run is tried once
# more. A real crasher is written under testdata/fuzz and fails at once.
fuzzone() {
  local out
  if out=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZE:-5s}" 2>&1); then
    echo "$out"; return 0
  fi
  echo "$out"
  if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
    echo "== fuzz $1 $2: the fuzzer timed out with nothing found; once more"
    go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZE:-5s}"
    return
  fi
  return 1
}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== fuzz $pkg $target ($fuzztime)"
    fuzzone "$pkg" "$target"
  done
done
