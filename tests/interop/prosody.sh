#!/bin/sh
# A throwaway Prosody on loopback, for the demo and the interop tests.
#
#   tests/interop/prosody.sh start DIR C2S-PORT [options]
#	Write DIR/prosody.cfg.lua, create the users, start Prosody in the
#	background (pid in DIR/prosody.pid, log in DIR/prosody.log) and
#	return once it listens on 127.0.0.1:C2S-PORT.  VirtualHost
#	"localhost"; plaintext c2s and PLAIN auth allowed: for tests only.
#	  -s PORT	also s2s on 127.0.0.1:PORT (default: no s2s)
#	  -m DIR	look for modules in DIR too (plugin_paths)
#	  -l MODULE	load MODULE (repeatable), e.g. -l legacy_idle_cut
#	  -o LINE	add LINE to the global section (repeatable), e.g.
#			-o 'legacy_idle_cut_after = 5'
#	  -u USER:PASS	create USER@localhost (repeatable; default
#			alice:secret and bob:secret)
#	  -v LEVEL	log level (default info; debug shows every stanza)
#	  -w SECONDS	how long to wait for the port (default 15)
#   tests/interop/prosody.sh stop DIR
#	SIGTERM, wait (at most 10 s), then SIGKILL.
#
# Prosody refuses to run as root unless run_as_root = true, and prosodyctl
# run as root switches to the prosody user (who cannot write DIR): the
# config sets run_as_root, so it runs as whoever calls this, root or not.
set -eu

NAME=prosody.sh
# shellcheck source=tests/interop/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

PROSODY=${PROSODY:-prosody}
PROSODYCTL=${PROSODYCTL:-prosodyctl}

# A Lua list of strings from the words of $1: { "a"; "b"; }
lua_list()
{
	printf '{'
	for w in $1; do
		printf ' "%s";' "$w"
	done
	printf ' }'
}

write_config()
{
	if [ -n "$S2S" ]; then
		s2s="s2s_ports = { $S2S }"
		disabled=""
	else
		s2s="s2s_ports = { }"
		disabled="s2s"
	fi
	cat >"$DIR/prosody.cfg.lua" <<-EOF
	-- Written by tests/interop/prosody.sh: a throwaway test server.
	run_as_root = true
	data_path = "$DIR/data"
	certificates = "$DIR/certs"
	plugin_paths = $(lua_list "$MODDIRS")
	interfaces = { "127.0.0.1" }
	local_interfaces = { "127.0.0.1" }
	c2s_ports = { $C2S }
	c2s_direct_tls_ports = { }
	$s2s
	component_ports = { }
	http_ports = { }
	https_ports = { }
	log = { { levels = { min = "$LEVEL" }, to = "console" } }

	c2s_require_encryption = false
	s2s_require_encryption = false
	allow_unencrypted_plain_auth = true
	authentication = "internal_plain"
	allow_registration = false

	modules_enabled = $(lua_list "roster saslauth disco ping $MODULES")
	modules_disabled = $(lua_list "$disabled")
	EOF
	printf '%s\n' "$OPTIONS" >>"$DIR/prosody.cfg.lua"
	cat >>"$DIR/prosody.cfg.lua" <<-EOF

	VirtualHost "localhost"
	EOF
}

start()
{
	[ $# -ge 2 ] || die "usage: start DIR C2S-PORT [options]"
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd)
	C2S=$2
	shift 2
	S2S="" MODDIRS="" MODULES="" OPTIONS="" USERS="" LEVEL=info WAIT=15
	while getopts s:m:l:o:u:v:w: opt; do
		case $opt in
		s) S2S=$OPTARG ;;
		m) MODDIRS="$MODDIRS $(cd "$OPTARG" && pwd)" ;;
		l) MODULES="$MODULES $OPTARG" ;;
		o) OPTIONS="$OPTIONS
$OPTARG" ;;
		u) USERS="$USERS $OPTARG" ;;
		v) LEVEL=$OPTARG ;;
		w) WAIT=$OPTARG ;;
		*) die "unknown option" ;;
		esac
	done
	[ -n "$USERS" ] || USERS="alice:secret bob:secret"
	command -v "$PROSODY" >/dev/null ||
	    die "no $PROSODY: apt-get install prosody (make deps-test)"
	if is_listening "$C2S"; then
		die "127.0.0.1:$C2S is already in use"
	fi

	mkdir -p "$DIR/data" "$DIR/certs"
	write_config
	cfg=$DIR/prosody.cfg.lua
	for u in $USERS; do
		"$PROSODYCTL" --config "$cfg" register "${u%%:*}" localhost \
		    "${u#*:}" >>"$DIR/prosodyctl.log" 2>&1 ||
		    die "registering ${u%%:*}: see $DIR/prosodyctl.log"
	done

	# -F: in the foreground of this background job, so $! is Prosody.
	# setsid: a session of its own, so that the Ctrl-C meant for the
	# proxy in front of it does not stop it too (it handles SIGINT).
	# setsid execs in place here: a background job leads no group.
	setsid "$PROSODY" --config "$cfg" -F </dev/null \
	    >"$DIR/prosody.log" 2>&1 &
	echo $! >"$DIR/prosody.pid"
	wait_listening "$C2S" "$WAIT" "$DIR/prosody.pid" || {
		rc=$?
		[ "$rc" -eq 2 ] && stop "$DIR"
		tail -n 20 "$DIR/prosody.log" >&2
		[ "$rc" -eq 1 ] && die "Prosody exited; log in $DIR/prosody.log"
		die "Prosody not listening on port $C2S after ${WAIT}s"
	}
}

stop()
{
	[ $# -eq 1 ] || die "usage: stop DIR"
	[ -f "$1/prosody.pid" ] || return 0
	pid=$(cat "$1/prosody.pid")
	rm -f "$1/prosody.pid"
	end_pid "$pid" 100
}

[ $# -ge 1 ] || die "usage: start DIR C2S-PORT [options] | stop DIR"
cmd=$1
shift
case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
*) die "unknown command $cmd (start, stop)" ;;
esac
