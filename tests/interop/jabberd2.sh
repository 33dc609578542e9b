#!/bin/sh
# A throwaway jabberd2 2.7 on loopback, for the interop matrix.
#
#   tests/interop/jabberd2.sh start DIR C2S-PORT [-i IDLE] [-u USER:PASS]...
#	Write DIR/router.xml, sm.xml, c2s.xml and a SQLite database with the
#	users (default alice:secret bob:secret) for the domain "localhost",
#	start the router, sm and c2s processes in the background (logs in
#	DIR/*.log) and return once c2s listens on 127.0.0.1:C2S-PORT.
#	Plaintext c2s and PLAIN allowed: for tests only.
#	  -i IDLE	c2s drops connections that sent nothing for IDLE
#			seconds (<io><check><idle>, checked every second)
#   tests/interop/jabberd2.sh stop DIR
#
# Debian's /etc/jabberd2 is for the jabber user and the system ports; these
# files are the same setup cut down (storage and authreg in SQLite, the
# router on a free loopback port), run as whoever calls this.
set -eu

NAME=jabberd2.sh
# shellcheck source=tests/interop/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

LIBDIR=/usr/lib/x86_64-linux-gnu/jabberd2
[ -d "$LIBDIR" ] || LIBDIR=$(dirname "$(dpkg -L jabberd2 2>/dev/null |
    grep '/storage_sqlite.so$' | head -n 1)")

# <router> as the sm and c2s connect to it.
router_client()
{
	cat <<-EOF2
	  <router>
	    <ip>127.0.0.1</ip><port>$ROUTER</port>
	    <user>jabberd</user><pass>secret</pass>
	    <retry><init>10</init><lost>3</lost><sleep>1</sleep></retry>
	  </router>
	EOF2
}

write_config()
{
	cat >"$DIR/router-users.xml" <<-EOF2
	<users><user><name>jabberd</name><secret>secret</secret></user></users>
	EOF2
	cat >"$DIR/router.xml" <<-EOF2
	<!-- Written by tests/interop/jabberd2.sh: a throwaway test server. -->
	<router>
	  <id>router</id>
	  <pidfile>$DIR/router.pid</pidfile>
	  <log type='file'><file>$DIR/router.log</file></log>
	  <local>
	    <ip>127.0.0.1</ip><port>$ROUTER</port>
	    <users>$DIR/router-users.xml</users>
	    <secret>secret</secret>
	  </local>
	  <check><interval>60</interval><keepalive>0</keepalive></check>
	  <io><max_fds>1024</max_fds>
	    <limits><bytes>0</bytes><connects>0</connects></limits>
	    <access><order>allow,deny</order></access></io>
	  <aci><acl type='all'><user>jabberd</user></acl></aci>
	</router>
	EOF2
	cat >"$DIR/sm.xml" <<-EOF2
	<sm>
	  <id>localhost</id>
	  <pidfile>$DIR/sm.pid</pidfile>
	$(router_client)
	  <log type='file'><file>$DIR/sm.log</file></log>
	  <storage>
	    <path>$LIBDIR</path>
	    <driver>sqlite</driver>
	    <sqlite><dbname>$DIR/sqlite.db</dbname>
	      <busy-timeout>2000</busy-timeout></sqlite>
	  </storage>
	  <modules>
	    <path>$LIBDIR</path>
	    <chain id='sess-start'><module>status</module></chain>
	    <chain id='sess-end'><module>status</module><module>iq-last</module></chain>
	    <chain id='in-sess'><module>validate</module><module>status</module>
	      <module>roster</module><module>iq-ping</module><module>disco</module>
	      <module>offline</module><module>presence</module>
	      <module>deliver</module></chain>
	    <chain id='in-router'><module>session</module>
	      <module>validate</module><module>presence</module></chain>
	    <chain id='pkt-sm'><module>iq-last</module><module>iq-ping</module>
	      <module>disco</module><module>status</module>
	      <module>presence</module></chain>
	    <chain id='pkt-user'><module>roster</module><module>presence</module>
	      <module>disco</module><module>deliver</module>
	      <module>offline</module><module>iq-last</module></chain>
	    <chain id='pkt-router'><module>session</module>
	      <module>disco</module></chain>
	    <chain id='user-load'><module>active</module>
	      <module>roster</module></chain>
	    <chain id='user-create'><module>active</module></chain>
	    <chain id='user-delete'><module>active</module><module>offline</module>
	      <module>roster</module><module>status</module>
	      <module>iq-last</module></chain>
	  </modules>
	  <user><auto-create/></user>
	  <discovery><identity><category>server</category><type>im</type>
	    <name>jabberd2 test</name></identity></discovery>
	</sm>
	EOF2
	cat >"$DIR/c2s.xml" <<-EOF2
	<c2s>
	  <id>c2s</id>
	  <pidfile>$DIR/c2s.pid</pidfile>
	$(router_client)
	  <log type='file'><file>$DIR/c2s.log</file></log>
	  <local>
	    <id>localhost</id>
	    <ip>127.0.0.1</ip><port>$C2S</port>
	  </local>
	  <io>
	    <max_fds>1024</max_fds>
	    <limits><bytes>0</bytes><stanzas>0</stanzas><connects>0</connects>
	      <stanzasize>65535</stanzasize></limits>
	    <access><order>allow,deny</order></access>
	    <check><interval>$INTERVAL</interval><idle>$IDLE</idle>
	      <keepalive>0</keepalive></check>
	  </io>
	  <authreg>
	    <path>$LIBDIR</path>
	    <module>sqlite</module>
	    <mechanisms>
	      <traditional><plain/></traditional>
	      <sasl><plain/><scram-sha-1/></sasl>
	    </mechanisms>
	    <sqlite><dbname>$DIR/sqlite.db</dbname>
	      <busy-timeout>2000</busy-timeout>
	      <password_type><plaintext/></password_type></sqlite>
	  </authreg>
	</c2s>
	EOF2
}

