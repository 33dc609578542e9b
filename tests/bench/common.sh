# shellcheck shell=bash
# Shared by run.sh, tls.sh, pairs.sh, syscalls.sh and breakdown.sh
# (sourced, not run): their start and cleanup, ports, and the options
# stanzaguard runs with.
# The caller sets BENCH_NAME (the prefix of messages) first; for
# bench_start, SG, LOADGEN, ECHO, OUT, RES and CMDS too.

PIDS=""

# stanzaguard's options in the throughput rows (run.sh) and in the runs of
# relay_start (pairs.sh, syscalls.sh, breakdown.sh), which must measure
# the same thing.
# shellcheck disable=SC2034 # used by the scripts that source this
SG_BENCH_OPTS="--max-connections=200000 --log-level=warning"
SG_BENCH_OPTS="$SG_BENCH_OPTS --high-water=1m --low-water=256k"
SG_BENCH_OPTS="$SG_BENCH_OPTS --stats-interval=0 --drain-timeout=60s"

# A TCP port on 127.0.0.1 that nothing listens on right now, below the
# kernel's range of source ports (see sgtest.free_port).
free_port() {
	/usr/bin/python3 "$HERE/../integration/sgtest.py" 1
}

# relay_start KIND [STANZAGUARD]: echo_upstream on a free port and in
# front of it, on another, HAProxy (KIND haproxy: TCP mode, one thread)
# or STANZAGUARD with SG_BENCH_OPTS; sets RELAY_PORT, RELAY_PID and
# ECHO_PID.  The caller sets HERE and B (the build directory).
relay_start() {
	local up
	RELAY_PORT=$(free_port) up=$(free_port)
	"$B/echo_upstream" -p "$up" -t 60 >/dev/null 2>&1 &
	ECHO_PID=$!
	if [ "$1" = haproxy ]; then
		HAP_THREADS=1 HAP_MAXCONN=9950 HAP_BIND=127.0.0.1:$RELAY_PORT \
		    HAP_SERVER=127.0.0.1:$up haproxy -db -f "$HERE/haproxy.cfg" \
		    >/dev/null 2>&1 &
	else
		# shellcheck disable=SC2086
		"$2" --listen "127.0.0.1:$RELAY_PORT" \
		    --upstream "127.0.0.1:$up" $SG_BENCH_OPTS >/dev/null 2>&1 &
	fi
	RELAY_PID=$!
	sleep 0.5
}

# relay_stop: stop what relay_start started.
relay_stop() {
	kill "$RELAY_PID" "$ECHO_PID" 2>/dev/null
	wait "$RELAY_PID" "$ECHO_PID" 2>/dev/null
}

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

# shellcheck disable=SC2317 # called by the EXIT trap
bench_cleanup() {
	local p
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}

# bench_start TARGET COMMAND...: check the binaries and COMMANDs (make
# TARGET builds or installs them), empty RES and CMDS, make TMP, and clean
# up at exit.
bench_start() {
	local target=$1 f c
	shift
	for f in "$SG" "$LOADGEN" "$ECHO"; do
		[ -x "$f" ] || die "$f is missing: run make $target"
	done
	for c in "$@"; do
		command -v "$c" >/dev/null ||
		    die "$c is missing: make $target installs it"
	done
	mkdir -p "$OUT" || die "cannot create $OUT"
	: >"$RES"
	: >"$CMDS"
	TMP=$(mktemp -d "/tmp/sg$BENCH_NAME.XXXXXX") || die "mktemp failed"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
