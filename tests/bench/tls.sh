#!/bin/bash
# stanzaguard against HAProxy, both terminating direct TLS (XEP-0368: TLS
# from the first byte, the stream relayed in plaintext to echo_upstream),
# on loopback, with the same throwaway certificate and tests/bench/loadgen
# --tls.  Full and resumed handshakes per second (connect, handshake,
# stream headers both ways, close tags both ways, close), and stanzas/s,
# MB/s and proxy CPU per stanza at 64 sessions of 200 B and 16 KiB.
#
#   tests/bench/tls.sh [STANZAGUARD]      (make bench-tls; make bench too)
#
# Like run.sh: a fresh echo_upstream and proxy on fresh ports per run, the
# two proxies taking turns (in alternating order) within every
# repetition, the table giving medians; every run is in
# build/bench/tls-results.txt and every command in
# build/bench/tls-commands.txt.  About 90 s.
#
# Environment: BENCH_TLS_REPS (3), BENCH_TLS_SECONDS (2, measured per run,
# after 0.5 s of warm-up), BENCH_TLS_SLOTS (16 connections at once in the
# handshake runs), BENCH_TLS_KEY (ec: ECDSA P-256, or rsa: RSA 2048),
# BENCH_TLS_BUDGET (100: no new run starts after this many seconds),
# BENCH_OUT (build/bench).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SG=${1:-$ROOT/stanzaguard}
LOADGEN=$ROOT/build/loadgen
ECHO=$ROOT/build/echo_upstream
HAPCFG=$HERE/haproxy-tls.cfg
REPS=${BENCH_TLS_REPS:-3}
SECS=${BENCH_TLS_SECONDS:-2}
WARM=0.5
SLOTS=${BENCH_TLS_SLOTS:-16}
KEYTYPE=${BENCH_TLS_KEY:-ec}
BUDGET=${BENCH_TLS_BUDGET:-100}
OUT=${BENCH_OUT:-$ROOT/build/bench}
RES=$OUT/tls-results.txt
CMDS=$OUT/tls-commands.txt
STARTED=$SECONDS
BENCH_NAME=bench-tls
# shellcheck source=tests/bench/common.sh
. "$HERE/common.sh"
bench_start bench-tls haproxy openssl

log_cmd() {
	echo "$*" >>"$CMDS"
}

# A copy, so that a rebuild during the bench changes nothing measured.
cp "$SG" "$TMP/stanzaguard" || die "cannot copy $SG"
SG_FROM=$SG
SG=$TMP/stanzaguard
"$SG" --help 2>&1 | grep -q -- '--tls=' ||
    die "$SG_FROM has no --tls: build a stanzaguard with TLS"

# One throwaway certificate for both; HAProxy wants it and its key in one
# file.  SAN localhost, which loadgen checks (--ca).
case $KEYTYPE in
ec)	NEWKEY="-newkey ec -pkeyopt ec_paramgen_curve:P-256"; KEYNAME="ECDSA P-256" ;;
rsa)	NEWKEY="-newkey rsa:2048"; KEYNAME="RSA 2048" ;;
*)	die "BENCH_TLS_KEY is ec or rsa, not $KEYTYPE" ;;
esac
CERT=$TMP/cert.pem
KEY=$TMP/key.pem
PEM=$TMP/haproxy.pem
log_cmd "openssl req -x509 $NEWKEY -nodes -keyout key.pem -out cert.pem" \
    "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost" \
    "&& cat cert.pem key.pem >haproxy.pem"
# shellcheck disable=SC2086
openssl req -x509 $NEWKEY -nodes -keyout "$KEY" -out "$CERT" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    >"$TMP/openssl.log" 2>&1 || die "openssl req: $(cat "$TMP/openssl.log")"
cat "$CERT" "$KEY" >"$PEM"

# Fresh ports below the ephemeral range (32768 on), away from run.sh's
# (20000 to 32000).
PORT=$(( 10000 + ($$ % 50) * 200 ))
next_port() {
	local _
	for _ in $(seq 1 200); do
		PORT=$(( PORT + 1 ))
		[ "$PORT" -ge 20000 ] && PORT=10000
		[ -z "$(ss -Htln "sport = :$PORT" 2>/dev/null)" ] && return 0
	done
	die "no free port"
}

