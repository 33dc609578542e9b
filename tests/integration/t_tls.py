"""TLS termination: direct TLS, SNI, certificates, reload, STARTTLS,
closes inside TLS, and TLS to the upstream."""

import os
import shutil
import signal
import socket
import ssl

from sgtest import (CLOSE, LOOPBACK, STOP, TestFailure, check, client_header,
                    free_port, hostport, message, run_binary, server_header,
                    start_proxy, stream_error, timeout)
from sgtls import (client_context, make_certs, server_context, tls_connect,
                   TlsClient)

NS_TLS = b"urn:ietf:params:xml:ns:xmpp-tls"


def _certs_opts(certs, *names):
    return ["--certificate=" + " ".join(
        os.path.join(certs, n + ".pem") for n in names),
        "--key=" + " ".join(os.path.join(certs, n + ".key") for n in names)]


def _proxy(ctx, mode, *extra, names=("server", "other")):
    """Certificates, an upstream, and the proxy in tls mode: (certs,
    upstream, daemon, port)."""
    certs = make_certs(ctx)
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--tls=" + mode,
                          *_certs_opts(certs, *names), *extra)
    return certs, up, d, port


def _direct(ctx, *extra, names=("server", "other")):
    return _proxy(ctx, "direct", *extra, names=names)


def _session(ctx, port, certs, up, sni="localhost"):
    """A TLS client whose session is open, headers exchanged: (client,
    upstream peer)."""
    c = tls_connect(ctx, port, client_context(certs), sni=sni)
    c.send(client_header())
    s = up.accept()
    check(s.recv_exact(len(client_header())) == client_header(),
          "header changed")
    s.send(server_header())
    check(c.recv_exact(len(server_header())) == server_header(),
          "server header changed")
    return c, s


@timeout(60)
def test_direct_relay(ctx):
    """Direct TLS: bytes relayed exactly both ways, a 1 MiB stanza too,
    and the session lines name TLS version, cipher, SNI and ALPN."""
    certs, up, d, port = _direct(ctx, "--max-stanza-size=2m",
                                 "--high-water=4m")
    c = tls_connect(ctx, port, client_context(certs, alpn=["xmpp-client"]),
                    sni="example.test")
    hdr = client_header(to="example.test")
    c.send(hdr)
    s = up.accept()
    check(s.recv_exact(len(hdr)) == hdr, "header changed")
    s.send(server_header())
    check(c.recv_exact(len(server_header())) == server_header(),
          "server header changed")
    big = message("big", body="x" * (1 << 20))
    c.send(big)
    check(s.recv_exact(len(big)) == big, "1 MiB c2s stanza changed")
    s.send(big)
    check(c.recv_exact(len(big)) == big, "1 MiB s2c stanza changed")
    c.send(CLOSE)
    check(s.recv_exact(len(CLOSE)) == CLOSE, "close tag not relayed")
    s.send(CLOSE)
    check(c.recv_exact(len(CLOSE)) == CLOSE, "close tag not relayed")
    c.expect_close_notify_then_fin()
    c.close_tls()
    s.expect_eof()
    s.close()
    st = d.wait_for(event="session-start")
    e = d.wait_for(event="session-end")
    for r in (st, e):
        check(r.get("tls") in ("TLSv1.3", "TLSv1.2"), "tls= %r" % r)
        check(r.get("cipher"), "no cipher= %r" % r)
        check(r.get("sni") == "example.test", "sni= %r" % r)
        check(r.get("alpn") == "xmpp-client", "alpn= %r" % r)
    check(e["close"] == "client" and e["c_closed"] == "yes",
          "end %r" % e)


@timeout(60)
def test_sni_picks_certificate(ctx):
    """SNI picks the certificate whose names match (SAN, wildcard), and a
    client without ALPN is not refused."""
    certs, up, d, port = _direct(ctx)
    for sni, cn in (("other.test", "other.test"),
                    ("example.test", "localhost"),
                    ("a.wild.test", "localhost")):
        c = tls_connect(ctx, port, client_context(certs), sni=sni)
        check(c.peer_cn() == cn, "SNI %s: got CN %s" % (sni, c.peer_cn()))
        c.close()
        up.accept().close()


