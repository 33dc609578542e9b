"""The upstream cannot be reached: refused, or silent past connect-timeout."""

import socket
import time

from sgtest import (CLOSE, LOOPBACK, check, client_header, free_port,
                    hostport, start_proxy, timeout)


def _refused_answer(c):
    """The client's view: header, stream error, close tag, then EOF; it
    answers with its own close tag like a good client."""
    got = c.recv_until(CLOSE)
    check(b"<stream:stream" in got, "no stream header in %r" % got)
    check(b"remote-connection-failed" in got, "no stream error in %r" % got)
    c.send(CLOSE)
    c.expect_eof()
    c.close()


@timeout(30)
def test_upstream_refused(ctx):
    """Nothing listening upstream: the client gets a stream header,
    <remote-connection-failed/> and the close tag, then EOF; the session is
    logged close=upstream-unreachable."""
    d, port = start_proxy(ctx, hostport(LOOPBACK, free_port()),
                          "--stats-interval=0")
    c = ctx.connect(port)
    c.send(client_header())
    _refused_answer(c)
    e = d.wait_for(event="session-end")
    check(e["close"] == "upstream-unreachable", "close %r" % e)


@timeout(30)
def test_upstream_connect_timeout(ctx):
    """An upstream whose backlog is full never answers the SYN: after
    connect-timeout the client gets <remote-connection-failed/>."""
    lst = socket.socket()
    lst.bind((LOOPBACK, 0))
    lst.listen(0)
    ctx.on_cleanup(lst.close)
    addr = lst.getsockname()
    fillers = []
    # listen(0) queues one connection; the next SYNs are dropped.
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(addr)
        fillers.append(f)
        ctx.on_cleanup(f.close)
    time.sleep(0.3)
    d, port = start_proxy(ctx, hostport(*addr), "--connect-timeout=700ms",
                          "--stats-interval=0")
    c = ctx.connect(port)
    t0 = time.monotonic()
    c.send(client_header())
    got = c.recv_until(CLOSE)
    waited = time.monotonic() - t0
    check(b"remote-connection-failed" in got, "no stream error in %r" % got)
    check(waited >= 0.5, "answered after %.2fs, before the timeout" % waited)
    c.send(CLOSE)
    c.expect_eof()
    c.close()
    e = d.wait_for(event="session-end")
    check(e["close"] == "upstream-unreachable", "close %r" % e)
