#!/bin/bash
# stanzaguard (one process, and at 64 sessions also workers = 2) against
# HAProxy (TCP mode, 1 and 2 threads) and against no proxy at all, on
# loopback, with tests/bench/loadgen and tests/bench/echo_upstream; then
# the same three in front of a real server, Prosody from Debian (a
# throwaway instance for each run, tests/interop/prosody.sh), where
# loadgen --xmpp logs in N clients that send messages to their own full
# JIDs.  Before tp200_64 and tp200_1000, expat's floor for loadgen's
# stanza (bench_tracker --floor), for the limit of issue 14.
#
#   tests/bench/run.sh [STANZAGUARD]      (make bench runs it)
#
# Each measurement starts a fresh echo_upstream and a fresh proxy on fresh
# ports, so no run inherits another's memory or sockets.  The targets take
# turns within every repetition (direct, haproxy, stanzaguard, then the
# next test), so a change in the machine's load hits them all alike.  The
# table gives the median of the repetitions; every run is in
# build/bench/results.txt and every command in build/bench/commands.txt.
#
# Environment: BENCH_REPS (3), BENCH_SECONDS (3, measured per run; the
# latency runs take 2 more), BENCH_WARMUP (1), BENCH_BUDGET (780: no new
# test starts after this many seconds; a whole run takes about 710),
# BENCH_IDLE ("10000 50000"), BENCH_HOLD (100000, once; 0: not at all),
# BENCH_STORM (10000), BENCH_SPLIT (upstream ports per idle run;
# default one per 15,000 sessions, since the proxy's connections to one
# upstream address and port share ~28k ephemeral ports), BENCH_OUT
# (build/bench), BENCH_PROSODY_SESSIONS (64 clients behind Prosody),
# BENCH_PROSODY_WINDOW (16 messages in flight per client in prosody_tp),
# BENCH_PROSODY_RATE (1000 messages/s in prosody_rate: Prosody, one Lua
# thread, routes ~15,000/s when they come in batches but pays ~250 us for
# a message that comes alone, so 1000/s keeps it a quarter busy and the
# latency is not that of a queue; direct, HAProxy, HAProxy with clients
# that enable stream management themselves, stanzaguard and stanzaguard
# with sm-handback = no run at the same time there, a fifth of the rate
# each, five times as long: see side_by_side), BENCH_ONLY (the tests to
# run, of
# tp200_1 tp200_64 tp200_1000 tp16k_64 rate10k_64 prosody_tp prosody_rate
# idle hold storm; default all), BENCH_SG_OPTS (more options for every
# stanzaguard, e.g. --sm-handback=no).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SG=${1:-$ROOT/stanzaguard}
LOADGEN=$ROOT/build/loadgen
ECHO=$ROOT/build/echo_upstream
TRACKER=$ROOT/build/bench_tracker
HAPCFG=$HERE/haproxy.cfg
REPS=${BENCH_REPS:-3}
SECS=${BENCH_SECONDS:-3}
WARM=${BENCH_WARMUP:-1}
BUDGET=${BENCH_BUDGET:-780}
IDLE_WANT=${BENCH_IDLE:-10000 50000}
HOLD_N=${BENCH_HOLD:-100000}
ONLY=${BENCH_ONLY:-}
STORM_WANT=${BENCH_STORM:-10000}
OUT=${BENCH_OUT:-$ROOT/build/bench}
RATE=10000
PROSODY_N=${BENCH_PROSODY_SESSIONS:-64}
PROSODY_W=${BENCH_PROSODY_WINDOW:-16}
PROSODY_RATE=${BENCH_PROSODY_RATE:-1000}
PROSODY_PORT=""
PROSODY_PID=""
# p99 wants samples: 50,000 at 10k/s.
RATE_SECS=$(awk -v s="$SECS" 'BEGIN { print s + 2 }')
# prosody_rate's five kinds at once (side_by_side): a fifth of the rate
# each, five times as long, as many samples each as one alone would get.
PROSODY_SHARE=$(awk -v r="$PROSODY_RATE" 'BEGIN { print r / 5 }')
PROSODY_SECS=$(( RATE_SECS * 5 ))

