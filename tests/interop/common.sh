# shellcheck shell=sh
# The shell helpers of tests/interop (sourced, not run): the servers'
# scripts (prosody.sh, ejabberd.sh, jabberd2.sh) and the runners (run.sh,
# handback.sh).  Set NAME, the name messages start with, before sourcing.

# die WHY...: say it on stderr and exit 1.
die()
{
	echo "$NAME: $*" >&2
	exit 1
}

# Non-zero unless something listens on 127.0.0.1:$1 (no python needed).
is_listening()
{
	want=$(printf '0100007F:%04X' "$1")
	awk -v want="$want" 'NR > 1 && $2 == want && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp
}

# wait_listening PORT SECONDS PIDFILE: until something listens on
# 127.0.0.1:PORT.  0 once it does; 1 if the process of PIDFILE is gone
# first; 2 after SECONDS.
wait_listening()
{
	n=$(($2 * 10))
	while ! is_listening "$1"; do
		kill -0 "$(cat "$3")" 2>/dev/null || return 1
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 2
		sleep 0.1
	done
}

# free_ports N: N free TCP ports on 127.0.0.1, apart by spaces, below
# the kernel's range of source ports (see sgtest.free_port).
SGTEST=$(cd "$(dirname "$0")/../integration" && pwd)/sgtest.py
free_ports()
{
	/usr/bin/python3 "$SGTEST" "$1"
}

# is_alive PID: a process that is not a zombie.
is_alive()
{
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# await_end PID TENTHS: PID (not a child of ours: a server that went to
# the background) was asked to stop; wait at most TENTHS tenths of a
# second for it to go, else SIGKILL.
await_end()
{
	n=$2
	while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$1" 2>/dev/null || true
}

# end_pid PID TENTHS: SIGTERM, then await_end.  Nothing to do if PID is
# gone already.
end_pid()
{
	kill "$1" 2>/dev/null || return 0
	await_end "$1" "$2"
}

# stop_sg PIDFILE: SIGTERM the stanzaguard of PIDFILE, wait (at most 5 s),
# else SIGKILL; non-zero if it had to be killed.  SG_STATUS: its exit
# status.  Nothing to do without PIDFILE.
stop_sg()
{
	SG_STATUS=""
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	rm -f "$1"
	kill -TERM "$pid" 2>/dev/null
	n=50
	while is_alive "$pid" && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	killed=0
	if is_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		killed=1
	fi
	wait "$pid" 2>/dev/null
	# shellcheck disable=SC2034 # read by the caller
	SG_STATUS=$?
	return "$killed"
}
