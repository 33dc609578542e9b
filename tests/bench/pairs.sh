#!/bin/bash
# Two stanzaguard binaries, A and B, in alternating pairs of runs (A B,
# then B A, ...): each run relays PAIRS_SESSIONS sessions (default 64) of
# 200-byte stanzas, 16 in flight each, for 3 s, as make bench's tp200 rows
# do; printed are each run's CPU per echoed stanza (all, then user space)
# and, at the end, the means and in how many pairs B took less.
#
#   tests/bench/pairs.sh A B      (after make -C tests/bench proxy)
#
# On a shared machine the CPU figure drifts by 10-30% within minutes, so
# the medians of separate make bench runs hide a change of a few percent;
# runs next to each other in time, in alternating order, show it
# (link-time optimisation: 7% at 64 sessions, B lower in 8 pairs of 8).
# PAIRS_N pairs (default 8): about 10 s a pair.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=$ROOT/build
SESSIONS=${PAIRS_SESSIONS:-64}
N=${PAIRS_N:-8}

BENCH_NAME=pairs
# shellcheck source=tests/bench/common.sh
. "$HERE/common.sh"

# run BINARY: "CPU USER" in µs per echoed stanza, or nothing if it failed.
run() {
	local out
	relay_start stanzaguard "$1"
	out=$(timeout -k 5 60 "$B/loadgen" -p "$RELAY_PORT" -d 3 -u 1 \
	    -P "$RELAY_PID" -m throughput -c "$SESSIONS" -b 200 -w 16 \
	    2>/dev/null)
	relay_stop
	echo "$out" | tr ' ' '\n' | awk -F= '
	    $1 == "cpu1_us_per_stanza" { c = $2 }
	    $1 == "cpu1_user_us_per_stanza" { u = $2 }
	    END { if (c != "") print c, u }'
}

[ $# = 2 ] || die "usage: pairs.sh A B"
for f in "$1" "$2" "$B/loadgen" "$B/echo_upstream"; do
	[ -x "$f" ] || die "$f is missing (make -C tests/bench proxy)"
done
# Two descriptors a session in the proxy, as many in loadgen.
ulimit -n "$(ulimit -Hn)"
echo "pairs: A=$1 B=$2, $SESSIONS sessions, $N pairs;" \
    "us per echoed stanza, all/user"
for i in $(seq 1 "$N"); do
	if [ $(( i % 2 )) = 1 ]; then
		a=$(run "$1") b=$(run "$2")
	else
		b=$(run "$2") a=$(run "$1")
	fi
	if [ -z "$a" ] || [ -z "$b" ]; then
		die "pair $i: a run failed"
	fi
	echo "$a $b"
done | awk '
	{ printf "pair %d: A %.3f/%.3f  B %.3f/%.3f  B-A %+.3f\n",
	      NR, $1, $2, $3, $4, $3 - $1
	  sa += $1; ua += $2; sb += $3; ub += $4; if ($3 < $1) w++ }
	END { if (NR == 0) exit 1
	  printf "mean: A %.3f/%.3f  B %.3f/%.3f  B-A %+.1f%%; B lower in %d of %d\n",
	      sa / NR, ua / NR, sb / NR, ub / NR, 100 * (sb - sa) / sa, w, NR }'
