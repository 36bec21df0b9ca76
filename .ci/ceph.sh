#!/usr/bin/env bash
# Starts and stops a throwaway Ceph RADOS Gateway (S3) on loopback, for the
# object-store tests: one monitor, one memstore OSD (nothing on disk but
# logs) and radosgw, without systemd, with `auth none` inside the cluster and
# one S3 user with static keys.
#
#   .ci/ceph.sh install                 apt-get the daemons if missing
#   .ci/ceph.sh start DIR [MON RGW]     start under DIR (created); ports default 16789 and 17480
#   .ci/ceph.sh stop DIR                stop the daemons by their PID files, remove DIR
#
# start prints one line on stdout, for the Go tests:
#
#   ATTESTLOG_TEST_S3=http://ACCESS_KEY:SECRET_KEY@127.0.0.1:RGW
#
# Ports stay below 32768, the ephemeral range here. The daemons fork; their
# PIDs are in DIR/run/*.pid, and stop kills exactly those.
set -euo pipefail

access_key=attestlogtest
secret_key=attestlogtestsecret0123456789

die() { echo "ceph.sh: $*" >&2; exit 1; }

have_binaries() {
  command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1 &&
    command -v radosgw >/dev/null 2>&1 && command -v radosgw-admin >/dev/null 2>&1
}

install() {
  have_binaries && return 0
  echo "== installing Ceph RADOS Gateway (Debian ceph-mon ceph-osd radosgw)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >/dev/null
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start DIR MON RGW: start_once, up to three times: on a loaded machine the
# OSD's first start now and then fails ("wrong fsid") and exits.
start() {
  local attempt
  for attempt in 1 2 3; do
    # A process of its own, so that set -e holds inside (it does not in a
    # function or subshell tested by if).
    if bash "$0" start-once "$@"; then
      return 0
    fi
    echo "ceph.sh: start attempt $attempt failed; logs in $1/log:" >&2
    tail -n 3 "$1"/log/*start*.log "$1"/log/*mkfs*.log >&2 2>/dev/null || true
    stop "$1"
  done
  die "could not start Ceph in $1"
}

start_once() {
  local dir=$1 mon_port=${2:-16789} rgw_port=${3:-17480}
  have_binaries || die "ceph-mon, ceph-osd, radosgw or radosgw-admin missing; run: $0 install"
  [ -e "$dir/ceph.conf" ] && die "$dir already holds a cluster; stop it first"
  port_free "$mon_port" || die "port $mon_port (monitor) is in use; pass other ports"
  port_free "$rgw_port" || die "port $rgw_port (radosgw) is in use; pass other ports"
  mkdir -p "$dir"/{run,log,mon,osd,rgw}
  dir=$(cd "$dir" && pwd)
  local conf=$dir/ceph.conf fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 2147483648
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
keyring = $dir/keyring
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
EOF
  local c=(-c "$conf")
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon "${c[@]}" -i a 2>>"$dir/log/mon-start.log"

  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(timeout 60 ceph "${c[@]}" osd new "$uuid")
  mkdir -p "$dir/osd/ceph-$id"
  ceph-osd "${c[@]}" -i "$id" --mkfs --osd-uuid "$uuid" 2>>"$dir/log/osd-mkfs.log"
  ceph-osd "${c[@]}" -i "$id" 2>>"$dir/log/osd-start.log"
  local i
  for i in $(seq 120); do
    timeout 10 ceph "${c[@]}" osd stat 2>/dev/null | grep -q ' 1 up' && break
    [ "$i" = 120 ] && die "the OSD did not come up in 60 s; see $dir/log"
    sleep 0.5
  done

  radosgw "${c[@]}" -n client.rgw.a 2>>"$dir/log/rgw-start.log"
  for i in $(seq 240); do
    port_free "$rgw_port" || break
    [ "$i" = 240 ] && die "radosgw did not listen on $rgw_port in 120 s; see $dir/log"
    sleep 0.5
  done
  # Bounded: on a loaded machine radosgw-admin has been seen to hang; a
  # failed attempt is stopped and started again by start.
  timeout 120 radosgw-admin "${c[@]}" user create --uid=attestlog --display-name=attestlog \
    --access-key="$access_key" --secret="$secret_key" >/dev/null
  echo "ATTESTLOG_TEST_S3=http://$access_key:$secret_key@127.0.0.1:$rgw_port"
}

stop() {
  local dir=$1 f pid
  [ -d "$dir/run" ] || return 0
  # A daemon removes its pid file as it exits, so a file seen may be gone
  # when read: that daemon is stopped already.
  for f in "$dir"/run/*.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
  done
  for f in "$dir"/run/*.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
install) install ;;
start) [ $# -ge 2 ] || die "usage: $0 start DIR [MON_PORT RGW_PORT]"; start "$2" "${3:-}" "${4:-}" ;;
start-once) start_once "$2" "${3:-}" "${4:-}" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
*) die "usage: $0 install | start DIR [MON_PORT RGW_PORT] | stop DIR" ;;
esac