@timeout(60)
def test_sni_mismatch(ctx):
    """An unknown SNI gets the first certificate (logged sni_match=no);
    a verifying client refuses it, and the failed handshake is one line
    with the client's address and the reason."""
    certs, up, d, port = _direct(ctx)
    c = tls_connect(ctx, port, client_context(certs, verify=False),
                    sni="nomatch.test")
    check(c.peer_cn() == "localhost", "default CN %s" % c.peer_cn())
    c.send(client_header())
    up.accept().close()
    st = d.wait_for(event="session-start")
    check(st.get("sni") == "nomatch.test" and st.get("sni_match") == "no",
          "start %r" % st)
    try:
        tls_connect(ctx, port, client_context(certs), sni="nomatch.test")
        raise TestFailure("a verifying client accepted the wrong name")
    except ssl.SSLCertVerificationError:
        pass
    f = d.wait_for(event="tls-failed")
    check(f.get("client", "").startswith("127.0.0.1:") and
          "certificate" in f.get("reason", ""), "failure line %r" % f)


@timeout(60)
def test_expired_certificate(ctx):
    """An expired certificate is loaded with a warning naming the file and
    its notAfter; a verifying client refuses it."""
    certs, up, d, port = _direct(ctx, names=("expired",))
    w = d.wait_for(event="certificate-invalid")
    check(w.get("file", "").endswith("expired.pem") and
          "2020" in w.get("not_after", ""), "warning %r" % w)
    try:
        tls_connect(ctx, port, client_context(certs), sni="localhost")
        raise TestFailure("a verifying client accepted an expired cert")
    except ssl.SSLCertVerificationError as e:
        check("expired" in str(e), "reason %s" % e)


@timeout(60)
def test_bad_key_is_config_error(ctx):
    """A key that does not match its certificate stops the start with
    exit 2 and a message naming the files; so does a missing file and a
    TLS listener without a certificate."""
    certs = make_certs(ctx)
    pem = os.path.join(certs, "server.pem")
    base = ["--listen", hostport(LOOPBACK, free_port()), "--upstream",
            "127.0.0.1:1", "--tls=direct", "--log-format=text"]
    rc, _, err = run_binary(ctx, base + ["--certificate=" + pem, "--key=" +
                                         os.path.join(certs, "wrongkey.key")])
    check(rc == 2 and "wrongkey.key does not match" in err and
          "server.pem" in err, "rc %d: %s" % (rc, err))
    rc, _, err = run_binary(ctx, base + ["--certificate=/nonexistent.pem"])
    check(rc == 2 and "/nonexistent.pem: cannot read" in err,
          "rc %d: %s" % (rc, err))
    rc, _, err = run_binary(ctx, base + ["--certificate=" + pem])
    check(rc == 2 and "server.pem holds no private key" in err,
          "rc %d: %s" % (rc, err))
    rc, _, err = run_binary(ctx, base)
    check(rc == 2 and "listener default needs a certificate" in err,
          "rc %d: %s" % (rc, err))
    # A certificate file that holds its key needs no key =.
    rc, out, err = run_binary(ctx, base[:6] + [
        "--certificate=" + os.path.join(certs, "combined.pem"),
        "--stats-interval=0", "--check-config"])
    check(rc == 0, "combined: rc %d: %s" % (rc, err))


