"""Hostile input: every case ends the offending session with the right
stream error while another session, opened before it, keeps working.

Each test starts stanzaguard, opens a well-behaved "bystander" session
first, then the hostile one.  The hostile client's session must end as the
spec's last row says (spec/close-handshake.md: "bad XML, forbidden XML,
too deep, too large": stream error to the sender, close tag, the other
peer closed by the idle procedure), checked byte for byte on both wires
and in the session-end line (close=bad-xml or close=limit).  Once the
hostile session has ended, a message goes both ways through the bystander
and it closes by the ordinary handshake.

Already covered elsewhere and not repeated: a comment, a processing
instruction, an undefined entity, invalid UTF-8 in a body, a mismatched
tag, a stanza well over the limit (t_close.py); a DTD with an entity
before the first header (t_close_more.py); max-connections=3
(t_limits.py); a client that sends 50 MB to an upstream that does not
read (t_relay.py).  Here: the boundaries (a stanza exactly at the size
limit, depth exactly at the limit), the resource attacks (billion laughs,
5000 attributes, a 10 MB attribute, a client that never reads, 2000
connections at once), and the remaining malformed inputs.
"""

import re
import resource
import selectors
import socket
import threading
import time

from sgtest import (CLOSE, TestFailure, check, client_header, random_stanzas,
                    rng_for, server_header, slow, start_proxy, stream_error,
                    timeout, wrapper)
from xmpppeer import expect_next as _get, expect_wire as _wire
from xmpppeer import (accept, assert_ends_with_close_then_eof,
                      assert_no_reset, connect, fields, msg, open_pair,
                      session_end, wait)

ALICE = "alice@example.com/c"       # the hostile client's user
BOB = "bob@example.com/r"
CH = client_header()
SH = server_header()
MIB = 1 << 20
DECL = b"<?xml version='1.0'?>"

# A stream header that stanzaguard writes itself (to refuse a stream whose
# header it never relayed): its attributes are its own business.
_OWN_HEADER = re.compile(
    rb"^(?:<\?xml[^>]*\?>)?<stream:stream [^>]*"
    rb"xmlns:stream='http://etherx.jabber.org/streams'[^>]*>")


# ----------------------------------------------------------------- helpers

def _proxy(ctx, *opts, backlog=128):
    """An upstream, stanzaguard in front of it, and the bystander session
    opened before anything hostile happens: (daemon, port, up, (c, s))."""
    up = ctx.upstream(backlog=backlog)
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0",
                          "--close-timeout=10s", *opts)
    by = open_pair(ctx, port, up, who="-by")
    return d, port, up, by






def _exchange(c, s, tag):
    """One message each way through the session (c, s)."""
    mc = msg("c-" + tag, frm=ALICE, to=BOB)
    c.send(mc)
    _get(s, mc)
    ms = msg("s-" + tag)
    s.send(ms)
    _get(c, ms)
    return mc, ms


def _bystander_still_works(d, by, tag="after"):
    """The bystander relays a message both ways, then closes by the
    ordinary handshake; its log line says so."""
    c, s = by
    mc, ms = _exchange(c, s, tag)
    c.send(CLOSE)
    _get(s, CLOSE)
    s.answer()
    _get(c, CLOSE)
    c.shutdown_write()
    c.finish()
    s.finish()
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close="client", c_closed="yes", s_closed="yes",
           undeliverable_c=0, undeliverable_s=0, bounced_to_c=0,
           bounced_to_s=0)
    return mc, ms


def _refused(d, c, s, cond, reason, c_before=b"", s_before=b""):
    """After C's bad input: C gets exactly <cond/> and the close tag, S a
    close tag; both answer; each wire is exactly what it should be (S
    never sees a byte of the bad input); the session-end line says
    close=reason.  c_before/s_before: what each had received before."""
    err = stream_error(cond) + CLOSE
    _get(c, err)
    _get(s, CLOSE)
    s.answer()
    c.answer()
    c.finish()
    s.finish()
    _wire(c, SH + c_before + err)
    _wire(s, CH + s_before + CLOSE)
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close=reason, s_closed="yes", undeliverable_c=0,
           undeliverable_s=0)
    return rec