# PORT listens (5 s at most) and PID still runs.
wait_up() {		# pid port
	local _
	for _ in $(seq 1 250); do
		[ -n "$(ss -Htln "sport = :$2" 2>/dev/null)" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

stop() {		# pid: TERM, up to 5 s, then KILL
	local _
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# run TEST KIND REP LOADGEN_ARGS...: echo_upstream, the proxy, one
# loadgen run against it, one line in the results.
run() {
	local test=$1 kind=$2 rep=$3 up lp echo_pid proxy_pid line
	shift 3
	next_port
	up=$PORT
	next_port
	lp=$PORT
	log_cmd "$ECHO -p $up -t 300"
	"$ECHO" -p "$up" -t 300 >"$TMP/echo.out" 2>&1 &
	echo_pid=$!
	case $kind in
	haproxy)
		log_cmd "HAP_MAXCONN=2000 HAP_BIND=127.0.0.1:$lp" \
		    "HAP_SERVER=127.0.0.1:$up HAP_PEM=haproxy.pem" \
		    "haproxy -db -f $HAPCFG"
		HAP_MAXCONN=2000 HAP_BIND=127.0.0.1:$lp \
		    HAP_SERVER=127.0.0.1:$up HAP_PEM=$PEM \
		    haproxy -db -f "$HAPCFG" >"$TMP/proxy.log" 2>&1 &
		;;
	stanzaguard)
		local sgargs=(--listen "127.0.0.1:$lp" --upstream "127.0.0.1:$up"
		    --tls=direct --certificate="$CERT" --key="$KEY"
		    --max-connections=2000 --log-level=warning
		    --stats-interval=0)
		log_cmd "$SG_FROM ${sgargs[*]//$TMP\//}"
		"$SG" "${sgargs[@]}" >"$TMP/proxy.log" 2>&1 &
		;;
	esac
	proxy_pid=$!
	PIDS="$echo_pid $proxy_pid"
	if ! wait_up "$echo_pid" "$up" || ! wait_up "$proxy_pid" "$lp"; then
		die "$kind did not listen: $(cat "$TMP/proxy.log")"
	fi
	log_cmd "$LOADGEN -p $lp -d $SECS -u $WARM --tls --ca cert.pem" \
	    "-P $proxy_pid -P $echo_pid $*"
	if ! line=$(timeout -k 5 60 "$LOADGEN" -p "$lp" -d "$SECS" -u "$WARM" \
	    --tls --ca "$CERT" -P "$proxy_pid" -P "$echo_pid" "$@" \
	    2>"$TMP/lg.err"); then
		line="$line status=fail err=$(tr ' \n' '__' <"$TMP/lg.err")"
	fi
	echo "test=$test kind=$kind rep=$rep $line" >>"$RES"
	stop "$proxy_pid"
	stop "$echo_pid"
	PIDS=""
}

echo "bench-tls: $REPS repetitions, ${SECS}s measured after ${WARM}s" \
    "warm-up, $KEYNAME certificate" >&2
SKIPPED=0
for rep in $(seq 1 "$REPS"); do
	# Odd repetitions start with HAProxy, even ones with stanzaguard.
	kinds="haproxy stanzaguard"
	[ $(( rep % 2 )) = 0 ] && kinds="stanzaguard haproxy"
	for t in \
	    "hs_full|-m handshakes -c $SLOTS" \
	    "hs_resume|-m handshakes -c $SLOTS --resume" \
	    "tp200_64|-m throughput -c 64 -b 200 -w 16" \
	    "tp16k_64|-m throughput -c 64 -b 16384 -w 4"; do
		for kind in $kinds; do
			if [ $(( SECONDS - STARTED )) -ge "$BUDGET" ]; then
				SKIPPED=$(( SKIPPED + 1 ))
				continue
			fi
			echo "bench-tls: rep $rep ${t%%|*} $kind" >&2
			# shellcheck disable=SC2086
			run "${t%%|*}" "$kind" "$rep" ${t#*|}
		done
	done
done

{
	echo "direct TLS: $("$SG" --version 2>&1 | head -1) ($SG_FROM) vs" \
	    "$(haproxy -v | head -1 | cut -d' ' -f1-3), $(openssl version |
	    cut -d' ' -f1-2); $KEYNAME certificate; $(nproc) CPUs shared by" \
	    "loadgen, echo_upstream and the proxy"
	echo "median of $REPS interleaved runs, ${SECS}s measured after" \
	    "${WARM}s warm-up; handshakes: $SLOTS connections at once, each" \
	    "connect, TLS, headers, close tags, close; runs: $RES;" \
	    "commands: $CMDS"
	[ "$SKIPPED" -gt 0 ] && echo "WARNING: $SKIPPED runs skipped: over" \
	    "the ${BUDGET}s budget"
	echo
	awk -f "$HERE/tls-table.awk" "$RES"
	echo
	echo "bench-tls: done in $(( SECONDS - STARTED ))s"
} | tee "$OUT/tls-table.txt"
