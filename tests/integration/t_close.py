"""The close engine through the real binary: every row of
spec/close-handshake.md's table, checked on the wire and in the log.

Each test drives a scripted client C and upstream S (xmpppeer.WirePeer:
they keep every byte they receive) over loopback and checks, byte for byte
where the bytes are known, what each peer received until EOF; every peer
that is owed a close tag is checked with
xmpppeer.assert_ends_with_close_then_eof (through WirePeer.finish), and no
peer may see a reset.  Then the session-end log line.

Already covered elsewhere, so not repeated here: upstream unreachable
(t_upstream.py), STARTTLS/opaque relaying with half-close (t_relay.py).
Where the daemon contradicts the spec, the test is in t_close_known.py,
which the runner does not pick up by default (see there).
"""

import select
import signal
import threading
import time

from sgtest import (CLOSE, SM_ENABLE, STOP, TestFailure, check, server_header,
                    client_header, sm_enabled, stream_error, timeout)
from sgtest import proxy_and_upstream as _proxy
from xmpppeer import expect_next as _get, expect_wire as _wire
from xmpppeer import session_end_clean as _end
from xmpppeer import (assert_ends_with_close_then_eof, check_bounce, fields,
                      header, iq_get, msg, open_pair, parse_stanzas, pres,
                      wait)

ALICE = "alice@example.com/c"       # the user behind C
BOB = "bob@example.com/r"           # someone whose stanzas S routes to C
CH = client_header()
SH = server_header()


def _named(rec, item):
    lst = rec.get("undeliverable_list", "").split()
    check(item in lst, "%r not in undeliverable_list %r" % (item, lst))


# ----------------------------------------------------- the ordinary close

@timeout(30)
def test_client_closes_first(ctx):
    """C closes first: S gets C's tag, S's stanza after it and then S's
    tag reach C, each peer sees EOF only after its close tag; close=client
    c_closed=yes s_closed=yes."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    c.send(CLOSE)
    _get(s, CLOSE)
    c.idle(0.3)             # S has not closed: C is not cut off
    m = msg("s-after-c-closed")
    s.send(m)
    _get(c, m)
    s.answer()
    _get(c, CLOSE)
    c.finish()
    c.shutdown_write()
    s.finish()
    _wire(c, SH + m + CLOSE)
    _wire(s, CH + CLOSE)
    rec = _end(d, c, s)
    fields(rec, mode="xml", close="client", c_closed="yes", s_closed="yes",
           c_stanzas=0, s_stanzas=1, bounced_to_c=0, bounced_to_s=0,
           undeliverable_c=0, undeliverable_s=0, truncated=0, sm="no")


@timeout(30)
def test_server_closes_first(ctx):
    """S closes first (mirror): C gets S's tag, C's stanza after it and
    then C's tag reach S, EOF only after the tags; close=server."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    s.send(CLOSE)
    _get(c, CLOSE)
    s.idle(0.3)
    m = msg("c-after-s-closed", frm=ALICE, to=BOB)
    c.send(m)
    _get(s, m)
    c.answer()
    _get(s, CLOSE)
    s.finish()
    s.shutdown_write()
    c.finish()
    _wire(s, CH + m + CLOSE)
    _wire(c, SH + CLOSE)
    rec = _end(d, c, s)
    fields(rec, mode="xml", close="server", c_closed="yes", s_closed="yes",
           c_stanzas=1, s_stanzas=0, bounced_to_c=0, bounced_to_s=0,
           undeliverable_c=0, undeliverable_s=0, truncated=0)


