"""Totals."""

from sgtest import (check, close_politely, open_session, start_proxy,
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