@timeout(60)
def test_reload_certificates(ctx):
    """SIGHUP re-reads the certificates: new connections see the new one,
    a session open across the reload keeps working; a reload that fails
    keeps the old certificates."""
    certs = make_certs(ctx)
    live = ctx.path("live")
    os.mkdir(live)
    for ext in ("pem", "key"):
        shutil.copy(os.path.join(certs, "server." + ext),
                    os.path.join(live, "cert." + ext))
    up = ctx.upstream()
    conf = ctx.path("sg.conf")
    lport = free_port()
    with open(conf, "w") as f:
        f.write("[global]\nlog-format = text\nstats-interval = 0\n"
                "[c2s]\nlisten = %s\nupstream = %s\ntls = direct\n"
                "certificate = %s/cert.pem\nkey = %s/cert.key\n"
                % (hostport(LOOPBACK, lport), up.addr, live, live))
    d = ctx.daemon("-c", conf)
    old, s = _session(ctx, lport, certs, up)
    for ext in ("pem", "key"):
        shutil.copy(os.path.join(certs, "other." + ext),
                    os.path.join(live, "cert." + ext))
    d.signal(signal.SIGHUP)
    d.wait_for(event="reloaded")
    c = tls_connect(ctx, lport, client_context(certs), sni="other.test")
    check(c.peer_cn() == "other.test", "after reload: CN %s" % c.peer_cn())
    c.close()
    up.accept().close()
    m = message("m1")
    old.send(m)
    check(s.recv_exact(len(m)) == m, "old session broken by the reload")
    s.send(m)
    check(old.recv_exact(len(m)) == m, "old session broken by the reload")
    # A broken key: the reload fails and the old certificate stays.
    shutil.copy(os.path.join(certs, "wrongkey.key"),
                os.path.join(live, "cert.key"))
    d.signal(signal.SIGHUP)
    f = d.wait_for(event="reload-failed")
    check("does not match" in f.get("msg", ""), "reload-failed %r" % f)
    c = tls_connect(ctx, lport, client_context(certs), sni="other.test")
    check(c.peer_cn() == "other.test", "after failed reload: %s"
          % c.peer_cn())


def _starttls(ctx, *extra):
    return _proxy(ctx, "starttls", *extra)


@timeout(60)
def test_starttls_dialogue(ctx):
    """STARTTLS: our header and features, <proceed/>, TLS with the
    certificate for the stream's to (no SNI), then the client's new header
    is the first thing the plaintext upstream sees."""
    certs, up, d, port = _starttls(ctx)
    c = ctx.connect(port)
    c.send(client_header(to="other.test"))
    got = c.recv_until(b"</stream:features>")
    check(got.startswith(b"<?xml version='1.0'?><stream:stream "
                         b"xmlns='jabber:client' xmlns:stream="
                         b"'http://etherx.jabber.org/streams' "
                         b"version='1.0' from='other.test' id='"),
          "our header %r" % got)
    check(got.endswith(b"<stream:features><starttls xmlns='" + NS_TLS +
                       b"'><required/></starttls></stream:features>"),
          "features %r" % got)
    c.send(b" <starttls xmlns='" + NS_TLS + b"'/>")
    proceed = b"<proceed xmlns='" + NS_TLS + b"'/>"
    check(c.recv_exact(len(proceed)) == proceed, "no proceed")
    up.no_connection(0.2)
    t = TlsClient(ctx, c.sock, client_context(certs, verify=False))
    t.handshake()
    check(t.peer_cn() == "other.test", "cert for to=: %s" % t.peer_cn())
    hdr = client_header(to="other.test")
    t.send(hdr)
    s = up.accept()
    check(s.recv_exact(len(hdr)) == hdr, "upstream saw more than the "
          "new header")
    s.send(server_header())
    check(t.recv_exact(len(server_header())) == server_header(),
          "server header over TLS")


@timeout(60)
def test_starttls_prefixed(ctx):
    """<tls:starttls xmlns:tls=.../> (a prefix) is STARTTLS too, and
    whitespace keepalives before it are fine."""
    certs, up, d, port = _starttls(ctx)
    c = ctx.connect(port)
    c.send(client_header(to="example.test") + b"\n \n")
    c.recv_until(b"</stream:features>")
    c.send(b"<tls:starttls xmlns:tls='" + NS_TLS + b"'/>")
    c.recv_until(b"<proceed xmlns='" + NS_TLS + b"'/>")
    t = TlsClient(ctx, c.sock, client_context(certs), sni="example.test")
    t.handshake()
    t.send(client_header(to="example.test"))
    up.accept().recv_exact(len(client_header(to="example.test")))


@timeout(60)
def test_starttls_refused(ctx):
    """A client that skips STARTTLS (sends <auth/>) gets
    <policy-violation/> with a text, our close tag, then EOF; the upstream
    never hears of it."""
    certs, up, d, port = _starttls(ctx)
    c = ctx.connect(port)
    c.send(client_header())
    c.recv_until(b"</stream:features>")
    c.send(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
           b"mechanism='PLAIN'>AGEAYg==</auth>")
    got = c.recv_until(CLOSE)
    check(got.startswith(b"<stream:error><policy-violation xmlns='urn:ietf:"
                         b"params:xml:ns:xmpp-streams'/><text") and
          b"TLS is required" in got and
          got.endswith(b"</stream:error></stream:stream>"),
          "refusal %r" % got)
    c.send(CLOSE)
    c.expect_eof()
    up.no_connection(0.3)
    r = d.wait_for(event="starttls-refused")
    check("before <starttls/>" in r.get("reason", ""), "log %r" % r)


