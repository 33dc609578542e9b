"""Wire-recording XMPP peers and close-handshake assertions.

Used by t_close.py.  Only the Python 3 standard library and sgtest.

  WirePeer    an sgtest.Peer that keeps every byte it received (.wire)
              and sent (.sent), so a test can check a whole socket's
              history, byte for byte, after EOF
  connect / accept / open_pair
              WirePeers on both sides of stanzaguard, headers exchanged
  assert_ends_with_close_then_eof(sock_bytes)
              the bytes one socket received until EOF form one stream
              (the last one opened, after restarts) that ends with its
              close tag at a stanza boundary, then nothing but whitespace
  assert_no_reset(peer, ...)
              no socket error (a reset) is pending on the sockets
  parse_stanzas(raw)
              the stanzas in raw as xml.etree elements, in the stream's
              namespaces (fails if they are not well-formed)
  session_end(daemon, client), fields(record, **want)
              the session-end log line of a client, and checks on it
"""

import errno
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat

from sgtest import (DEFAULT_TIMEOUT, LOOPBACK, Peer, TestFailure, check,
                    client_header, server_header, slow)

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_STANZA_ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"

# Generous bounded waits for one step of a scenario.
WAIT = 10.0


def wait():
    return WAIT * slow()


def expect_next(peer, want):
    """The next len(want) bytes peer receives are exactly want."""
    got = peer.recv_exact(len(want), wait())
    check(got == want, "%s received %r, expected %r"
          % (peer.who, got[:300], want[:300]))


def expect_wire(peer, want):
    """Everything peer has received so far is exactly want."""
    check(bytes(peer.wire) == want, "%s received %r, expected exactly %r"
          % (peer.who, bytes(peer.wire)[-400:], want[-400:]))


# ------------------------------------------------------------------ peers

class WirePeer(Peer):
    """A Peer that records everything it received and sent."""

    def __init__(self, ctx, sock, who):
        super().__init__(ctx, sock, who)
        self.wire = bytearray()     # every byte received, in order
        self.sent = bytearray()     # every byte sent, in order

    def send(self, data, timeout=DEFAULT_TIMEOUT):
        super().send(data, timeout)
        self.sent += data

    def _fill(self, timeout):
        n = len(self.buf)
        more = super()._fill(timeout)
        self.wire += self.buf[n:]
        return more

    def finish(self, timeout=None):
        """Read to EOF; the whole history must end with the close tag,
        then EOF (assert_ends_with_close_then_eof)."""
        self.recv_to_eof(wait() if timeout is None else timeout)
        assert_ends_with_close_then_eof(bytes(self.wire), self.who)

    def finish_without_tag(self, expect, timeout=None):
        """Read to EOF; the whole history must be exactly expect (for a
        peer that is owed no close tag)."""
        self.recv_to_eof(wait() if timeout is None else timeout)
        check(bytes(self.wire) == expect,
              "%s: received %r, expected exactly %r then EOF"
              % (self.who, bytes(self.wire)[-400:], expect[-400:]))

    def answer(self, tag=b"</stream:stream>"):
        """Send our close tag and shut down our write side (the socket
        stays open, so that a later reset would still be seen)."""
        self.send(tag)
        self.shutdown_write()