def _hostile_after_good(ctx, d, port, up, bad, cond, reason):
    """A second session: C sends a good message (it reaches S), then bad:
    refused as _refused says.  Returns the session-end record."""
    c, s = open_pair(ctx, port, up, who="-bad")
    good = msg("c-good", frm=ALICE, to=BOB)
    c.send(good)
    _get(s, good)
    c.send(bad)
    rec = _refused(d, c, s, cond, reason, s_before=good)
    fields(rec, c_stanzas=1)
    return rec


def _rss_ceiling_kb(d, growth_kb):
    """RSS may not grow more than growth_kb above now (no bound under a
    wrapper such as valgrind: its RSS is valgrind's)."""
    return d.rss_kb() + (growth_kb if not wrapper() else 1 << 40)


def _sampler(d):
    """(peak, stop, thread): samples the daemon's RSS every 20 ms."""
    peak, stop = [d.rss_kb()], threading.Event()

    def run():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], d.rss_kb())
            except (OSError, TestFailure):
                return
            stop.wait(0.02)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return peak, stop, t


def _restart_to_sasl_success(c, s):
    """SASL PLAIN up to <success/>: both directions now expect a new
    stream header."""
    auth = (b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
            b"mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
    c.send(auth)
    _get(s, auth)
    ok = b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    s.send(ok)
    _get(c, ok)
    return auth, ok


def _own_header_then(c, tail):
    """C's wire, read to EOF: what it had, then a stream header written by
    stanzaguard, then exactly tail; the stream ends in its close tag."""
    data = bytes(c.wire)
    check(data.endswith(tail), "%s: does not end with %r: %r"
          % (c.who, tail, data[-300:]))
    assert_ends_with_close_then_eof(data, c.who)
    return data[:-len(tail)]


# ------------------------------------------------------ forbidden XML: DTDs

def _billion_laughs(levels=9, fan=10):
    """The classic: entities nested levels deep, fan references each:
    fan**levels expansions of "lol" if anyone expanded them."""
    ents = [b"<!ENTITY lol0 'lol'>"]
    for i in range(1, levels + 1):
        ents.append(b"<!ENTITY lol%d '%s'>"
                    % (i, (b"&lol%d;" % (i - 1)) * fan))
    return (DECL + b"<!DOCTYPE stream:stream [" + b"".join(ents) + b"]>")


@timeout(30)
def test_billion_laughs_before_header(ctx):
    """Billion laughs (a DTD of entities nested 9 deep, referenced in the
    header and a stanza) before C's stream header: C gets a stream header,
    <restricted-xml/> and the close tag, S never a byte; nothing is
    expanded (RSS grows < 4 MB); close=bad-xml; the bystander works."""
    d, port, up, by = _proxy(ctx)
    ceiling = _rss_ceiling_kb(d, 4 * 1024)
    peak, stop, t = _sampler(d)
    c = connect(ctx, port, who="C-bad")
    hdr = CH[len(DECL):].replace(b"to='example.com'", b"to='&lol9;'")
    c.send(_billion_laughs() + hdr +
           b"<message id='lol'><body>&lol9;&lol9;</body></message>")
    s = accept(up, who="S-bad")
    tail = stream_error("restricted-xml") + CLOSE
    c.recv_until(tail, wait())
    c.answer()
    c.finish()
    check(_OWN_HEADER.match(_own_header_then(c, tail)),
          "C-bad: no stream header before the error: %r" % bytes(c.wire))
    s.finish_without_tag(b"")   # S was never sent a header: nothing
    s.shutdown_write()
    stop.set()
    t.join(5)
    check(peak[0] < ceiling, "RSS peaked at %d kB, ceiling %d kB"
          % (peak[0], ceiling))
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close="bad-xml", c_stanzas=0, s_bytes_out=0)
    _bystander_still_works(d, by)


