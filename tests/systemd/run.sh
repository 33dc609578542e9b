#!/bin/sh
# stanzaguard under systemd's protocols, without systemd as PID 1:
#   tests/systemd/run.sh ./stanzaguard
# (a) the unit files pass systemd-analyze verify, their security exposure
#     stays under 2.0, and the socket unit opens the example config's
#     listen addresses;
# (b) the daemon takes a socket passed by socket activation, by name and by
#     address, and relays a session through it to an upstream;
# (c) sd_notify: READY=1, WATCHDOG=1, RELOADING=1 (MONOTONIC_USEC=), READY=1,
#     STOPPING=1, in that order, around SIGHUP and SIGTERM;
# (d) journal fields SESSION_ID and CLOSE_REASON: in the system journal,
#     else (as root) in a journald of our own in a private mount namespace,
#     else skipped.
# Loopback only; every wait is bounded; ports are found by binding port 0.
set -u

MODE=all
if [ $# -eq 2 ] && [ "$1" = --private-journal ]; then
	MODE=private-journal	# internal: see check_journal
	shift
fi
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 path/to/stanzaguard" >&2
	exit 2
fi
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sg-systemd.XXXXXX)
PIDS=""
PASSED=0
FAILED=0
SKIPPED=0

cleanup()
{
	for pid_ in $PIDS; do
		kill "$pid_" 2>/dev/null
	done
	for pid_ in $PIDS; do
		wait "$pid_" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass()
{
	PASSED=$((PASSED + 1))
	echo "ok: $1"
}

fail()
{
	FAILED=$((FAILED + 1))
	echo "FAIL: $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f"):"
		tail -n 30 "$f" | sed 's/^/    /'
	done
}

skip()
{
	SKIPPED=$((SKIPPED + 1))
	echo "skipped: $1"
}

