"""Stream management on C's behalf (spec: "Handing undelivered stanzas
back") through the real binary, with a scripted S that offers XEP-0198 and
a scripted C that does not use it: what S is told of C comes from C's TCP
stack, on the wire and in the log.

Against real servers: tests/interop/ (Prosody's mod_smacks and offline
storage).
"""

import re
import socket
import struct
import threading
import time

from sgtest import TestFailure, check, start_proxy, timeout, unacked
from t_tls import _direct, _session
from xmpppeer import expect_next as _get
from xmpppeer import fields, msg, open_pair, session_end, wait

NS_SM = "urn:xmpp:sm:3"
FEATURES = ("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-"
            "bind'/><sm xmlns='%s'/></stream:features>" % NS_SM).encode()
BIND = (b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
        b"xmpp-bind'><resource>c</resource></bind></iq>")
BOUND = (b"<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
         b"xmpp-bind'><jid>alice@example.com/c</jid></bind></iq>")
PRES = b"<presence/>"
ENABLE = ("<enable xmlns='%s'/>" % NS_SM).encode()
ENABLED = ("<enabled xmlns='%s' id='x'/>" % NS_SM).encode()
R = ("<r xmlns='%s'/>" % NS_SM).encode()
CLOSE = b"</stream:stream>"
A_RE = re.compile(rb"<a xmlns='urn:xmpp:sm:3' h='(\d+)'/>")


def _bound(ctx, *opts):
    """C bound through stanzaguard to a scripted S that offers SM: the
    daemon, C, S, with S's features and bind result relayed."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0",
                          "--close-timeout=2s", *opts)
    c, s = open_pair(ctx, port, up)
    s.send(FEATURES)
    _get(c, FEATURES)
    c.send(BIND)
    _get(s, BIND)
    s.send(BOUND)
    _get(c, BOUND)
    return d, c, s


def _handing_back(ctx, *opts):
    """As _bound, then C's presence has S enable SM on C's behalf."""
    d, c, s = _bound(ctx, *opts)
    c.send(PRES)
    _get(s, ENABLE + PRES)
    s.send(ENABLED)
    _get(s, R)                      # S is asked for its count of PRES
    return d, c, s


def _ask_h(s):
    """Send <r/> as S and return the h of the <a/> that answers it."""
    s.send(R)
    got = s.recv_until(b"'/>", wait())
    m = A_RE.search(got)
    check(m is not None, "S got %r, expected an <a h=''/>" % got)
    return int(m.group(1))


def _h_reaches(s, want):
    """Ask until h is want: C's last ACK may come a delayed-ACK later."""
    deadline = time.monotonic() + wait()
    while True:
        h = _ask_h(s)
        if h == want:
            return
        check(h < want, "h=%d past the %d stanzas sent" % (h, want))
        if time.monotonic() >= deadline:
            raise TestFailure("h stayed at %d, expected %d" % (h, want))
        time.sleep(0.05)


def _client_closes(d, c, s):
    """C closes, S answers: the handshake on the wire; the session's end
    record."""
    c.send(CLOSE)
    _get(s, CLOSE)
    return _server_answers(d, c, s)


def _server_answers(d, c, s):
    """S answers C's close tag (already read by S): C gets S's, then both
    end; the session's end record."""
    s.send(CLOSE)
    s.shutdown_write()
    c.recv_until(CLOSE, wait())
    c.shutdown_write()
    return session_end(d, c)


def _reset(peer):
    """Close with SO_LINGER 0: the kernel sends a TCP reset."""
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
    peer.sock.close()


