# shellcheck shell=bash
# Shared by run.sh and tls.sh (sourced, not run): their start and cleanup.
# The caller sets BENCH_NAME (the prefix of messages), SG, LOADGEN, ECHO,
# OUT, RES and CMDS first.

PIDS=""

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
