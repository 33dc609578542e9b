#!/bin/sh
# Issue 13's interop test: stanzaguard hands undelivered stanzas back
# through the server's stream management, so that clients without it lose
# nothing and get nothing bounced.  Part of `make check-interop`.
#
#   tests/interop/handback.sh path/to/stanzaguard [SCENARIO...]
#
# For each server (HANDBACK_SERVERS, default "prosody ejabberd") and each
# scenario (default: all; tests/interop/handback.py says what each does):
# stanzaguard in front of a throwaway server, both on free loopback ports.
# The server (debug log) is Prosody 0.12 (tests/interop/prosody.sh) with
# the modules that Debian's /etc/prosody/prosody.cfg.lua enables
# (mod_smacks among them; mod_offline is always loaded) and its c2s rate
# limit, or ejabberd 23.01 (tests/interop/ejabberd.sh: the mod_stream_mgmt
# and mod_offline settings of Debian's /etc/ejabberd/ejabberd.yml):
#
#   read-close  bob reads k of N messages and closes his stream; between
#               stanzaguard and the server a relay records what the
#               server sent, so that a message the server itself lost
#               (ejabberd's route race) is told from one we lost
#   idle        bursts across stanzaguard's idle close (--idle-timeout=1s)
#   vanish      bob resets his connection in the middle of a burst
#   server-cut  Prosody (mod_legacy_idle_cut, 1 s) cuts the sender's
#               session before stanzaguard's idle timer (30 s); between
#               stanzaguard and Prosody a link that delays 20 ms each way
#               (handback.py's SlowLink), without which the window where
#               a message can be lost silently is too narrow to hit
#   cut-recipient the same cut, of the session of bob, who has read every
#               message sent to him: none may come again from offline
#               storage (no duplicate)
#   client-sm   clients doing XEP-0198 themselves pass through: sm=client
#
# server-cut and cut-recipient need Prosody's mod_legacy_idle_cut: not
# run against ejabberd.  Each scenario prints its counts ("handback:
# SERVER NAME counts: ...") and fails on any
# message lost, bounced or only named in the log (in server-cut only a
# silent loss fails), or delivered twice.  When this stanzaguard has
# --sm-handback, sessions must also log sm=handback.
# HANDBACK_SG_OPTS: more stanzaguard options (--sm-handback=no shows
# what happens without the feature).  SG_SEED=N replays the timing.
# Skips (exit 0, "handback: skipped: WHY") when python3-slixmpp or both
# servers are missing (one missing: "handback: skipped SERVER: WHY" and
# the other runs), or this stanzaguard has no --sm-handback
# (HANDBACK_FORCE=1 runs it all the same).  Logs in build/handback.XXXXXX,
# kept when a scenario failed (KEEP=1: always).  Last line: "handback: N
# passed, N failed"; exit status non-zero if any failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAME=handback
# shellcheck source=tests/interop/common.sh
. "$HERE/common.sh"
PY=/usr/bin/python3

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
	echo "handback: $BIN is not an executable (make stanzaguard)" >&2
	exit 2
fi
ALL="read-close idle vanish server-cut cut-recipient client-sm"
SCENARIOS=${*:-$ALL}

skip()
{
	echo "handback: skipped: $*"
	exit 0
}
"$PY" -c 'import slixmpp' 2>/dev/null ||
    skip "$PY cannot import slixmpp (make deps-test)"
SERVERS=""
for server in ${HANDBACK_SERVERS:-prosody ejabberd}; do
	case $server in
	prosody)
		if ! command -v "${PROSODY:-prosody}" >/dev/null 2>&1 ||
		    ! command -v "${PROSODYCTL:-prosodyctl}" >/dev/null 2>&1
		then
			echo "handback: skipped prosody: no prosody or" \
			    "prosodyctl on PATH (make deps-test)"
			continue
		fi ;;
	ejabberd)
		if [ ! -x /usr/sbin/ejabberdctl ]; then
			echo "handback: skipped ejabberd: no" \
			    "/usr/sbin/ejabberdctl (make deps-test)"
			continue
		fi ;;
	*)
		echo "handback: no such server $server (prosody, ejabberd)" >&2
		exit 2 ;;
	esac
	SERVERS="$SERVERS $server"
done
[ -n "$SERVERS" ] || skip "no server to run against"