@timeout(60)
def test_starttls_dialogue_told_of_stop(ctx):
    """SIGTERM while a client is in the STARTTLS dialogue (our features
    out, no <starttls/> yet): it gets <system-shutdown/> and our close tag,
    then EOF; once it closes too the daemon exits 0 (before any time
    limit), the stop logged and the prelude counted as closed cleanly."""
    certs, up, d, port = _starttls(ctx, "--drain-timeout=60s",
                                   "--connect-timeout=60s")
    c = ctx.connect(port)
    c.send(client_header())
    c.recv_until(b"</stream:features>")
    d.signal(signal.SIGTERM)
    got = c.recv_until(CLOSE)
    check(got == STOP, "stop notice %r" % got)
    r = d.wait_for(event="starttls-refused")
    check(r.get("reason") == "the service is stopping" and
          r.get("client", "").startswith("127.0.0.1:"), "log %r" % r)
    c.expect_eof()
    c.send(CLOSE)
    c.shutdown_write()
    check(d.wait_exit() == 0, "exit status %s" % d.proc.returncode)
    s = d.wait_for(event="stopped")
    check(s.get("closed_clean") == "1" and s.get("forced") == "0",
          "stopped %r" % s)
    up.no_connection(0.1)


@timeout(60)
def test_starttls_stop_forced(ctx):
    """A client told of the stop in the STARTTLS dialogue that never
    closes is closed by a second SIGTERM: EOF, exit 0, forced=1."""
    certs, up, d, port = _starttls(ctx, "--drain-timeout=60s",
                                   "--connect-timeout=60s")
    c = ctx.connect(port)
    c.send(client_header())
    c.recv_until(b"</stream:features>")
    d.signal(signal.SIGTERM)
    c.recv_until(CLOSE)
    c.expect_eof()
    d.signal(signal.SIGTERM)
    check(d.wait_exit() == 0, "exit status %s" % d.proc.returncode)
    s = d.wait_for(event="stopped")
    check(s.get("closed_clean") == "0" and s.get("forced") == "1",
          "stopped %r" % s)


@timeout(60)
def test_handshake_closed_on_stop(ctx):
    """SIGTERM during a TLS handshake: nothing XML can be said, so the
    connection is closed at once, logged with the reason, and the daemon
    exits 0 without waiting for the connect-timeout."""
    certs, up, d, port = _direct(ctx, "--drain-timeout=60s",
                                 "--connect-timeout=60s")
    c = ctx.connect(port)
    t = TlsClient(ctx, c.sock, client_context(certs))
    try:
        t.obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    t._push()
    # The server's first flight: the handshake is under way, ours to end.
    c.recv_exact(1)
    d.signal(signal.SIGTERM)
    c.recv_to_eof()
    f = d.wait_for(event="tls-failed")
    check("service stopped" in f.get("reason", ""), "log %r" % f)
    check(d.wait_exit() == 0, "exit status %s" % d.proc.returncode)


@timeout(60)
def test_starttls_bad_xml(ctx):
    """Bad XML before STARTTLS: <not-well-formed/>, as the session does."""
    certs, up, d, port = _starttls(ctx)
    c = ctx.connect(port)
    c.send(client_header())
    c.recv_until(b"</stream:features>")
    c.send(b"<a><b></a>")
    got = c.recv_until(CLOSE)
    check(b"<not-well-formed" in got, "refusal %r" % got)
    c.expect_eof()


@timeout(60)
def test_handshake_timeout(ctx):
    """A client that never finishes the handshake is closed after
    connect-timeout and logged."""
    certs, up, d, port = _direct(ctx, "--connect-timeout=500ms")
    c = ctx.connect(port)
    c.send(b"\x16\x03\x01")
    c.expect_eof(timeout=10)
    f = d.wait_for(event="tls-failed")
    check("connect-timeout" in f.get("reason", ""), "log %r" % f)


