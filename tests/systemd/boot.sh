#!/bin/sh
# stanzaguard's package and units under a real systemd as PID 1 (as root):
#   tests/systemd/boot.sh stanzaguard_V_ARCH.deb stanzaguard_V2_ARCH.deb
# (make deb; the second a higher version, for the upgrade).
# A minimal Debian 12 root, made once by debootstrap and kept in
# build/bootroot, is booted by systemd-nspawn with a throwaway overlay over
# it (--volatile=overlay: the cached root is never written), its own
# network namespace (loopback only, so 5222/5269 of the example config
# clash with nothing on this machine), and both packages bound in.  A
# oneshot unit inside runs tests/systemd/boot_inside.sh (apt-get install
# of the first package, socket activation, sandbox, watchdog, reload,
# restart, the upgrade to the second, crash, stop, journal, apt-get
# purge), writes its lines to a bound folder and powers the container off.
# Every wait is bounded; the container is gone when this ends.
#
# The container has no network, so apt there installs the package from its
# file alone: the root gets the package's dependencies (its Depends:) at
# debootstrap time, and is made anew when they change.
#
# The mirror for debootstrap is the one apt uses here (read from
# /etc/apt/sources.list and sources.list.d at run time), or SG_MIRROR.
# SG_BOOTROOT moves the cached root; delete it to make it anew.
set -u

if [ $# -ne 2 ] || [ ! -f "$1" ] || [ ! -f "$2" ]; then
	echo "usage: $0 stanzaguard_V_ARCH.deb stanzaguard_V2_ARCH.deb" >&2
	exit 2
fi
DEB=$(realpath "$1")
NEWDEB=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SUITE=bookworm
# systemd as PID 1, python3 for the peers, and the package's dependencies
# (the first of each alternative, without its version).
PKGS=systemd,systemd-sysv,dbus,python3
PKGS=$PKGS$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' |
    sed 's/|.*//; s/(.*)//; s/[[:space:]]//g; /^$/d' | sort -u |
    sed 's/^/,/' | tr -d '\n')
ROOTFS=${SG_BOOTROOT:-$ROOT/build/bootroot}
STAMP=$ROOTFS/.sg-bootroot
# The container's run takes about 25 s (up to 15 of them waiting for a
# watchdog ping); these are only the bounds.
INSIDE_TIMEOUT=180
BOOT_TIMEOUT=240
DEBOOTSTRAP_TIMEOUT=900
MACHINE=sg-boot-$$
TMP=""
NSPAWN_PID=""

cleanup()
{
	if [ -n "$NSPAWN_PID" ]; then
		kill "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	# nspawn leaves its (empty) propagation folder behind when /run is
	# not a tmpfs.
	rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die()
{
	echo "boot: $*" >&2
	echo "boot: 0 passed, 1 failed"
	exit 1
}

# The first Debian archive that apt here uses for $SUITE: a "deb URI SUITE"
# line of a .list file, or the URIs of a deb822 .sources stanza whose
# Suites name it.
mirror()
{
	if [ -n "${SG_MIRROR:-}" ]; then
		echo "$SG_MIRROR"
		return
	fi
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case $f in
		*.sources)
			awk -v suite="$SUITE" '
			    function flush() {
				if (deb && uri != "" && ok) { print uri; exit }
				deb = 0; uri = ""; ok = 0
			    }
			    /^[ \t]*$/ { flush(); next }
			    /^Types:/ { deb = ($0 ~ /[: ]deb( |$)/) }
			    /^URIs:/ { uri = $2 }
			    /^Suites:/ {
				for (i = 2; i <= NF; i++)
					if ($i == suite) ok = 1
			    }
			    END { flush() }' "$f"
			;;
		*)
			sed 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" \
			    '$1 == "deb" && $3 == suite { print $2; exit }'
			;;
		esac
	done | head -n 1
}

