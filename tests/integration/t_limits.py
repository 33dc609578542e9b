"""max-connections, running out of file descriptors, and how a stanza
over max-stanza-size is counted."""

import socket
import threading
import time

from sgtest import (CLOSE, answer_close, check, client_header,
                    close_politely, message, open_session, server_header,
                    start_proxy, stream_error, timeout, wrapper)


@timeout(60)
def test_max_connections(ctx):
    """With --max-connections=3 a 4th client gets EOF at once and
    event=refused is logged; once one session ends, new ones are served."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--max-connections=3",
                          "--stats-interval=0")
    pairs = [open_session(ctx, port, up) for _ in range(3)]
    c4 = ctx.connect(port, who="client4")
    c4.expect_eof(timeout=5)
    c4.close()
    e = d.wait_for(event="refused")
    check(e.get("reason") == "max-connections", "refused %r" % e)
    up.no_connection(0.3)
    close_politely(*pairs[0])
    d.wait_for(event="session-end")
    pairs.append(open_session(ctx, port, up))
    for c, s in pairs[1:]:
        close_politely(c, s)
    d.wait_for(count=4, event="session-end")


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
