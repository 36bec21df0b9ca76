#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 3s), one
# after the other. CI runs it briefly; for a long run:
#   FUZZTIME=10m bash .ci/fuzz.sh
# New interesting inputs are minimized for at most FUZZMINIMIZE (default 5s;
# Go's default of 60s stalls short runs on large seeds such as bundles).
# Keep it below FUZZTIME: a minimization still running when the fuzz time
# ends fails the run with "context deadline exceeded"; CI, with 2s runs,
# passes FUZZMINIMIZE=0x (no minimization).
# A crasher is written to the package's testdata/fuzz/ and fails the run;
# commit it as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== fuzz $pkg $target ($fuzztime)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZE:-5s}"
  done
done