@timeout(30)
def test_enable_hidden_and_counted(ctx):
    """<enable/> goes to S before C's first element after bind; S's SM
    elements never reach C; <r/> is answered with what C received."""
    d, c, s = _handing_back(ctx)
    ms = [msg("m%d" % i) for i in range(3)]
    s.send(b"".join(ms))
    _get(c, b"".join(ms))
    _h_reaches(s, 3)
    c.send(CLOSE)
    got = s.recv_until(CLOSE, wait())
    check(got.endswith(b"<a xmlns='urn:xmpp:sm:3' h='3'/>" + CLOSE),
          "S got %r, expected the final <a h='3'/> then the close tag"
          % got)
    rec = _server_answers(d, c, s)
    check(b"enabled" not in bytes(c.wire) and b"<r " not in bytes(c.wire),
          "C saw stream management: %r" % bytes(c.wire)[-300:])
    fields(rec, sm="handback", handed_back=0, s_unacked=0,
           close="client")


@timeout(40)
def test_unread_not_counted_then_reset(ctx):
    """C stops reading: h counts only what C's TCP acknowledged, and
    after C resets (SIOCOUTQ would read 0) S gets the last such count;
    every stanza is either counted or handed back."""
    d, c, s = _handing_back(ctx)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = "x" * 2000
    n = 400
    for i in range(n):
        s.send(msg("b%d" % i, body=body))
    h = _ask_h(s)
    check(h < n, "h=%d with C reading nothing of %d stanzas" % (h, n))
    time.sleep(0.2)
    h = _ask_h(s)
    _reset(c)
    got = s.recv_until(CLOSE, wait())
    m = A_RE.search(got)
    check(m is not None, "S got %r, expected <a/> then the close tag"
          % got[-200:])
    final = int(m.group(1))
    print("h after 0.2s: %d, final: %d of %d" % (h, final, n))
    check(h <= final < n, "final h=%d, last asked %d, sent %d"
          % (final, h, n))
    s.send(CLOSE)
    s.shutdown_write()
    rec = session_end(d, c)
    fields(rec, sm="handback", handed_back=n - final,
           close="client-vanished", bounced_to_s=0, undeliverable_s=0)


@timeout(30)
def test_server_vanishes_unacked_bounced(ctx):
    """S ends its TCP with C's stanzas unacknowledged: they are bounced
    to C before the close tag, and the log counts them."""
    d, c, s = _handing_back(ctx)
    ms = [b"<message to='bob@example.com' id='u%d' type='chat'><body>hi"
          b"</body></message>" % i for i in range(3)]
    c.send(b"".join(ms))
    s.recv_until(b"id='u2'", wait())
    s.sock.shutdown(socket.SHUT_WR)
    got = c.recv_until(CLOSE, wait())
    for i in range(3):
        check(b"id='u%d' type='error'" % i in got,
              "no bounce of u%d in %r" % (i, got[-600:]))
    c.send(CLOSE)
    c.shutdown_write()
    rec = session_end(d, c)
    fields(rec, sm="handback", s_unacked=4, bounced_to_c=3,
           close="server-vanished")


def _c_msg(i):
    return (b"<message to='bob@example.com' id='u%d' type='chat'><body>%s"
            b"</body></message>" % (i, b"z" * 2000))


def _send_until_paused(c, limit=20000):
    """C sends its stanzas without blocking until stanzaguard stops
    reading it: C's socket takes no more and what C's TCP has not had
    acknowledged stays the same for a while (stanzaguard's queue towards
    S is over high-water, not merely slow to be read).  Returns how many
    were begun, and the bytes not sent."""
    c.sock.setblocking(False)
    n, rest, still, last = 0, b"", 0, -1
    deadline = time.monotonic() + wait()
    while still < 3:
        check(n < limit and time.monotonic() < deadline,
              "stanzaguard never stopped reading C (%d stanzas sent)" % n)
        try:
            while n < limit:
                if not rest:
                    rest, n = _c_msg(n), n + 1
                rest = rest[c.sock.send(rest):]
        except BlockingIOError:
            pass
        queued = unacked(c.sock)
        still = still + 1 if queued == last else 0
        last = queued
        time.sleep(0.2)
    return n, rest


