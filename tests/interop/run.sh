#!/bin/sh
# stanzaguard against a real Prosody, with slixmpp clients: `make
# check-interop`.
#
#   tests/interop/run.sh path/to/stanzaguard [SCENARIO...]
#
# For each scenario (default: all of them): a throwaway Prosody 0.12
# (tests/interop/prosody.sh, debug log) and a stanzaguard in front of it,
# both on free loopback ports, and tests/interop/clients.py's slixmpp
# clients (alice, bob) connecting through stanzaguard:
#
#   client-close  log in, roster, messages; the clients close their streams
#   idle          the same, then quiet: --idle-timeout=2s closes both sides
#   server-cut    Prosody with mod_legacy_idle_cut (2s) drops idle
#                 connections without a close tag; --idle-timeout=30s
#   burst         20 rounds of message bursts sent across the idle close
#                 (--idle-timeout=1500ms), every message accounted for
#   tls-starttls  client-close with stanzaguard --tls=starttls (certificates
#                 from tests/tls/mkcerts.sh; the clients verify against its
#                 CA) in front of a plaintext Prosody that has a certificate
#                 too, so offers STARTTLS, which stanzaguard must hide
#   tls-direct    the same with --tls=direct (XEP-0368)
#   tls-idle      idle inside TLS (starttls)
#   tls-server-cut server-cut inside TLS (starttls)
#   tls-refused   a raw client skips STARTTLS: <policy-violation/>
#   proxy-v1      clients from 127.0.0.2, stanzaguard --send-proxy=v1 to a
#   proxy-v2      Prosody with tests/interop/mod_proxy_header.lua, which must
#                 log 127.0.0.2 (skipped while stanzaguard has no send-proxy)
#
# Skips everything (exit 0, "interop: skipped: WHY") only when Prosody or
# python3-slixmpp is not installed (make deps-test installs both); skips one
# scenario ("interop: SKIP NAME: WHY") when this stanzaguard lacks what it
# tests.  The last line is "interop: N passed, N failed" (after one with the
# skipped ones, if any); the exit status is non-zero if any failed.
# Everything lives in build/interop.XXXXXX, kept when a scenario failed
# (KEEP=1 keeps it always).  SG_SEED=N replays the burst scenario's timing.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAME=interop
# shellcheck source=tests/interop/common.sh
. "$HERE/common.sh"
PY=/usr/bin/python3	# python3-slixmpp is installed for Debian's python only

