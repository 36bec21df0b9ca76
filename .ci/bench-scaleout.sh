#!/usr/bin/env bash
# bench-scaleout.sh: the scaled-out log side by side with bbolt, in one
# script: `attestlog bench --mode add` against one serve on bbolt and
# against 1, 2 and 4 serve frontends on one durable PostgreSQL database
# (fsync, synchronous_commit and full_page_writes on) publishing to one
# tiles bucket on a Ceph RADOS Gateway (every frontend with the same
# --objects). For each configuration it prints appends/s, p50 and p99, the
# CPU seconds of the frontends, PostgreSQL, Ceph and the load tool, the
# disk each appended entry added (log.db, or the database plus the
# frontends' --data) and the objects and bytes (logical, before the store's
# own overhead) each added to the bucket, and keeps a CPU profile of the
# first frontend (serve --pprof) with its top functions.
#
# Usage: .ci/bench-scaleout.sh [BUILDERS [REQUESTS]]     (default 256 30000)
#   CONFIGS="bbolt pg-s3-1 pg-s3-2 pg-s3-4"  the configurations, in order;
#          also bbolt-s3 (bbolt publishing to a bucket) and pg-N (no bucket)
#   OUT=DIR         where results and profiles stay (default ./bench-scaleout-DATE)
#   PROFILE_SECONDS length of each CPU profile, from 1 s into the run (default 10)
# Needs PostgreSQL's binaries (Debian's layout), Ceph (bash .ci/ceph.sh
# install), curl 7.75 or later, jq, GNU time and root (PostgreSQL runs as
# the postgres user). Ports used: 25449 (PostgreSQL), 16989 and 17680
# (Ceph), 17500 to 17532 (frontends). Nothing else is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILDERS=${1:-256}
REQUESTS=${2:-30000}
CONFIGS=${CONFIGS:-bbolt pg-s3-1 pg-s3-2 pg-s3-4}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
OUT=${OUT:-./bench-scaleout-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=25449
W=$(mktemp -d /tmp/attestlog-scaleout-XXXXXX)
chmod 755 "$W"
CEPH=$W/ceph
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m fast -w stop >/dev/null 2>&1 || true
	bash .ci/ceph.sh stop "$CEPH" || true
	rm -rf "$W"
}
trap cleanup EXIT