@timeout(30)
def test_dtd_at_stream_restart(ctx):
    """A DTD in the new document after SASL <success/> (where an XML
    declaration is legal again): C gets a new stream header,
    <restricted-xml/> and the close tag; S gets nothing after <auth/>
    (C never sent it a new header: no stream to put a tag in), then EOF;
    close=bad-xml; the bystander works."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    auth, ok = _restart_to_sasl_success(c, s)
    c.send(DECL + b"<!DOCTYPE stream:stream>" + CH[len(DECL):] +
           msg("after-dtd", frm=ALICE, to=BOB))
    tail = stream_error("restricted-xml") + CLOSE
    c.recv_until(tail, wait())
    c.answer()
    c.finish()
    before = _own_header_then(c, tail)
    check(before.startswith(SH + ok) and
          _OWN_HEADER.match(before[len(SH + ok):]),
          "C-bad: not a new stream header after <success/>: %r" % before)
    s.finish_without_tag(CH + auth)
    s.shutdown_write()
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close="bad-xml", undeliverable_c=0, undeliverable_s=0)
    _bystander_still_works(d, by)


# ------------------------------------------------------------------ limits

def _sized_message(mid, size):
    """A message of exactly size bytes."""
    empty = msg(mid, frm=ALICE, to=BOB, body="")
    check(size >= len(empty), "size %d too small" % size)
    return msg(mid, frm=ALICE, to=BOB, body="x" * (size - len(empty)))


@timeout(30)
def test_stanza_exactly_at_max_size_passes_one_over_refused(ctx):
    """--max-stanza-size=4k: a stanza of exactly 4096 bytes reaches S byte
    for byte; one of 4097 bytes (sent in two pieces) gets
    <policy-violation/>, S never sees a byte of it; close=limit."""
    d, port, up, by = _proxy(ctx, "--max-stanza-size=4k")
    c, s = open_pair(ctx, port, up, who="-bad")
    at = _sized_message("at-limit", 4096)
    over = _sized_message("over-limit", 4097)
    check(len(at) == 4096 and len(over) == 4097, "sizes")
    c.send(at)
    _get(s, at)
    c.send(over[:2000])
    c.send(over[2000:])
    rec = _refused(d, c, s, "policy-violation", "limit", s_before=at)
    fields(rec, c_stanzas=1)
    _bystander_still_works(d, by)


def _nested(mid, depth):
    """A message whose deepest element is at depth depth (the stream
    element being 1, the message 2)."""
    inner = depth - 2
    return (b"<message id='%s'>" % mid.encode() +
            b"".join(b"<e%d>" % i for i in range(inner)) + b"x" +
            b"".join(b"</e%d>" % i for i in reversed(range(inner))) +
            b"</message>")


@timeout(30)
def test_nesting_deeper_than_max_depth(ctx):
    """--max-depth=8: a stanza nested exactly 8 deep passes; one 9 deep
    gets <policy-violation/>; close=limit."""
    d, port, up, by = _proxy(ctx, "--max-depth=8")
    c, s = open_pair(ctx, port, up, who="-bad")
    ok = _nested("depth8", 8)
    c.send(ok)
    _get(s, ok)
    c.send(_nested("depth9", 9))
    rec = _refused(d, c, s, "policy-violation", "limit", s_before=ok)
    fields(rec, c_stanzas=1)
    _bystander_still_works(d, by)


def _with_attrs(mid, n):
    return (b"<message id='%s' " % mid.encode() +
            b" ".join(b"a%d='v'" % i for i in range(n - 1)) + b"/>")


@timeout(30)
def test_5000_attributes(ctx):
    """An element with 5000 attributes (the default limit is 64): 64 pass,
    5000 get <policy-violation/>; close=limit."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    ok = _with_attrs("a64", 64)
    c.send(ok)
    _get(s, ok)
    c.send(_with_attrs("a5000", 5000))
    rec = _refused(d, c, s, "policy-violation", "limit", s_before=ok)
    fields(rec, c_stanzas=1)
    _bystander_still_works(d, by)