# The schema Debian ships, and the users' passwords in authreg.
make_db()
{
	zcat /usr/share/doc/jabberd2/db-setup.sqlite.gz >"$DIR/schema.sql"
	# $USERS: one argument per user.
	# shellcheck disable=SC2086
	/usr/bin/python3 - "$DIR/sqlite.db" "$DIR/schema.sql" $USERS <<-'EOF2'
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	db.executescript(open(sys.argv[2]).read())
	for u in sys.argv[3:]:
	    name, pw = u.split(":", 1)
	    db.execute('INSERT INTO "authreg" VALUES (?, ?, ?)',
	               (name, "localhost", pw))
	db.commit()
	EOF2
}

# start_one NAME: jabberd2-NAME -c DIR/NAME.xml in the background.
start_one()
{
	setsid "/usr/sbin/jabberd2-$1" -c "$DIR/$1.xml" </dev/null \
	    >"$DIR/$1.out" 2>&1 &
	echo $! >"$DIR/$1.run.pid"
}

start()
{
	[ $# -ge 2 ] || die "usage: start DIR C2S-PORT [-i IDLE] [-u USER:PASS]..."
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd)
	C2S=$2
	shift 2
	USERS="" IDLE=0 INTERVAL=0
	while getopts i:u: opt; do
		case $opt in
		i) IDLE=$OPTARG INTERVAL=1 ;;
		u) USERS="$USERS $OPTARG" ;;
		*) die "unknown option" ;;
		esac
	done
	[ -n "$USERS" ] || USERS="alice:secret bob:secret"
	[ -x /usr/sbin/jabberd2-c2s ] ||
	    die "no /usr/sbin/jabberd2-c2s: apt-get install jabberd2 (make deps-test)"
	is_listening "$C2S" && die "127.0.0.1:$C2S is already in use"
	ROUTER=$(free_ports 1)
	write_config
	make_db
	start_one router
	wait_listening "$ROUTER" 10 "$DIR/router.run.pid" ||
	    { stop; die "the router did not start: $DIR/router.log"; }
	start_one sm
	start_one c2s
	n=150
	until is_listening "$C2S" && grep -q 'ready for sessions' \
	    "$DIR/sm.log" 2>/dev/null; do
		n=$((n - 1))
		for p in router sm c2s; do
			kill -0 "$(cat "$DIR/$p.run.pid")" 2>/dev/null || {
				stop
				tail -n 5 "$DIR/$p.log" "$DIR/$p.out" >&2
				die "jabberd2-$p exited: $DIR/$p.log"
			}
		done
		[ "$n" -gt 0 ] || { stop; die "c2s not listening on $C2S after 15s"; }
		sleep 0.1
	done
}

stop()
{
	for p in c2s sm router; do
		[ -f "$DIR/$p.run.pid" ] || continue
		pid=$(cat "$DIR/$p.run.pid")
		rm -f "$DIR/$p.run.pid"
		end_pid "$pid" 50
	done
}

[ $# -ge 2 ] || die "usage: start DIR C2S-PORT [options] | stop DIR"
cmd=$1
shift
case $cmd in
start) start "$@" ;;
stop) DIR=$(cd "$1" 2>/dev/null && pwd) || exit 0; stop ;;
*) die "unknown command $cmd (start, stop)" ;;
esac