# A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's
# range of source ports (see sgtest.free_port).
free_port()
{
	"$PY" "$ROOT/tests/integration/sgtest.py" 1
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1s until it succeeds.
wait_for()
{
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# wait_exit SECONDS PID: wait for PID to exit; its status in EXIT_STATUS.
wait_exit()
{
	if ! wait_for "$1" is_gone "$2"; then
		EXIT_STATUS=timeout
		return 1
	fi
	wait "$2"
	EXIT_STATUS=$?
	forget "$2"
	return 0
}

# forget PID: reaped, so cleanup must not signal whoever gets PID next.
forget()
{
	left=""
	for pid_ in $PIDS; do
		[ "$pid_" = "$1" ] || left="$left $pid_"
	done
	PIDS=$left
}

# Exited: gone, or a zombie that this shell has not reaped yet.
is_gone()
{
	! kill -0 "$1" 2>/dev/null ||
	    grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

is_file()
{
	[ -s "$1" ]
}

# count PATTERN FILE: lines of FILE matching PATTERN (0 if none).
count()
{
	grep -c -- "$1" "$2" 2>/dev/null || true
}

# at_least N PATTERN FILE
at_least()
{
	[ "$(count "$2" "$3")" -ge "$1" ]
}

# Start an upstream for N sessions; its port in UP_PORT, its pid in UP_PID.
start_upstream()
{
	rm -f "$TMP/up.port"
	"$PY" "$HERE/xmpp_peer.py" --timeout 30 upstream \
	    --port-file "$TMP/up.port" --sessions "$1" \
	    >"$TMP/upstream.log" 2>&1 &
	UP_PID=$!
	PIDS="$PIDS $UP_PID"
	if ! wait_for 5 is_file "$TMP/up.port"; then
		UP_PORT=0
		return 1
	fi
	UP_PORT=$(cat "$TMP/up.port")
}

client()
{
	"$PY" "$HERE/xmpp_peer.py" --timeout 10 client --port "$1" \
	    >"$TMP/client.log" 2>&1
}

# A config file with one listener [c2s] on $2 towards $3.
write_config()
{
	cat >"$1" <<-EOF
	[global]
	log-level = info
	stats-interval = 1s

	[c2s]
	listen = $2
	upstream = $3
	EOF
}

# ---------------------------------------------------------------- (a)
check_units()
{
	mkdir -p "$TMP/units"
	sed "s|/usr/local/sbin/stanzaguard|$BIN|" \
	    "$ROOT/systemd/stanzaguard.service" \
	    >"$TMP/units/stanzaguard.service"
	cp "$ROOT/systemd/stanzaguard.socket" "$TMP/units/"
	if systemd-analyze verify --man=no \
	    "$TMP/units/stanzaguard.service" \
	    "$TMP/units/stanzaguard.socket" >"$TMP/verify.log" 2>&1; then
		pass "units: systemd-analyze verify"
	else
		fail "units: systemd-analyze verify" "$TMP/verify.log"
	fi
	if systemd-analyze security --offline=yes --threshold=20 \
	    "$TMP/units/stanzaguard.service" >"$TMP/security.log" 2>&1; then
		pass "units: security exposure $(exposure) (under 2.0)"
	else
		fail "units: security exposure $(exposure) (want under 2.0)" \
		    "$TMP/security.log"
	fi
}

# The socket unit opens exactly the example config's listen addresses.
check_socket_matches_config()
{
	conf=$ROOT/proxy/stanzaguard.conf.example
	if [ ! -f "$conf" ]; then
		skip "units: no $conf to compare the socket unit with"
		return
	fi
	sed -n 's/^listen[ 	]*=[ 	]*//p' "$conf" | sort >"$TMP/conf.addr"
	sed -n 's/^ListenStream=//p' "$ROOT/systemd/stanzaguard.socket" |
	    sort >"$TMP/unit.addr"
	if cmp -s "$TMP/conf.addr" "$TMP/unit.addr"; then
		pass "units: socket unit listens where the example config does"
	else
		diff "$TMP/conf.addr" "$TMP/unit.addr" >"$TMP/addr.diff"
		fail "units: socket unit and example config differ" \
		    "$TMP/addr.diff"
	fi
}

exposure()
{
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$TMP/security.log"
}

# ---------------------------------------------------------------- (b)
# Non-zero unless something listens on 127.0.0.1:$1.
is_listening()
{
	"$PY" - "$1" <<-'EOF'
	import sys
	want = "0100007F:%04X" % int(sys.argv[1])
	with open("/proc/net/tcp") as f:
	    rows = [l.split() for l in f.readlines()[1:]]
	sys.exit(0 if any(r[1] == want and r[3] == "0A" for r in rows) else 1)
	EOF
}

# activate NAME FDNAME PORT [CONF-LISTEN]: systemd-socket-activate binds
# 127.0.0.1:PORT, waits for the first connection, then execs the daemon
# (same pid) with LISTEN_FDS=1 and LISTEN_FDNAMES=FDNAME; a client talks to
# an upstream through it.  The daemon gets a config file whose listener
# [c2s] says "listen = CONF-LISTEN", or without CONF-LISTEN, --listen with
# PORT.  Leaves the daemon's exit status (after SIGTERM) in EXIT_STATUS.
activate()
{
	name=$1
	fdname=$2
	port=$3
	conf_listen=${4:-}
	if ! start_upstream 1; then
		fail "$name: upstream did not start" "$TMP/upstream.log"
		return 1
	fi
	if [ -n "$conf_listen" ]; then
		write_config "$TMP/activate.conf" "$conf_listen" \
		    "127.0.0.1:$UP_PORT"
		set -- -c "$TMP/activate.conf"
	else
		set -- --listen "127.0.0.1:$port" \
		    --upstream "127.0.0.1:$UP_PORT"
	fi
	# shellcheck disable=SC2086
	[ -n "${ACT_EXTRA:-}" ] && set -- "$@" $ACT_EXTRA
	systemd-socket-activate -l "127.0.0.1:$port" --fdname="$fdname" \
	    "$BIN" "$@" >"$TMP/daemon.log" 2>&1 &
	D_PID=$!
	PIDS="$PIDS $D_PID"
	r=1
	if client "$port" && wait_exit 10 "$UP_PID" &&
	    [ "$EXIT_STATUS" = 0 ]; then
		r=0
	fi
	# With the socket taken by name, the config's address stays unbound.
	if [ -n "$conf_listen" ] && is_listening "${conf_listen##*:}"; then
		echo "bound $conf_listen as well" >>"$TMP/client.log"
		r=1
	fi
	kill "$UP_PID" 2>/dev/null
	if kill -TERM "$D_PID" 2>/dev/null; then
		wait_exit 15 "$D_PID"
	else
		wait "$D_PID"
		EXIT_STATUS="$? before SIGTERM"
		forget "$D_PID"
	fi
	if [ $r -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "$TMP/client.log" "$TMP/upstream.log" \
		    "$TMP/daemon.log"
	fi
	return $r
}

check_activation()
{
	p=$(free_port)
	q=$(free_port)
	# The config says port q, the socket is on p: only its name, c2s,
	# can lead the listener to it.
	activate "activation: socket taken by FileDescriptorName" c2s "$p" \
	    "127.0.0.1:$q"
	p=$(free_port)
	activate "activation: socket taken by address" other "$p"
	if [ "$EXIT_STATUS" = 0 ]; then
		pass "activation: exit status 0 after SIGTERM"
	else
		fail "activation: exit status $EXIT_STATUS" \
		    "$TMP/daemon.log"
	fi
	# Two workers cannot bind the inherited socket: both accept on it.
	p=$(free_port)
	if ACT_EXTRA=--workers=2 activate \
	    "activation: workers=2 relay through the inherited socket" \
	    other "$p"; then
		n=$(count 'event=listening worker=.*socket=systemd' \
		    "$TMP/daemon.log")
		if [ "$n" = 2 ] && [ "$EXIT_STATUS" = 0 ]; then
			pass "activation: both workers took the socket, exit 0"
		else
			fail "activation: workers=2: $n workers took the" \
			    "socket, exit $EXIT_STATUS" "$TMP/daemon.log"
		fi
	fi
}

# ---------------------------------------------------------------- (c)
# notify_wait SECONDS PATTERN N: N datagrams matching PATTERN have come.
notify_wait()
{
	wait_for "$1" at_least "$3" "$2" "$TMP/notify.log"
}

# check_notify [OPTION [LABEL]]: the daemon (with OPTION) notifies.
check_notify()
{
	opt=${1:-}
	label=${2:-}
	log=$TMP/notify.log
	sock=$TMP/notify.sock
	: >"$log"
	# A socket left by the previous run would pass the wait below before
	# this listener has bound its own, and READY=1 would go to the old one.
	rm -f "$sock"
	"$PY" "$HERE/notify_listen.py" listen --socket "$sock" --out "$log" \
	    --timeout 60 >"$TMP/notify_listen.log" 2>&1 &
	N_PID=$!
	PIDS="$PIDS $N_PID"
	if ! wait_for 5 test -S "$sock"; then
		fail "notify: listener did not start" "$TMP/notify_listen.log"
		return
	fi
	write_config "$TMP/notify.conf" "127.0.0.1:$(free_port)" \
	    "127.0.0.1:$(free_port)"
	# No WATCHDOG_PID: sd_watchdog_enabled() then takes the watchdog as
	# ours.  env execs the daemon, so $! is the daemon's pid.
	# shellcheck disable=SC2086
	env -u WATCHDOG_PID -u LISTEN_FDS -u LISTEN_PID \
	    NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000 \
	    "$BIN" -c "$TMP/notify.conf" $opt >"$TMP/daemon.log" 2>&1 &
	D_PID=$!
	PIDS="$PIDS $D_PID"
	step="READY=1"
	notify_wait 10 "READY=1" 1 &&
	    step="WATCHDOG=1 within 2 s (WATCHDOG_USEC=2000000)" &&
	    notify_wait 3 "WATCHDOG=1" 1 &&
	    step="RELOADING=1 after SIGHUP" && kill -HUP "$D_PID" &&
	    notify_wait 5 "RELOADING=1" 1 &&
	    step="READY=1 after the reload" &&
	    notify_wait 5 "READY=1" 2 &&
	    step="STOPPING=1 after SIGTERM" && kill -TERM "$D_PID" &&
	    notify_wait 5 "STOPPING=1" 1 &&
	    step="exit within 15 s of SIGTERM" && wait_exit 15 "$D_PID" &&
	    step="exit status 0 after SIGTERM" && [ "$EXIT_STATUS" = 0 ] &&
	    step=""
	kill "$N_PID" 2>/dev/null
	wait_exit 5 "$N_PID"
	if [ -n "$step" ]; then
		fail "notify$label: $step" "$log" "$TMP/daemon.log"
	elif "$PY" "$HERE/notify_listen.py" check "$log" \
	    >"$TMP/notify_check.log" 2>&1; then
		pass "notify$label: READY, WATCHDOG, RELOADING, READY, STOPPING"
	else
		fail "notify$label: order" "$TMP/notify_check.log" \
		    "$TMP/daemon.log"
	fi
}

# ---------------------------------------------------------------- (d)
# journal_has PID SINCE FIELD: the daemon's journal entries carry FIELD=.
journal_has()
{
	journalctl --no-pager -o export --since="@$2" "_PID=$1" 2>/dev/null |
	    grep -q "^$3="
}

journal_reachable()
{
	[ -S /run/systemd/journal/socket ] &&
	    journalctl --no-pager -n 0 >/dev/null 2>&1
}

# One session through a daemon logging to the journal; then its entries
# must carry SESSION_ID= and CLOSE_REASON=.
journal_session()
{
	if ! start_upstream 1; then
		fail "journal: upstream did not start" "$TMP/upstream.log"
		return
	fi
	p=$(free_port)
	since=$(date +%s)
	"$BIN" --log-format=journal --listen "127.0.0.1:$p" \
	    --upstream "127.0.0.1:$UP_PORT" >"$TMP/daemon.log" 2>&1 &
	D_PID=$!
	PIDS="$PIDS $D_PID"
	if ! wait_for 10 is_listening "$p" || ! client "$p"; then
		fail "journal: session through the daemon" \
		    "$TMP/client.log" "$TMP/upstream.log" "$TMP/daemon.log"
		kill "$D_PID" 2>/dev/null
		return
	fi
	kill -TERM "$D_PID"
	wait_exit 15 "$D_PID"
	for f in SESSION_ID CLOSE_REASON; do
		if wait_for 5 journal_has "$D_PID" "$since" "$f"; then
			pass "journal: $f"
		else
			fail "journal: no $f= in the daemon's entries" \
			    "$TMP/daemon.log"
		fi
	done
}

JOURNALD=/lib/systemd/systemd-journald

# Without a journal (systemd not PID 1), root can still run a journald of
# its own in a private mount namespace: a tmpfs over /run (and over
# /var/log/journal, so nothing is written to the host's journal) that
# vanishes with the namespace.  The host's /run is never touched.
check_journal()
{
	if journal_reachable; then
		journal_session
		return
	fi
	if [ "$(id -u)" -ne 0 ] || [ ! -x "$JOURNALD" ] ||
	    ! command -v unshare >/dev/null; then
		skip "journal: no journal (no /run/systemd/journal/socket)"
		return
	fi
	unshare --mount --propagation private "$0" --private-journal "$BIN" \
	    >"$TMP/private-journal.log" 2>&1
	grep -E '^(ok|FAIL|skipped|---|    |\()' "$TMP/private-journal.log"
	PASSED=$((PASSED + $(count '^ok:' "$TMP/private-journal.log")))
	FAILED=$((FAILED + $(count '^FAIL:' "$TMP/private-journal.log")))
	SKIPPED=$((SKIPPED + $(count '^skipped:' "$TMP/private-journal.log")))
}

# Runs inside unshare --mount: see check_journal.
private_journal()
{
	if ! mount -t tmpfs -o mode=0755 tmpfs /run ||
	    { [ -d /var/log/journal ] &&
	    ! mount -t tmpfs tmpfs /var/log/journal; }; then
		skip "journal: no journal, and no private one (mount failed)"
		return
	fi
	mkdir -p /run/systemd/journal /run/log
	"$JOURNALD" >"$TMP/journald.log" 2>&1 &
	J_PID=$!
	PIDS="$PIDS $J_PID"
	if wait_for 5 journal_reachable; then
		echo "(no system journal: a private journald instead)"
		journal_session
	else
		skip "journal: no journal, and no private one (journald)"
	fi
	kill "$J_PID" 2>/dev/null
	wait_exit 5 "$J_PID"
}

main()
{
	echo "systemd tests: $BIN (temp dir $TMP)"
	check_units
	check_socket_matches_config
	check_activation
	check_notify
	check_notify --workers=2 " (workers=2, the master alone)"
	check_journal
	echo "systemd: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
}

if [ "$MODE" = private-journal ]; then
	private_journal
	[ "$FAILED" -eq 0 ]
	exit
fi
main