@timeout(30)
def test_server_error_then_tag_relayed(ctx):
    """S sends a stream error and its close tag and waits: both are
    relayed to C unchanged, C answers, close=server s_error logged."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    err = stream_error("host-unknown")
    s.send(err + CLOSE)
    _get(c, err + CLOSE)
    c.answer()
    _get(s, CLOSE)
    s.shutdown_write()
    c.finish()
    s.finish()
    _wire(c, SH + err + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close="server", c_closed="yes", s_closed="yes",
           s_error="host-unknown", s_stanzas=1)


# ------------------------------------------------ the legacy server's cut

@timeout(30)
def test_server_cut_after_error_gets_tag_to_client(ctx):
    """S sends <connection-timeout/> and closes TCP without a tag: C gets
    the error then the close tag at a stanza boundary, may still send
    (counted undeliverable, named in the log), answers and gets EOF;
    close=server-vanished."""
    d, port, up = _proxy(ctx, "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    err = stream_error("connection-timeout")
    s.send(err)
    s.close()
    _get(c, err + CLOSE)
    c.idle(0.3)             # not cut off while it may still send
    m = msg("c-lost", frm=ALICE, to=BOB)
    c.send(m)
    c.answer()
    c.finish()
    _wire(c, SH + err + CLOSE)
    rec = _end(d, c)
    fields(rec, close="server-vanished", c_closed="yes", s_stanzas=1,
           c_stanzas=1, undeliverable_c=1, undeliverable_s=0,
           bounced_to_c=0, truncated=0, s_error="connection-timeout")
    check(rec["s_closed"] != "yes", "S never sent a tag: %r" % rec)
    _named(rec, "c2s:message:c-lost:chat")
    # Named on its own line too, as it happened.
    fields(d.wait_for(event="undeliverable", id="c-lost"), dir="c2s",
           name="message", type="chat", session=rec["session"])


@timeout(30)
def test_server_cut_mid_stanza_drops_partial(ctx):
    """S closes TCP with a partial stanza pending: C gets the complete
    stanza before it and the close tag, never a byte of the partial one;
    truncated=1."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    whole = msg("s-whole")
    s.send(whole + b"<message from='%s' id='s-cut'><body>half of it"
           % BOB.encode())
    s.close()
    _get(c, whole + CLOSE)
    c.answer()
    c.finish()
    _wire(c, SH + whole + CLOSE)
    rec = _end(d, c)
    fields(rec, close="server-vanished", c_closed="yes", s_stanzas=1,
           truncated=1, undeliverable_c=0, undeliverable_s=0)


@timeout(30)
def test_rewrite_idle_errors_gives_plain_tag(ctx):
    """With rewrite-idle-errors=yes, S's <connection-timeout/> then TCP
    close reaches C as the plain close tag, no stream error."""
    d, port, up = _proxy(ctx, "--rewrite-idle-errors=yes")
    c, s = open_pair(ctx, port, up)
    s.send(stream_error("connection-timeout"))
    s.close()
    _get(c, CLOSE)
    c.answer()
    c.finish()
    _wire(c, SH + CLOSE)
    rec = _end(d, c)
    fields(rec, close="server-vanished", c_closed="yes", undeliverable_c=0,
           undeliverable_s=0, bounced_to_c=0)


# ------------------------------------------------------ the client vanishes

@timeout(30)
def test_client_vanished_gets_tag_to_server(ctx):
    """C closes TCP without a tag after a message: S gets the message then
    a close tag; S's later message is not bounced but logged undeliverable;
    C gets no tag, only EOF; close=client-vanished."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    m = msg("c-last", frm=ALICE, to=BOB)
    c.send(m)
    c.shutdown_write()
    _get(s, m + CLOSE)
    late = msg("s-lost")
    s.send(late)
    s.answer()
    s.finish()
    _wire(s, CH + m + CLOSE)
    c.finish_without_tag(SH)
    rec = _end(d, c, s)
    fields(rec, close="client-vanished", s_closed="yes", c_stanzas=1,
           s_stanzas=1, bounced_to_s=0, bounced_to_c=0, undeliverable_s=1,
           undeliverable_c=0)
    _named(rec, "s2c:message:s-lost:chat")


# ------------------------------------------------------------ idle timeout

@timeout(30)
def test_idle_client_first_bounces_to_server(ctx):
    """Idle timeout, client first: C gets the tag; C's stanza after it
    still reaches S; S's chat message and iq get are bounced to S
    (recipient-unavailable / service-unavailable, addressed back, same id),
    its presence is not (it is logged undeliverable); the tags go round
    and both get EOF; close=idle bounced_to_s=2."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    _get(c, CLOSE)
    mc = msg("c-in-flight", frm=ALICE, to=BOB)
    c.send(mc)
    _get(s, mc)
    ms, ps, iqs = msg("s-late"), pres("s-pres"), iq_get("s-iq")
    s.send(ms + ps + iqs)
    got = s.recv_until(b"</iq>", wait())
    bounces = parse_stanzas(got)
    orig = parse_stanzas(ms + iqs)
    check(len(bounces) == 2, "S got %d stanzas back, want 2 bounces "
          "(none for the presence): %r" % (len(bounces), got))
    check_bounce(bounces[0], orig[0], "recipient-unavailable", "wait")
    check_bounce(bounces[1], orig[1], "service-unavailable", "cancel")
    s.idle(0.3)             # no tag to S before C answers
    c.answer()
    _get(s, CLOSE)
    s.answer()
    c.finish()
    s.finish()
    _wire(c, SH + CLOSE)
    _wire(s, CH + mc + got + CLOSE)
    rec = _end(d, c, s)
    # Rule 5: the presence is not bounced, so it is counted undeliverable.
    fields(rec, close="idle", c_closed="yes", s_closed="yes", c_stanzas=1,
           s_stanzas=3, bounced_to_s=2, bounced_to_c=0, undeliverable_c=0,
           undeliverable_s=1)
    _named(rec, "s2c:presence:s-pres:")