RES=$OUT/results.txt
CMDS=$OUT/commands.txt
STARTED=$SECONDS
ECHO_PID=""
PROXY_PID=""

BENCH_NAME=bench
# shellcheck source=tests/bench/common.sh
. "$HERE/common.sh"
bench_start bench haproxy prosody prosodyctl
[ -x "$TRACKER" ] || die "$TRACKER is missing: run make bench"

# Run a copy: a rebuild during the bench must not change what is measured.
SG_FROM=$SG
if [ "$SG" -ef "$ROOT/stanzaguard" ] &&
    rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null); then
	SG_FROM="$SG_FROM, tree $rev"
fi
cp "$SG" "$TMP/stanzaguard" || die "cannot copy $SG"
SG=$TMP/stanzaguard

# Descriptors: each proxied session holds two in the proxy.  The hard
# limit is what it is (a container may forbid raising it even to root).
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
ulimit -n "$HARD" || die "cannot raise the soft fd limit to $HARD"
CAP=$(( (HARD - 100) / 2 ))
HAP_MAXCONN=$CAP

# Fresh ports for every run, below the ephemeral range.
PORT=$(( 20000 + ($$ % 20) * 500 ))
port_free() {
	[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}
next_port() {
	for _ in $(seq 1 200); do
		PORT=$(( PORT + 1 ))
		[ "$PORT" -ge 32000 ] && PORT=20000
		port_free "$PORT" && return 0
	done
	die "no free port"
}
# N consecutive free ports; sets BASE.
next_ports() {
	local n=$1 i ok
	for _ in $(seq 1 100); do
		next_port
		BASE=$PORT
		ok=1
		for i in $(seq 1 $(( n - 1 ))); do
			port_free $(( BASE + i )) || ok=0
		done
		PORT=$(( BASE + n - 1 ))
		[ "$ok" = 1 ] && return 0
	done
	die "no $n free ports in a row"
}

wait_listen() {		# port
	local i
	for i in $(seq 1 250); do
		port_free "$1" || return 0
		sleep 0.02
	done
	return 1
}

# wait_workers PORT N: N sockets listen on PORT (one per worker).
wait_workers() {
	local i
	for i in $(seq 1 250); do
		[ "$(ss -Htln "sport = :$1" 2>/dev/null | wc -l)" -ge "$2" ] &&
		    return 0
		sleep 0.02
	done
	die "not $2 workers listening on $1"
}
# Running, and not a zombie waiting for us.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() {		# pid: TERM, wait up to 5 s, then KILL
	local p=$1 i
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 1 100); do
		alive "$p" || break
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$p" | tr '\n' ' ')
}

log_cmd() {
	echo "$*" >>"$CMDS"
}

# start_echo FIRST_PORT COUNT: echo_upstream on COUNT ports.
start_echo() {
	local args="" i
	for i in $(seq 0 $(( $2 - 1 ))); do
		args="$args -p $(( $1 + i ))"
	done
	log_cmd "$ECHO$args -t 600"
	# shellcheck disable=SC2086
	"$ECHO" $args -t 600 >"$TMP/echo.$1.out" 2>&1 &
	ECHO_PID=$!
	PIDS="$PIDS $ECHO_PID"
	for i in $(seq 1 250); do
		grep -q ready "$TMP/echo.$1.out" 2>/dev/null && return 0
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "echo_upstream did not start: $(cat "$TMP/echo.$1.out")"
}

