#!/bin/sh
# TLS handshakes per second through stanzaguard (tls = direct), with
# openssl s_time on loopback: full handshakes, then resumed ones, and the
# daemon's CPU time per handshake.  Each session is also connected to a
# throwaway upstream that accepts and closes.
# Usage: tests/bench/tls_handshakes.sh ./stanzaguard [SECONDS]
set -eu
B=$1
T=${2:-10}
D=$(mktemp -d)
trap 'kill $SG $UP 2>/dev/null; rm -rf "$D"' EXIT
sh "$(dirname "$0")/../tls/mkcerts.sh" "$D"
ports=$(/usr/bin/python3 -c 'import socket
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LP=$(echo "$ports" | sed -n 1p)
UPP=$(echo "$ports" | sed -n 2p)
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1024)
while True:
    s.accept()[0].close()' "$UPP" &
UP=$!
"$B" --listen 127.0.0.1:$LP --upstream 127.0.0.1:$UPP --tls=direct \
    --certificate="$D/server.pem" --key="$D/server.key" \
    --log-level=warning --stats-interval=0 &
SG=$!
sleep 0.5
cpu() { awk '{print $14 + $15}' /proc/$SG/stat; }
# s_time never reads, so it never gets a TLS 1.3 ticket: resumption is
# measured with TLS 1.2 (the session cache).
for mode in "-new" "-new -tls1_2" "-reuse -tls1_2"; do
	c0=$(cpu)
	# shellcheck disable=SC2086
	out=$(openssl s_time -connect 127.0.0.1:$LP $mode -time "$T" 2>&1 |
	    grep 'real seconds')
	c1=$(cpu)
	n=$(echo "$out" | awk '{print $1}')
	echo "$mode: $out; stanzaguard CPU $(awk -v c=$((c1 - c0)) \
	    -v n="$n" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.0f us/handshake", c / hz / n * 1e6 }')"
done