# The modules_enabled of Debian 12's prosody.cfg.lua, but posix (it would
# daemonize and write a pid file of its own): prosody.sh already loads
# roster, saslauth, disco and ping.
DEBIAN_MODULES="tls blocklist bookmarks carbons dialback limits pep private
smacks vcard4 vcard_legacy csi_simple invites invites_adhoc invites_register
register time uptime version admin_adhoc admin_shell"
DEBIAN_LIMITS='limits = { c2s = { rate = "10kb/s"; }; s2sin = { rate = "30kb/s"; }; }'

# A stanzaguard without the feature fails these (the counts of the
# "before" case): skipped unless HANDBACK_FORCE=1.
EXPECT=""
if "$BIN" --help 2>&1 | grep -q -- '--sm-handback'; then
	EXPECT=--expect-handback
	case " ${HANDBACK_SG_OPTS:-} " in
	*" --sm-handback=no "*) EXPECT="" ;;
	esac
elif [ "${HANDBACK_FORCE:-0}" != 1 ]; then
	skip "this stanzaguard has no --sm-handback (HANDBACK_FORCE=1 runs" \
	    "the scenarios all the same)"
fi

mkdir -p "$ROOT/build" || exit 2
WORK=$(mktemp -d "$ROOT/build/handback.XXXXXX") || exit 2
PASSED=0
FAILED=0
STARTED=$(date +%s)
RUNNING=""	# scenario directories with something running
CLIENTS=""	# timeout(1) running handback.py

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup()
{
	[ -n "$CLIENTS" ] && kill -TERM "$CLIENTS" 2>/dev/null
	for d in $RUNNING; do
		stop_sg "$d/stanzaguard.pid"
		stop_server "$d"
	done
	if [ "$FAILED" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		echo "handback: logs kept in $WORK"
	fi
}
trap cleanup EXIT
trap 'echo "handback: interrupted"; exit 130' INT
trap 'echo "handback: terminated"; exit 143' TERM

# fail NAME WHY [LOG-DIR]
fail()
{
	FAILED=$((FAILED + 1))
	echo "handback: FAIL $SERVER $1: $2${3:+ (logs in $3)}"
}

# start_server DIR PORT FLAVOUR: $SERVER on 127.0.0.1:PORT, in DIR/$SERVER;
# SERVER_LOG: its log.
start_server()
{
	if [ "$SERVER" = ejabberd ]; then
		SERVER_LOG=$1/ejabberd/logs/ejabberd.log
		"$HERE/ejabberd.sh" start "$1/ejabberd" "$2" -v debug
		return
	fi
	SERVER_LOG=$1/prosody/prosody.log
	set -- "$1" "$2" "$3" -v debug -o "$DEBIAN_LIMITS"
	for m in $DEBIAN_MODULES; do
		set -- "$@" -l "$m"
	done
	if [ "$3" = cut ]; then
		set -- "$@" -m "$HERE" -l legacy_idle_cut \
		    -o "legacy_idle_cut_after = $CUT_AFTER"
	fi
	dir=$1 port=$2
	shift 3
	"$HERE/prosody.sh" start "$dir/prosody" "$port" "$@"
}

# stop_server DIR: whichever server runs in DIR.
stop_server()
{
	"$HERE/prosody.sh" stop "$1/prosody" 2>/dev/null
	"$HERE/ejabberd.sh" stop "$1/ejabberd" 2>/dev/null
}

# run NAME TIME-LIMIT FLAVOUR "STANZAGUARD-OPTIONS" "CLIENT-OPTIONS"
#   against $SERVER.  FLAVOUR: plain; tap: stanzaguard's upstream is
#   handback.py's SlowLink without delay, which records what the server
#   sent; or cut: Prosody cuts idle c2s connections after CUT_AFTER
#   seconds (mod_legacy_idle_cut), and stanzaguard's upstream is a
#   SlowLink to Prosody (LINK_DELAY each way)
CUT_AFTER=1
LINK_DELAY=0.02
run()
{
	name=$1 limit=$2 flavour=$3 sgopts=$4 copts=$5
	if [ "$SERVER" != prosody ] && [ "$flavour" = cut ]; then
		echo "handback: $SERVER $name: not run (needs Prosody's" \
		    "mod_legacy_idle_cut)"
		return
	fi
	d=$WORK/$SERVER-$name
	n=1
	while [ -e "$d" ]; do	# the same scenario again: a new server
		n=$((n + 1))
		d=$WORK/$SERVER-$name.$n
	done
	mkdir -p "$d"
	t0=$(date +%s)
	echo "handback: $SERVER $name"
	# shellcheck disable=SC2046 # three words
	set -- $(free_ports 3)
	pport=$1 lport=$2 uport=$1
	if [ "$flavour" = cut ]; then
		uport=$3
		copts="$copts --cut-after $CUT_AFTER --link-port $uport \
--link-delay $LINK_DELAY"
	elif [ "$flavour" = tap ]; then
		uport=$3
		copts="$copts --link-port $uport --link-delay 0"
	fi
	RUNNING="$RUNNING $d"

	if ! start_server "$d" "$pport" "$flavour" >"$d/server.out" 2>&1
	then
		sed 's/^/    /' "$d/server.out"
		fail "$name" "$SERVER did not start" "$d"
		return
	fi

	# shellcheck disable=SC2086 # options are words
	"$BIN" --listen "127.0.0.1:$lport" --upstream "127.0.0.1:$uport" \
	    --log-format=text --log-level=info --stats-interval=0 \
	    --drain-timeout=2s $sgopts ${HANDBACK_SG_OPTS:-} \
	    2>"$d/stanzaguard.log" &
	echo $! >"$d/stanzaguard.pid"
	n=50
	until grep -q 'event=listening' "$d/stanzaguard.log" 2>/dev/null; do
		n=$((n - 1))
		if [ "$n" -le 0 ] || ! is_alive "$(cat "$d/stanzaguard.pid")"
		then
			sed 's/^/    /' "$d/stanzaguard.log"
			stop_sg "$d/stanzaguard.pid"
			stop_server "$d"
			fail "$name" "stanzaguard did not start listening" "$d"
			return
		fi
		sleep 0.1
	done

	# In the background, so that a signal runs the trap at once.
	# shellcheck disable=SC2086 # options are words
	timeout -k 5 "$limit" "$PY" "$HERE/handback.py" "$name" \
	    --server "$SERVER" --port "$lport" --upstream-port "$pport" \
	    --sg-log "$d/stanzaguard.log" --server-log "$SERVER_LOG" \
	    --debug-log "$d/slixmpp.log" $EXPECT $copts \
	    >"$d/clients.out" 2>&1 &
	CLIENTS=$!
	wait "$CLIENTS"
	rc=$?
	CLIENTS=""
	sed 's/^/    /' "$d/clients.out"
	why=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${limit}s"
	elif [ "$rc" -ne 0 ]; then
		why="handback.py failed"
	fi
	if ! stop_sg "$d/stanzaguard.pid"; then
		why="${why:+$why; }stanzaguard did not exit within 5s of SIGTERM"
	elif [ "$SG_STATUS" != 0 ]; then
		why="${why:+$why; }stanzaguard exited with status $SG_STATUS"
	fi
	stop_server "$d"
	if grep -E 'level=(emerg|alert|crit|error)' "$d/stanzaguard.log" \
	    >"$d/errors" 2>/dev/null; then
		sed 's/^/    /' "$d/errors"
		why="${why:+$why; }stanzaguard logged errors"
	fi
	if [ -n "$why" ]; then
		fail "$name" "$why" "$d"
	else
		PASSED=$((PASSED + 1))
		echo "handback: PASS $SERVER $name ($(($(date +%s) - t0))s)"
	fi
}

# scenario NAME: run NAME against $SERVER
scenario()
{
	case $1 in
	read-close)
		run read-close 60 tap "--idle-timeout=30s --close-timeout=2s" \
		    "--rounds 8 --burst 20 --gap 0.01" ;;
	idle)
		run idle 90 plain "--idle-timeout=1s --close-timeout=2s" \
		    "--idle 1 --close-timeout 2 --rounds 12 --burst 10 \
		    --gap 0.02 --jitter 0.3 --answer-delay 0.3" ;;
	vanish)
		run vanish 60 plain "--idle-timeout=30s --close-timeout=2s" \
		    "--rounds 8 --burst 20 --gap 0.01 --body-size 200" ;;
	server-cut)
		run server-cut 90 cut "--idle-timeout=30s --close-timeout=2s" \
		    "--close-timeout 2 --rounds 10 --burst 12 --gap 0.005 \
		    --jitter 0.06" ;;
	cut-recipient)
		run cut-recipient 60 cut \
		    "--idle-timeout=30s --close-timeout=2s" \
		    "--close-timeout 2 --rounds 4 --burst 5 --gap 0.01" ;;
	client-sm)
		run client-sm 30 plain "--idle-timeout=30s --close-timeout=2s" \
		    "--burst 10 --gap 0.01" ;;
	*)
		fail "$1" "no such scenario ($ALL)" ;;
	esac
}

for SERVER in $SERVERS; do
	for s in $SCENARIOS; do
		scenario "$s"
	done
done

echo "handback: ran in $(($(date +%s) - STARTED))s"
echo "handback: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
