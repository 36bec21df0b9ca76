#!/usr/bin/env bash
# bench-grpc.sh: one run of `attestlog bench --mode add` against a fresh
# serve on this machine, with what the load alone does not report: serve's
# CPU a claim, the load tool's CPU, serve's peak RssAnon, bytes allocated a
# claim and garbage collections (BENCHMARKS.md, issue 14's fifth to seventh
# passes, where it was /tmp/b/run.sh).
#
#   .ci/bench-grpc.sh BIN LABEL N [serve flags...]
#
# BIN is an attestlog binary (go build -o BIN ./cmd/attestlog), LABEL names
# the run in the output line, N is the number of claims. Serve flags follow,
# e.g. `--index-entries 1000000000 --index-age 1h --index-max-tail -1` to
# keep the index committer idle (without the last, the index gate makes it
# commit once 2,048 entries wait). Environment: AGREE=K (bench --agree), PROF=DIR (a CPU
# profile of serve, PSEC seconds from 3 s into the load, into DIR/LABEL.cpu),
# LOADBIN (another binary for the load tool), KEEP=1 (keep the data
# directory). serve's CPU counts the load and what follows until the index
# committer has caught up (attestlog_log_index_tail_entries at most 600, or
# 120 s; 7 s for a build without that metric), then 1 s; tail is the largest index tail seen during the load,
# and catchup_s how long the committer took after it. ratio is serve's CPU over the load tool's: the two
# share the cores, so it takes out much of a noisy host's drift.
set -euo pipefail
BIN=$1 LABEL=$2 N=$3
shift 3
LOADBIN=${LOADBIN:-$BIN}
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-grpc.XXXX")
extra=()
[[ -n ${PROF:-} ]] && extra=(--pprof "127.0.0.1:$((port + 2))")
"$BIN" serve --data "$dir" --http "127.0.0.1:$port" --grpc "127.0.0.1:$((port + 1))" --log-level warn "${extra[@]}" "$@" >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$dir"' EXIT
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null && break; sleep 0.1; done

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; } # clock ticks (1/100 s)
s0=$(cpu) a0=$(metric go_memstats_alloc_bytes_total) g0=$(metric go_gc_duration_seconds_count)
(
	peak=0 tail=0
	while kill -0 $pid 2>/dev/null; do
		r=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		if [[ -n $r && $r -gt $peak ]]; then peak=$r; echo $peak >"$dir/peak"; fi
		if [[ ! -e $dir/loaded ]]; then
			t=$(metric attestlog_log_index_tail_entries || true)
			if [[ -n $t && $t -gt $tail ]]; then tail=$t; echo $tail >"$dir/tail"; fi
		fi
		sleep 0.5
	done
) &
if [[ -n ${PROF:-} ]]; then
	(sleep 3; curl -s -o "$PROF/$LABEL.cpu" "http://127.0.0.1:$((port + 2))/debug/pprof/profile?seconds=${PSEC:-5}") &
fi
out=$({ /usr/bin/time -f "LT %U %S" "$LOADBIN" bench --log "127.0.0.1:$((port + 1))" --mode add --builders 256 --requests "$N" --agree "${AGREE:-1}" --json; } 2>&1)
touch "$dir/loaded"
c0=$(date +%s.%N)
for i in $(seq 240); do
	t=$(metric attestlog_log_index_tail_entries)
	[[ -n $t && $t -le 600 ]] && break
	[[ -z $t && $i -gt 14 ]] && break # a build without the metric: 7 s, as before
	sleep 0.5
done
catchup=$(echo "$(date +%s.%N) - $c0" | bc -l)
sleep 1
s1=$(cpu) a1=$(metric go_memstats_alloc_bytes_total) g1=$(metric go_gc_duration_seconds_count)

rate=$(grep -o '"per_second":[0-9.]*' <<<"$out" | head -1 | cut -d: -f2)
p99=$(grep -o '"p99_ms":[0-9.]*' <<<"$out" | head -1 | cut -d: -f2)
lt=$(awk '/^LT/ { print $2 + $3 }' <<<"$out")
us=$(echo "($s1 - $s0) * 10000 / $N" | bc -l)
printf "%s rate=%s p99=%s server_us=%.1f loadtool_s=%s peakRssAnonMiB=%d allocB=%d gcs=%d tail=%d catchup_s=%.1f ratio=%.2f\n" \
	"$LABEL" "$rate" "$p99" "$us" "$lt" $(($(cat "$dir/peak" 2>/dev/null || echo 0) / 1024)) $(((a1 - a0) / N)) $((g1 - g0)) \
	"$(cat "$dir/tail" 2>/dev/null || echo 0)" "$catchup" \
	"$(echo "$us / ($lt * 1000000 / $N)" | bc -l)"