# start_proxy KIND LISTEN_BASE UPSTREAM_BASE COUNT [WORKERS]; sets
# PROXY_PID and TARGET (the ports loadgen connects to, comma-separated).
# KIND stanzaguard-idle is stanzaguard with WORKERS workers.
start_proxy() {
	local kind=$1 lb=$2 ub=$3 n=$4 w=${5:-1} i conf
	TARGET=$(seq -s, "$lb" $(( lb + n - 1 )))
	PROXY_PID=""
	case $kind in
	direct)
		TARGET=$(seq -s, "$ub" $(( ub + n - 1 )))
		return 0
		;;
	haproxy-1t|haproxy-2t|haproxy-1t-sm)
		HAP_THREADS=${kind#haproxy-}
		export HAP_THREADS=${HAP_THREADS%%t*}
		export HAP_MAXCONN
		if [ "$n" = 1 ]; then
			export HAP_BIND=127.0.0.1:$lb
			export HAP_SERVER=127.0.0.1:$ub
		else
			# A port range, each mapped to its own upstream port.
			export HAP_BIND=127.0.0.1:$lb-$(( lb + n - 1 ))
			export HAP_SERVER=127.0.0.1:+$(( ub - lb ))
		fi
		log_cmd "HAP_THREADS=$HAP_THREADS HAP_MAXCONN=$HAP_MAXCONN" \
		    "HAP_BIND=$HAP_BIND HAP_SERVER=$HAP_SERVER" \
		    "haproxy -db -f $HAPCFG"
		haproxy -db -f "$HAPCFG" >>"$TMP/proxy.log" 2>&1 &
		;;
	stanzaguard|stanzaguard-2w|stanzaguard-idle|stanzaguard-nosm)
		local opts="$SG_BENCH_OPTS"
		[ "$kind" = stanzaguard-2w ] && w=2
		[ "$w" -gt 1 ] && opts="$opts --workers=$w"
		opts="$opts ${BENCH_SG_OPTS:-}"
		[ "$kind" = stanzaguard-nosm ] && opts="$opts --sm-handback=no"
		if [ "$n" = 1 ]; then
			log_cmd "ulimit -n $HARD; $SG --listen 127.0.0.1:$lb" \
			    "--upstream 127.0.0.1:$ub $opts"
			# shellcheck disable=SC2086
			"$SG" --listen "127.0.0.1:$lb" --upstream "127.0.0.1:$ub" \
			    $opts >>"$TMP/proxy.log" 2>&1 &
		else
			# One listener per upstream port, same options.
			conf=$TMP/sg.conf
			: >"$conf"
			for i in $(seq 0 $(( n - 1 ))); do
				printf '[l%d]\nlisten = 127.0.0.1:%d\nupstream = 127.0.0.1:%d\n' \
				    "$i" $(( lb + i )) $(( ub + i )) >>"$conf"
			done
			log_cmd "ulimit -n $HARD; $SG -c $conf $opts  # $(tr '\n' ' ' <"$conf")"
			# shellcheck disable=SC2086
			"$SG" -c "$conf" $opts >>"$TMP/proxy.log" 2>&1 &
		fi
		;;
	esac
	PROXY_PID=$!
	PIDS="$PIDS $PROXY_PID"
	wait_listen "$lb" || die "$kind did not listen: $(cat "$TMP/proxy.log")"
	[ "$w" -gt 1 ] && wait_workers "$lb" "$w"
	return 0
}

# setup KIND [COUNT]: echo and proxy on fresh ports.
setup() {
	local n=${2:-1}
	next_ports "$n"
	local lb=$BASE
	next_ports "$n"
	local ub=$BASE
	start_echo "$ub" "$n"
	start_proxy "$1" "$lb" "$ub" "$n"
}

teardown() {
	stop_pid "$PROXY_PID"
	stop_pid "$ECHO_PID"
	rm -f "$TMP/proxy.log"
	PROXY_PID=""
	ECHO_PID=""
}

# wanted TEST: TEST is in BENCH_ONLY, or BENCH_ONLY is unset.
wanted() {
	[ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) true ;; *) false ;; esac
}

over_budget() {
	[ $(( SECONDS - STARTED )) -ge "$BUDGET" ]
}