@timeout(60)
def test_10mb_attribute_value(ctx):
    """A 10 MB attribute value: refused with <policy-violation/> at
    max-stanza-size, long before its end: the daemon's RSS grows < 4 MB
    while all 10 MB are sent (and read and dropped, so C sees no reset);
    S never sees a byte of it; close=limit."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    ceiling = _rss_ceiling_kb(d, 4 * 1024)
    peak, stop, t = _sampler(d)
    big = (b"<message id='huge' to='%s' a='" % BOB.encode() +
           b"x" * (10 * MIB) + b"'><body>never</body></message>")
    errors = []

    def send():
        try:
            c.send(big, timeout=wait())
        except Exception as e:  # noqa: BLE001 - for the main thread
            errors.append(e)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(3 * wait())
    check(not sender.is_alive(), "10 MB not sent within %.0fs" % (3 * wait()))
    check(not errors, "sending the 10 MB failed: %r" % errors)
    stop.set()
    t.join(5)
    _refused(d, c, s, "policy-violation", "limit")
    check(peak[0] < ceiling, "RSS peaked at %d kB, ceiling %d kB"
          % (peak[0], ceiling))
    print("10 MB attribute: RSS peak %d kB, ceiling %d kB"
          % (peak[0], ceiling))
    _bystander_still_works(d, by)


# ------------------------------------------------------------ malformed

@timeout(30)
def test_invalid_utf8_split_surrogate_in_attribute(ctx):
    """A UTF-8-encoded surrogate (ED A0 80, invalid in UTF-8) in an
    attribute value, split across two sends mid-character:
    <not-well-formed/>; close=bad-xml."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    good = msg("c-good", frm=ALICE, to=BOB)
    c.send(good)
    _get(s, good)
    c.send(b"<message id='sur' to='bob@example.com/\xed")
    time.sleep(0.05)            # two reads, not one (not asserted)
    c.send(b"\xa0\x80'><body>x</body></message>")
    _refused(d, c, s, "not-well-formed", "bad-xml", s_before=good)
    _bystander_still_works(d, by)


@timeout(30)
def test_overlong_utf8(ctx):
    """An overlong UTF-8 encoding of '/' (C0 AF) in a body:
    <not-well-formed/>; close=bad-xml."""
    d, port, up, by = _proxy(ctx)
    _hostile_after_good(
        ctx, d, port, up,
        b"<message id='ovl'><body>..\xc0\xaf..</body></message>",
        "not-well-formed", "bad-xml")
    _bystander_still_works(d, by)


@timeout(30)
def test_nul_byte(ctx):
    """A NUL byte inside a stanza: <not-well-formed/>; close=bad-xml."""
    d, port, up, by = _proxy(ctx)
    _hostile_after_good(ctx, d, port, up,
                        b"<message id='nul'><body>a\x00b</body></message>",
                        "not-well-formed", "bad-xml")
    _bystander_still_works(d, by)


@timeout(30)
def test_second_stream_header_inside_stream(ctx):
    """A second stream header with its XML declaration (as a client
    restarting on its own would send it) inside the open stream: not even
    well-formed there, <not-well-formed/>; close=bad-xml."""
    d, port, up, by = _proxy(ctx)
    _hostile_after_good(ctx, d, port, up, CH + msg("in-second", frm=ALICE),
                        "not-well-formed", "bad-xml")
    _bystander_still_works(d, by)


@timeout(30)
def test_second_stream_header_without_declaration(ctx):
    """A second stream header without an XML declaration (well-formed: it
    parses as a child of the stream), then a message and what looks like
    the close tag: <invalid-xml/>, S never sees the nested header (a
    legacy server could take it for a restart); close=bad-xml."""
    d, port, up, by = _proxy(ctx)
    _hostile_after_good(ctx, d, port, up,
                        CH[len(DECL):] + msg("in-second", frm=ALICE) + CLOSE,
                        "invalid-xml", "bad-xml")
    _bystander_still_works(d, by)


