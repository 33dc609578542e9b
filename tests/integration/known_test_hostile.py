"""Hostile input where the daemon and the issue's expectation part ways;
not run by default (run.py only discovers t*.py).  Run it with

    tests/integration/run.py --binary ./stanzaguard known_test_hostile

A second stream header WITHOUT an XML declaration inside an open stream
(<stream:stream xmlns:stream='http://etherx.jabber.org/streams' ...> at
depth 1).  The daemon takes it for the start of a stanza named
stream:stream: it holds it, and the client's next </stream:stream> ends
that "stanza", which is then relayed to S whole, nested header, messages
and all; the client's stream stays open in the daemon's view although the
client has sent what spec/close-handshake.md calls its close tag
("close tag: </stream:stream> (with whatever prefix the stream header
used)").  A legacy server that takes any <stream:stream> start tag for a
stream (re)start then sees a different stream than stanzaguard does, and
invariant 3 (close tags only at stanza boundaries) can no longer be kept
from S's point of view.

The spec does not say which stream error fits; its definition of a stanza
("a complete child element of <stream:stream>, whatever its name") even
covers this element literally.  This test asks what t_hostile.py asks of
every other hostile case: a stream error to C (any of the conditions that
RFC 6120 offers for it), the close tag, S never sees the nested header,
close=bad-xml.
"""

import os
import re
import sys

from sgtest import CLOSE, check, client_header, timeout
from t_hostile import ALICE, BOB, CH, SH, _bystander_still_works, _get, _proxy
from xmpppeer import assert_no_reset, fields, msg, open_pair, session_end

CONDITIONS = (b"bad-format", b"not-well-formed", b"invalid-namespace",
              b"unsupported-stanza-type", b"invalid-xml")


@timeout(30)
def test_second_header_without_declaration(ctx):
    """A second stream header (no XML declaration) inside the stream, then
    a message and </stream:stream>: C gets a stream error and the close
    tag, S gets the good message and a close tag, never the nested header;
    close=bad-xml; the bystander works."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    good = msg("c-good", frm=ALICE, to=BOB)
    c.send(good)
    _get(s, good)
    second = client_header()[len(b"<?xml version='1.0'?>"):]
    c.send(second + msg("inside-second", frm=ALICE, to=BOB) + CLOSE)
    got = c.recv_until(CLOSE, 5)
    m = re.match(rb"^<stream:error><([a-z-]+) xmlns='urn:ietf:params:xml:"
                 rb"ns:xmpp-streams'/></stream:error></stream:stream>$", got)
    check(m and m.group(1) in CONDITIONS,
          "C got %r, not a stream error and the close tag" % got)
    _get(s, CLOSE)
    s.answer()
    c.answer()
    c.finish()
    s.finish()
    check(bytes(s.wire) == CH + good + CLOSE,
          "S got %r" % bytes(s.wire)[len(CH):])
    check(bytes(c.wire) == SH + got, "C got %r" % bytes(c.wire))
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close="bad-xml")
    _bystander_still_works(d, by)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    os.execv(sys.executable, [sys.executable, os.path.join(here, "run.py")] +
             sys.argv[1:] + ["known_test_hostile"])
