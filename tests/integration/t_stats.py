"""Totals and session log lines."""

from sgtest import (CLOSE, check, close_politely, open_session, start_proxy,
                    timeout)


@timeout(30)
def test_totals_line(ctx):
    """With --stats-interval, an event=totals line counts the sessions
    accepted and ended, by close reason, with one key per reason."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=100ms")
    for _ in range(2):
        close_politely(*open_session(ctx, port, up))
    d.wait_for(count=2, event="session-end")
    n = len(d.find(event="totals"))
    t = d.wait_for(count=n + 1, event="totals")[-1]
    check(t["accepted"] == "2" and t["active"] == "0", "%r" % t)
    check(t["close_client"] == "2", "%r" % t)
    for k in ("refused", "closing", "bytes_c2s", "bytes_s2c", "bounced",
              "undeliverable", "close_server_vanished",
              "close_upstream_unreachable"):
        check(k in t, "no %s in %r" % (k, t))


@timeout(30)
def test_session_line_escapes_peer_text(ctx):
    """Peer-controlled text in the session-end line (here the id of an
    undeliverable stanza, with a space, a quote, a newline, ':' and '%')
    stays inside its one field of its one line."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    s.close()                       # the server vanishes
    c.recv_until(CLOSE)
    c.send(b"<message id='a b" + b'"' + b"c&#10;d:e%' type='chat'>"
           b"<body>x</body></message>")
    c.send(CLOSE)
    c.expect_eof()
    c.close()
    e = d.wait_for(event="session-end")
    check(e["close"] == "server-vanished", "close %r" % e)
    check(e["undeliverable_c"] == "1", "%r" % e)
    check(e["undeliverable_list"] == 'c2s:message:a%20b"c%0Ad%3Ae%25:chat',
          "list %r" % e["undeliverable_list"])
    lines = [ln for ln in d.lines if "session-end" in ln]
    check(len(lines) == 1, "lines %r" % lines)