@timeout(30)
def test_bytes_after_close_tag_not_forwarded(ctx):
    """C sends its close tag and more bytes after it (a stanza, garbage):
    S gets the tag and not one byte after it; S's stanza after C's tag
    still reaches C, then S's tag; no stream error; close=client."""
    d, port, up, by = _proxy(ctx)
    c, s = open_pair(ctx, port, up, who="-bad")
    good = msg("c-good", frm=ALICE, to=BOB)
    c.send(good + CLOSE + msg("c-after-close", frm=ALICE, to=BOB) +
           b"<<garbage \xff>>")
    _get(s, good + CLOSE)
    s.idle(0.3)                 # nothing after the tag
    late = msg("s-after-c-closed")
    s.send(late)
    _get(c, late)
    s.answer()
    _get(c, CLOSE)
    c.shutdown_write()
    c.finish()
    s.finish()
    _wire(c, SH + late + CLOSE)
    _wire(s, CH + good + CLOSE)
    rec = session_end(d, c)
    assert_no_reset(c, s)
    fields(rec, close="client", s_closed="yes", c_stanzas=1, s_stanzas=1,
           undeliverable_c=0, undeliverable_s=0, bounced_to_c=0,
           bounced_to_s=0)
    _bystander_still_works(d, by)


# ------------------------------------------------------------- resources

def _server_closes(d, c, s):
    """S closes, C answers, both read to EOF: the session's end record,
    which says so."""
    s.send(CLOSE)
    _get(c, CLOSE)
    c.answer()
    _get(s, CLOSE)
    s.shutdown_write()
    c.finish()
    s.finish()
    rec = session_end(d, c)
    fields(rec, close="server", c_closed="yes", s_closed="yes")
    return rec


def _push_until_stuck(sock, data, start, stuck_for=1.0, limit=None):
    """Write data[start:] non-blocking until nothing more is taken for
    stuck_for seconds (or all is written); the offset reached."""
    limit = wait() * 3 if limit is None else limit
    sock.setblocking(False)
    sent, last = start, time.monotonic()
    deadline = last + limit
    view = memoryview(data)
    try:
        while sent < len(data):
            now = time.monotonic()
            check(now < deadline, "writer never got stuck")
            if now - last >= stuck_for:
                break
            try:
                sent += sock.send(view[sent:sent + (1 << 18)])
                last = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
    finally:
        sock.setblocking(True)
    return sent


@timeout(90)
def test_client_that_never_reads(ctx):
    """S sends 50 MB to a client that reads nothing: S is stopped by
    backpressure with the daemon's RSS < 6 MB above its start
    (--high-water=1m), the bystander keeps working meanwhile; then C reads
    all 50 MB in order and the session closes by the handshake."""
    rng = rng_for("never-reads")
    # C takes bytes again within seconds: not the write-timeout's case.
    d, port, up, by = _proxy(ctx, "--high-water=1m", "--low-water=256k",
                             "--close-timeout=30s", "--stanza-timeout=1h")
    c, s = open_pair(ctx, port, up, who="-bad")
    data = random_stanzas(rng, 50 * MIB, max_stanza=16 * 1024, prefix="s")
    ceiling = _rss_ceiling_kb(d, 6 * 1024)
    peak, stop, t = _sampler(d)
    sent = _push_until_stuck(s.sock, data, 0)
    check(sent < len(data), "50 MB went to a client that reads nothing")
    # Stuck: the other session is served all the same.
    _exchange(*by, tag="during")
    sent = _push_until_stuck(s.sock, data, sent, stuck_for=0.3)
    stop.set()
    t.join(5)
    check(peak[0] < ceiling, "RSS peaked at %d kB with %d bytes stuck, "
          "ceiling %d kB" % (peak[0], sent, ceiling))
    print("never-reads: %d bytes stuck, RSS peak %d kB, ceiling %d kB"
          % (sent, peak[0], ceiling))
    # Now C reads: every byte arrives, in order.
    errors = []

    def rest():
        try:
            s.sock.settimeout(wait() * 6)
            s.sock.sendall(memoryview(data)[sent:])
        except Exception as e:  # noqa: BLE001 - for the main thread
            errors.append(e)

    w = threading.Thread(target=rest)
    w.start()
    got = c.recv_exact(len(data), wait() * 6)
    w.join(wait())
    check(not errors, "writing the rest failed: %r" % errors)
    check(got == data, "C got %d bytes, not the 50 MB sent in order"
          % len(got))
    rec = _server_closes(d, c, s)
    assert_no_reset(c, s)
    fields(rec, undeliverable_c=0, undeliverable_s=0)
    _bystander_still_works(d, by)