echo "== building; starting PostgreSQL and Ceph RGW (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
go build -o "$W/attestlog" ./cmd/attestlog
mkdir "$W/pg" "$W/run" && chown postgres: "$W/pg" "$W/run"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/run/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $W/run" start >/dev/null
PGPID=$(head -1 "$W/pg/postmaster.pid")
s3=$(bash .ci/ceph.sh start "$CEPH" 16989 17680)
s3=${s3#ATTESTLOG_TEST_S3=http://}
export AWS_ACCESS_KEY_ID=${s3%%:*}
rest=${s3#*:}
export AWS_SECRET_ACCESS_KEY=${rest%%@*}
export AWS_REGION=us-east-1
ENDPOINT=http://${rest#*@}
CEPHPIDS=$(cat "$CEPH"/run/*.pid)

# s3 METHOD PATH: a signed request to the RGW (curl's SigV4 needs the
# payload hash header for RGW; every request here has an empty body).
s3() {
	curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" -X "$1" "$ENDPOINT/$2"
}

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

# size ADDR: the tree size of the checkpoint a frontend serves.
size() { curl -sf "http://$1/checkpoint" | sed -n 2p; }

# usage: the bytes on disk of the running configuration (log.db, or the
# database and the frontends' --data), and the objects and bytes in its
# bucket (0 0 without one). Uses run's variables.
usage() {
	local disk objs=0 obytes=0 stats
	disk=$(du -sb "$W/$name" | cut -f1)
	if [ -n "$store" ]; then
		disk=$((disk + $(psql -h 127.0.0.1 -p $PGPORT -U postgres -Atc "SELECT pg_database_size('$db')")))
	fi
	if [ -n "$bucket" ]; then
		stats=$(radosgw-admin -c "$CEPH/ceph.conf" bucket stats --bucket="$bucket" 2>/dev/null)
		objs=$(echo "$stats" | jq '.usage["rgw.main"].num_objects // 0')
		obytes=$(echo "$stats" | jq '.usage["rgw.main"].size // 0')
	fi
	echo "$disk $objs $obytes"
}

# run NAME: start the configuration's frontends, bench them, measure, stop them.
run() {
	name=$1 n=1 store="" objects="" bucket=""
	case $name in
	bbolt) ;;
	bbolt-s3) bucket=tiles-$name ;;
	pg-s3-*) n=${name#pg-s3-} bucket=tiles-$name ;;
	pg-*) n=${name#pg-} ;;
	*) echo "bench-scaleout.sh: unknown configuration $name" >&2; exit 2 ;;
	esac
	case $name in pg-*)
		db=bench_${name//-/_}
		psql -h 127.0.0.1 -p $PGPORT -U postgres -qc "CREATE DATABASE $db"
		store="postgres://postgres@127.0.0.1:$PGPORT/$db?sslmode=disable" ;;
	esac
	if [ -n "$bucket" ]; then
		s3 PUT "$bucket" >/dev/null
		objects="s3://$bucket?endpoint=$ENDPOINT"
	fi
	addrs="" fes=""
	for i in $(seq 0 $((n - 1))); do
		d="$W/$name/fe$i"
		mkdir -p "$d"
		if [ "$i" -gt 0 ]; then cp "$W/$name/fe0/log.key" "$W/$name/fe0/log.vkey" "$d/"; fi
		port=$((17500 + 10 * i))
		"$W/attestlog" serve --data "$d" --http "127.0.0.1:$port" --grpc "127.0.0.1:$((port + 1))" --log-level warn \
			--pprof "127.0.0.1:$((port + 2))" ${store:+--store "$store"} ${objects:+--objects "$objects"} >"$d/out" 2>"$d/err" &
		fes="$fes $!" PIDS="$PIDS $!"
		until grep -q "grpc listening on" "$d/out" 2>/dev/null; do
			kill -0 "$!" 2>/dev/null || { echo "serve $name/fe$i did not start:" >&2; cat "$d/err" >&2; exit 1; }
			sleep 0.1
		done
		addrs="$addrs${addrs:+,}127.0.0.1:$((port + 1))"
	done
	echo "== $name: $n frontend(s), $BUILDERS builders, $REQUESTS claims (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	entries0=$(size 127.0.0.1:17500)
	read -r disk0 objs0 obytes0 <<<"$(usage)"
	before_fe=$(cpu $fes) before_pg=$(cpu "$PGPID") before_ceph=$(cpu $CEPHPIDS)
	/usr/bin/time -f "%U %S" -o "$W/$name.time" "$W/attestlog" bench --log "$addrs" --mode add --builders "$BUILDERS" --requests "$REQUESTS" --json >"$OUT/$name.json" &
	b=$!
	sleep 1
	curl -s -o "$OUT/$name.prof" "http://127.0.0.1:17502/debug/pprof/profile?seconds=$PROFILE_SECONDS" &
	prof=$!
	wait $b
	wait $prof || true
	fe_cpu=$(echo "$(cpu $fes) $before_fe" | awk '{print $1-$2}')
	pg_cpu=$(echo "$(cpu "$PGPID") $before_pg" | awk '{print $1-$2}')
	ceph_cpu=$(echo "$(cpu $CEPHPIDS) $before_ceph" | awk '{print $1-$2}')
	bench_cpu=$(awk '{print $1+$2}' "$W/$name.time")
	entries=$(size 127.0.0.1:17500)
	# The bucket's checkpoint catches up with the tree (publishing runs
	# behind the acknowledgements).
	published=""
	if [ -n "$bucket" ]; then
		for _ in $(seq 600); do
			published=$(s3 GET "$bucket/checkpoint" 2>/dev/null | sed -n 2p || true)
			[ "$published" = "$entries" ] && break
			sleep 0.2
		done
	fi
	read -r disk objs obytes <<<"$(usage)"
	added=$((entries - ${entries0:-0}))
	disk=$((disk - disk0))
	if [ -n "$bucket" ]; then objs=$((objs - objs0)) obytes=$((obytes - obytes0)); else objs="" obytes=""; fi
	go tool pprof -top -cum "$W/attestlog" "$OUT/$name.prof" 2>/dev/null | head -45 >"$OUT/$name.top" || true
	jq -c --arg name "$name" --argjson n "$n" --argjson entries "$added" --arg published "$published" \
		--argjson disk "$disk" --arg objs "$objs" --arg obytes "$obytes" \
		--argjson fe "$fe_cpu" --argjson pg "$pg_cpu" --argjson ceph "$ceph_cpu" --argjson bench "$bench_cpu" \
		--arg load "$(cut -d' ' -f1 /proc/loadavg)" \
		'{name: $name, frontends: $n, per_second, p50_ms, p99_ms, ok, errors, entries: $entries, published: $published,
		  disk_bytes_per_entry: ($disk / $entries), objects_per_entry: (if $objs == "" then null else ($objs|tonumber) / $entries end),
		  object_bytes_per_entry: (if $obytes == "" then null else ($obytes|tonumber) / $entries end),
		  cpu_s: {frontends: $fe, postgres: $pg, ceph: $ceph, bench: $bench}, load: $load}' "$OUT/$name.json" | tee -a "$OUT/results.jsonl"
	for p in $fes; do kill "$p"; done
	for p in $fes; do wait "$p" || true; done
	for i in $(seq 0 $((n - 1))); do
		if grep -q "level=ERROR" "$W/$name/fe$i/err"; then
			echo "-- $name/fe$i logged errors:" >&2
			grep "level=ERROR" "$W/$name/fe$i/err" | head -5 >&2
		fi
	done
}

: >"$OUT/results.jsonl"
for c in $CONFIGS; do run "$c"; done

{
	echo "| configuration | frontends | appends/s | p50 | p99 | disk/entry | objects/entry | object bytes/entry | CPU s: frontends, PostgreSQL, Ceph, load tool | load avg. |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	jq -r '"| \(.name) | \(.frontends) | \(.per_second|floor) | \(.p50_ms*10|round/10) ms | \(.p99_ms*10|round/10) ms | \(.disk_bytes_per_entry|floor) B | \(if .objects_per_entry == null then "" else (.objects_per_entry*1000|round/1000|tostring) end) | \(if .object_bytes_per_entry == null then "" else (.object_bytes_per_entry|floor|tostring) + " B" end) | \(.cpu_s.frontends), \(.cpu_s.postgres), \(.cpu_s.ceph), \(.cpu_s.bench) | \(.load) |"' "$OUT/results.jsonl"
} | tee "$OUT/table.md"
echo "results, profiles (NAME.prof, NAME.top) and the table are in $OUT" >&2
