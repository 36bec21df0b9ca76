#!/usr/bin/env bash
# bench-sustained.sh: a sustained `attestlog bench --mode add` load against
# one serve, in rounds, on a data directory that keeps what each run added
# (BENCHMARKS.md, issue 14's ninth pass).
#
#   .ci/bench-sustained.sh BIN DIR ROUNDS N [serve flags...]
#
# BIN is an attestlog binary, DIR a data directory (new or kept from an
# earlier run: copy one to start two builds from the same log), ROUNDS the
# number of loads of N claims each (256 builders, defaults otherwise). For
# each round it prints the rate, p99, serve's CPU a claim over the round
# (utime+stime from /proc, so the committer's work that falls in the round),
# serve's RssAnon at the end and its peak so far, and the verifiable
# index's tail at the end (attestlog_log_index_tail_entries: the entries
# no index commitment covers yet; a build without that metric prints -1).
# PROF=DIR takes a heap
# profile 5 s into the last round and a 10 s CPU profile after it, into
# DIR/heap.prof and DIR/cpu.prof.
set -euo pipefail
BIN=$1 DIR=$2 ROUNDS=$3 N=$4
shift 4
port=$((20000 + RANDOM % 20000))
mkdir -p "$DIR"
extra=()
[[ -n ${PROF:-} ]] && extra=(--pprof "127.0.0.1:$((port + 2))")
"$BIN" serve --data "$DIR" --http "127.0.0.1:$port" --grpc "127.0.0.1:$((port + 1))" --log-level warn "${extra[@]}" "$@" >"$DIR.serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$DIR.peak"' EXIT
for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null && break; sleep 0.1; done

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; } # clock ticks (1/100 s)
rss() { awk '/^RssAnon/ { print int($2 / 1024) }' "/proc/$pid/status"; }
echo 0 >"$DIR.peak"
(
	peak=0
	while kill -0 $pid 2>/dev/null; do
		r=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
		if [[ -n $r && $r -gt $peak ]]; then peak=$r; echo $peak >"$DIR.peak"; fi
		sleep 0.5
	done
) &
for round in $(seq "$ROUNDS"); do
	s0=$(cpu)
	if [[ $round == "$ROUNDS" && -n ${PROF:-} ]]; then
		(sleep 5; curl -s -o "$PROF/heap.prof" "http://127.0.0.1:$((port + 2))/debug/pprof/heap"
			curl -s -o "$PROF/cpu.prof" "http://127.0.0.1:$((port + 2))/debug/pprof/profile?seconds=10") &
	fi
	out=$("$BIN" bench --log "127.0.0.1:$((port + 1))" --mode add --builders 256 --requests "$N" --json 2>&1)
	s1=$(cpu)
	rate=$(grep -o '"per_second":[0-9.]*' <<<"$out" | head -1 | cut -d: -f2)
	p99=$(grep -o '"p99_ms":[0-9.]*' <<<"$out" | head -1 | cut -d: -f2)
	tail=$(metric attestlog_log_index_tail_entries)
	printf "round=%d rate=%.0f p99=%s server_us=%d rssAnonMiB=%d peakRssAnonMiB=%d tail=%d\n" \
		"$round" "$rate" "$p99" $(((s1 - s0) * 10000 / N)) "$(rss)" $(($(cat "$DIR.peak") / 1024)) "${tail:--1}"
done
sleep 5
