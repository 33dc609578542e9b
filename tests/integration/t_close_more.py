"""Close-engine scenarios that first showed the daemon contradicting the
spec (spec/close-handshake.md): a session forced at drain-timeout, and bad
XML before the client's stream header.  Both are fixed; kept apart from
t_close.py, with the same helpers (sgtest.py, xmpppeer.py).
"""

import os
import signal
import sys

from sgtest import (CLOSE, STOP, check, client_header, proxy_and_upstream,
                    server_header, stream_error, timeout)
from xmpppeer import (accept, connect, expect_next, expect_wire, fields,
                      open_pair, session_end_clean, wait)


@timeout(30)
def test_sigterm_forced_session_closes_server_with_tag(ctx):
    """A session forced at drain-timeout still closes its S with a close
    tag before EOF: a service stop uses close tags on both sides."""
    # Spec, "Sessions with resumable stream management": "Where
    # stanzaguard itself ends the session (idle timeout, service stop,
    # limits), it still uses close tags on both sides"; SIGTERM row:
    # sessions still open at drain-timeout "are closed as in the
    # close-timeout row", and the idle procedure, when C's close timeout
    # passes, relays a close tag to S.
    d, port, up = proxy_and_upstream(ctx, "--drain-timeout=1s",
                                     "--close-timeout=30s")
    c, s = open_pair(ctx, port, up)
    d.signal(signal.SIGTERM)
    expect_next(c, STOP)           # C never answers
    check(d.wait_exit(wait()) == 0, "exit status %s" % d.proc.returncode)
    fields(d.wait_for(event="stopped"), closed_clean=0, forced=1)
    c.finish()
    expect_wire(c, server_header() + STOP)
    s.finish()
    expect_wire(s, client_header() + CLOSE)


@timeout(30)
def test_bad_xml_dtd_before_header(ctx):
    """A DTD before C's stream header: C gets a stream header,
    <restricted-xml/> and the close tag, then EOF; close=bad-xml."""
    # Spec, invariant 1 (the daemon's own bytes include "the stream header
    # + stream error it sends to a peer when it must refuse a session
    # (limits, bad XML, ...)") and the bad-XML row ("Stream error to the
    # peer that sent it (<restricted-xml/>...), close tag").
    d, port, up = proxy_and_upstream(ctx, "--close-timeout=10s")
    c = connect(ctx, port)
    c.send(b"<?xml version='1.0'?><!DOCTYPE stream:stream "
           b"[<!ENTITY x 'y'>]>" +
           client_header()[len(b"<?xml version='1.0'?>"):])
    s = accept(up)
    tail = stream_error("restricted-xml") + CLOSE
    got = c.recv_until(tail, wait())
    check(b"<stream:stream" in got and got.index(b"<stream:stream") <
          got.index(tail), "no stream header before the error: %r" % got)
    c.answer()
    c.finish()
    s.finish_without_tag(b"")   # S was never sent a header: nothing
    s.shutdown_write()          # and S hangs up too, as peers do
    fields(session_end_clean(d, c, s), close="bad-xml")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    names = ["t_close_more:" + k for k in sorted(globals())
             if k.startswith("test_")]
    os.execv(sys.executable, [sys.executable, os.path.join(here, "run.py")] +
             sys.argv[1:] + names)