@timeout(60)
def test_idle_close_inside_tls(ctx):
    """The idle close inside TLS: the close tag arrives over TLS, then
    close_notify, then the FIN, nothing after."""
    certs, up, d, port = _direct(ctx, "--idle-timeout=700ms",
                                 "--close-timeout=2s")
    c, s = _session(ctx, port, certs, up)
    check(c.recv_until(CLOSE, timeout=10).endswith(CLOSE), "no close tag")
    c.send(CLOSE)
    s.recv_until(CLOSE)
    s.send(CLOSE)
    c.expect_close_notify_then_fin()
    c.close_tls()
    s.expect_eof()
    e = d.wait_for(event="session-end")
    check(e["close"] == "idle" and e["c_closed"] == "yes", "end %r" % e)


@timeout(60)
def test_upstream_cut_inside_tls(ctx):
    """The upstream vanishes: the TLS client still gets its close tag,
    then close_notify and FIN, never a reset."""
    certs, up, d, port = _direct(ctx)
    c = tls_connect(ctx, port, client_context(certs), sni="localhost")
    c.send(client_header())
    s = up.accept()
    s.recv_exact(len(client_header()))
    m = message("m1")
    s.send(server_header() + m)
    s.close()
    got = c.recv_until(CLOSE)
    check(got == server_header() + m + CLOSE, "got %r" % got)
    c.send(CLOSE)
    c.expect_close_notify_then_fin()
    c.close_tls()
    e = d.wait_for(event="session-end")
    check(e["close"] == "server-vanished", "end %r" % e)


def _tls_upstream(ctx, certs, name):
    lst = socket.socket()
    lst.bind((LOOPBACK, 0))
    lst.listen(8)
    lst.settimeout(10)
    ctx.on_cleanup(lst.close)
    return lst, server_context(certs, name)


@timeout(60)
def test_upstream_tls(ctx):
    """upstream-tls: the session runs over TLS to the upstream, verified
    against upstream-tls-ca with upstream-tls-name."""
    certs = make_certs(ctx)
    lst, sctx = _tls_upstream(ctx, certs, "upstream")
    sni = []
    sctx.sni_callback = lambda sock, name, c: sni.append(name)
    d, port = start_proxy(
        ctx, hostport(*lst.getsockname()), "--upstream-tls=yes",
        "--upstream-tls-ca=" + os.path.join(certs, "ca.pem"),
        "--upstream-tls-name=upstream.test")
    c = ctx.connect(port)
    c.send(client_header())
    raw, _ = lst.accept()
    s = sctx.wrap_socket(raw, server_side=True)
    s.settimeout(10)
    check(sni == ["upstream.test"], "SNI %r" % sni)
    got = b""
    while len(got) < len(client_header()):
        got += s.recv(4096)
    check(got == client_header(), "header over TLS %r" % got)
    s.sendall(server_header() + CLOSE)
    check(c.recv_until(CLOSE) == server_header() + CLOSE, "relay back")
    c.send(CLOSE)
    check(s.recv(100) == CLOSE, "close tag over TLS")
    c.expect_eof()
    s.close()


@timeout(60)
def test_upstream_tls_untrusted(ctx):
    """An upstream whose certificate does not verify is an unreachable
    upstream: <remote-connection-failed/> to the client, the reason
    logged."""
    certs = make_certs(ctx)
    lst, sctx = _tls_upstream(ctx, certs, "untrusted")
    d, port = start_proxy(
        ctx, hostport(*lst.getsockname()), "--upstream-tls=yes",
        "--upstream-tls-ca=" + os.path.join(certs, "ca.pem"))
    c = ctx.connect(port)
    c.send(client_header())
    raw, _ = lst.accept()
    try:
        sctx.wrap_socket(raw, server_side=True).close()
    except (ssl.SSLError, OSError):
        raw.close()
    got = c.recv_until(CLOSE)
    check(b"remote-connection-failed" in got, "got %r" % got)
    c.send(CLOSE)
    c.expect_eof()
    f = d.wait_for(event="upstream-tls-failed")
    check("certificate verify failed" in f.get("reason", ""), "log %r" % f)
    e = d.wait_for(event="session-end")
    check(e["close"] == "upstream-unreachable", "end %r" % e)


