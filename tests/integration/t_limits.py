"""max-connections, running out of file descriptors, and how a stanza
over max-stanza-size is counted."""

import signal
import socket
import threading
import time

from sgtest import (CLOSE, TestFailure, answer_close, answer_shutdown_all,
                    check, client_header, close_politely, message,
                    open_session, server_header, start_proxy, stream_error,
                    timeout, wait_until, wrapper)


BUSY = stream_error("resource-constraint")
# Our header, up to the id (random), as the front writes it.
OUR_HDR = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
           b"xmlns:stream='http://etherx.jabber.org/streams' "
           b"version='1.0' ")


def _told_busy(c, frm=b"example.com"):
    """c gets our stream header, <resource-constraint/> and the close tag,
    nothing else, then EOF (our write side shut)."""
    got = c.recv_until(BUSY + CLOSE)
    check(got.startswith(OUR_HDR), "%s: header %r" % (c.who, got[:200]))
    hdr = got[:len(got) - len(BUSY + CLOSE)]
    check(hdr.endswith(b">") and b"<stream:features" not in hdr,
          "%s: not just a header before the error: %r" % (c.who, got))
    check((b"from='%s'" % frm in hdr) if frm else b"from=" not in hdr,
          "%s: from in %r" % (c.who, hdr))
    c.expect_eof()


def _still_reading(c):
    """After our EOF the daemon still reads c to its EOF: bytes sent now
    bring no reset (a closed socket would answer them with one)."""
    c.send(message("late") + CLOSE)
    time.sleep(0.2)
    c.sock.settimeout(5)
    try:
        extra = c.sock.recv(1)  # after EOF: EOF again, or ECONNRESET
        c.shutdown_write()
    except OSError as e:
        raise TestFailure("%s: the daemon closed before our EOF: %s"
                          % (c.who, e))
    check(extra == b"", "%s: after EOF got %r" % (c.who, extra))
    c.close()


@timeout(60)
def test_max_connections(ctx):
    """With --max-connections=1 and one session open, a client that sends
    its header is answered with ours, <resource-constraint/> and the close
    tag, then EOF, no reset; event=refused is logged; once the session
    ends, new ones are served."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-connections=1",
                          "--stats-interval=0")
    pair = open_session(ctx, port, up)
    c2 = ctx.connect(port, who="client2")
    c2.send(client_header())
    _told_busy(c2)
    e = d.wait_for(event="refused")
    check(e.get("reason") == "max-connections" and
          e.get("answer") == "stream-error" and e.get("listener") and
          e.get("client", "").startswith("127.0.0.1:"), "refused %r" % e)
    _still_reading(c2)
    up.no_connection(0.3)
    # The refusal was no session: the one session still counts alone.
    close_politely(*pair)
    d.wait_for(event="session-end")
    close_politely(*open_session(ctx, port, up))
    d.wait_for(count=2, event="session-end")


@timeout(60)
def test_max_connections_silent_client(ctx):
    """Over max-connections, a client that sends nothing is told all the
    same once connect-timeout has passed: our header (jabber:client, no
    from), <resource-constraint/>, the close tag, then EOF."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-connections=1",
                          "--connect-timeout=1s", "--stats-interval=0")
    pair = open_session(ctx, port, up)
    c2 = ctx.connect(port, who="client2")
    d.wait_for(event="refused")
    t0 = time.monotonic()
    c2.sock.settimeout(10)
    _told_busy(c2, frm=None)
    check(time.monotonic() - t0 > 0.5, "told before connect-timeout")
    _still_reading(c2)
    close_politely(*pair)


@timeout(90)
def test_max_connections_refusals_capped(ctx):
    """Past 64 refusals in progress, more clients over max-connections get
    a plain FIN, logged as answer=fin; the 64 are still told, and the
    daemon keeps no descriptor of any of them and serves on."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-connections=1",
                          "--connect-timeout=30s", "--stats-interval=0")
    pair = open_session(ctx, port, up)
    base = d.nfds()
    told = [ctx.connect(port, who="told%d" % i) for i in range(64)]
    d.wait_for(count=64, event="refused")
    fins = [ctx.connect(port, who="fin%d" % i) for i in range(3)]
    for c in fins:
        c.expect_eof()
        c.close()
    recs = d.wait_for(count=67, event="refused")
    for e in recs[:64]:
        check(e.get("answer") == "stream-error", "%r" % e)
    for e in recs[64:]:
        check(e.get("reason") == "max-connections" and
              e.get("answer") == "fin" and e.get("refusing") == "64",
              "%r" % e)
    for c in told:
        c.send(client_header())
    for c in told:
        _told_busy(c)
        c.send(CLOSE)
        c.close()
    wait_until(lambda: d.nfds() <= base, 10,
               "the refusals' descriptors closed (%d > %d)"
               % (d.nfds(), base))
    c = ctx.connect(port, who="after")
    c.send(client_header())
    _told_busy(c)
    c.close()
    close_politely(*pair)
    d.wait_for(event="session-end")
    close_politely(*open_session(ctx, port, up))


@timeout(60)
def test_max_connections_refusal_on_sigterm(ctx):
    """SIGTERM while a refusal waits for the client's header: the client
    is told <system-shutdown/>, the daemon waits for its EOF and exits 0,
    and the refusal is not counted as a session."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-connections=1",
                          "--drain-timeout=10s", "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    c2 = ctx.connect(port, who="client2")
    d.wait_for(event="refused")
    d.signal(signal.SIGTERM)
    answer_shutdown_all([(c, s)])
    got = c2.recv_until(stream_error("system-shutdown") + CLOSE)
    check(got.startswith(OUR_HDR), "client2 got %r" % got)
    c2.expect_eof()
    time.sleep(0.2)
    check(d.proc.poll() is None, "exited before the refused client's EOF")
    c2.close()
    check(d.wait_exit(15) == 0, "exit status %s" % d.proc.returncode)
    st = d.wait_for(event="stopped")
    check(st["closed_clean"] == "1" and st["forced"] == "0", "%r" % st)