# prosody_up: Prosody listens on PROSODY_PORT (started unless one runs,
# with PROSODY_N accounts u1..uN, password "secret"); 1 if it cannot.
# The modules prosody.sh enables (roster saslauth disco ping), Prosody's
# own autoloaded ones, and smacks, as in Debian's default configuration:
# loadgen's clients enable stream management only in kind haproxy-1t-sm
# (client_opts), and stanzaguard enables it on their behalf
# (sm-handback = auto), which Prosody pays for (kind stanzaguard-nosm: the
# same with sm-handback = no).  No mod_limits, so no c2s rate limit.
# Plaintext c2s and PLAIN on loopback, as in the interop tests.
prosody_up() {
	local i users=""
	[ -n "$PROSODY_PID" ] && return 0
	next_port
	for i in $(seq 1 "$PROSODY_N"); do
		users="$users -u u$i:secret"
	done
	log_cmd "tests/interop/prosody.sh start DIR $PORT -v warn -l smacks" \
	    "-u u1:secret ... -u u$PROSODY_N:secret"
	# shellcheck disable=SC2086
	"$ROOT/tests/interop/prosody.sh" start "$TMP/prosody" "$PORT" -v warn \
	    -l smacks $users >"$TMP/prosody.out" 2>&1 || {
		echo "bench: Prosody did not start:" \
		    "$(tail -5 "$TMP/prosody.out")" >&2
		return 1
	}
	PROSODY_PORT=$PORT
	PROSODY_PID=$(cat "$TMP/prosody/prosody.pid")
	PIDS="$PIDS $PROSODY_PID"
}

# prosody_down: stop Prosody and forget its data.  Every run starts a new
# one (3 s): what a run leaves behind slowed the runs after it, whatever
# the kind (direct: 16,000, then 13,300, then 8,800 messages/s in three
# repetitions of one bench run), among it the offline messages that the
# end of every run with stream management hands to storage (0.5-0.9 MB a
# run).  The kinds, run one after another, were not measured alike.
prosody_down() {
	[ -n "$PROSODY_PID" ] || return 0
	"$ROOT/tests/interop/prosody.sh" stop "$TMP/prosody"
	rm -rf "$TMP/prosody"
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$PROSODY_PID" |
	    tr '\n' ' ')
	PROSODY_PID=""
}

# client_opts KIND: loadgen's own options for KIND: haproxy-1t-sm relays
# clients that enable stream management themselves (loadgen --sm), which
# costs the server what stanzaguard's hand-back does.
client_opts() {
	case $1 in
	*-nosm) ;;
	*-sm) echo --sm ;;
	esac
}

