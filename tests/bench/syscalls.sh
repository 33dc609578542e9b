#!/bin/bash
# System calls per stanza of HAProxy (TCP mode, 1 thread) and stanzaguard,
# relaying 64 sessions (SYSCALLS_SESSIONS) of 200-byte stanzas for 3 s:
# perf's raw_syscalls tracepoint on the proxy's pid, divided by loadgen's
# stanza count.
#
#   tests/bench/syscalls.sh [STANZAGUARD]     (after make -C tests/bench proxy)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SG=${1:-$ROOT/stanzaguard}
B=$ROOT/build
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl
TMP=$(mktemp -d /tmp/sgsys.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT

BENCH_NAME=syscalls
# shellcheck source=tests/bench/common.sh
. "$HERE/common.sh"

# run KIND: one measurement of haproxy or stanzaguard.
run() {
	local kind=$1 spid out n
	relay_start "$kind" "$SG"
	perf stat -e "$EVENTS" -p "$RELAY_PID" -o "$TMP/$kind" -- sleep 3.2 &
	spid=$!
	out=$("$B/loadgen" -p "$RELAY_PORT" -d 3 -u 1 -m throughput \
	    -c "${SYSCALLS_SESSIONS:-64}" -b 200 \
	    -w 16 2>&1 | grep 'stanzas=')
	wait "$spid"
	n=$(echo "$out" | grep -o ' stanzas=[0-9]*' | cut -d= -f2)
	echo "$kind: $n stanzas in 3 s"
	awk -v n="${n:-1}" '/syscalls:/ { gsub(",", "", $1);
	    printf "  %-32s %10d  %.3f per stanza\n", $2, $1, $1 / n }' \
	    "$TMP/$kind"
	relay_stop
}

command -v perf >/dev/null ||
    { echo "syscalls: no perf (make deps-bench installs it)" >&2; exit 1; }
run haproxy
run stanzaguard