if [ $# -lt 1 ]; then
	echo "usage: $0 path/to/stanzaguard [SCENARIO...]" >&2
	exit 2
fi
case $1 in
/*) BIN=$1 ;;
*) BIN=$(pwd)/$1 ;;
esac
shift
if [ ! -x "$BIN" ]; then
	echo "interop: $BIN is not an executable (make stanzaguard)" >&2
	exit 2
fi
ALL="client-close idle server-cut burst tls-starttls tls-direct tls-idle \
tls-server-cut tls-refused proxy-v1 proxy-v2"
SCENARIOS=${*:-$ALL}

skip()
{
	echo "interop: skipped: $*"
	exit 0
}

command -v "${PROSODY:-prosody}" >/dev/null 2>&1 ||
    skip "no prosody on PATH (apt-get install prosody, or make deps-test)"
command -v "${PROSODYCTL:-prosodyctl}" >/dev/null 2>&1 ||
    skip "no prosodyctl on PATH (apt-get install prosody)"
[ -x "$PY" ] ||
    skip "no $PY (python3-slixmpp is for Debian's python3: make deps-test)"
"$PY" -c 'import slixmpp' 2>/dev/null ||
    skip "$PY cannot import slixmpp (apt-get install python3-slixmpp," \
    "or make deps-test)"

mkdir -p "$ROOT/build" || exit 2
WORK=$(mktemp -d "$ROOT/build/interop.XXXXXX") || exit 2
PASSED=0
FAILED=0
SKIPPED=""
STARTED=$(date +%s)

# Everything started, for the EXIT trap: "sg PIDFILE" or "prosody DIR".
RUNNING=""
CLIENTS=""	# the pid of timeout(1) running clients.py

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup()
{
	# timeout(1) passes the TERM on to clients.py.
	[ -n "$CLIENTS" ] && kill -TERM "$CLIENTS" 2>/dev/null
	for d in $RUNNING; do
		[ -f "$d/stanzaguard.pid" ] && stop_sg "$d/stanzaguard.pid"
		"$HERE/prosody.sh" stop "$d/prosody" 2>/dev/null
	done
	RUNNING=""
	if [ "$FAILED" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		echo "interop: logs kept in $WORK"
	fi
}
trap cleanup EXIT
trap 'echo "interop: interrupted"; exit 130' INT
trap 'echo "interop: terminated"; exit 143' TERM

# The test CA and certificates (tests/tls/mkcerts.sh), made once: CERTS.
CERTS=""
make_certs()
{
	[ -n "$CERTS" ] && return 0
	sh "$ROOT/tests/tls/mkcerts.sh" "$WORK/certs" || return 1
	CERTS=$WORK/certs
}

skip_scenario()
{
	SKIPPED="$SKIPPED $1"
	echo "interop: SKIP $1: $2"
}

# run NAME TIME-LIMIT PROSODY-FLAVOUR "STANZAGUARD-OPTIONS" "CLIENT-OPTIONS"
#   PROSODY-FLAVOUR: words: plain, or cut (mod_legacy_idle_cut after 2 s);
#   tls: Prosody has a certificate for localhost (so offers STARTTLS);
#   proxy: Prosody's c2s wants a PROXY header first (mod_proxy_header)
run()
{
	name=$1 limit=$2 flavour=" $3 " sgopts=$4 copts=$5
	d=$WORK/$name
	mkdir -p "$d"
	t0=$(date +%s)
	echo "interop: $name"
	# shellcheck disable=SC2046 # two words
	set -- $(free_ports 2)
	pport=$1 lport=$2
	RUNNING="$RUNNING $d"

	set -- -v debug
	case $flavour in
	*" cut "*) set -- "$@" -m "$HERE" -l legacy_idle_cut \
	    -o 'legacy_idle_cut_after = 2' ;;
	esac
	case $flavour in
	*" proxy "*) set -- "$@" -m "$HERE" -l proxy_header ;;
	esac
	case $flavour in
	*" tls "*)
		# mod_tls offers STARTTLS, with certs/HOST.crt and .key.
		set -- "$@" -l tls
		mkdir -p "$d/prosody/certs"
		cp "$CERTS/server.pem" "$d/prosody/certs/localhost.crt"
		cp "$CERTS/server.key" "$d/prosody/certs/localhost.key" ;;
	esac
	"$HERE/prosody.sh" start "$d/prosody" "$pport" "$@" \
	    >"$d/prosody.sh.out" 2>&1 || {
		sed 's/^/    /' "$d/prosody.sh.out"
		fail "$name" "Prosody did not start"
		return
	}

	# shellcheck disable=SC2086 # options are words
	"$BIN" --listen "127.0.0.1:$lport" --upstream "127.0.0.1:$pport" \
	    --log-format=text --log-level=info --stats-interval=0 \
	    --drain-timeout=2s $sgopts 2>"$d/stanzaguard.log" &
	echo $! >"$d/stanzaguard.pid"
	n=50
	until grep -q 'event=listening' "$d/stanzaguard.log" 2>/dev/null; do
		n=$((n - 1))
		if [ "$n" -le 0 ] ||
		    ! kill -0 "$(cat "$d/stanzaguard.pid")" 2>/dev/null; then
			sed 's/^/    /' "$d/stanzaguard.log"
			fail "$name" "stanzaguard did not start listening"
			return
		fi
		sleep 0.1
	done

	# In the background, so that a signal to this script runs its trap at
	# once (a foreground command would be waited for first).
	# shellcheck disable=SC2086 # options are words
	timeout -k 5 "$limit" "$PY" "$HERE/clients.py" "$name" \
	    --port "$lport" --upstream-port "$pport" \
	    --sg-log "$d/stanzaguard.log" \
	    --prosody-log "$d/prosody/prosody.log" \
	    --debug-log "$d/slixmpp.log" $copts >"$d/clients.out" 2>&1 &
	CLIENTS=$!
	wait "$CLIENTS"
	rc=$?
	CLIENTS=""
	sed 's/^/    /' "$d/clients.out"
	why=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${limit}s"
	elif [ "$rc" -ne 0 ]; then
		why="clients.py failed"
	fi

	# stanzaguard must stop cleanly on SIGTERM.
	if ! stop_sg "$d/stanzaguard.pid"; then
		why="${why:+$why; }stanzaguard did not exit within 5s of SIGTERM"
	elif [ "$SG_STATUS" != 0 ]; then
		why="${why:+$why; }stanzaguard exited with status $SG_STATUS"
	fi
	"$HERE/prosody.sh" stop "$d/prosody"
	if grep -E 'level=(emerg|alert|crit|error)' "$d/stanzaguard.log" \
	    >"$d/errors" 2>/dev/null; then
		sed 's/^/    /' "$d/errors"
		why="${why:+$why; }stanzaguard logged errors"
	fi

	if [ -n "$why" ]; then
		fail "$name" "$why"
	else
		PASSED=$((PASSED + 1))
		echo "interop: PASS $name ($(($(date +%s) - t0))s)"
	fi
}

fail()
{
	FAILED=$((FAILED + 1))
	echo "interop: FAIL $1: $2 (logs in $WORK/$1)"
	if [ -f "$WORK/$1/stanzaguard.pid" ]; then
		stop_sg "$WORK/$1/stanzaguard.pid"
	fi
	"$HERE/prosody.sh" stop "$WORK/$1/prosody" 2>/dev/null
}

# The options of a TLS scenario: stanzaguard's (TLS_SG) and the clients'
# (TLS_CL), for MODE (starttls, direct).  Non-zero if there are no
# certificates.
tls_opts()
{
	make_certs || return 1
	TLS_SG="--tls=$1 --certificate=$CERTS/server.pem --key=$CERTS/server.key"
	TLS_CL="--tls $1 --ca $CERTS/ca.pem"
}

# run_tls NAME LIMIT FLAVOUR MODE SG-OPTIONS CLIENT-OPTIONS
run_tls()
{
	if ! tls_opts "$4"; then
		fail "$1" "tests/tls/mkcerts.sh failed"
		return
	fi
	run "$1" "$2" "$3 tls" "$TLS_SG $5" "$TLS_CL $6"
}

# run_proxy NAME VERSION: clients from 127.0.0.2, stanzaguard sends a
# PROXY header of VERSION to Prosody.
run_proxy()
{
	if ! "$BIN" --help 2>&1 | grep -q -- '--send-proxy'; then
		skip_scenario "$1" "this stanzaguard has no --send-proxy"
		return
	fi
	run "$1" 30 "plain proxy" \
	    "--send-proxy=$2 --idle-timeout=30s --close-timeout=2s" \
	    "--client-addr 127.0.0.2 --proxy $2 --close-timeout 2"
}

for s in $SCENARIOS; do
	case $s in
	client-close)
		run client-close 30 plain "--idle-timeout=30s --close-timeout=2s" \
		    "--close-timeout 2" ;;
	idle)
		run idle 30 plain "--idle-timeout=2s --close-timeout=2s" \
		    "--idle 2 --close-timeout 2" ;;
	server-cut)
		run server-cut 30 cut "--idle-timeout=30s --close-timeout=2s" \
		    "--cut-after 2 --close-timeout 2" ;;
	burst)
		run burst 120 plain \
		    "--idle-timeout=1500ms --close-timeout=2s" \
		    "--idle 1.5 --close-timeout 2 --rounds 20 --burst 4" ;;
	tls-starttls|tls-direct)
		run_tls "$s" 30 plain "${s#tls-}" \
		    "--idle-timeout=30s --close-timeout=2s" "--close-timeout 2" ;;
	tls-idle)
		run_tls "$s" 30 plain starttls \
		    "--idle-timeout=2s --close-timeout=2s" \
		    "--idle 2 --close-timeout 2" ;;
	tls-server-cut)
		run_tls "$s" 30 cut starttls \
		    "--idle-timeout=30s --close-timeout=2s" \
		    "--cut-after 2 --close-timeout 2" ;;
	tls-refused)
		run_tls "$s" 30 plain starttls "--close-timeout=2s" "" ;;
	proxy-v1|proxy-v2)
		run_proxy "$s" "${s#proxy-}" ;;
	*)
		fail "$s" "no such scenario ($ALL)" ;;
	esac
done

echo "interop: ran in $(($(date +%s) - STARTED))s"
[ -n "$SKIPPED" ] && echo "interop: skipped:$SKIPPED"
echo "interop: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