@timeout(90)
def test_server_end_takes_back_queued(ctx):
    """S closes its stream, then its TCP, having read nothing while C's
    stanzas filled stanzaguard's queue towards it: S can no longer
    acknowledge any of them, so they are bounced to C before S's close
    tag, and those still queued are not written to S after it.  Every
    stanza reaches S or is bounced; the log counts the bounces."""
    d, c, s = _handing_back(ctx)
    n, rest = _send_until_paused(c)
    s.send(CLOSE)
    s.shutdown_write()
    got = c.recv_until(CLOSE, wait())
    bounced = {int(m) for m in re.findall(rb"id='u(\d+)' type='error'", got)}
    into_s = bytearray()

    def s_reads():
        into_s.extend(s.recv_until(CLOSE, 60))

    reader = threading.Thread(target=s_reads, daemon=True)
    reader.start()
    c.sock.setblocking(True)
    c.send(rest + CLOSE, timeout=60)
    reader.join(70)
    check(not reader.is_alive(), "S never got C's close tag")
    c.shutdown_write()
    received = {int(m) for m in re.findall(rb"<message to='bob@example.com'"
                                           rb" id='u(\d+)'", bytes(into_s))}
    lost = set(range(n)) - received - bounced
    check(not lost, "%d stanzas neither at S nor bounced: %s"
          % (len(lost), sorted(lost)[:10]))
    taken_back = bounced - received
    print("sent %d: %d bounced, of them %d taken back from S's queue"
          % (n, len(bounced), len(taken_back)))
    check(taken_back, "every bounced stanza was written to S too: nothing "
          "was taken back (%d bounced, %d at S)"
          % (len(bounced), len(received)))
    rec = session_end(d, c)
    fields(rec, sm="handback", bounced_to_c=len(bounced),
           s_unacked=len(bounced & received) + 1)


@timeout(30)
def test_client_with_own_sm_untouched(ctx):
    """A client that enables SM itself passes through untouched:
    sm=client."""
    d, c, s = _bound(ctx)
    own = ("<enable xmlns='%s' resume='true'/>" % NS_SM).encode()
    c.send(own)
    _get(s, own)
    s.send(ENABLED + R)
    _get(c, ENABLED + R)
    fields(_client_closes(d, c, s), sm="client")


@timeout(30)
def test_sm_handback_no(ctx):
    """--sm-handback=no: no <enable/>, S's offer goes to C as it is."""
    d, c, s = _bound(ctx, "--sm-handback=no")
    c.send(PRES)
    _get(s, PRES)
    fields(_client_closes(d, c, s), sm="no")


@timeout(30)
def test_tls_counts_by_records(ctx):
    """Under TLS the count comes from the records on the wire: h reaches
    every stanza the TLS client read, and the final <a/> says so."""
    certs, up, d, port = _direct(ctx, "--close-timeout=2s")
    c, s = _session(ctx, port, certs, up)
    c.port = c.sock.getsockname()[1]    # for session_end
    s.send(FEATURES)
    check(c.recv_exact(len(FEATURES)) == FEATURES, "features changed")
    c.send(BIND)
    check(s.recv_exact(len(BIND)) == BIND, "bind changed")
    s.send(BOUND)
    check(c.recv_exact(len(BOUND)) == BOUND, "bind result changed")
    c.send(PRES)
    got = s.recv_exact(len(ENABLE + PRES))
    check(got == ENABLE + PRES, "S got %r" % got)
    s.send(ENABLED)
    check(s.recv_exact(len(R)) == R, "no <r/> after <enabled/>")
    ms = b"".join(msg("t%d" % i, body="y" * 3000) for i in range(20))
    s.send(ms)
    check(c.recv_exact(len(ms)) == ms, "messages changed")
    _h_reaches(s, 20)
    c.send(CLOSE)
    got = s.recv_until(CLOSE, wait())
    check(got.endswith(b"<a xmlns='urn:xmpp:sm:3' h='20'/>" + CLOSE),
          "S got %r" % got[-200:])
    s.send(CLOSE)
    check(c.recv_until(CLOSE).endswith(CLOSE), "no close tag")
    fields(session_end(d, c), sm="handback", handed_back=0)