@timeout(60)
def test_client_that_stops_reading_times_out(ctx):
    """C reads nothing, S sends until the daemon's queue to C is full: once
    C has taken no byte for stanza-timeout it is treated as gone, although
    it never closes.  S gets a bounce for each message queued for C, then
    a close tag; close=write-timeout c_closed=timeout, and the session
    ends."""
    d, port, up, by = _proxy(ctx, "--high-water=256k", "--low-water=64k",
                             "--stanza-timeout=1s", "--close-timeout=2s")
    c, s = open_pair(ctx, port, up, who="-stop")
    body = "x" * 900
    data = b"".join(msg("w%d" % i, body=body) for i in range(20000))
    sent = _push_until_stuck(s.sock, data, 0, stuck_for=0.5)
    check(sent < len(data), "20 MB went to a client that reads nothing")
    got = s.recv_until(CLOSE, wait() * 2)
    bounces = got.count(b"type='error'")
    check(bounces >= 1 and b"<recipient-unavailable" in got,
          "S got no bounce before the close tag: %r" % got[:300])
    # S ends the stanza it was cut off in, then answers.
    end = sent
    if not data[:sent].endswith(b"</message>"):
        end = data.index(b"</message>", sent) + len(b"</message>")
    s.send(data[sent:end])
    s.answer()
    s.finish()
    rec = session_end(d, c, wait() * 2)
    fields(rec, close="write-timeout", c_closed="timeout", s_closed="yes",
           s_stanzas=data[:end].count(b"</message>"), bounced_to_s=bounces,
           truncated=0)
    # Every stanza of S's is one of: in C's socket (forwarded), bounced,
    # or named (what S sent after our close tag: the client vanished).
    got = c.recv_to_eof(wait() * 2)
    k = got.rfind(b"</message>") + len(b"</message>")
    check(got[:k] == data[:k], "C's bytes are not S's first %d" % k)
    forwarded = got.count(b"</message>")
    check(forwarded + bounces + int(rec["undeliverable_s"]) ==
          int(rec["s_stanzas"]),
          "forwarded %d + bounced %d + named %s != %s stanzas from S"
          % (forwarded, bounces, rec["undeliverable_s"], rec["s_stanzas"]))
    _bystander_still_works(d, by)


@timeout(60)
def test_slow_reader_not_timed_out(ctx):
    """C takes a backlog slowly, 16 kB every 0.1 s, for three times
    stanza-timeout: the daemon seldom gets to write (a full socket wakes
    its writer only once a third has drained), but C's TCP acknowledges
    what C reads, so C is not timed out; it gets everything in order."""
    d, port, up, by = _proxy(ctx, "--high-water=256k", "--low-water=64k",
                             "--stanza-timeout=2s")
    c, s = open_pair(ctx, port, up, who="-slow")
    data = b"".join(msg("v%d" % i, body="y" * 900) for i in range(6000))
    sent = _push_until_stuck(s.sock, data, 0, stuck_for=0.5)
    got = bytearray()
    slow_until = time.monotonic() + 6
    while time.monotonic() < slow_until and len(got) < len(data) // 2:
        got += c.recv_exact(16384, wait())
        time.sleep(0.1)
    s.sock.sendall(data[sent:])
    got += c.recv_exact(len(data) - len(got), wait() * 3)
    check(bytes(got) == data, "C got %d bytes, not the %d sent in order"
          % (len(got), len(data)))
    rec = _server_closes(d, c, s)
    fields(rec, bounced_to_s=0, undeliverable_s=0)
    _bystander_still_works(d, by)


def _raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    check(soft >= want, "need %d file descriptors, have %d" % (want, soft))


