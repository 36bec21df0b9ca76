#!/bin/sh
# bench-frontends.sh: appends/s and latency of `attestlog bench --mode add`
# against one serve on bbolt and 1, 2 and 4 serve frontends on one durable
# PostgreSQL database (fsync, synchronous_commit and full_page_writes on),
# side by side, with the CPU seconds each process used during the run.
# Needs PostgreSQL's binaries (Debian's layout), curl, GNU time and root
# (the server runs as the postgres user). With PROFILES=DIR, the top of a
# CPU profile of the first frontend of each run goes to DIR/NAME.top.
# Usage: .ci/bench-frontends.sh [BUILDERS [REQUESTS]]
set -eu
BUILDERS=${1:-256}
REQUESTS=${2:-30000}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
W=$(mktemp -d /tmp/attestlog-bench-XXXXXX)
chmod 755 "$W"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
go build -o "$W/attestlog" ./cmd/attestlog

mkdir "$W/pg" "$W/run" && chown postgres: "$W/pg" "$W/run"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/run/server.log" -w -o "-c listen_addresses=127.0.0.1 -p 25439 -k $W/run" start >/dev/null
PGPID=$(head -1 "$W/pg/postmaster.pid")

# cpu PID...: the CPU seconds (user + system) the processes and their
# children (PostgreSQL's backends) used so far.
cpu() {
	t=0
	for p in "$@"; do
		for q in $p $(pgrep -P "$p" || true); do
			s=$(awk '{print $14+$15+$16+$17}' "/proc/$q/stat" 2>/dev/null || echo 0)
			t=$((t + s))
		done
	done
	echo "$t $(getconf CLK_TCK)" | awk '{printf "%.1f", $1/$2}'
}

# run NAME FRONTENDS [STORE]: start the frontends, bench them, stop them.
run() {
	name=$1 n=$2 store=${3:-}
	addrs="" fes=""
	for i in $(seq 0 $((n - 1))); do
		d="$W/$name/fe$i"
		mkdir -p "$d"
		if [ "$i" -gt 0 ]; then cp "$W/$name/fe0/log.key" "$W/$name/fe0/log.vkey" "$d/"; fi
		port=$((17400 + 10 * i))
		"$W/attestlog" serve --data "$d" --http "127.0.0.1:$port" --grpc "127.0.0.1:$((port + 1))" --log-level warn \
			--pprof "127.0.0.1:$((port + 2))" ${store:+--store "$store"} >"$d/out" 2>"$d/err" &
		fes="$fes $!" PIDS="$PIDS $!"
		until grep -q "grpc listening on" "$d/out" 2>/dev/null; do sleep 0.1; done
		addrs="$addrs${addrs:+,}127.0.0.1:$((port + 1))"
	done
	before_fe=$(cpu $fes) before_pg=$(cpu "$PGPID")
	/usr/bin/time -f "%U %S" -o "$W/$name.time" "$W/attestlog" bench --log "$addrs" --mode add --builders "$BUILDERS" --requests "$REQUESTS" --json >"$W/$name.json" &
	b=$!
	# A CPU profile of the first frontend, 4 s from 1 s into the run.
	sleep 1
	curl -s -o "$W/$name.prof" "http://127.0.0.1:17402/debug/pprof/profile?seconds=4" || true
	wait $b
	# Seconds the frontends' batches spent committing, waiting for the
	# database's writer lock and holding it (PostgreSQL only), summed.
	busy=$(for i in $(seq 0 $((n - 1))); do curl -s "http://127.0.0.1:$((17400 + 10 * i))/metrics"; done |
		awk '/^attestlog_log_commit_seconds_sum/ {c += $2} /^attestlog_log_writer_lock_wait_seconds_sum/ {w += $2}
			/^attestlog_log_writer_lock_held_seconds_sum/ {h += $2} END {printf "commit %.1f, lock wait %.1f, lock held %.1f", c, w, h}')
	echo "$name: $(cat "$W/$name.json") step_s: $busy; cpu_s: frontends $(echo "$(cpu $fes) $before_fe" | awk '{print $1-$2}'), postgres $(echo "$(cpu "$PGPID") $before_pg" | awk '{print $1-$2}'), bench $(awk '{print $1+$2}' "$W/$name.time")"
	if [ -n "${PROFILES:-}" ]; then
		go tool pprof -top -cum "$W/attestlog" "$W/$name.prof" 2>/dev/null | head -40 >"$PROFILES/$name.top" || true
	fi
	for p in $fes; do kill "$p"; done
	for p in $fes; do wait "$p" || true; done
}

run bbolt 1
for n in 1 2 4; do
	psql -h 127.0.0.1 -p 25439 -U postgres -qc "CREATE DATABASE bench$n"
	run "postgres-$n" "$n" "postgres://postgres@127.0.0.1:25439/bench$n?sslmode=disable"
done