# traffic TEST KIND REP LOADGEN_ARGS...: one throughput or rate run, to
# a fresh echo_upstream, or to Prosody for prosody_* tests.
traffic() {
	local test=$1 kind=$2 rep=$3 line cpu up
	shift 3
	case $test in
	prosody_*)
		# Each run gets a server of its own (prosody_down).
		prosody_down
		if ! prosody_up; then
			echo "test=$test kind=$kind rep=$rep status=fail" \
			    "err=Prosody_did_not_start" >>"$RES"
			return
		fi
		next_ports 1
		start_proxy "$kind" "$BASE" "$PROSODY_PORT" 1
		up=$PROSODY_PID
		;;
	*)
		setup "$kind"
		up=$ECHO_PID
		;;
	esac
	cpu="-P $up"
	[ -n "$PROXY_PID" ] && cpu="-P $PROXY_PID $cpu"
	# The master of two workers does no work: no CPU figures for it.
	[ "$kind" = stanzaguard-2w ] && cpu=""
	# The test's own options last: they override the defaults.
	log_cmd "$LOADGEN -p $TARGET -d $SECS -u $WARM $cpu $* $(client_opts "$kind")"
	# $cpu and client_opts are lists of words (or nothing).
	# shellcheck disable=SC2086,SC2046
	if ! line=$(timeout -k 5 120 "$LOADGEN" -p "$TARGET" -d "$SECS" \
	    -u "$WARM" $cpu "$@" $(client_opts "$kind") 2>"$TMP/lg.err"); then
		line="$line status=fail err=$(tr ' \n' '__' <"$TMP/lg.err")"
	fi
	echo "test=$test kind=$kind rep=$rep $line" >>"$RES"
	teardown
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# side_by_side TEST REP "KIND..." LOADGEN_ARGS...: one loadgen per KIND at
# the same time, all to the one Prosody (each binds its own resource of the
# same accounts), so that what Prosody does to the tail of the latency (a
# garbage collection, a batch) falls on every kind alike: the p99 of runs
# one after another differed by 2x for the same kind, more than any proxy
# adds.  One line per kind, as traffic writes them, with the histogram
# (loadgen --hist), which table.awk pools over the repetitions.
side_by_side() {
	local test=$1 rep=$2 kinds=$3 kind i=0 line cpu
	local -a pids=() proxies=()
	shift 3
	prosody_down
	if ! prosody_up; then
		for kind in $kinds; do
			echo "test=$test kind=$kind rep=$rep status=fail" \
			    "err=Prosody_did_not_start" >>"$RES"
		done
		return
	fi
	for kind in $kinds; do
		next_ports 1
		start_proxy "$kind" "$BASE" "$PROSODY_PORT" 1
		proxies+=("$PROXY_PID")
		cpu="-P $PROSODY_PID"
		[ -n "$PROXY_PID" ] && cpu="-P $PROXY_PID $cpu"
		log_cmd "$LOADGEN -p $TARGET -d $SECS -u $WARM $cpu $*" \
		    "--resource k$i --hist $(client_opts "$kind") &"
		# shellcheck disable=SC2086,SC2046
		timeout -k 5 120 "$LOADGEN" -p "$TARGET" -d "$SECS" -u "$WARM" \
		    $cpu "$@" --resource "k$i" --hist $(client_opts "$kind") \
		    >"$TMP/sbs.$i.out" \
		    2>"$TMP/sbs.$i.err" &
		pids+=("$!")
		PIDS="$PIDS $!"
		i=$(( i + 1 ))
	done
	i=0
	for kind in $kinds; do
		if wait "${pids[i]}"; then
			line=$(grep '^mode=' "$TMP/sbs.$i.out")
		else
			line="$(grep '^mode=' "$TMP/sbs.$i.out") status=fail"
			line="$line err=$(tr ' \n' '__' <"$TMP/sbs.$i.err")"
		fi
		echo "test=$test kind=$kind rep=$rep $line" >>"$RES"
		i=$(( i + 1 ))
	done
	for i in "${proxies[@]}"; do
		[ -n "$i" ] && stop_pid "$i"
	done
	PROXY_PID=""
	rm -f "$TMP"/sbs.* "$TMP/proxy.log"
}

# rss_sum_kb PID...: VmRSS of these processes and of their children.
rss_sum_kb() {
	local p c sum=0
	for p in "$@"; do
		sum=$(( sum + $(rss_kb "$p") ))
		for c in $(pgrep -P "$p"); do
			sum=$(( sum + $(rss_kb "$c") ))
		done
	done
	echo "$sum"
}

# Idle sessions per port and per loadgen or echo_upstream process: under
# the ~28k ephemeral ports the proxy has towards one upstream port, and
# under one process's descriptors.
IDLE_PER_PORT=15000

# idle_proxies KIND N LISTEN_BASE UPSTREAM_BASE PORTS: the proxy for N idle
# sessions.  Up to CAP sessions, one process as in every other test; more
# need more descriptors than one process may have, so several share the
# ports with SO_REUSEPORT, with a margin for the kernel's uneven spread:
# stanzaguard's workers, or HAProxy instances.  Sets IDLE_PIDS.
idle_proxies() {
	local kind=$1 n=$2 lb=$3 ub=$4 ports=$5 k i
	k=$(( (n * 10 + CAP * 8 - 1) / (CAP * 8) ))
	IDLE_PIDS=""
	if [ "$n" -le "$CAP" ]; then
		start_proxy "$kind" "$lb" "$ub" "$ports"
		IDLE_PIDS=$PROXY_PID
		return 0
	fi
	case $kind in
	stanzaguard)
		start_proxy stanzaguard-idle "$lb" "$ub" "$ports" "$k"
		IDLE_PIDS=$PROXY_PID
		;;
	haproxy-1t)
		for i in $(seq 1 "$k"); do
			start_proxy haproxy-1t "$lb" "$ub" "$ports"
			IDLE_PIDS="$IDLE_PIDS $PROXY_PID"
			wait_workers "$lb" "$i"
		done
		;;
	esac
}