@timeout(120)
def test_2000_connections_at_once(ctx):
    """2000 connections opened at once with --max-connections=100: the
    bystander (opened first) keeps being served, 99 are accepted and 1901
    refused, never with a reset: 64 (the refusals in progress at most)
    told <resource-constraint/> once connect-timeout has passed (they send
    nothing), the rest a plain EOF; each refusal logged; once they are
    gone a new session works.  (500 at once under valgrind.)"""
    # Under a wrapper (valgrind) the daemon accepts so slowly that its
    # accept queue (511) overflows, and the kernel silently drops some of
    # the handshakes it had completed: no more than the queue holds then.
    n, cap = (2000 if not wrapper() else 500), 100
    _raise_nofile(2 * n + 500)
    d, port, up, by = _proxy(ctx, "--max-connections=%d" % cap,
                             backlog=512)
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for i in range(n):
            sk = socket.socket()
            sk.setblocking(False)
            sk.connect_ex(("127.0.0.1", port))
            socks.append(sk)
            sel.register(sk, selectors.EVENT_WRITE, i)
        # Every connect completes (bounded: SYNs dropped on a full backlog
        # are sent again by the kernel).
        # Should the accept queue overflow, the kernel completes some
        # handshakes only when it resends its SYN-ACK, seconds later.
        patience = 45 * slow()
        pending = set(range(n))
        deadline = time.monotonic() + patience
        while pending:
            check(time.monotonic() < deadline, "%d connects still pending"
                  % len(pending))
            for key, _ in sel.select(0.2):
                i = key.data
                err = socks[i].getsockopt(socket.SOL_SOCKET,
                                          socket.SO_ERROR)
                check(err == 0, "connect %d: %s" % (i, err))
                pending.discard(i)
                sel.unregister(socks[i])
        # The bystander is served while they pile up.
        _exchange(*by, tag="storm")
        # The refused see EOF, told first or not; the accepted see nothing.
        for i, sk in enumerate(socks):
            sel.register(sk, selectors.EVENT_READ, i)
        refused, told, deadline = set(), {}, time.monotonic() + patience
        busy = stream_error("resource-constraint") + CLOSE
        while len(refused) < n - (cap - 1):
            check(time.monotonic() < deadline, "only %d refused of %d"
                  % (len(refused), n - (cap - 1)))
            for key, _ in sel.select(0.2):
                i = key.data
                try:
                    data = socks[i].recv(4096)
                except ConnectionResetError:
                    raise TestFailure("connection %d: reset" % i)
                if data:
                    told[i] = told.get(i, b"") + data
                    continue
                got = told.get(i, b"")
                check(got == b"" or (got.startswith(b"<?xml") and
                                     got.endswith(busy)),
                      "connection %d got %r" % (i, got[-120:]))
                refused.add(i)
                sel.unregister(socks[i])
        for key, _ in sel.select(0.3):
            raise TestFailure("connection %d: more than %d refused"
                              % (key.data, n - (cap - 1)))
        check(len(told) == 64, "%d told, want 64" % len(told))
        recs = d.wait_for(count=n - (cap - 1), event="refused",
                          timeout=wait())
        check(all(r.get("reason") == "max-connections" for r in recs),
              "refused for another reason: %r" % recs[:3])
        check(sum(r.get("answer") == "stream-error" for r in recs) == 64,
              "answer= %r" % [r.get("answer") for r in recs[:70]])
        check(len(d.find(event="refused")) == n - (cap - 1),
              "%d refused lines" % len(d.find(event="refused")))
        _exchange(*by, tag="after-storm")
        # Let the 99 go: they vanish before any header.
        for i, sk in enumerate(socks):
            if i not in refused:
                sk.close()
        ups = []
        for _ in range(cap - 1):
            s = up.accept(timeout=wait())
            ups.append(s)
        for s in ups:
            s.recv_to_eof(wait())
            s.close()
        d.wait_for(count=cap - 1, event="session-end", timeout=wait())
    finally:
        sel.close()
        for sk in socks:
            sk.close()
    # A new session after the storm.
    c, s = open_pair(ctx, port, up, who="-new")
    _exchange(c, s, "new")
    c.send(CLOSE)
    _get(s, CLOSE)
    s.answer()
    _get(c, CLOSE)
    c.shutdown_write()
    c.finish()
    s.finish()
    _bystander_still_works(d, by)