@timeout(60)
def test_session_resumption(ctx):
    """A client that kept its TLS session resumes it (tickets), with TLS
    1.3 and with 1.2 (session cache)."""
    certs, up, d, port = _direct(ctx)
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        cc = client_context(certs)
        cc.maximum_version = version
        sess = None
        for attempt in range(2):
            raw = socket.create_connection((LOOPBACK, port), timeout=10)
            c = cc.wrap_socket(raw, server_hostname="localhost",
                               session=sess)
            ctx.on_cleanup(c.close)
            c.sendall(client_header())
            s = up.accept()
            s.recv_exact(len(client_header()))
            s.send(server_header())
            got = b""
            while len(got) < len(server_header()):
                got += c.recv(4096)
            check(c.session_reused == (attempt == 1),
                  "%s attempt %d: reused %s" % (version, attempt,
                                                c.session_reused))
            sess = c.session
            c.close()
            s.close()


@timeout(60)
def test_upstream_starttls_offer_hidden(ctx):
    """A TLS client never sees the upstream's own <starttls/>: it is cut
    out of <stream:features> byte-exact, everything else relayed as is;
    the same features through a plain listener keep it."""
    offer = (b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
             b"<required/></starttls>")
    mechs = (b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
             b"<mechanism>PLAIN</mechanism></mechanisms>")
    feats = b"<stream:features>" + offer + mechs + b"</stream:features>"
    hidden = b"<stream:features>" + mechs + b"</stream:features>"
    certs, up, d, port = _direct(ctx)
    c, s = _session(ctx, port, certs, up)
    s.send(feats + message("after"))
    want = hidden + message("after")
    got = c.recv_exact(len(want))
    check(got == want, "features over TLS: %r" % got)

    plain = ctx.upstream()
    _, pport = start_proxy(ctx, plain.addr)
    p = ctx.connect(pport)
    p.send(client_header())
    ps = plain.accept()
    ps.recv_exact(len(client_header()))
    ps.send(server_header() + feats)
    got = p.recv_exact(len(server_header() + feats))
    check(got == server_header() + feats, "plain listener changed %r" % got)


@timeout(60)
def test_starttls_over_max_connections(ctx):
    """A starttls listener over max-connections (a client in the
    dialogue counts): the next client's header is answered with ours,
    <resource-constraint/> and our close tag, no features, then EOF;
    logged as event=refused answer=stream-error."""
    certs, up, d, port = _starttls(ctx, "--max-connections=1")
    c = ctx.connect(port)
    c.send(client_header())
    c.recv_until(b"</stream:features>")
    c2 = ctx.connect(port, who="client2")
    c2.send(client_header(to="other.test"))
    got = c2.recv_until(CLOSE)
    check(got.startswith(b"<?xml version='1.0'?><stream:stream "
                         b"xmlns='jabber:client' xmlns:stream="
                         b"'http://etherx.jabber.org/streams' "
                         b"version='1.0' from='other.test' id='") and
          got.endswith(b"'>" + stream_error("resource-constraint") + CLOSE)
          and b"features" not in got, "refusal %r" % got)
    c2.expect_eof()
    c2.send(CLOSE)
    c2.close()
    r = d.wait_for(event="refused")
    check(r.get("reason") == "max-connections" and
          r.get("answer") == "stream-error", "log %r" % r)
    check(not d.find(event="starttls-refused"), "a second line")
    up.no_connection(0.1)


@timeout(60)
def test_direct_over_max_connections(ctx):
    """A tls=direct listener over max-connections: no XML can be said
    before a TLS handshake, so the client gets a plain EOF, logged as
    event=refused answer=fin tls=direct."""
    certs, up, d, port = _direct(ctx, "--max-connections=1")
    c = ctx.connect(port)       # in its handshake: counts
    c2 = ctx.connect(port, who="client2")
    c2.expect_eof()
    c2.close()
    r = d.wait_for(event="refused")
    check(r.get("reason") == "max-connections" and
          r.get("answer") == "fin" and r.get("tls") == "direct",
          "log %r" % r)
    c.close()
