"""Relaying: transparency, opaque half-close, backpressure."""

import math
import re
import socket
import struct
import time

from sgtest import (CLOSE, LOOPBACK6, PROCEED, STARTTLS, Mux, answer_close,
                    check, client_header, close_politely, message,
                    open_session,
                    random_stanzas, rng_for, server_header, start_proxy,
                    timeout, wrapper)

MIB = 1 << 20


def _log_uniform(rng, lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@timeout(300)
def test_transparency_many_sessions(ctx):
    """50 sessions at once relay random stanzas, 1 byte .. 8 MiB each
    way (stanzas up to 2 MiB), byte for byte and in order, and close by
    the handshake."""
    rng = rng_for("transparency")
    up = ctx.upstream()
    # A peer sent a close tag has close-timeout to answer, even while it
    # is still sending megabytes: slow runs (valgrind) need a long one.
    d, port = start_proxy(ctx, up.addr, "--max-stanza-size=2m",
                          "--high-water=4m", "--low-water=512k",
                          "--close-timeout=120s", "--stats-interval=0")
    n = 50
    clients = []
    for i in range(n):
        c = ctx.connect(port, who="client%d" % i)
        c.send(client_header("s%d.test" % i))
        clients.append(c)
    servers = {}
    for _ in range(n):
        s = up.accept()
        hdr = s.recv_until(b"version='1.0'>")
        i = int(re.search(rb"to='s(\d+)\.test'", hdr).group(1))
        check(hdr == client_header("s%d.test" % i), "header %r" % hdr)
        s.who = "server%d" % i
        servers[i] = s
    check(sorted(servers) == list(range(n)), "sessions %r" % sorted(servers))
    mux = Mux(ctx)
    sizes = {}
    for i in range(n):
        if i == 0:
            cs, ss = 8 * MIB, 8 * MIB
        elif i == 1:
            cs, ss = 1, 1
        else:
            cs = _log_uniform(rng, 1, 8 * MIB)
            ss = _log_uniform(rng, 1, 8 * MIB)
        # Session 0 carries stanzas of up to 2 MiB: held over many reads.
        big = 2 * MIB - 64 if i == 0 else 64 * 1024
        c_out = random_stanzas(rng, cs, big, prefix="c%d_" % i) + CLOSE
        s_out = (server_header("s%d.test" % i) +
                 random_stanzas(rng, ss, big, prefix="s%d_" % i) + CLOSE)
        sizes[clients[i].sock.getsockname()[1]] = (
            len(client_header("s%d.test" % i)) + len(c_out), len(s_out))
        mux.add(clients[i], out=c_out, expect=s_out)
        mux.add(servers[i], out=s_out, expect=c_out)
    mux.run(timeout=240)
    # Everyone has read EOF: close, so that the daemon reads EOF too.
    for i in range(n):
        clients[i].close()
        servers[i].close()
    ends = d.wait_for(count=n, event="session-end", timeout=30)
    for e in ends:
        cport = int(e["client"].rpartition(":")[2])
        c_in, s_in = sizes[cport]
        check(e["mode"] == "xml", "mode %r" % e)
        check(e["c_closed"] == "yes" and e["s_closed"] == "yes",
              "handshake %r" % e)
        check(int(e["c_bytes_in"]) == c_in and
              int(e["s_bytes_out"]) == c_in and
              int(e["s_bytes_in"]) == s_in and
              int(e["c_bytes_out"]) == s_in, "byte counts %r" % e)


@timeout(30)
def test_ipv6_loopback(ctx):
    """Listening on [::1] in front of an upstream on [::1] relays both
    ways and logs the v6 addresses."""
    up = ctx.upstream(host=LOOPBACK6)
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0",
                          host=LOOPBACK6)
    check(d.wait_for(event="listening")["listen"] == "[::1]:%d" % port,
          "listen address")
    c, s = open_session(ctx, port, up, host=LOOPBACK6)
    m = message("v6")
    c.send(m)
    check(s.recv_exact(len(m)) == m, "c2s")
    s.send(m)
    check(c.recv_exact(len(m)) == m, "s2c")
    close_politely(c, s)
    e = d.wait_for(event="session-end")
    check(e["client"].startswith("[::1]:") and
          e["upstream"] == "[::1]:%d" % up.port, "addresses %r" % e)


