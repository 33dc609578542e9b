"""Found by t_random.py under load; not run by default (run.py only
discovers t*.py).  Run it with

    tests/integration/run.py --binary ./stanzaguard known_test_random

A bounce that is queued for its sender but never written, because the
sender vanishes (reset) right after sending the stanza, is lost silently:
the stanza is not forwarded, the bounce never leaves the daemon (the
session-end line's c_bytes_out / s_bytes_out show not one byte of it was
written), yet the line counts it as bounced (bounced_to_c=1 or
bounced_to_s=1) and there is no event=undeliverable line for it.

Spec (spec/close-handshake.md), rule 5: "Every complete stanza that
stanzaguard has read is, in the end, exactly one of: forwarded; bounced to
its sender with a stanza error while the direction to the sender is still
open; or counted as undeliverable and named in the session's log line".
Of a bounce that was never written nothing happened "in the end"; the
"C closes TCP without its close tag" row shows what the spec wants of
what was queued for a peer that vanished: it is accounted for again (there
by bouncing it the other way), not dropped.  A bounce that cannot be
delivered any more has nowhere else to go: the stanza is undeliverable
and must be named.

The daemon side (lib/session.c): undelivered() queues the bounce with
out_take() and counts st.bounced; when the sender then vanishes,
reclaim_queue() accounts only for the ledger's forwarded stanzas and
clears the rest of the queue, the bounce with it.
"""

import os
import signal
import socket
import struct
import sys
import time

from sgtest import CLOSE, check, client_header, server_header, timeout
from xmpppeer import fields, iq_get, open_pair, session_end, wait
from t_faults import _proxy

CH = client_header()
SH = server_header()


def _reset_right_after(d, peer, data):
    """Send data and reset at once (SO_LINGER 0), both while the daemon is
    stopped: when it goes on, it reads the data (the kernel keeps it
    readable after the reset), queues the bounce, and its write finds
    the sender gone.  (Without the stop this happens only when the
    daemon is slow to read, as under load.)"""
    d.signal(signal.SIGSTOP)
    try:
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        peer.sock.sendall(data)
        peer.sock.close()
        time.sleep(0.1)
    finally:
        d.signal(signal.SIGCONT)


def _accounted(d, rec, mid, sent_before, out_key, bounced_key):
    """Rule 5 for the one stanza mid: its bounce was written (the bytes
    written to the sender grew past what it was sent before), or it is
    named undeliverable; and the bounced count matches what was
    written."""
    out = int(rec[out_key])
    named = d.find(event="undeliverable", id=mid)
    written = out > sent_before
    print("%s=%d (%d before the bounce), %s=%s, undeliverable lines for "
          "%s: %d" % (out_key, out, sent_before, bounced_key,
                      rec[bounced_key], mid, len(named)))
    check(written or len(named) == 1,
          "%s was not forwarded, its bounce never written (%s=%d), and it "
          "is not named undeliverable: lost silently (rule 5)"
          % (mid, out_key, out))
    check(written or rec[bounced_key] == "0",
          "%s=%s but no bounce was written (%s=%d)"
          % (bounced_key, rec[bounced_key], out_key, out))


@timeout(30)
def test_bounce_to_client_that_resets(ctx):
    """Idle close server-first: S gets the tag; C sends an iq get (to be
    bounced to C) and resets at once: the iq is bounced (written) or named
    undeliverable, never dropped while counted bounced_to_c=1."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s",
                         "--close-order=server-first")
    c, s = open_pair(ctx, port, up)
    got = s.recv_until(CLOSE, wait())
    check(got == CLOSE, "S got %r" % got)
    _reset_right_after(d, c, iq_get("c-iq-then-reset",
                                    frm="alice@example.com/c"))
    time.sleep(0.3)         # the daemon deals with C before S's answer
    s.answer()
    s.finish()
    rec = session_end(d, c)
    fields(rec, close="idle", c_stanzas=1)
    _accounted(d, rec, "c-iq-then-reset", len(SH), "c_bytes_out",
               "bounced_to_c")


@timeout(30)
def test_bounce_to_server_that_resets(ctx):
    """Idle close client-first: C gets the tag; S sends an iq get (to be
    bounced to S) and resets at once: the iq is bounced (written) or named
    undeliverable, never dropped while counted bounced_to_s=1."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    got = c.recv_until(CLOSE, wait())
    check(got == CLOSE, "C got %r" % got)
    _reset_right_after(d, s, iq_get("s-iq-then-reset",
                                    frm="bob@example.com/r",
                                    to="alice@example.com/c"))
    time.sleep(0.3)         # the daemon deals with S before C's answer
    c.answer()
    c.finish()
    rec = session_end(d, c)
    fields(rec, close="idle", s_stanzas=1)
    _accounted(d, rec, "s-iq-then-reset", len(CH), "s_bytes_out",
               "bounced_to_s")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    os.execv(sys.executable, [sys.executable, os.path.join(here, "run.py")] +
             sys.argv[1:] + ["known_test_random"])