# idle TEST KIND REP N: RSS of the proxy before and with N idle sessions
# (and, for stanzaguard, after 10.5 s without traffic: its sweep gives
# parser memory back after 5 s quiet, checked every 5 s).  The sessions
# are spread over several loadgen and echo_upstream processes, one port
# each per IDLE_PER_PORT sessions; every one must still be open at the end.
idle() {
	local test=$1 kind=$2 rep=$3 n=$4 ports nlg lb ub r0 r1 r2=0 i j c
	local ok=1 up=0 open=0 echos="" waited nproxy
	local -a lgs=()
	ports=${BENCH_SPLIT:-$(( (n + IDLE_PER_PORT - 1) / IDLE_PER_PORT ))}
	nlg=$(( (n + IDLE_PER_PORT - 1) / IDLE_PER_PORT ))
	next_ports "$ports"
	lb=$BASE
	next_ports "$ports"
	ub=$BASE
	for i in $(seq 0 $(( ports - 1 ))); do
		start_echo $(( ub + i )) 1
		echos="$echos $ECHO_PID"
	done
	# shellcheck disable=SC2086
	idle_proxies "$kind" "$n" "$lb" "$ub" "$ports"
	# shellcheck disable=SC2086
	r0=$(rss_sum_kb $IDLE_PIDS)
	for j in $(seq 1 "$nlg"); do
		c=$(( n / nlg + (j <= n % nlg ? 1 : 0) ))
		log_cmd "$LOADGEN -m idle -c $c -p $TARGET -t 120  # $j of $nlg; VmRSS of $kind ($IDLE_PIDS) read before and after"
		timeout -k 5 180 "$LOADGEN" -m idle -c "$c" -p "$TARGET" \
		    -t 120 >"$TMP/idle.$j.out" 2>"$TMP/lg.$j.err" &
		lgs+=("$!")
		PIDS="$PIDS $!"
	done
	for j in $(seq 1 "$nlg"); do
		waited=0
		for i in $(seq 1 $(( 600 + n / 20 ))); do
			grep -q ready "$TMP/idle.$j.out" && { waited=1; break; }
			alive "${lgs[j - 1]}" || break
			sleep 0.1
		done
		[ "$waited" = 1 ] || ok=0
	done
	# shellcheck disable=SC2086
	r1=$(rss_sum_kb $IDLE_PIDS)
	if [ "$ok" = 1 ] && [ "$kind" = stanzaguard ]; then
		sleep 10.5
		# shellcheck disable=SC2086
		r2=$(rss_sum_kb $IDLE_PIDS)
	fi
	for j in "${lgs[@]}"; do
		stop_pid "$j"
	done
	for j in $(seq 1 "$nlg"); do
		i=$(sed -n 's/^ready sessions=\([0-9]*\).*/\1/p' "$TMP/idle.$j.out")
		up=$(( up + ${i:-0} ))
		i=$(sed -n 's/.*still_open=\([0-9]*\).*/\1/p' "$TMP/idle.$j.out")
		open=$(( open + ${i:-0} ))
	done
	[ "$open" = "$n" ] || ok=0
	# Workers or instances: the processes that hold sessions.
	nproxy=0
	for j in $IDLE_PIDS; do
		i=$(pgrep -cP "$j")
		nproxy=$(( nproxy + (i > 0 ? i : 1) ))
	done
	if [ "$ok" = 1 ]; then
		echo "test=$test kind=$kind rep=$rep sessions=$n" \
		    "processes=$nproxy rss0_kb=$r0" \
		    "rss1_kb=$r1 rss2_kb=$r2 rss2_mib=$(( r2 / 1024 ))" \
		    "held=$open" \
		    "per_session_b=$(( (r1 - r0) * 1024 / n ))" \
		    "$([ "$r2" -gt 0 ] &&
		    echo "per_session_quiet_b=$(( (r2 - r0) * 1024 / n ))")" \
		    >>"$RES"
	else
		echo "test=$test kind=$kind rep=$rep sessions=$n status=fail" \
		    "up=$up held=$open" \
		    "err=$(cat "$TMP"/lg.*.err | tr ' \n' '__')" >>"$RES"
	fi
	for j in $IDLE_PIDS; do
		stop_pid "$j"
	done
	for j in $echos; do
		stop_pid "$j"
	done
	PROXY_PID=""
	ECHO_PID=""
	rm -f "$TMP"/idle.*.out "$TMP"/lg.*.err "$TMP/proxy.log"
}

