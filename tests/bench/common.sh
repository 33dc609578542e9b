# shellcheck shell=bash
# Shared by run.sh, tls.sh, pairs.sh, syscalls.sh and breakdown.sh
# (sourced, not run): their start and cleanup, ports, and the options
# stanzaguard runs with.
# The caller sets BENCH_NAME (the prefix of messages) first; for
# bench_start, SG, LOADGEN, ECHO, OUT, RES and CMDS too.

PIDS=""

# stanzaguard's options in the throughput rows (run.sh) and in pairs.sh,
# which must measure the same thing.
# shellcheck disable=SC2034 # used by the scripts that source this
SG_BENCH_OPTS="--max-connections=200000 --log-level=warning"
SG_BENCH_OPTS="$SG_BENCH_OPTS --high-water=1m --low-water=256k"
SG_BENCH_OPTS="$SG_BENCH_OPTS --stats-interval=0 --drain-timeout=60s"

# A TCP port on 127.0.0.1 that nothing listens on right now, below the
# kernel's range of source ports (see sgtest.free_port).
free_port() {
	/usr/bin/python3 "$HERE/../integration/sgtest.py" 1
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
