"""max-connections."""

from sgtest import (check, close_politely, open_session, start_proxy,
                    timeout)


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