# The cached root, made anew when missing or made for other packages.
ensure_root()
{
	want="$SUITE minbase $PKGS"
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
		echo "boot: cached root $ROOTFS"
		return
	fi
	m=$(mirror)
	[ -n "$m" ] || die "no Debian $SUITE archive in /etc/apt (set SG_MIRROR)"
	rm -rf "$ROOTFS" "$ROOTFS.new"
	mkdir -p "$(dirname "$ROOTFS")"
	echo "boot: debootstrap $SUITE into $ROOTFS (once; kept)"
	t0=$(date +%s)
	if ! timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase \
	    --include="$PKGS" "$SUITE" "$ROOTFS.new" "$m" \
	    >"$ROOTFS.log" 2>&1; then
		tail -n 20 "$ROOTFS.log" >&2
		rm -rf "$ROOTFS.new"
		die "debootstrap failed (log in $ROOTFS.log)"
	fi
	echo "$want" >"$ROOTFS.new/.sg-bootroot"
	mv "$ROOTFS.new" "$ROOTFS"
	echo "boot: debootstrap took $(($(date +%s) - t0)) s"
}

# The packages to bind in, and the unit that runs the test.
stage()
{
	mkdir -p "$TMP/debs" "$TMP/out"
	cp "$DEB" "$NEWDEB" "$TMP/debs/"
	# The test, started by PID 1 once the system is up; either way it
	# ends, the container powers off.
	cat >"$TMP/sg-boot-test.service" <<-EOF
	[Unit]
	Description=stanzaguard boot test (tests/systemd/boot_inside.sh)
	After=multi-user.target
	SuccessAction=poweroff
	FailureAction=poweroff

	[Service]
	Type=oneshot
	ExecStart=/bin/sh -c 'sh /sgtest/boot_inside.sh /out \\
	    /sgdeb/$(basename "$DEB") /sgdeb/$(basename "$NEWDEB") \\
	    >/out/result.log 2>&1; echo \$\$? >/out/status'
	TimeoutStartSec=$INSIDE_TIMEOUT
	EOF
}

boot()
{
	UNIT=/etc/systemd/system/sg-boot-test.service
	timeout --kill-after=10 "$BOOT_TIMEOUT" systemd-nspawn --quiet \
	    --directory="$ROOTFS" --machine="$MACHINE" --boot \
	    --register=no --keep-unit --private-network --volatile=overlay \
	    --console=pipe \
	    --bind-ro="$TMP/debs:/sgdeb" \
	    --bind-ro="$HERE:/sgtest" \
	    --bind="$TMP/out:/out" \
	    --bind-ro="$TMP/sg-boot-test.service:$UNIT" \
	    -- systemd.wants=sg-boot-test.service \
	    >"$TMP/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	wait "$NSPAWN_PID"
	NSPAWN_STATUS=$?
	NSPAWN_PID=""
}

main()
{
	[ "$(id -u)" -eq 0 ] || die "needs root (systemd-nspawn)"
	for c in systemd-nspawn debootstrap; do
		command -v "$c" >/dev/null ||
		    die "no $c (make check-systemd-boot installs it)"
	done
	ensure_root
	TMP=$(mktemp -d /tmp/sg-boot.XXXXXX)
	stage
	echo "boot: systemd-nspawn --boot $ROOTFS (machine $MACHINE)"
	t0=$(date +%s)
	boot
	echo "boot: container ran $(($(date +%s) - t0)) s," \
	    "systemd-nspawn status $NSPAWN_STATUS"
	[ -f "$TMP/out/result.log" ] && cat "$TMP/out/result.log"
	passed=$(grep -c '^ok:' "$TMP/out/result.log" 2>/dev/null)
	failed=$(grep -c '^FAIL:' "$TMP/out/result.log" 2>/dev/null)
	passed=${passed:-0}
	failed=${failed:-0}
	if [ ! -f "$TMP/out/status" ]; then
		echo "FAIL: the test inside the container did not finish"
		failed=$((failed + 1))
	elif [ "$(cat "$TMP/out/status")" != 0 ]; then
		echo "FAIL: boot_inside.sh exited $(cat "$TMP/out/status")"
		failed=$((failed + 1))
	fi
	if [ "$passed" -eq 0 ] || [ "$failed" -ne 0 ]; then
		echo "--- nspawn.log:"
		tail -n 20 "$TMP/nspawn.log" | sed 's/^/    /'
		if [ -f "$TMP/out/journal.log" ]; then
			cp "$TMP/out/journal.log" "$ROOT/build/boot-journal.log"
			echo "(the container's journal: build/boot-journal.log)"
		fi
	fi
	echo "boot: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main