def _polite_client(c, errors):
    """Whatever the daemon did with it: close tag, read to EOF, close."""
    try:
        c.send(CLOSE)
        c.recv_to_eof(timeout=20)
        c.close()
    except Exception as e:  # noqa: BLE001 - collected for the main thread
        errors.append(e)


def _polite_server(s, errors):
    try:
        s.send(server_header())
        answer_close(s, timeout=20)
    except Exception as e:  # noqa: BLE001
        errors.append(e)


@timeout(90)
def test_out_of_descriptors_pauses_accept(ctx):
    """Out of file descriptors, the daemon logs accept-paused and stops
    accepting for a while instead of spinning; once descriptors are free
    again it serves new sessions."""
    if wrapper():
        return      # valgrind needs descriptors of its own
    up = ctx.upstream()
    probe, _ = start_proxy(ctx, up.addr, "--stats-interval=0")
    base = probe.nfds()
    probe.stop()
    # Room for three sessions of two descriptors each, and one more.
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0",
                          nofile=base + 7)
    clients = []
    for i in range(12):
        c = ctx.connect(port, who="client%d" % i)
        c.send(client_header())
        clients.append(c)
    servers, errors, threads = [], [], []
    stop = threading.Event()

    def acceptor():
        while not stop.is_set():
            try:
                s = up.accept(timeout=0.2)
            except AssertionError:
                continue
            servers.append(s)
            t = threading.Thread(target=_polite_server, args=(s, errors))
            t.start()
            threads.append(t)

    acc = threading.Thread(target=acceptor)
    acc.start()
    try:
        d.wait_for(event="accept-paused", timeout=10)
        cpu0 = d.cpu_seconds()
        time.sleep(1.0)
        busy = d.cpu_seconds() - cpu0
        check(busy < 0.5, "daemon used %.2fs CPU in 1s while paused" % busy)
        ts = [threading.Thread(target=_polite_client, args=(c, errors))
              for c in clients]
        for t in ts:
            t.start()
        for t in ts:
            t.join(40)
        d.wait_for(count=12, event="session-end", timeout=40)
    finally:
        stop.set()
        acc.join(5)
    for t in threads:
        t.join(20)
    if errors:
        raise errors[0]
    close_politely(*open_session(ctx, port, up))


def _send_in_bytes(c, data):
    """data one byte per send(), with Nagle off, so that the daemon reads
    it in many pieces (a pause now and then lets it catch up)."""
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 512 == 511:
            time.sleep(0.01)


@timeout(60)
def test_too_large_stanza_truncated_once_however_sent(ctx):
    """--max-stanza-size=4k: a stanza over it, sent in one write (after a
    small stanza, in the same write) or a byte per write, is refused with
    <policy-violation/>, never reaches S, and logs truncated=1 both
    times."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-stanza-size=4k",
                          "--stats-interval=0")
    small = message("small")
    big = message("big", body="x" * 8192)
    for n, how in enumerate(("one write", "byte-chunked"), 1):
        c, s = open_session(ctx, port, up)
        if how == "one write":
            c.send(small + big)
        else:
            c.send(small)
            _send_in_bytes(c, big)
        got = c.recv_until(stream_error("policy-violation") + CLOSE)
        check(got == stream_error("policy-violation") + CLOSE,
              "%s: C got %r" % (how, got[:200]))
        got = answer_close(s)
        check(got == small + CLOSE, "%s: S got %r" % (how, got[:200]))
        c.send(CLOSE)
        c.expect_eof()
        c.close()
        rec = d.wait_for(count=n, event="session-end")[n - 1]
        check(rec.get("close") == "limit" and rec.get("truncated") == "1",
              "%s: close=%s truncated=%s, want limit and 1: %r"
              % (how, rec.get("close"), rec.get("truncated"), rec))
