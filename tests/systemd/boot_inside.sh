#!/bin/sh
# The half of tests/systemd/boot.sh that runs inside the booted container,
# as a oneshot unit of its systemd (PID 1), root, no sandbox of its own:
#   sh /sgtest/boot_inside.sh OUTDIR DEB NEWDEB
# stanzaguard is installed from its package DEB (make deb) by apt-get, as
# an admin would: the binary in /usr/sbin, the shipped units, the example
# config as the conffile /etc/stanzaguard/stanzaguard.conf, whose [c2s]
# relays 127.0.0.1:5222 to 127.0.0.1:5322, where xmpp_peer.py plays the
# upstream.  Midway the package is upgraded to NEWDEB, a higher version,
# and at the end purged.  One "ok:" or "FAIL:" line per property on
# stdout; the container's network namespace is its own (loopback only), so
# apt installs from the files alone.  Every wait is bounded.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 OUTDIR DEB NEWDEB" >&2
	exit 2
fi
OUT=$1
DEB=$2
NEWDEB=$3
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
PEER="$PY $HERE/xmpp_peer.py"
SVC=stanzaguard.service
SOCK=stanzaguard.socket
CONF=/etc/stanzaguard/stanzaguard.conf
TMP=$(mktemp -d /tmp/sg-boot.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
PIDS=""

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

# pass WORDS..., fail WORDS...: one line each.
pass()
{
	echo "ok: $*"
}

fail()
{
	echo "FAIL: $*"
}

# show FILE...: the tail of each, after a fail.
show()
{
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f"):"
		tail -n 20 "$f" | sed 's/^/    /'
	done
}

# check WHAT COMMAND...: pass or fail on COMMAND's status.
check()
{
	what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
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

# prop [UNIT] PROPERTY: one property's value.
prop()
{
	if [ $# -eq 1 ]; then
		set -- "$SVC" "$1"
	fi
	systemctl show -P "$2" "$1"
}

# is_prop UNIT PROPERTY VALUE
is_prop()
{
	[ "$(prop "$1" "$2")" = "$3" ]
}

is_running()
{
	is_prop "$SVC" ActiveState active && is_prop "$SVC" SubState running
}

is_file()
{
	[ -e "$1" ]
}

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

# The process that holds the listening socket of 127.0.0.1:$1 (its inode
# in /proc/net/tcp, found among the fds of every process).
listener_pids()
{
	"$PY" - "$1" <<-'EOF'
	import os, sys
	want = "0100007F:%04X" % int(sys.argv[1])
	with open("/proc/net/tcp") as f:
	    rows = [l.split() for l in f.readlines()[1:]]
	inodes = {r[9] for r in rows if r[1] == want and r[3] == "0A"}
	pids = set()
	for p in filter(str.isdigit, os.listdir("/proc")):
	    try:
	        for fd in os.listdir(f"/proc/{p}/fd"):
	            link = os.readlink(f"/proc/{p}/fd/{fd}")
	            if link.startswith("socket:[") and link[8:-1] in inodes:
	                pids.add(int(p))
	    except OSError:
	        pass
	print(" ".join(str(p) for p in sorted(pids)))
	EOF
}

# upstream NAME SESSIONS: an upstream on 127.0.0.1:5322 (the example
# config's [c2s] upstream) for SESSIONS sessions; its pid in UP_PID.
upstream()
{
	rm -f "$TMP/up.port"
	$PEER --timeout 60 upstream --port 5322 --port-file "$TMP/up.port" \
	    --sessions "$2" >"$TMP/$1-upstream.log" 2>&1 &
	UP_PID=$!
	PIDS="$PIDS $UP_PID"
	wait_for 5 is_file "$TMP/up.port"
}

# wait_pid SECONDS PID: PID (a child) exits within SECONDS, status 0.
wait_pid()
{
	wait_for "$1" is_gone "$2" || return 1
	wait "$2"
}

is_gone()
{
	! kill -0 "$1" 2>/dev/null ||
	    grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# A journal cursor now, and what the unit logged after it.
cursor()
{
	journalctl --no-pager -n 0 --show-cursor 2>/dev/null |
	    sed -n 's/^-- cursor: //p'
}

unit_log_since()
{
	journalctl --no-pager -o cat -u "$SVC" --after-cursor="$1" 2>/dev/null
}

# journal_has CURSOR PATTERN: the unit logged PATTERN after CURSOR.
journal_has()
{
	unit_log_since "$1" | grep -q -- "$2"
}

journal_lacks()
{
	! journal_has "$@"
}

# pid1_said CURSOR PATTERN: systemd itself logged PATTERN after CURSOR.
pid1_said()
{
	journalctl --no-pager -o cat _PID=1 --after-cursor="$1" 2>/dev/null |
	    grep -q -- "$2"
}

# ---------------------------------------------------------------------------
# apt-get install of the package: both units enabled by its postinst, the
# socket alone started: systemd listens, nothing runs until the first
# client comes.
t_install()
{
	cp /etc/passwd /etc/group /etc/shadow "$TMP/"
	if timeout 120 apt-get install -y -q "$DEB" >"$TMP/install.log" 2>&1 &&
	    [ "$(pkg_status)" = "install ok installed $(deb_version "$DEB")" ]
	then
		pass "apt-get install $(basename "$DEB"): $(pkg_status)"
	else
		fail "apt-get install $(basename "$DEB"): '$(pkg_status)'"
		show "$TMP/install.log"
	fi
	if dpkg-query -W -f='${Conffiles}\n' stanzaguard | grep -q " $CONF "; then
		pass "$CONF is a conffile"
	else
		fail "$CONF is no conffile:" \
		    "'$(dpkg-query -W -f='${Conffiles}' stanzaguard)'"
	fi
	if [ "$(systemctl is-enabled "$SVC")" = enabled ] &&
	    [ "$(systemctl is-enabled "$SOCK")" = enabled ]; then
		pass "the package enabled stanzaguard.socket and" \
		    "stanzaguard.service"
	else
		fail "enabled: service $(systemctl is-enabled "$SVC")," \
		    "socket $(systemctl is-enabled "$SOCK")"
	fi
	if wait_for 10 is_prop "$SOCK" SubState listening &&
	    is_listening 5222 && is_listening 5269 &&
	    is_prop "$SVC" ActiveState inactive &&
	    [ "$(listener_pids 5222)" = 1 ]; then
		pass "stanzaguard.socket listens on 5222 and 5269 (systemd" \
		    "holds them), the service not started yet"
	else
		fail "stanzaguard.socket: state $(prop "$SOCK" SubState)," \
		    "service $(prop "$SVC" ActiveState), 5222 held by" \
		    "'$(listener_pids 5222)'"
	fi
}

# The package's state and version as dpkg has them.
pkg_status()
{
	dpkg-query -W -f='${Status} ${Version}' stanzaguard 2>/dev/null
}

deb_version()
{
	dpkg-deb -f "$1" Version
}

# The first client starts the service through the socket and is relayed.
t_activation()
{
	upstream activation 1
	if $PEER --timeout 30 client --port 5222 \
	    >"$TMP/activation-client.log" 2>&1 &&
	    wait_pid 10 "$UP_PID"; then
		pass "first client on 5222 activates the service and is" \
		    "relayed to the upstream"
	else
		fail "socket activation and relay"
		show "$TMP/activation-client.log" \
		    "$TMP/activation-upstream.log"
	fi
	if wait_for 10 is_running && is_prop "$SVC" Type notify &&
	    [ -n "$(prop StatusText)" ]; then
		pass "active (running), Type=notify, STATUS=" \
		    "'$(prop StatusText)'"
	else
		fail "service state $(prop ActiveState)/$(prop SubState)," \
		    "Type=$(prop Type)"
	fi
	MAIN=$(prop MainPID)
	# The daemon has the sockets systemd made, and binds none itself.
	if [ "$(listener_pids 5222)" = "1 $MAIN" ] &&
	    [ "$(listener_pids 5269)" = "1 $MAIN" ]; then
		pass "the daemon took both sockets from systemd"
	else
		fail "5222 held by '$(listener_pids 5222)', 5269 by" \
		    "'$(listener_pids 5269)', MainPID $MAIN"
	fi
}

# status_field PID NAME: a field of /proc/PID/status.
status_field()
{
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

# The hardening in force on the running daemon.
t_sandbox()
{
	pid=$MAIN
	uid=$(status_field "$pid" Uid | cut -f1)
	# DynamicUser= takes its uids from 61184-65519.
	if [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ]; then
		pass "DynamicUser: runs as uid $uid"
	else
		fail "DynamicUser: uid $uid"
	fi
	check "NoNewPrivileges: NoNewPrivs 1" \
	    [ "$(status_field "$pid" NoNewPrivs)" = 1 ]
	check "SystemCallFilter: Seccomp 2 (filter)" \
	    [ "$(status_field "$pid" Seccomp)" = 2 ]
	# CAP_NET_BIND_SERVICE is bit 10.
	if [ "$(status_field "$pid" CapBnd)" = 0000000000000400 ] &&
	    [ "$(status_field "$pid" CapEff)" = 0000000000000400 ]; then
		pass "capabilities: CAP_NET_BIND_SERVICE alone"
	else
		fail "capabilities: bounding $(status_field "$pid" CapBnd)," \
		    "effective $(status_field "$pid" CapEff)"
	fi
	# ProtectSystem=strict: / is read-only in the daemon's namespace.
	if grep -q '^[^ ]* / [^ ]* ro[, ]' "/proc/$pid/mounts"; then
		pass "ProtectSystem=strict: / read-only for the daemon"
	else
		fail "ProtectSystem=strict: / not read-only for the daemon"
	fi
	# ProtectProc=invisible, ProcSubset=pid: the daemon's /proc is
	# mounted with hidepid=invisible,subset=pid.  (Looking through
	# /proc/PID/root/proc would show everything: hidepid judges the
	# looker, root here.)
	if awk '$5 == "/proc" { for (i = 7; $i != "-"; i++); print $(i + 3) }' \
	    "/proc/$pid/mountinfo" | grep 'hidepid=invisible' |
	    grep -q 'subset=pid'; then
		pass "ProtectProc=invisible, ProcSubset=pid: the daemon's /proc"
	else
		fail "ProtectProc/ProcSubset: the daemon's /proc is mounted" \
		    "$(awk '$5 == "/proc"' "/proc/$pid/mountinfo")"
	fi
	nofile=$(sed -n 's/^Max open files *\([0-9]*\) *\([0-9]*\).*/\1 \2/p' \
	    "/proc/$pid/limits")
	echo "(LimitNOFILE=262144: the daemon has soft/hard $nofile; a hard" \
	    "limit below 262144 means the container's own, which it cannot" \
	    "raise)"
}

watchdog_moved()
{
	[ "$(prop WatchdogTimestampMonotonic)" != "$1" ]
}

# WATCHDOG=1 reaches systemd: its watchdog timestamp moves (the daemon
# pings every WatchdogSec/2 = 15 s), and the service is not killed.
t_watchdog()
{
	t0=$(prop WatchdogTimestampMonotonic)
	if wait_for 25 watchdog_moved "$t0" && is_running &&
	    [ "$(prop MainPID)" = "$MAIN" ]; then
		pass "WATCHDOG=1 received by systemd (WatchdogSec=30s)"
	else
		fail "no WATCHDOG=1 within 25 s (timestamp $t0," \
		    "now $(prop WatchdogTimestampMonotonic))"
	fi
}

# systemctl reload: SIGHUP, the same process, a "reloaded" line, and the
# next client is relayed.
t_reload()
{
	c=$(cursor)
	# A change for the reload to read: stats-interval under [global].
	sed 's/^\[global\]$/&\nstats-interval = 1h/' "$CONF" >"$TMP/new.conf" &&
	    cat "$TMP/new.conf" >"$CONF"
	if timeout 20 systemctl reload "$SVC" >"$TMP/reload.log" 2>&1 &&
	    wait_for 10 journal_has "$c" 'event=reloaded' &&
	    wait_for 10 is_running; then
		pass "systemctl reload: the daemon logged event=reloaded"
	else
		unit_log_since "$c" >"$TMP/reload-journal.log"
		fail "systemctl reload"
		show "$TMP/reload.log" "$TMP/reload-journal.log"
	fi
	check "systemctl reload: MainPID $MAIN unchanged" \
	    [ "$(prop MainPID)" = "$MAIN" ]
	relayed_after reload "systemctl reload"
}

# relayed_after NAME WHAT: a new client is relayed to a new upstream.
relayed_after()
{
	upstream "$1" 1
	if $PEER --timeout 30 client --port 5222 \
	    >"$TMP/$1-client.log" 2>&1 && wait_pid 10 "$UP_PID"; then
		pass "$2: a client is relayed after it"
	else
		fail "$2: no relay after it"
		show "$TMP/$1-client.log" "$TMP/$1-upstream.log"
	fi
}

# systemctl reload with a broken file: ExecReload's --check-config fails
# the reload, the daemon is not signalled (no event=reload-failed, same
# MainPID) and still relays; the file is put back afterwards.
t_reload_bad()
{
	c=$(cursor)
	cp "$CONF" "$TMP/good.conf"
	sed 's/^\[global\]$/&\nidle-timeout = banana/' "$TMP/good.conf" >"$CONF"
	if timeout 20 systemctl reload "$SVC" >"$TMP/reload-bad.log" 2>&1; then
		fail "systemctl reload of a broken file succeeded"
	else
		pass "systemctl reload of a broken file fails"
	fi
	check "broken reload: the check's message is in the journal" \
	    wait_for 10 journal_has "$c" 'idle-timeout'
	# systemctl returned after the last ExecReload= ran, or did not.
	check "broken reload: the daemon was not signalled" \
	    journal_lacks "$c" 'event=reload'
	check "broken reload: still running, MainPID $MAIN" \
	    [ "$(prop MainPID)" = "$MAIN" ]
	cat "$TMP/good.conf" >"$CONF"
	relayed_after reloadbad "broken reload"
}

# systemctl restart with a session open: the old daemon drains it (the
# held client answers the close handshake only when told), a client
# connects meanwhile to the socket that systemd still holds, and the new
# daemon serves it.
t_restart()
{
	upstream restart 2
	rm -f "$TMP/held.relayed" "$TMP/held.answer" "$TMP/late.connected"
	$PEER --timeout 60 client --port 5222 --relayed-file "$TMP/held.relayed" \
	    --shutdown --answer-after "$TMP/held.answer" \
	    >"$TMP/restart-held.log" 2>&1 &
	held=$!
	PIDS="$PIDS $held"
	if ! wait_for 10 is_file "$TMP/held.relayed"; then
		fail "restart: the held session did not start"
		show "$TMP/restart-held.log" "$TMP/restart-upstream.log"
		return
	fi
	systemctl restart --no-block "$SVC"
	if ! wait_for 10 is_prop "$SVC" ActiveState deactivating; then
		fail "restart: never deactivating (now $(prop ActiveState))"
		return
	fi
	$PEER --timeout 60 client --port 5222 \
	    --connected-file "$TMP/late.connected" \
	    >"$TMP/restart-late.log" 2>&1 &
	late=$!
	PIDS="$PIDS $late"
	if wait_for 10 is_file "$TMP/late.connected" &&
	    is_prop "$SVC" ActiveState deactivating &&
	    [ "$(prop MainPID)" = "$MAIN" ]; then
		pass "restart: a client connects while the old daemon drains"
	else
		fail "restart: no connection during the drain (state" \
		    "$(prop ActiveState), MainPID $(prop MainPID))"
		show "$TMP/restart-late.log"
	fi
	: >"$TMP/held.answer"
	if wait_pid 20 "$held"; then
		pass "restart: the open session got <system-shutdown/>," \
		    "then the close tag"
	else
		fail "restart: the open session"
		show "$TMP/restart-held.log"
	fi
	if wait_pid 30 "$late" && wait_pid 10 "$UP_PID"; then
		pass "restart: the client that came meanwhile is served by" \
		    "the new daemon, not refused"
	else
		fail "restart: the client that came meanwhile"
		show "$TMP/restart-late.log" "$TMP/restart-upstream.log"
	fi
	new=$(prop MainPID)
	if wait_for 10 is_running && [ "$new" != "$MAIN" ] &&
	    [ "$new" != 0 ] && [ "$(prop NRestarts)" = 0 ]; then
		pass "restart: a new daemon (MainPID $MAIN -> $new)"
	else
		fail "restart: state $(prop ActiveState)/$(prop SubState)," \
		    "MainPID $MAIN -> $new, NRestarts $(prop NRestarts)"
	fi
	MAIN=$new
}

# The upgrade to NEWDEB with a session open and the conffile edited: dpkg
# keeps the edit; the postinst restarts the service, whose old daemon
# drains the session (the held client answers the close handshake only
# when told) while a new client connects to the port that the socket unit
# kept, and the new daemon, the new binary, serves it.
t_upgrade()
{
	echo "# edited by boot_inside.sh" >>"$CONF"
	upstream upgrade 2
	rm -f "$TMP/uheld.relayed" "$TMP/uheld.answer" "$TMP/ulate.connected"
	$PEER --timeout 90 client --port 5222 \
	    --relayed-file "$TMP/uheld.relayed" \
	    --shutdown --answer-after "$TMP/uheld.answer" \
	    >"$TMP/upgrade-held.log" 2>&1 &
	held=$!
	PIDS="$PIDS $held"
	if ! wait_for 10 is_file "$TMP/uheld.relayed"; then
		fail "upgrade: the held session did not start"
		show "$TMP/upgrade-held.log" "$TMP/upgrade-upstream.log"
		return
	fi
	timeout 120 apt-get install -y -q "$NEWDEB" >"$TMP/upgrade.log" 2>&1 &
	apt=$!
	PIDS="$PIDS $apt"
	if ! wait_for 60 is_prop "$SVC" ActiveState deactivating; then
		fail "upgrade: the service was never restarted (now" \
		    "$(prop ActiveState))"
		show "$TMP/upgrade.log"
		return
	fi
	$PEER --timeout 90 client --port 5222 \
	    --connected-file "$TMP/ulate.connected" \
	    >"$TMP/upgrade-late.log" 2>&1 &
	late=$!
	PIDS="$PIDS $late"
	if wait_for 10 is_file "$TMP/ulate.connected" &&
	    is_prop "$SVC" ActiveState deactivating &&
	    [ "$(prop MainPID)" = "$MAIN" ]; then
		pass "upgrade: a client connects while the old daemon drains" \
		    "(stanzaguard.socket kept the port)"
	else
		fail "upgrade: no connection during the drain (state" \
		    "$(prop ActiveState), MainPID $(prop MainPID))"
		show "$TMP/upgrade-late.log"
	fi
	: >"$TMP/uheld.answer"
	if wait_pid 20 "$held"; then
		pass "upgrade: the open session got <system-shutdown/>," \
		    "then the close tag"
	else
		fail "upgrade: the open session"
		show "$TMP/upgrade-held.log"
	fi
	if wait_pid 30 "$late" && wait_pid 10 "$UP_PID"; then
		pass "upgrade: the client that came meanwhile is served by" \
		    "the new daemon, not refused"
	else
		fail "upgrade: the client that came meanwhile"
		show "$TMP/upgrade-late.log" "$TMP/upgrade-upstream.log"
	fi
	if wait_pid 120 "$apt" &&
	    [ "$(pkg_status)" = "install ok installed $(deb_version "$NEWDEB")" ]
	then
		pass "apt-get install $(basename "$NEWDEB"): $(pkg_status)"
	else
		fail "upgrade to $(basename "$NEWDEB"): '$(pkg_status)'"
		show "$TMP/upgrade.log"
	fi
	if grep -q '^# edited by boot_inside.sh$' "$CONF" &&
	    ! ls /etc/stanzaguard/*.dpkg-* >/dev/null 2>&1; then
		pass "upgrade: the edited conffile is kept as it was"
	else
		fail "upgrade: the conffile's edit is gone"
		ls -l /etc/stanzaguard
	fi
	new=$(prop MainPID)
	# The old daemon's binary was replaced: its exe link says (deleted).
	exe=$(readlink "/proc/$new/exe" 2>/dev/null)
	if wait_for 10 is_running && [ "$new" != "$MAIN" ] &&
	    [ "$new" != 0 ] && [ "$exe" = /usr/sbin/stanzaguard ] &&
	    [ "$(prop NRestarts)" = 0 ]; then
		pass "upgrade: restarted, the new binary runs" \
		    "(MainPID $MAIN -> $new, $exe)"
	else
		fail "upgrade: state $(prop ActiveState)/$(prop SubState)," \
		    "MainPID $MAIN -> $new ($exe), NRestarts $(prop NRestarts)"
	fi
	MAIN=$new
}

# A crash (SIGKILL): Restart=on-failure starts a new daemon after
# RestartSec=1s on the socket that systemd kept, and it relays.
t_crash()
{
	kill -KILL "$MAIN"
	if wait_for 15 is_prop "$SVC" NRestarts 1 && wait_for 10 is_running &&
	    [ "$(prop MainPID)" != "$MAIN" ]; then
		pass "crash: restarted by Restart=on-failure" \
		    "(MainPID $MAIN -> $(prop MainPID))"
	else
		fail "crash: state $(prop ActiveState)/$(prop SubState)," \
		    "NRestarts $(prop NRestarts), MainPID $(prop MainPID)"
	fi
	MAIN=$(prop MainPID)
	relayed_after crash "crash and restart"
}

# systemctl stop with a session open: <system-shutdown/> and the close
# tag to the client, STOPPING=1 to systemd, exit 0; the socket stays.
t_stop()
{
	upstream stop 1
	rm -f "$TMP/stop.relayed"
	$PEER --timeout 30 client --port 5222 --relayed-file "$TMP/stop.relayed" \
	    --shutdown >"$TMP/stop-client.log" 2>&1 &
	cl=$!
	PIDS="$PIDS $cl"
	if ! wait_for 10 is_file "$TMP/stop.relayed"; then
		fail "stop: the session did not start"
		show "$TMP/stop-client.log" "$TMP/stop-upstream.log"
		return
	fi
	c=$(cursor)
	# systemd logs the notify datagrams it gets at debug level only.
	systemd-analyze log-level debug
	timeout 40 systemctl stop "$SVC" >"$TMP/stop.log" 2>&1
	rc=$?
	systemd-analyze log-level info
	if [ $rc = 0 ] && wait_pid 10 "$cl" && wait_pid 10 "$UP_PID"; then
		pass "systemctl stop: the client got <stream:error>" \
		    "<system-shutdown/>, then </stream:stream>"
	else
		fail "systemctl stop (status $rc)"
		show "$TMP/stop.log" "$TMP/stop-client.log" \
		    "$TMP/stop-upstream.log"
	fi
	if wait_for 5 pid1_said "$c" "from PID $MAIN (.*STOPPING=1"; then
		pass "systemctl stop: STOPPING=1 received by systemd"
	else
		fail "systemctl stop: no STOPPING=1 from PID $MAIN in" \
		    "systemd's debug log"
	fi
	if is_prop "$SVC" ActiveState inactive &&
	    is_prop "$SVC" Result success &&
	    is_prop "$SVC" ExecMainStatus 0; then
		pass "systemctl stop: inactive, exit status 0"
	else
		fail "systemctl stop: $(prop ActiveState)," \
		    "Result=$(prop Result), status $(prop ExecMainStatus)"
	fi
	if is_prop "$SOCK" SubState listening && is_listening 5222; then
		pass "systemctl stop: stanzaguard.socket still listens"
	else
		fail "systemctl stop: socket $(prop "$SOCK" SubState)"
	fi
}

# Every session left its lines in the unit's journal, with its fields.
t_journal()
{
	journalctl --no-pager -o cat -u "$SVC" >"$TMP/unit.log" 2>&1
	starts=$(grep -c 'session-start' "$TMP/unit.log")
	ends=$(grep -c 'session-end' "$TMP/unit.log")
	# activation 1, reload 1, broken reload 1, restart 2, upgrade 2,
	# crash 1, stop 1
	if [ "$starts" -ge 9 ] && [ "$ends" -ge 9 ]; then
		pass "journalctl -u stanzaguard: $starts session-start," \
		    "$ends session-end lines"
	else
		fail "journalctl -u stanzaguard: $starts session-start," \
		    "$ends session-end lines (want 9 each)"
		show "$TMP/unit.log"
	fi
	if grep 'session-end' "$TMP/unit.log" | grep -q 'shutdown'; then
		pass "journal: a session-end line names the shutdown"
	else
		fail "journal: no session-end line names the shutdown"
		show "$TMP/unit.log"
	fi
	journalctl --no-pager -o export -u "$SVC" >"$TMP/export.log" 2>&1
	if grep -q '^SESSION_ID=' "$TMP/export.log" &&
	    grep -q '^CLOSE_REASON=' "$TMP/export.log"; then
		pass "journal: SESSION_ID= and CLOSE_REASON= fields"
	else
		fail "journal: no SESSION_ID= or CLOSE_REASON= field"
	fi
}

# apt-get purge with a session open: the prerm stops the units (the
# session gets the close handshake), and nothing is left behind: no file
# named after stanzaguard, no unit, no enablement link, no user, no port.
t_purge()
{
	upstream purge 1
	rm -f "$TMP/purge.relayed"
	$PEER --timeout 30 client --port 5222 \
	    --relayed-file "$TMP/purge.relayed" \
	    --shutdown >"$TMP/purge-client.log" 2>&1 &
	cl=$!
	PIDS="$PIDS $cl"
	if ! wait_for 10 is_file "$TMP/purge.relayed"; then
		fail "purge: the session did not start"
		show "$TMP/purge-client.log" "$TMP/purge-upstream.log"
	fi
	# The search below, before the purge: it must see the package's files
	# and the links that enable its units, or its empty answer proves
	# nothing.
	find / /run -xdev -name '*stanzaguard*' >"$TMP/before.txt" 2>/dev/null
	before=$(wc -l <"$TMP/before.txt")
	if ! grep -qx /usr/sbin/stanzaguard "$TMP/before.txt" ||
	    ! grep -qx /etc/systemd/system/sockets.target.wants/$SOCK \
	    "$TMP/before.txt"; then
		fail "purge: find does not see the installed package"
		sed 's/^/    /' "$TMP/before.txt"
	fi
	if timeout 120 apt-get purge -y -q stanzaguard >"$TMP/purge.log" 2>&1 &&
	    ! dpkg-query -W -f='${Status}' stanzaguard 2>/dev/null |
	    grep -q installed; then
		pass "apt-get purge stanzaguard"
	else
		fail "apt-get purge stanzaguard: '$(pkg_status)'"
		show "$TMP/purge.log"
	fi
	if wait_pid 10 "$cl" && wait_pid 10 "$UP_PID"; then
		pass "purge: the open session got <system-shutdown/>," \
		    "then the close tag"
	else
		fail "purge: the open session"
		show "$TMP/purge-client.log" "$TMP/purge-upstream.log"
	fi
	# The root is one file system (the overlay), /run and /tmp others.
	find / /run -xdev -name '*stanzaguard*' >"$TMP/left.txt" 2>/dev/null
	if [ ! -s "$TMP/left.txt" ] && [ ! -e /etc/stanzaguard ]; then
		pass "purge: no file named stanzaguard left ($before before)," \
		    "no /etc/stanzaguard"
	else
		fail "purge: left behind:"
		sed 's/^/    /' "$TMP/left.txt"
	fi
	units=$(systemctl list-unit-files --no-legend 'stanzaguard*' | wc -l)
	if [ "$units" = 0 ] && is_prop "$SVC" LoadState not-found &&
	    is_prop "$SOCK" LoadState not-found && ! is_listening 5222 &&
	    ! is_listening 5269; then
		pass "purge: no unit left (not-found), 5222 and 5269 closed"
	else
		fail "purge: $units unit files, service" \
		    "$(prop "$SVC" LoadState), socket $(prop "$SOCK" LoadState)"
	fi
	if cmp -s /etc/passwd "$TMP/passwd" && cmp -s /etc/group "$TMP/group" &&
	    cmp -s /etc/shadow "$TMP/shadow" &&
	    ! getent passwd stanzaguard >/dev/null; then
		pass "purge: /etc/passwd, group and shadow as before the install"
	else
		fail "purge: a user or group was left behind"
		diff "$TMP/passwd" /etc/passwd
	fi
}

main()
{
	echo "(inside: systemd $(systemctl --version | sed -n '1s/^systemd //p')," \
	    "$(systemd-detect-virt) container, PID 1 $(cat /proc/1/comm))"
	t_install
	t_activation
	t_sandbox
	t_watchdog
	t_reload
	t_reload_bad
	t_restart
	t_upgrade
	t_crash
	t_stop
	t_journal
	t_purge
	journalctl --no-pager -b >"$OUT/journal.log" 2>&1
}

main