@timeout(30)
def test_idle_server_first_bounces_to_client(ctx):
    """Idle timeout with close-order=server-first (mirror): S gets the tag
    first; S's stanza still reaches C; C's message and iq are bounced to
    C, its presence is not; C gets the tag after S answered;
    bounced_to_c=2."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s",
                         "--close-order=server-first")
    c, s = open_pair(ctx, port, up)
    _get(s, CLOSE)
    ms = msg("s-in-flight")
    s.send(ms)
    _get(c, ms)
    mc = msg("c-late", frm=ALICE, to=BOB)
    pc = pres("c-pres", frm=ALICE, to=BOB)
    iqc = iq_get("c-iq", frm=ALICE)
    c.send(mc + pc + iqc)
    got = c.recv_until(b"</iq>", wait())
    bounces = parse_stanzas(got)
    orig = parse_stanzas(mc + iqc)
    check(len(bounces) == 2, "C got %d stanzas back, want 2 bounces: %r"
          % (len(bounces), got))
    check_bounce(bounces[0], orig[0], "recipient-unavailable", "wait")
    check_bounce(bounces[1], orig[1], "service-unavailable", "cancel")
    c.idle(0.3)             # no tag to C before S answers
    s.answer()
    _get(c, CLOSE)
    c.answer()
    c.finish()
    s.finish()
    _wire(s, CH + CLOSE)
    _wire(c, SH + ms + got + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close="idle", c_closed="yes", s_closed="yes", c_stanzas=3,
           s_stanzas=1, bounced_to_c=2, bounced_to_s=0, undeliverable_c=1,
           undeliverable_s=0)
    _named(rec, "c2s:presence:c-pres:")


@timeout(30)
def test_close_timeout_unanswered_client(ctx):
    """Idle close that C never answers: after close-timeout S gets a close
    tag anyway, C gets EOF after its tag, c_closed=timeout."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=1s")
    c, s = open_pair(ctx, port, up)
    _get(c, CLOSE)
    _get(s, CLOSE)          # C stays silent: the timeout answers for it
    s.answer()
    s.finish()
    c.finish()              # C never closes its side: the daemon does
    _wire(c, SH + CLOSE)
    _wire(s, CH + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close="idle", c_closed="timeout", s_closed="yes",
           undeliverable_c=0, undeliverable_s=0)


# -------------------------------------------------------- stanza timeout

