#!/bin/sh
# Debian's prosody, ejabberd and jabberd2 packages enable and start their
# system services on install (where a service manager lets them), on the
# standard ports 5222, 5269, 5280...  The interop tests start their own
# throwaway servers on free loopback ports and need none of these: stop
# the ones that run, and keep them from starting again (systemctl mask),
# so that a test machine has no system XMPP server listening.  Run by
# `make deps-test` after the install; prints what it stopped.
set -u
# Each service with the system user its daemons run as and their command
# (the tests' own servers run as root or the caller, never as these).
for triple in prosody:prosody:prosody ejabberd:ejabberd:beam \
    jabberd2:jabber:jabberd2; do
	svc=${triple%%:*} user=${triple#*:} cmd=${triple##*:}
	user=${user%%:*}
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		if systemctl is-active --quiet "$svc" ||
		    systemctl is-enabled --quiet "$svc" 2>/dev/null; then
			systemctl disable --now --quiet "$svc" 2>/dev/null
			systemctl mask --quiet "$svc" 2>/dev/null
			echo "quiet-services: stopped and masked $svc.service"
		fi
	elif [ -x "/etc/init.d/$svc" ] && id "$user" >/dev/null 2>&1 &&
	    pgrep -u "$user" -f "$cmd" >/dev/null 2>&1; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 &&
		    echo "quiet-services: stopped /etc/init.d/$svc"
	fi
done
exit 0