def _opaque(ctx, first):
    rng = rng_for("opaque-" + first)
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    c.send(STARTTLS)
    check(s.recv_exact(len(STARTTLS)) == STARTTLS, "starttls")
    s.send(PROCEED)
    check(c.recv_exact(len(PROCEED)) == PROCEED, "proceed")
    a = rng.randbytes(300 * 1024 + rng.randrange(1000))
    b = rng.randbytes(200 * 1024 + rng.randrange(1000))
    x, y = (c, s) if first == "client" else (s, c)
    # x sends a and shuts down its write side: y reads a, then EOF...
    mux = Mux(ctx)
    mux.add(x, out=a, shut_after=True, read=False)
    mux.add(y, expect=a)
    mux.run(timeout=30)
    check(y.eof, "%s saw no EOF" % y.who)
    # ...and the other direction still flows after it.
    mux = Mux(ctx)
    mux.add(y, out=b, shut_after=True, read=False)
    mux.add(x, expect=b)
    mux.run(timeout=30)
    c.close()
    s.close()
    e = d.wait_for(event="session-end")
    check(e["mode"] == "opaque", "mode %r" % e)


@timeout(60)
def test_opaque_half_close_from_client(ctx):
    """After STARTTLS the session is opaque: random binary bytes are
    relayed unchanged and the client's shutdown(SHUT_WR) reaches the server
    as EOF while server-to-client bytes still flow."""
    _opaque(ctx, "client")


@timeout(60)
def test_opaque_half_close_from_server(ctx):
    """The same, mirrored: the server half-closes first."""
    _opaque(ctx, "server")


@timeout(180)
def test_backpressure_bounds_memory(ctx):
    """A client sending 50 MB while the upstream does not read: the
    daemon's RSS stays under 64 MB, then every byte arrives in order."""
    rng = rng_for("backpressure")
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    data = random_stanzas(rng, 50 * MIB, max_stanza=16 * 1024)
    # Under valgrind the RSS is valgrind's: only the flow is checked.
    limit_kb = 64 * 1024 if not wrapper() else 1 << 40
    peak = [d.rss_kb()]

    def sample():
        peak[0] = max(peak[0], d.rss_kb())
        check(peak[0] < limit_kb, "RSS %d kB over %d kB" % (peak[0],
                                                            limit_kb))

    # Phase 1: the upstream reads nothing until the client is stuck.
    stuck = Mux(ctx)
    st = stuck.add(c, out=data, read=False)
    try:
        stuck.run(timeout=5, tick=sample)
        check(False, "50 MB went through an upstream that reads nothing")
    except AssertionError as e:
        if "mux timed out" not in str(e):
            raise
    check(st.sent < len(data), "client never blocked")
    sample()
    # Phase 2: the upstream reads everything.
    mux = Mux(ctx)
    mux.add(c, out=data[st.sent:], read=False)
    mux.add(s, expect=data, eof=False)
    mux.run(timeout=120, tick=sample)
    close_politely(c, s)
    print("backpressure: sent %d before blocking, peak RSS %d kB"
          % (st.sent, peak[0]))


@timeout(90)
def test_idle_sessions_give_back_memory(ctx):
    """Sessions quiet for a few seconds give back their parser memory:
    after they were swept, the daemon's RSS falls by more than half (the
    heap is trimmed, and no small live block keeps the parsers' pages)."""
    up = ctx.upstream(backlog=512)
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    n = 200
    pairs = []

    def batch(tag):
        for i in range(n):
            c, s = open_session(ctx, port, up)
            m = message("%s%d" % (tag, i))
            c.send(m)
            check(s.recv_exact(len(m)) == m, "c2s")
            s.send(m)
            check(c.recv_exact(len(m)) == m, "s2c")
            pairs.append((c, s))

    r0 = d.rss_kb()
    batch("a")
    first = (d.rss_kb() - r0) / n
    # Quiet for 5 s, swept every 5 s: released within 10 s.
    time.sleep(11)
    r1 = d.rss_kb()
    swept = (r1 - r0) / n
    batch("b")
    second = (d.rss_kb() - r1) / n
    print("RSS per session: %.1f kB fresh, %.1f kB swept, %.1f kB for a "
          "new batch after the sweep" % (first, swept, second))
    # Under valgrind the heap is valgrind's (malloc_trim does nothing):
    # only the flow is checked, sessions working across the sweep.  Most
    # of it goes back: nothing small is allocated among the parsers'
    # blocks to keep their pages (a session keeps about a third).
    check(wrapper() or swept < first * 0.5,
          "not given back: %.1f kB/session fresh, %.1f swept, %.1f new"
          % (first, swept, second))
    for c, s in pairs:
        close_politely(c, s)


@timeout(30)
def test_client_reset_reaches_server_as_close(ctx):
    """A client that resets its connection is a client that vanished: the
    server gets a close tag, answers, and sees no reset itself."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    m = message("before-reset")
    c.send(m)
    check(s.recv_exact(len(m)) == m, "c2s")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    c.close()
    answer_close(s)
    e = d.wait_for(event="session-end")
    check(e["close"] == "client-vanished", "close %r" % e)