# storm REP N: N idle sessions, SIGTERM to stanzaguard, time to all EOF.
storm() {
	local rep=$1 n=$2 line k
	if [ "$n" -le "$CAP" ]; then
		setup stanzaguard
	else
		# As in idle: more sessions than one process's descriptors.
		k=$(( (n * 10 + CAP * 8 - 1) / (CAP * 8) ))
		next_ports 1
		local lb=$BASE
		next_ports 1
		start_echo "$BASE" 1
		start_proxy stanzaguard-idle "$lb" "$BASE" 1 "$k"
	fi
	log_cmd "$LOADGEN -m storm -c $n -p $TARGET -t 60 -k $PROXY_PID"
	local out st=""
	if ! out=$(timeout -k 5 120 "$LOADGEN" -m storm -c "$n" -p "$TARGET" \
	    -t 60 -k "$PROXY_PID" 2>"$TMP/lg.err"); then
		st="status=fail err=$(tr ' \n' '__' <"$TMP/lg.err")"
	fi
	line="$(echo "$out" | grep '^mode=') $st"
	echo "test=storm kind=stanzaguard rep=$rep $line" >>"$RES"
	teardown
}

# floor REP: expat's floor for loadgen's stanza (bench_tracker --floor),
# in the same run as the CPU it is added to, for the limit of issue 14.
floor() {
	local line
	log_cmd "$TRACKER --floor"
	if ! line=$(timeout -k 5 60 "$TRACKER" --floor 2>"$TMP/floor.err"); then
		line="$line status=fail err=$(tr ' \n' '__' <"$TMP/floor.err")"
	fi
	echo "test=floor kind=expat rep=$1 $line" >>"$RES"
}

# Busy share of both CPUs over one second, in percent: what else runs.
busy_pct() {
	local a b
	a=$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
	echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}

# Idle sizes as asked: a size over one process's descriptors is spread
# over several processes (see idle).  HOLD sessions are held once, by
# stanzaguard alone, in the first repetition.
IDLE_SIZES=$IDLE_WANT
# One loadgen process times the storm: one descriptor per session.
STORM_N=$(( STORM_WANT < HARD - 100 ? STORM_WANT : HARD - 100 ))

BG_BEFORE=$(busy_pct)
echo "bench: $REPS repetitions, ${SECS}s measured after ${WARM}s warm-up;" \
    "idle sizes: $IDLE_SIZES; hold: $HOLD_N; storm: $STORM_N (fd limit $HARD);" \
    "other load before: ${BG_BEFORE}% of $(nproc) CPUs"

