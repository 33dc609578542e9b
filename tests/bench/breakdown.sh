#!/bin/bash
# Where stanzaguard's CPU per echoed stanza goes, set against the limit of
# issue 14 (HAProxy's CPU per stanza plus expat's floor for two parses):
# in each round, HAProxy relays BREAKDOWN_SESSIONS sessions (default "64
# 1000") of 200-byte stanzas, 16 in flight each, for 3 s; then stanzaguard
# does the same under perf's sampling profiler; then bench_tracker gives
# the floor.  perf's shares of the samples split stanzaguard's CPU into
# expat, the kernel, and the rest (stanzaguard's own code, libc, libev).
#
#   tests/bench/breakdown.sh [STANZAGUARD]    (after make -C tests/bench proxy)
#
# Printed per round, in µs per echoed stanza: HAProxy's CPU, the floor
# (for 1,000 sessions, also the floor's parser with 2,000 streams in
# turn), the limit, stanzaguard's CPU and its ratio to the limit, and its
# three parts: expat (and expat over the floor), the kernel (HAProxy's CPU
# is nearly all kernel), the rest.  Then the medians.  The rest includes
# the copies and string lengths that expat asks of libc (about a third of
# libc's instructions under callgrind), which the floor counts as expat's:
# it overstates stanzaguard's own code by that much.  perf's sampling
# (999 Hz) adds a little to stanzaguard's CPU here: make bench's ratio is
# the one without it.  BREAKDOWN_N rounds (default 3): about 15 s a round
# and session count.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=$ROOT/build
SG=${1:-$ROOT/stanzaguard}
N=${BREAKDOWN_N:-3}
SESSIONS=${BREAKDOWN_SESSIONS:-64 1000}

BENCH_NAME=breakdown
# shellcheck source=tests/bench/common.sh
. "$HERE/common.sh"

TMP=$(mktemp -d /tmp/sgbreakdown.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

# field NAME: the value of NAME=... in key=value text on stdin.
field() {
	tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

# relay KIND SESSIONS: one 3-second run through haproxy or stanzaguard
# (sampled by perf into $TMP/perf.data); loadgen's line on stdout.
relay() {
	local kind=$1 ppid out
	relay_start "$kind" "$SG"
	if [ "$kind" = stanzaguard ]; then
		# The middle 2 s of loadgen's 1 s warm-up and 3 s measured.
		(sleep 1.5; exec perf record -q -e cpu-clock -F 999 \
		    -p "$RELAY_PID" -o "$TMP/perf.data" -- sleep 2 \
		    >/dev/null 2>&1) &
		ppid=$!
	fi
	out=$(timeout -k 5 60 "$B/loadgen" -p "$RELAY_PORT" -d 3 -u 1 \
	    -P "$RELAY_PID" -m throughput -c "$2" -b 200 -w 16 2>/dev/null)
	[ "$kind" = stanzaguard ] && wait "$ppid"
	relay_stop
	echo "$out"
}

# shares BINARY: "EXPAT KERNEL REST" in percent of perf's samples.
shares() {
	perf report -i "$TMP/perf.data" --sort dso --stdio -q 2>/dev/null |
	    awk '{ p = $1; sub("%", "", p)
		if ($2 ~ /^libexpat/) e += p
		else if ($2 == "[kernel.kallsyms]") k += p
		else r += p }
		END { printf "%.2f %.2f %.2f\n", e, k, r }'
}

[ -x "$SG" ] || die "$SG is missing (make stanzaguard)"
for f in loadgen echo_upstream bench_tracker; do
	[ -x "$B/$f" ] || die "$B/$f is missing (make -C tests/bench proxy)"
done
for c in haproxy perf; do
	command -v "$c" >/dev/null || die "$c is missing (make deps-bench)"
done
ulimit -n "$(ulimit -Hn)"
echo "breakdown: $SG, sessions $SESSIONS, $N rounds; us per echoed stanza"
printf "%5s %5s %6s %6s %6s %6s %6s  %6s %6s %6s %6s\n" sess round haproxy \
    floor limit sg ratio expat "/floor" kernel rest
for i in $(seq 1 "$N"); do
	for s in $SESSIONS; do
		h=$(relay haproxy "$s" | field cpu1_us_per_stanza)
		g=$(relay stanzaguard "$s" | field cpu1_us_per_stanza)
		if [ -z "$h" ] || [ -z "$g" ]; then
			die "round $i, $s sessions: a run failed"
		fi
		read -r pe pk pr < <(shares)
		fl=$("$B/bench_tracker" --floor)
		f=$(echo "$fl" | field floor2_us_per_stanza)
		f2=$(echo "$fl" | field floor2_2000_us_per_stanza)
		echo "$s $i $h $f $f2 $g $pe $pk $pr"
	done
done | awk '
	function median(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	{ s = $1; lim = $3 + $4; e = $6 * $7 / 100
	  printf "%5d %5d %6.2f %6.2f %6.2f %6.2f %6.3f  %6.2f %6.2f %6.2f %6.2f\n",
	      s, $2, $3, $4, lim, $6, $6 / lim, e, e / $4, $6 * $8 / 100,
	      $6 * $9 / 100
	  if (s >= 1000)
		printf "%11s floor with 2,000 streams in turn %.2f: expat over it %.2f\n",
		    "", $5, e / $5
	  k = ++n[s]; H[s, k] = $3; F[s, k] = $4; G[s, k] = $6
	  R[s, k] = $6 / lim; E[s, k] = e; Q[s, k] = e / $4
	  K[s, k] = $6 * $8 / 100; O[s, k] = $6 * $9 / 100
	  if (!(s in seen)) { seen[s] = 1; order[++ns] = s } }
	END {
		for (j = 1; j <= ns; j++) {
			s = order[j]; m = n[s]
			for (k = 1; k <= m; k++) {
				ah[k] = H[s, k]; af[k] = F[s, k]; ag[k] = G[s, k]
				ar[k] = R[s, k]; ae[k] = E[s, k]; aq[k] = Q[s, k]
				ak[k] = K[s, k]; ao[k] = O[s, k]
			}
			mh = median(ah, m); mf = median(af, m)
			printf "%5d %5s %6.2f %6.2f %6.2f %6.2f %6.3f  %6.2f %6.2f %6.2f %6.2f\n",
			    s, "med", mh, mf, mh + mf, median(ag, m), median(ar, m),
			    median(ae, m), median(aq, m), median(ak, m), median(ao, m)
		}
	}'
