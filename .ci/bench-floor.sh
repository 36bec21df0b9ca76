#!/usr/bin/env bash
# bench-floor.sh: what a light gRPC call costs serve on this machine, the
# floor under every claim's cost (BENCHMARKS.md, "physical limits"): a
# fresh serve, N claims added (`bench --mode add`), then `bench --mode
# proof` (an inclusion proof a call, no store write) with 256 callers, and
# serve's CPU a call around it from /proc/PID/stat; the load tool's CPU a
# call from /usr/bin/time.
#
#   .ci/bench-floor.sh BIN N CALLS
set -euo pipefail
BIN=$1 N=$2 CALLS=$3
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-floor.XXXX")
"$BIN" serve --data "$dir" --http "127.0.0.1:$port" --grpc "127.0.0.1:$((port + 1))" --log-level warn >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null && break; sleep 0.1; done
"$BIN" bench --log "127.0.0.1:$((port + 1))" --mode add --builders 256 --requests "$N" --json >/dev/null
sleep 5 # the index committer catches up
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; } # clock ticks (1/100 s)
s0=$(cpu)
out=$({ /usr/bin/time -f "LT %U %S" "$BIN" bench --log "127.0.0.1:$((port + 1))" --mode proof --builders 256 --requests "$CALLS" --json; } 2>&1)
s1=$(cpu)
rate=$(grep -o '"per_second":[0-9.]*' <<<"$out" | head -1 | cut -d: -f2)
lt=$(awk '/^LT/ { print $2 + $3 }' <<<"$out")
printf "proof calls/s=%s server_us_a_call=%.1f loadtool_us_a_call=%.1f\n" "$rate" \
	"$(echo "($s1 - $s0) * 10000 / $CALLS" | bc -l)" "$(echo "$lt * 1000000 / $CALLS" | bc -l)"