@timeout(30)
def test_stanza_timeout_slowloris(ctx):
    """A partial stanza trickling one byte per 0.3 s past stanza-timeout
    ends the session as if C vanished: S gets a close tag and not a byte
    of the partial stanza; close=stanza-timeout truncated=1."""
    d, port, up = _proxy(ctx, "--stanza-timeout=1s", "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    c.send(b"<message to='%s' id='slow'><body>" % BOB.encode())
    deadline = time.monotonic() + wait()
    while not c.eof:
        check(time.monotonic() < deadline, "C never cut off")
        c.send(b"a")
        r, _, _ = select.select([c.sock], [], [], 0.3)
        if r:
            c._fill(wait())
    c.shutdown_write()
    c.finish_without_tag(SH)
    _get(s, CLOSE)
    s.answer()
    s.finish()
    _wire(s, CH + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close="stanza-timeout", truncated=1, s_closed="yes",
           c_closed="timeout", c_stanzas=0, undeliverable_c=0,
           undeliverable_s=0)


# ---------------------------------------------------------------- SIGTERM

@timeout(30)
def test_sigterm_closes_every_session(ctx):
    """SIGTERM: each of 3 clients gets <system-shutdown/> and the tag,
    each S a tag once its C answered; the daemon exits 0 logging
    event=stopped closed_clean=3 forced=0."""
    d, port, up = _proxy(ctx, "--drain-timeout=10s", "--close-timeout=10s")
    pairs = [open_pair(ctx, port, up, who=str(i)) for i in range(3)]
    d.signal(signal.SIGTERM)
    for c, s in pairs:
        _get(c, STOP)
        c.answer()
        _get(s, CLOSE)
        s.answer()
    for c, s in pairs:
        c.finish()
        s.finish()
        _wire(c, SH + STOP)
        _wire(s, CH + CLOSE)
    check(d.wait_exit(wait()) == 0, "exit status %s" % d.proc.returncode)
    fields(d.wait_for(event="stopped"), closed_clean=3, forced=0)
    for c, s in pairs:
        fields(_end(d, c, s), close="shutdown", c_closed="yes",
               s_closed="yes")


@timeout(30)
def test_sigterm_drain_timeout_forces_silent_client(ctx):
    """SIGTERM with one client that never answers: after drain-timeout its
    session is forced (stopped closed_clean=2 forced=1), its C gets
    <system-shutdown/>, the tag and EOF, and the daemon exits 0.  (What
    its S is owed: t_close_known.py.)"""
    d, port, up = _proxy(ctx, "--drain-timeout=1s", "--close-timeout=30s")
    pairs = [open_pair(ctx, port, up, who=str(i)) for i in range(3)]
    d.signal(signal.SIGTERM)
    for c, s in pairs[:2]:
        _get(c, STOP)
        c.answer()
        _get(s, CLOSE)
        s.answer()
        c.finish()
        s.finish()
    mute_c, mute_s = pairs[2]
    _get(mute_c, STOP)
    check(d.wait_exit(wait()) == 0, "exit status %s" % d.proc.returncode)
    fields(d.wait_for(event="stopped"), closed_clean=2, forced=1)
    mute_c.finish()
    _wire(mute_c, SH + STOP)
    mute_s.recv_to_eof(wait())
    rec = _end(d, mute_c, mute_s)
    fields(rec, close="shutdown", forced="yes", c_closed="timeout")
    for c, s in pairs[:2]:
        fields(_end(d, c, s), close="shutdown", c_closed="yes",
               s_closed="yes")


# ---------------------------------------------------- bad XML and limits

def _refused(ctx, bad, cond, reason, *opts):
    """C sends a good message, then bad: C gets <cond/> and the tag, S the
    good message then a tag (never a byte of bad), both answer."""
    d, port, up = _proxy(ctx, "--close-timeout=10s", *opts)
    c, s = open_pair(ctx, port, up)
    good = msg("c-good", frm=ALICE, to=BOB)
    c.send(good)
    _get(s, good)
    c.send(bad)
    _get(c, stream_error(cond) + CLOSE)
    _get(s, CLOSE)
    s.answer()
    c.answer()
    c.finish()
    s.finish()
    _wire(c, SH + stream_error(cond) + CLOSE)
    _wire(s, CH + good + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close=reason, s_closed="yes", c_stanzas=1,
           undeliverable_c=0, undeliverable_s=0)
    return rec


@timeout(30)
def test_bad_xml_comment(ctx):
    """A comment from C: <restricted-xml/> and the tag to C, a tag to S;
    close=bad-xml."""
    _refused(ctx, b"<!-- a comment -->", "restricted-xml", "bad-xml")


@timeout(30)
def test_bad_xml_processing_instruction(ctx):
    """A processing instruction from C: <restricted-xml/>; close=bad-xml."""
    _refused(ctx, b"<?evil pi?>", "restricted-xml", "bad-xml")


@timeout(30)
def test_bad_xml_undefined_entity(ctx):
    """An entity reference beyond the five predefined: <restricted-xml/>,
    the partial stanza never reaches S; close=bad-xml."""
    _refused(ctx, b"<message id='ent'><body>&evil;</body></message>",
             "restricted-xml", "bad-xml")


@timeout(30)
def test_bad_xml_invalid_utf8(ctx):
    """Invalid UTF-8 from C: <not-well-formed/>, the partial stanza never
    reaches S; close=bad-xml."""
    _refused(ctx, b"<message id='utf'><body>\xff\xfe\xc3</body></message>",
             "not-well-formed", "bad-xml")


@timeout(30)
def test_bad_xml_mismatched_tag(ctx):
    """A mismatched end tag from C: <not-well-formed/>; close=bad-xml."""
    _refused(ctx, b"<message id='mm'><body>x</iq>", "not-well-formed",
             "bad-xml")


@timeout(30)
def test_stanza_over_max_size(ctx):
    """A stanza over --max-stanza-size: <policy-violation/> and the tag to
    C, only a tag to S (no byte of the big stanza); close=limit."""
    big = msg("big", frm=ALICE, to=BOB, body="x" * 8192)
    _refused(ctx, big, "policy-violation", "limit", "--max-stanza-size=4k")


# ----------------------------------------------------- stream management

@timeout(30)
def test_sm_resumable_vanish_passes_plain_disconnect(ctx):
    """With resumable stream management, C's disconnect without a tag
    reaches S as EOF and no close tag; sm=resumable
    close=client-vanished."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    c.send(SM_ENABLE)
    _get(s, SM_ENABLE)
    en = sm_enabled(resume=True)
    s.send(en)
    _get(c, en)
    c.shutdown_write()
    s.finish_without_tag(CH + SM_ENABLE)
    s.shutdown_write()
    c.finish_without_tag(SH + en)
    rec = _end(d, c, s)
    fields(rec, sm="resumable", close="client-vanished", bounced_to_c=0,
           bounced_to_s=0, undeliverable_c=0, undeliverable_s=0)


@timeout(30)
def test_sm_not_resumable_idle_no_bounce(ctx):
    """With stream management on (not resumable) and undeliverable=auto,
    S's message after the idle tag to C is not bounced but logged
    undeliverable by id; sm=client."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    enable = b"<enable xmlns='urn:xmpp:sm:3'/>"
    c.send(enable)
    _get(s, enable)
    en = sm_enabled(resume=False)
    s.send(en)
    _get(c, en)
    _get(c, CLOSE)
    late = msg("s-unbounced")
    s.send(late)
    s.idle(0.3)             # no bounce
    c.answer()
    _get(s, CLOSE)
    s.answer()
    c.finish()
    s.finish()
    _wire(s, CH + enable + CLOSE)
    _wire(c, SH + en + CLOSE)
    rec = _end(d, c, s)
    fields(rec, close="idle", sm="client", bounced_to_s=0, bounced_to_c=0,
           undeliverable_s=1, undeliverable_c=0, c_closed="yes",
           s_closed="yes")
    _named(rec, "s2c:message:s-unbounced:chat")


# ------------------------------------------- stanzas crossing a close tag

def _crossing(ctx, closer):
    """closer sends its tag while the other peer sends a burst of 200
    messages; the other answers after its burst.  closer gets all 200,
    then the tag, then EOF."""
    d, port, up = _proxy(ctx)
    c, s = open_pair(ctx, port, up)
    x, y = (c, s) if closer == "client" else (s, c)
    frm, to = (BOB, ALICE) if closer == "client" else (ALICE, BOB)
    burst = [msg("b%d" % i, frm=frm, to=to) for i in range(200)]
    half, errors = threading.Event(), []

    def pump():
        try:
            for i, st in enumerate(burst):
                y.send(st)
                if i == 100:
                    half.set()
        except Exception as e:  # noqa: BLE001 - for the main thread
            errors.append(e)
            half.set()

    t = threading.Thread(target=pump)
    t.start()
    check(half.wait(wait()), "burst never got halfway")
    x.send(CLOSE)
    t.join(wait())
    check(not t.is_alive() and not errors, "burst failed: %r" % errors)
    _get(y, CLOSE)
    y.answer()
    got = x.recv_until(CLOSE, wait())
    check(got == b"".join(burst) + CLOSE,
          "%s got %d stanzas of 200 before the tag (%d bytes)"
          % (x.who, got.count(b"</message>"), len(got)))
    x.shutdown_write()
    x.finish()
    y.finish()
    rec = _end(d, c, s)
    sent_in = "s_stanzas" if closer == "client" else "c_stanzas"
    fields(rec, close=closer, c_closed="yes", s_closed="yes",
           bounced_to_c=0, bounced_to_s=0, undeliverable_c=0,
           undeliverable_s=0, **{sent_in: 200})
    hdr = SH if closer == "client" else CH
    out = "c_bytes_out" if closer == "client" else "s_bytes_out"
    fields(rec, **{out: len(hdr) + len(got)})


@timeout(30)
def test_burst_crosses_client_close(ctx):
    """C sends its tag while S sends 200 messages: C receives all 200,
    then S's tag; nothing lost, counts match."""
    _crossing(ctx, "client")


@timeout(30)
def test_burst_crosses_server_close(ctx):
    """S sends its tag while C sends 200 messages: S receives all 200,
    then C's tag; nothing lost, counts match."""
    _crossing(ctx, "server")


# ---------------------------------------------------------- SASL restart

@timeout(30)
def test_sasl_restart_then_idle_close(ctx):
    """After SASL <success/> and new stream headers both ways (with XML
    declarations and new prefixes), the idle close writes each peer the
    close tag of the stream it was last sent."""
    d, port, up = _proxy(ctx, "--idle-timeout=1s", "--close-timeout=10s")
    c, s = open_pair(ctx, port, up)
    auth = (b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
            b"mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
    c.send(auth)
    _get(s, auth)
    ok = b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    s.send(ok)
    _get(c, ok)
    ch2 = header("cs", to="example.com")
    c.send(ch2)
    _get(s, ch2)
    sh2 = header("ss", frm="example.com", sid="s2")
    s.send(sh2)
    _get(c, sh2)
    mc, ms = msg("c-after-sasl", frm=ALICE, to=BOB), msg("s-after-sasl")
    c.send(mc)
    _get(s, mc)
    s.send(ms)
    _get(c, ms)
    _get(c, b"</ss:stream>")
    c.answer(b"</cs:stream>")
    _get(s, b"</cs:stream>")
    s.answer(b"</ss:stream>")
    c.finish()
    s.finish()
    rec = _end(d, c, s)
    fields(rec, close="idle", c_closed="yes", s_closed="yes", c_stanzas=2,
           s_stanzas=2, bounced_to_c=0, bounced_to_s=0)


# ------------------------------------------------------ the helper itself

@timeout(10)
def test_close_then_eof_helper_catches_violations(ctx):
    """assert_ends_with_close_then_eof accepts a stream ending in its tag
    (with restarts and prefixes) and rejects a missing tag, bytes after
    it, a tag inside a stanza and a tag of the wrong prefix."""
    good = [SH + msg("a") + CLOSE, SH + CLOSE + b"\n ",
            SH + b"<success/>" + header("ss") + b"</ss:stream>"]
    bad = [SH + msg("a"), SH + CLOSE + msg("after"), SH + CLOSE + b"x",
           SH + b"<message><body>" + CLOSE, b"",
           SH + b"<success/>" + header("ss") + CLOSE]
    for g in good:
        assert_ends_with_close_then_eof(g, "good")
    for b in bad:
        try:
            assert_ends_with_close_then_eof(b, "bad")
        except TestFailure:
            continue
        raise TestFailure("helper accepted %r" % b)
