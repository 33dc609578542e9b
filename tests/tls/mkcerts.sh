#!/bin/sh
# Make the test certificates in DIR (created if need be), with the openssl
# command, at test time:
#   ca.pem ca.key        a test CA
#   server.pem/.key      localhost, example.test, *.wild.test, 127.0.0.1
#   other.pem/.key       other.test (for SNI selection)
#   expired.pem/.key     localhost, expired since 2020
#   combined.pem         server.pem and its key in one file
#   wrongkey.key         a key that matches none of them
#   untrusted.pem/.key   localhost, signed by a CA nobody trusts
#   upstream.pem/.key    upstream.test, 127.0.0.1 (for upstream-tls)
# Usage: mkcerts.sh DIR
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { "$@" >/dev/null 2>&1 || { echo "mkcerts: $* failed" >&2; exit 1; }; }

key() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1"; }

# ca NAME: a self-signed CA
ca() {
	key "$1.key"
	q openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3650 \
	    -subj "/CN=stanzaguard test $1" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign
}

# leaf NAME CA CN SAN [DAYS|expired]
leaf() {
	key "$1.key"
	q openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	    "$4" >"$1.ext"
	if [ "${5:-}" = expired ]; then
		# openssl x509 (3.0) cannot backdate: openssl ca can.
		printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\n%s\n' \
		    'new_certs_dir=.
serial=serial
default_md=sha256
policy=p
[p]
commonName=supplied' >ca.cnf
		: >index.txt
		echo 01 >serial
		q openssl ca -batch -config ca.cnf -cert "$2.pem" \
		    -keyfile "$2.key" -in "$1.csr" -out "$1.pem" -notext \
		    -startdate 20190101000000Z -enddate 20200101000000Z \
		    -extfile "$1.ext"
		rm -f ca.cnf index.txt* serial* 01.pem
	else
		q openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		    -CAcreateserial -out "$1.pem" -days 365 -extfile "$1.ext"
	fi
	rm -f "$1.csr" "$1.ext"
}

ca ca
ca rogue
leaf server ca localhost \
    "DNS:localhost,DNS:example.test,DNS:*.wild.test,IP:127.0.0.1"
leaf other ca other.test "DNS:other.test"
leaf expired ca localhost "DNS:localhost,IP:127.0.0.1" expired
leaf untrusted rogue localhost "DNS:localhost,IP:127.0.0.1"
leaf upstream ca upstream.test "DNS:upstream.test,IP:127.0.0.1"
cat server.pem server.key >combined.pem
key wrongkey.key
