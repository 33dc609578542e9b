#!/bin/sh
# A throwaway ejabberd 23.01 on loopback, for the interop matrix.
#
#   tests/interop/ejabberd.sh start DIR C2S-PORT
#	Write DIR/ejabberd.yml (VirtualHost "localhost", plaintext c2s on
#	127.0.0.1:C2S-PORT, PLAIN allowed: for tests only), start ejabberd in
#	the background (log in DIR/logs/ejabberd.log), wait until it listens
#	and register alice, bob and the matrix's other users (-u USER:PASS,
#	repeatable; default alice:secret bob:secret).  Stream management
#	and offline storage as Debian's /etc/ejabberd/ejabberd.yml sets them.
#	-v LEVEL sets the log level (default info; debug shows every
#	element read from a client, "Received XML on stream = ...").
#   tests/interop/ejabberd.sh ctl DIR COMMAND...
#	ejabberdctl against that node, e.g. kick_session alice localhost r x
#   tests/interop/ejabberd.sh stop DIR
#
# Debian's ejabberdctl runs everything as the user ejabberd (su) when
# called by root, with /etc/ejabberd and /var/lib/ejabberd.  A copy of it
# with INSTALLUSER emptied runs as the caller instead, and its own
# --config-dir, --spool, --logs and --node make the server private to DIR.
# ERL_DIST_PORT (a free port) lets the ctl commands reach the node without
# epmd, so no epmd daemon is left behind; HOME=DIR keeps the Erlang cookie
# there.
set -eu

NAME=ejabberd.sh
# shellcheck source=tests/interop/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

ctl()
{
	HOME=$DIR "$DIR/ejabberdctl" --config-dir "$DIR" --spool "$DIR/spool" \
	    --logs "$DIR/logs" --node "$(cat "$DIR/node")" "$@"
}

write_config()
{
	cat >"$DIR/ejabberd.yml" <<-EOF2
	# Written by tests/interop/ejabberd.sh: a throwaway test server.
	loglevel: $LEVEL
	log_rotate_count: 0
	hosts:
	  - localhost
	certfiles: []
	listen:
	  -
	    port: $C2S
	    ip: "127.0.0.1"
	    module: ejabberd_c2s
	    max_stanza_size: 262144
	    access: c2s
	    starttls: false
	auth_method: internal
	auth_password_format: plain
	acl:
	  local:
	    user_regexp: ""
	# shaper_rules and the mod_offline and mod_stream_mgmt options: those
	# of Debian's /etc/ejabberd/ejabberd.yml (its 5000 for admin aside:
	# this server has no admin).
	shaper_rules:
	  max_user_offline_messages: 100
	access_rules:
	  local:
	    allow: local
	  c2s:
	    allow: all
	api_permissions:
	  "console commands":
	    from:
	      - ejabberd_ctl
	    who: all
	    what: "*"
	modules:
	  mod_admin_extra: {}
	  mod_disco: {}
	  mod_ping: {}
	  mod_roster: {}
	  mod_offline:
	    access_max_user_messages: max_user_offline_messages
	  mod_stream_mgmt:
	    resend_on_timeout: if_offline
	EOF2
	cat >"$DIR/ejabberdctl.cfg" <<-EOF2
	ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
	ERL_DIST_PORT=$DIST
	EJABBERD_PID_PATH=$DIR/ejabberd.pid
	EOF2
	cp /etc/ejabberd/inetrc "$DIR/inetrc"
	sed 's/^INSTALLUSER=.*/INSTALLUSER=/' /usr/sbin/ejabberdctl \
	    >"$DIR/ejabberdctl"
	chmod +x "$DIR/ejabberdctl"
}

start()
{
	[ $# -ge 2 ] ||
	    die "usage: start DIR C2S-PORT [-u USER:PASS]... [-v LEVEL]"
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd)
	C2S=$2
	shift 2
	USERS=""
	LEVEL=info
	while getopts u:v: opt; do
		case $opt in
		u) USERS="$USERS $OPTARG" ;;
		v) LEVEL=$OPTARG ;;
		*) die "unknown option" ;;
		esac
	done
	[ -n "$USERS" ] || USERS="alice:secret bob:secret"
	[ -x /usr/sbin/ejabberdctl ] ||
	    die "no /usr/sbin/ejabberdctl: apt-get install ejabberd (make deps-test)"
	is_listening "$C2S" && die "127.0.0.1:$C2S is already in use"
	DIST=$(free_ports 1)
	mkdir -p "$DIR/spool" "$DIR/logs"
	echo "sgtest$$@localhost" >"$DIR/node"
	write_config
	# setsid: out of the caller's process group (see prosody.sh).
	HOME=$DIR setsid "$DIR/ejabberdctl" --config-dir "$DIR" \
	    --spool "$DIR/spool" --logs "$DIR/logs" --node "$(cat "$DIR/node")" \
	    foreground </dev/null >"$DIR/foreground.log" 2>&1 &
	echo $! >"$DIR/run.pid"
	wait_listening "$C2S" 30 "$DIR/run.pid" || {
		rc=$?
		if [ "$rc" -eq 1 ]; then
			tail -n 20 "$DIR/foreground.log" \
			    "$DIR/logs/ejabberd.log" >&2
			die "ejabberd exited; logs in $DIR/logs"
		fi
		stop
		tail -n 20 "$DIR/logs/ejabberd.log" >&2
		die "ejabberd not listening on port $C2S after 30s"
	}
	for u in $USERS; do
		ctl register "${u%%:*}" localhost "${u#*:}" \
		    >>"$DIR/ctl.log" 2>&1 ||
		    die "registering ${u%%:*}: see $DIR/ctl.log"
	done
}

stop()
{
	[ -f "$DIR/run.pid" ] || return 0
	pid=$(cat "$DIR/run.pid")
	rm -f "$DIR/run.pid"
	if ctl stop >/dev/null 2>&1; then
		await_end "$pid" 100
	else
		end_pid "$pid" 100
	fi
}

[ $# -ge 2 ] || die "usage: start DIR C2S-PORT | ctl DIR COMMAND... | stop DIR"
cmd=$1
shift
case $cmd in
start) start "$@" ;;
ctl) DIR=$(cd "$1" && pwd); shift; ctl "$@" ;;
stop) DIR=$(cd "$1" 2>/dev/null && pwd) || exit 0; stop ;;
*) die "unknown command $cmd (start, ctl, stop)" ;;
esac