SKIPPED=0
for rep in $(seq 1 "$REPS"); do
	for t in \
	    "tp200_1 direct haproxy-1t stanzaguard|-m throughput -c 1 -b 200 -w 16" \
	    "tp200_64 direct haproxy-1t haproxy-2t stanzaguard stanzaguard-2w|-m throughput -c 64 -b 200 -w 16" \
	    "tp200_1000 direct haproxy-1t haproxy-2t stanzaguard|-m throughput -c 1000 -b 200 -w 16" \
	    "tp16k_64 direct haproxy-1t haproxy-2t stanzaguard stanzaguard-2w|-m throughput -c 64 -b 16384 -w 4" \
	    "rate10k_64 direct haproxy-1t stanzaguard|-m rate -c 64 -b 200 -r $RATE -d $RATE_SECS" \
	    "prosody_tp direct haproxy-1t haproxy-1t-sm stanzaguard stanzaguard-nosm|-m throughput -c $PROSODY_N -b 200 -w $PROSODY_W --xmpp localhost" \
	    "prosody_rate direct haproxy-1t haproxy-1t-sm stanzaguard stanzaguard-nosm|-m rate -c $PROSODY_N -b 200 -r $PROSODY_SHARE -d $PROSODY_SECS --xmpp localhost"; do
		# shellcheck disable=SC2086
		set -- ${t%%|*}
		test=$1
		shift
		wanted "$test" || continue
		# The floor, next to the runs whose limit it makes.
		case $test in
		tp200_64|tp200_1000)
			if over_budget; then SKIPPED=$(( SKIPPED + 1 )); else
				echo "bench: rep $rep floor" >&2
				floor "$rep"
			fi
			;;
		esac
		if [ "$test" = prosody_rate ]; then
			if over_budget; then SKIPPED=$(( SKIPPED + 1 )); continue; fi
			echo "bench: rep $rep $test $* at once" >&2
			# shellcheck disable=SC2086
			side_by_side "$test" "$rep" "$*" ${t#*|}
			continue
		fi
		for kind in "$@"; do
			if over_budget; then SKIPPED=$(( SKIPPED + 1 )); continue; fi
			echo "bench: rep $rep $test $kind" >&2
			# shellcheck disable=SC2086
			traffic "$test" "$kind" "$rep" ${t#*|}
		done
	done
	wanted idle && for n in $IDLE_SIZES; do
		for kind in haproxy-1t stanzaguard; do
			if over_budget; then SKIPPED=$(( SKIPPED + 1 )); continue; fi
			echo "bench: rep $rep idle $n $kind" >&2
			idle "idle_$n" "$kind" "$rep" "$n"
		done
	done
	if [ "$rep" = 1 ] && [ "$HOLD_N" -gt 0 ] && wanted hold; then
		if over_budget; then SKIPPED=$(( SKIPPED + 1 )); else
			echo "bench: rep $rep hold $HOLD_N stanzaguard" >&2
			idle hold stanzaguard "$rep" "$HOLD_N"
		fi
	fi
	if ! wanted storm; then :
	elif over_budget; then SKIPPED=$(( SKIPPED + 1 )); else
		echo "bench: rep $rep storm $STORM_N" >&2
		storm "$rep" "$STORM_N"
	fi
done
prosody_down
BG_AFTER=$(busy_pct)

ELAPSED=$(( SECONDS - STARTED ))
{
	echo "$("$SG" --version 2>&1 | head -1) ($SG_FROM) vs" \
	    "$(haproxy -v | head -1 | cut -d' ' -f1-3); $(nproc) CPUs" \
	    "($(uname -r)), shared by loadgen, echo_upstream and the proxy"
	echo "median of $REPS interleaved runs; ${SECS}s measured (latency:" \
	    "${RATE_SECS}s) after ${WARM}s warm-up; in flight per session:" \
	    "16 stanzas of 200 B, 4 of 16 KiB"
	echo "other load on the machine: ${BG_BEFORE}% before, ${BG_AFTER}%" \
	    "after (of all CPUs); runs: $RES; commands: $CMDS"
	[ "$SKIPPED" -gt 0 ] && echo "WARNING: $SKIPPED runs skipped:" \
	    "over the ${BUDGET}s budget"
	echo
	awk -f "$HERE/table.awk" -v idle_sizes="$IDLE_SIZES" -v hold_n="$HOLD_N" \
	    -v storm_n="$STORM_N" -v prosody_n="$PROSODY_N" \
	    -v prosody_rate="$PROSODY_RATE" "$RES"
	echo
	echo "bench: done in ${ELAPSED}s"
} | tee "$OUT/table.txt"