def connect(ctx, port, host=LOOPBACK, who="C"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(wait())
    s.connect((host, port))
    p = WirePeer(ctx, s, who)
    p.port = s.getsockname()[1]
    return p


def accept(upstream, who="S"):
    upstream.sock.settimeout(wait())
    try:
        s, _ = upstream.sock.accept()
    except socket.timeout:
        raise TestFailure("upstream: no connection within %.1fs" % wait())
    return WirePeer(upstream.ctx, s, who)


def open_pair(ctx, port, upstream, ch=None, sh=None, who=""):
    """C connects, C's header reaches S and S's reaches C, each byte for
    byte.  Returns (c, s)."""
    ch = client_header() if ch is None else ch
    sh = server_header() if sh is None else sh
    c = connect(ctx, port, who="C" + who)
    c.send(ch)
    s = accept(upstream, who="S" + who)
    got = s.recv_exact(len(ch), wait())
    check(got == ch, "%s got header %r, sent %r" % (s.who, got, ch))
    s.send(sh)
    got = c.recv_exact(len(sh), wait())
    check(got == sh, "%s got header %r, sent %r" % (c.who, got, sh))
    return c, s


# -------------------------------------------------------------- assertions

# A stream header, with the XML declaration before it if there is one.
_HEADER = re.compile(
    rb"(?:<\?xml[^>]*\?>\s*)?<(?:([A-Za-z_][A-Za-z0-9_.-]*):)?stream[\s>]")


def close_tag_of(prefix):
    """b'</stream:stream>' for prefix b'stream', b'</stream>' for None."""
    return b"</" + (prefix + b":" if prefix else b"") + b"stream>"


def assert_ends_with_close_then_eof(sock_bytes, who="peer"):
    """sock_bytes is everything one socket received, up to EOF.  The last
    stream opened in it (after SASL restarts there are several) must be
    well-formed and end with its own close tag (the prefix of its header)
    right where its root element ends: so every stanza before the tag is
    complete.  After the tag, whitespace at most.  Returns the close
    tag."""
    data = bytes(sock_bytes)
    heads = list(_HEADER.finditer(data))
    check(heads, "%s: no stream header in what it received: %r"
          % (who, data[:300]))
    last = heads[-1]
    tag = close_tag_of(last.group(1))
    doc = data[last.start():]
    p = expat.ParserCreate()
    st = {"depth": 0, "end": None}

    def start(name, attrs):
        st["depth"] += 1

    def end(name):
        st["depth"] -= 1
        if st["depth"] == 0:
            st["end"] = p.CurrentByteIndex

    p.StartElementHandler, p.EndElementHandler = start, end
    try:
        p.Parse(doc, True)
    except expat.ExpatError as e:
        raise TestFailure(
            "%s: what it received up to EOF is not one stream ending in "
            "%r (%s); last bytes: %r" % (who, tag, e, doc[-300:]))
    check(st["end"] is not None, "%s: stream never closed: %r"
          % (who, doc[-300:]))
    i = st["end"]
    check(doc[i:i + len(tag)] == tag,
          "%s: stream ended by %r, not %r" % (who, doc[i:i + 40], tag))
    rest = doc[i + len(tag):]
    check(rest.strip(b" \t\r\n") == b"",
          "%s: bytes after the close tag: %r" % (who, rest[:200]))
    return tag


def assert_no_reset(*peers):
    """No error (ECONNRESET, EPIPE after a reset) is pending on the
    sockets of peers that are still open."""
    for p in peers:
        if p.sock.fileno() == -1:
            continue
        err = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err in (errno.ECONNRESET, errno.EPIPE):
            p.ctx.reset_seen(p.who)
        check(err == 0, "%s: socket error %s" % (p.who, os.strerror(err)))


def parse_stanzas(raw, ns=NS_CLIENT):
    """The top-level elements of raw (bytes of whole stanzas), parsed as
    children of a stream whose default namespace is ns."""
    doc = (("<stream:stream xmlns='%s' xmlns:stream='%s'>" % (ns, NS_STREAMS))
           .encode() + raw + b"</stream:stream>")
    try:
        root = ET.fromstring(doc)
    except ET.ParseError as e:
        raise TestFailure("not well-formed stanzas (%s): %r" % (e, raw[:400]))
    return list(root)


def q(ns, name):
    return "{%s}%s" % (ns, name)


def check_bounce(el, orig, cond, etype):
    """el is the error reply to stanza orig (an element): same name and
    id, type error, from and to swapped, <error type=etype> holding the
    stanza error condition cond."""
    what = ET.tostring(el)
    check(el.tag == orig.tag, "bounce %r is not a %s" % (what, orig.tag))
    check(el.get("type") == "error", "bounce type: %r" % what)
    check(el.get("id") == orig.get("id"), "bounce id: %r" % what)
    check(el.get("from") == orig.get("to") and
          el.get("to") == orig.get("from"),
          "bounce not addressed back (from/to swapped): %r" % what)
    errs = el.findall(q(NS_CLIENT, "error"))
    check(len(errs) == 1, "bounce needs one <error/>: %r" % what)
    check(errs[0].get("type") == etype, "error type: %r" % what)
    conds = [c for c in errs[0] if c.tag.startswith("{%s}" % NS_STANZA_ERR)
             and not c.tag.endswith("}text")]
    check([c.tag for c in conds] == [q(NS_STANZA_ERR, cond)],
          "condition is not <%s/>: %r" % (cond, what))


# -------------------------------------------------------------------- log

def session_end(d, c, timeout=None):
    """The session-end log record of the session of client peer c (its
    local port is remembered when it connects)."""
    deadline = time.monotonic() + (wait() if timeout is None else timeout)
    while True:
        for r in d.find(event="session-end"):
            if r.get("client", "").rpartition(":")[2] == str(c.port):
                return r
        if time.monotonic() >= deadline:
            raise TestFailure("no session-end for client port %d; log:\n%s"
                              % (c.port, d.log_text()[-3000:]))
        time.sleep(0.02)


def session_end_clean(d, c, *peers):
    """The session-end record of c's session, once no reset is pending on
    any of the peers."""
    rec = session_end(d, c)
    assert_no_reset(c, *peers)
    return rec


def fields(rec, **want):
    """Every key=value of want is in the log record (values compared as
    strings)."""
    bad = {k: (rec.get(k), str(v)) for k, v in want.items()
           if rec.get(k) != str(v)}
    check(not bad, "log fields (got, want): %r in %r" % (bad, rec))


# ---------------------------------------------------------------- stanzas

def msg(mid, frm="bob@example.com/r", to="alice@example.com/c",
        mtype="chat", body="hi"):
    return ("<message from='%s' to='%s' id='%s' type='%s'><body>%s</body>"
            "</message>" % (frm, to, mid, mtype, body)).encode()


def iq_get(iid, frm="bob@example.com/r", to="example.com"):
    return ("<iq from='%s' to='%s' id='%s' type='get'><ping xmlns='urn:"
            "xmpp:ping'/></iq>" % (frm, to, iid)).encode()


def pres(pid, frm="bob@example.com/r", to="alice@example.com"):
    return ("<presence from='%s' to='%s' id='%s'/>" % (frm, to, pid)).encode()


def header(prefix="stream", to=None, frm=None, sid=None, decl=True):
    """A c2s stream header whose stream namespace has the given prefix."""
    attrs = "".join(" %s='%s'" % (k, v) for k, v in
                    (("to", to), ("from", frm), ("id", sid)) if v)
    return (("<?xml version='1.0'?>" if decl else "") +
            "<%s:stream xmlns='%s' xmlns:%s='%s'%s version='1.0'>"
            % (prefix, NS_CLIENT, prefix, NS_STREAMS, attrs)).encode()
