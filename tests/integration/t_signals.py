"""Signals: SIGTERM drains and exits 0, SIGHUP reloads the config file."""

import signal

from sgtest import (CLOSE, LOOPBACK, STOP, answer_shutdown_all, check,
                    close_politely, free_port, hostport, message,
                    open_session, start_proxy, timeout)


@timeout(60)
def test_sigterm_clean_exit(ctx):
    """SIGTERM: every session is closed by the handshake with
    <system-shutdown/>, event=stopped is logged and the exit status is 0."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--drain-timeout=10s",
                          "--stats-interval=0")
    pairs = [open_session(ctx, port, up) for _ in range(3)]
    d.signal(signal.SIGTERM)
    answer_shutdown_all(pairs)
    check(d.wait_exit(15) == 0, "exit status %s" % d.proc.returncode)
    st = d.wait_for(event="stopped")
    check(st["closed_clean"] == "3" and st["forced"] == "0", "%r" % st)
    for e in d.find(event="session-end"):
        check(e["close"] == "shutdown", "close %r" % e)


@timeout(60)
def test_sigterm_server_first(ctx):
    """SIGTERM with close-order=server-first: S gets the plain close tag
    first; once S answers, C gets <system-shutdown/> then the close tag;
    the session ends with close=shutdown and the exit status is 0."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--close-order=server-first",
                          "--drain-timeout=10s", "--close-timeout=10s",
                          "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    d.signal(signal.SIGTERM)
    got = s.recv_until(CLOSE)
    check(got == CLOSE, "S got %r, want the close tag alone" % got)
    m = message("s-last")
    s.send(m)
    check(c.recv_exact(len(m)) == m, "S's last stanza before its tag")
    s.send(CLOSE)
    got = c.recv_until(CLOSE)
    want = STOP
    check(got == want, "C got %r, want %r" % (got, want))
    c.send(CLOSE)
    c.expect_eof()
    s.expect_eof()
    c.close()
    s.close()
    check(d.wait_exit(15) == 0, "exit status %s" % d.proc.returncode)
    e = d.wait_for(event="session-end")
    check(e["close"] == "shutdown" and e["c_closed"] == "yes" and
          e["s_closed"] == "yes" and e.get("forced") != "yes", "%r" % e)


@timeout(60)
def test_sigterm_drain_timeout_forces(ctx):
    """Peers that never answer are closed when drain-timeout passes; the
    daemon still exits 0 and counts them as forced."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--drain-timeout=1s",
                          "--close-timeout=30s", "--stats-interval=0")
    c, s = open_session(ctx, port, up)
    d.signal(signal.SIGTERM)
    got = c.recv_until(CLOSE)
    check(b"system-shutdown" in got, "no <system-shutdown/>: %r" % got)
    c.expect_eof()
    check(d.wait_exit(15) == 0, "exit status %s" % d.proc.returncode)
    st = d.wait_for(event="stopped")
    check(st["forced"] == "1", "%r" % st)
    e = d.wait_for(event="session-end")
    check(e.get("forced") == "yes", "%r" % e)


def _write_conf(path, port, upstream, extra="", more=""):
    with open(path, "w") as f:
        f.write("[global]\nstats-interval = 0\n%s\n"
                "[main]\nlisten = %s\nupstream = %s\n%s"
                % (extra, hostport(LOOPBACK, port), upstream, more))


def _exchange(c, s, tag):
    """One message each way still goes through."""
    m = message(tag + "c")
    c.send(m)
    check(s.recv_exact(len(m)) == m, "c2s after reload")
    m = message(tag + "s")
    s.send(m)
    check(c.recv_exact(len(m)) == m, "s2c after reload")


@timeout(60)
def test_sighup_new_upstream(ctx):
    """SIGHUP with a changed upstream: new sessions go to the new one, a
    session from before keeps working; a broken file is logged as
    reload-failed and the config in force is kept."""
    up1, up2 = ctx.upstream(), ctx.upstream()
    path = ctx.path("sg.conf")
    port = free_port()
    _write_conf(path, port, up1.addr)
    d = ctx.daemon("-c", path)
    a = open_session(ctx, port, up1)
    _write_conf(path, port, up2.addr)
    d.signal(signal.SIGHUP)
    d.wait_for(event="reloaded")
    b = open_session(ctx, port, up2)
    up1.no_connection(0.2)
    _exchange(*a, tag="a")
    with open(path, "w") as f:
        f.write("[global]\nidle-timeout = forever\n")
    d.signal(signal.SIGHUP)
    e = d.wait_for(event="reload-failed")
    check(e["level"] in ("error", "err"), "level %r" % e)
    c = open_session(ctx, port, up2)
    for c_, s_ in (a, b, c):
        close_politely(c_, s_)


@timeout(60)
def test_sighup_new_idle_timeout(ctx):
    """SIGHUP with a shorter idle-timeout: a new session is closed by the
    daemon when idle, the session from before is not."""
    up = ctx.upstream()
    path = ctx.path("sg.conf")
    port = free_port()
    _write_conf(path, port, up.addr, more="idle-timeout = 60s\n")
    d = ctx.daemon("-c", path)
    old = open_session(ctx, port, up)
    _write_conf(path, port, up.addr, more="idle-timeout = 1s\n")
    d.signal(signal.SIGHUP)
    d.wait_for(event="reloaded")
    new = open_session(ctx, port, up)
    # The new session goes idle: the daemon sends its close tags.
    c, s = new
    c.recv_until(CLOSE, timeout=10)
    c.send(CLOSE)
    s.recv_until(CLOSE, timeout=10)
    s.send(CLOSE)
    c.expect_eof()
    s.expect_eof()
    e = d.wait_for(event="session-end")
    check(e["close"] == "idle", "close %r" % e)
    # The old one was idle just as long, and is still open.
    old[0].idle(0.2)
    _exchange(*old, tag="o")
    close_politely(*old)


@timeout(60)
def test_sighup_listeners_added_removed(ctx):
    """SIGHUP adds a listener named in the file and closes one no longer
    named, keeping the unchanged one open."""
    up = ctx.upstream()
    path = ctx.path("sg.conf")
    port, port2 = free_port(), free_port()
    _write_conf(path, port, up.addr)
    d = ctx.daemon("-c", path)
    with open(path, "a") as f:
        f.write("[extra]\nlisten = %s\nupstream = %s\n"
                % (hostport(LOOPBACK, port2), up.addr))
    d.signal(signal.SIGHUP)
    d.wait_for(event="reloaded")
    d.wait_for(event="listening", listener="extra")
    close_politely(*open_session(ctx, port2, up))
    close_politely(*open_session(ctx, port, up))
    _write_conf(path, port, up.addr)
    d.signal(signal.SIGHUP)
    d.wait_for(count=2, event="reloaded")
    import socket as so
    x = so.socket()
    x.settimeout(5)
    check(x.connect_ex((LOOPBACK, port2)) != 0, "extra still listening")
    x.close()
    close_politely(*open_session(ctx, port, up))


@timeout(30)
def test_sighup_without_config_file(ctx):
    """SIGHUP when started without -c says there is nothing to reload and
    goes on serving."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0")
    d.signal(signal.SIGHUP)
    d.wait_for(event="reload-skipped")
    close_politely(*open_session(ctx, port, up))
